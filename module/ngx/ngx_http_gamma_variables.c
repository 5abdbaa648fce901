/*
 * nginx-gamma: $gamma_* variables, for access logs and proxy headers.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_filter.h"


typedef enum {
    NGX_HTTP_GAMMA_VAR_SERVICE = 0,
    NGX_HTTP_GAMMA_VAR_ROUTE,
    NGX_HTTP_GAMMA_VAR_ROUTE_KIND,
    NGX_HTTP_GAMMA_VAR_RULE,
    NGX_HTTP_GAMMA_VAR_BACKEND,
    NGX_HTTP_GAMMA_VAR_ENDPOINT,
    NGX_HTTP_GAMMA_VAR_ATTEMPTS,
    NGX_HTTP_GAMMA_VAR_TIMEOUT
} ngx_http_gamma_var_e;


static ngx_int_t ngx_http_gamma_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_gamma_variable_value(ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_var_e which, gm_str_t *out);
static ngx_int_t ngx_http_gamma_upstream_host(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gamma_service_host(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_str_t *host);


static ngx_http_variable_t  ngx_http_gamma_vars[] = {

    { ngx_string("gamma_service"), NULL, ngx_http_gamma_variable,
      NGX_HTTP_GAMMA_VAR_SERVICE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_route"), NULL, ngx_http_gamma_variable,
      NGX_HTTP_GAMMA_VAR_ROUTE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_route_kind"), NULL, ngx_http_gamma_variable,
      NGX_HTTP_GAMMA_VAR_ROUTE_KIND, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_rule"), NULL, ngx_http_gamma_variable,
      NGX_HTTP_GAMMA_VAR_RULE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_backend"), NULL, ngx_http_gamma_variable,
      NGX_HTTP_GAMMA_VAR_BACKEND, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_endpoint"), NULL, ngx_http_gamma_variable,
      NGX_HTTP_GAMMA_VAR_ENDPOINT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_upstream_host"), NULL,
      ngx_http_gamma_upstream_host, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_policy"), NULL, ngx_http_gamma_policy_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_attempts"), NULL, ngx_http_gamma_variable,
      NGX_HTTP_GAMMA_VAR_ATTEMPTS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gamma_timeout"), NULL, ngx_http_gamma_variable,
      NGX_HTTP_GAMMA_VAR_TIMEOUT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_gamma_add_variables(ngx_conf_t *cf)
{
    return ngx_http_gamma_add_variable_table(cf, ngx_http_gamma_vars);
}


/* registers a null-terminated table of variables (each file has its own) */
ngx_int_t
ngx_http_gamma_add_variable_table(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    gm_str_t               s;
    ngx_http_gamma_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    s.data = NULL;
    s.len = 0;

    if (ctx && data == NGX_HTTP_GAMMA_VAR_ATTEMPTS && ctx->attempts) {
        s.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (s.data == NULL) {
            return NGX_ERROR;
        }

        s.len = ngx_sprintf((u_char *) s.data, "%ui",
                            (ngx_uint_t) ctx->attempts)
                - (u_char *) s.data;

    } else if (ctx) {
        ngx_http_gamma_variable_value(ctx, data, &s);
    }

    if (s.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = (u_char *) s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static void
ngx_http_gamma_variable_value(ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_var_e which, gm_str_t *out)
{
    static gm_str_t  kinds[] = {
        { 4, "none" }, { 8, "producer" }, { 8, "consumer" }
    };

    static gm_str_t  timeouts[] = {
        { 0, "" }, { 7, "request" }, { 7, "backend" }
    };

    switch (which) {

    case NGX_HTTP_GAMMA_VAR_SERVICE:
        if (ctx->frontend) {
            *out = ctx->frontend->passthrough->label;
        }
        break;

    case NGX_HTTP_GAMMA_VAR_ROUTE:
        if (ctx->rule) {
            /* "ns/name" is the head of the rule label */
            out->data = ctx->rule->label.data;
            out->len = ctx->rule->route->ns.len + 1
                       + ctx->rule->route->name.len;
        }
        break;

    case NGX_HTTP_GAMMA_VAR_ROUTE_KIND:
        if (ctx->frontend) {
            *out = kinds[ctx->table_kind];
        }
        break;

    case NGX_HTTP_GAMMA_VAR_RULE:
        if (ctx->rule) {
            gm_rule_name(ctx->rule, out);
        }
        break;

    case NGX_HTTP_GAMMA_VAR_BACKEND:
        if (ctx->backend) {
            *out = ctx->backend->label;
        }
        break;

    case NGX_HTTP_GAMMA_VAR_ENDPOINT:
        if (ctx->endpoint) {
            out->data = (char *) ctx->endpoint->text;
            out->len = ctx->endpoint->text_len;
        }
        break;

    case NGX_HTTP_GAMMA_VAR_TIMEOUT:
        if (ctx->timed_out) {
            *out = timeouts[ctx->timed_out];
        }
        break;

    case NGX_HTTP_GAMMA_VAR_ATTEMPTS:
        /* formatted by the caller */
        break;
    }
}


/*
 * The Host sent upstream: a filter's, else the client's; a request without
 * one (HTTP/1.0) gets the name it was addressed to, the Service's DNS name
 * or the original destination, so that the backend never sees an empty
 * Host nor nginx's upstream name ($proxy_host, which nginx 1.31.4 sends
 * for an empty one).
 */
static ngx_int_t
ngx_http_gamma_upstream_host(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t              host;
    ngx_http_gamma_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    /* a URLRewrite's Host, else the client's own, as without a mesh */
    if (ctx && ctx->filter && ctx->filter->upstream_host.len) {
        host = ctx->filter->upstream_host;

    } else if (r->headers_in.host
               && (r->headers_in.host->value.len || ctx == NULL
                   || (ctx->frontend == NULL && !ctx->is_direct)))
    {
        host = r->headers_in.host->value;

    } else if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;

    } else if (ctx->frontend) {
        if (ngx_http_gamma_service_host(r, ctx, &host) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ctx->is_direct) {
        host.data = (u_char *) ctx->direct->text;
        host.len = ctx->direct->text_len;

    } else {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = host.data;
    v->len = host.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* "name.ns.svc", with ":port" unless the Service port is 80 */
static ngx_int_t
ngx_http_gamma_service_host(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_str_t *host)
{
    u_char              *p;
    const gm_backend_t  *b;

    /* the frontend's names and port are its passthrough's */
    b = ctx->frontend->passthrough;

    p = ngx_pnalloc(r->pool, b->name.len + b->ns.len
                             + sizeof("..svc:65535") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    host->data = p;

    p = ngx_sprintf(p, "%*s.%*s.svc", b->name.len, b->name.data,
                    b->ns.len, b->ns.data);

    if (b->port != 80) {
        p = ngx_sprintf(p, ":%ui", (ngx_uint_t) b->port);
    }

    host->len = p - host->data;

    return NGX_OK;
}
