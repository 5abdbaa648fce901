/*
 * nginx-gamma: the operator's defaults and overrides in nginx.conf,
 *
 *     gamma_default  <scope> <field> <value>;
 *     gamma_override <scope> <field> <value>;
 *
 * checked at "nginx -t" with the parser that reads TrafficPolicies
 * (gm_policy.c), and handed to the compiler, which merges them with the
 * imported policies (gm_compile_policy.c).  Also $gamma_policy.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"


static void *ngx_http_gamma_policy_alloc(void *pool, size_t size);
static ngx_int_t ngx_http_gamma_policy_duplicate(ngx_array_t *lines,
    const gm_operator_entry_t *e);


char *
ngx_http_gamma_policy_line(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    int                   rc;
    char                  err[GM_POLICY_ERROR_MAX];
    ngx_str_t            *value;
    gm_operator_entry_t  *e;

    value = cf->args->elts;

    if (gmcf->operator_lines == NULL) {
        gmcf->operator_lines = ngx_array_create(cf->pool, 8,
                                                sizeof(gm_operator_entry_t));
        if (gmcf->operator_lines == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    e = ngx_array_push(gmcf->operator_lines);
    if (e == NULL) {
        return NGX_CONF_ERROR;
    }

    rc = gm_operator_line_parse(e, value[0].len == sizeof("gamma_override") - 1,
                                (const char *) value[1].data, value[1].len,
                                (const char *) value[2].data, value[2].len,
                                (const char *) value[3].data, value[3].len,
                                ngx_http_gamma_policy_alloc, cf->pool, err,
                                sizeof(err));

    switch (rc) {

    case GM_OPLINE_OK:
        break;

    case GM_OPLINE_SCOPE:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid scope \"%V\" in "
                           "\"%V\" directive, it %s", &value[1], &value[0],
                           err);
        return NGX_CONF_ERROR;

    case GM_OPLINE_FIELD:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "unknown field \"%V\" in "
                           "\"%V\" directive, it must be a TrafficPolicy "
                           "field such as \"timeouts.request\", "
                           "\"retry.attempts\" or \"retry.codes\"",
                           &value[2], &value[0]);
        return NGX_CONF_ERROR;

    default:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid value \"%V\" of "
                           "\"%V\" in \"%V\" directive, it %s", &value[3],
                           &value[2], &value[0], err);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_gamma_policy_duplicate(gmcf->operator_lines, e) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "duplicate \"%V %V %V\"",
                           &value[0], &value[1], &value[2]);
        return NGX_CONF_ERROR;
    }

    /* the array may have moved */
    gmcf->operator_conf.entries = gmcf->operator_lines->elts;
    gmcf->operator_conf.nentries = gmcf->operator_lines->nelts;

    return NGX_CONF_OK;
}


static void *
ngx_http_gamma_policy_alloc(void *pool, size_t size)
{
    return ngx_pcalloc(pool, size);
}


/* one field of one scope is said once: the order of lines means nothing */
static ngx_int_t
ngx_http_gamma_policy_duplicate(ngx_array_t *lines,
    const gm_operator_entry_t *e)
{
    ngx_uint_t            i;
    gm_operator_entry_t  *o;

    o = lines->elts;

    for (i = 0; i + 1 < lines->nelts; i++) {
        if (o[i].override == e->override && o[i].scope == e->scope
            && o[i].v.set == e->v.set && o[i].port == e->port
            && gm_str_eq(&o[i].ns, &e->ns) && gm_str_eq(&o[i].name, &e->name)
            && gm_str_eq(&o[i].rule, &e->rule))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gamma_policy_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t              rc;
    ngx_str_t              names;
    ngx_http_gamma_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    /* with the backend's policies (ngx_http_gamma_policy_var.c) */
    rc = ngx_http_gamma_policy_names(r, ctx, &names);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED || names.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = names.data;
    v->len = names.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
