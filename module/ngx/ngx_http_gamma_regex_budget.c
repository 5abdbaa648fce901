/*
 * nginx-gamma: the regex budget of a request, as nginx sees it: the
 * gamma_regex_budget directive and the answer to a request whose regex
 * tests ran out of it (gm_regex_budget.c counts).
 *
 * The answer is 400.  Whether a request runs out is decided by the
 * request itself against the route table: sent again, it runs out again,
 * so a 503 (which meshes and clients retry) would only multiply the work;
 * nothing on the server failed, so not 500 either.  nginx closes the
 * connection after a 400, so a client sending such requests pays a new
 * connection each time.  The log line names the Service and the route,
 * once a second per worker at most, with the count of the requests left
 * unlogged since.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gm_limits.h"
#include "ngx_http_gamma_module.h"


static time_t      ngx_http_gamma_regex_logged;
static ngx_uint_t  ngx_http_gamma_regex_unlogged;


char *
ngx_http_gamma_regex_budget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (gmcf->regex_budget != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n < 1 || n > GM_REGEX_BUDGET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, it "
                           "must be a number of steps from 1 to %d",
                           &value[1], &cmd->name, GM_REGEX_BUDGET_MAX);
        return NGX_CONF_ERROR;
    }

    gmcf->regex_budget = n;

    return NGX_CONF_OK;
}


uint32_t
ngx_http_gamma_regex_budget_steps(ngx_http_gamma_main_conf_t *gmcf)
{
    return gmcf->regex_budget ? (uint32_t) gmcf->regex_budget
                              : GM_REGEX_BUDGET;
}


ngx_int_t
ngx_http_gamma_regex_budget_exceeded(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, const gm_rule_t *rule)
{
    time_t                       now;
    ngx_http_gamma_main_conf_t  *gmcf;

    now = ngx_time();

    if (now - ngx_http_gamma_regex_logged < NGX_HTTP_GAMMA_REGEX_LOG_S) {
        ngx_http_gamma_regex_unlogged++;
        return NGX_HTTP_BAD_REQUEST;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "gamma: a request to %s ran out of the regex budget "
                  "(%uD steps) in rule %s of HTTPRoute %s/%s, answering 400 "
                  "(%ui more such requests since the last line)",
                  ctx->frontend->passthrough->label.data,
                  ngx_http_gamma_regex_budget_steps(gmcf), rule->label.data,
                  rule->route->ns.data, rule->route->name.data,
                  ngx_http_gamma_regex_unlogged);

    ngx_http_gamma_regex_logged = now;
    ngx_http_gamma_regex_unlogged = 0;

    return NGX_HTTP_BAD_REQUEST;
}
