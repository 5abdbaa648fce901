/*
 * nginx-gamma: $gamma_policy names every policy, of any kind, that gave
 * the request a value: the TrafficPolicies of its merged settings (one
 * string, built at compile time) and the backend's BackendTLSPolicy and
 * XBackendTrafficPolicies (its retry budget, the session persistence it
 * got), joined here, sorted, each once.  Only a request whose backend has
 * such a policy pays for the join.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"


/* TrafficPolicies are at most GM_COMPILE_POLICY_SOURCES; then 3 more */
#define NGX_HTTP_GAMMA_POLICY_NAMES  64


static int ngx_libc_cdecl ngx_http_gamma_name_cmp(const void *one,
    const void *two);


ngx_int_t
ngx_http_gamma_policy_names(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_str_t *out)
{
    u_char               *p, *end, *comma;
    size_t                len;
    ngx_str_t             names[NGX_HTTP_GAMMA_POLICY_NAMES];
    ngx_uint_t            i, n, extra;
    const gm_backend_t   *b;
    const gm_str_t       *more[3];

    out->len = 0;
    out->data = NULL;

    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    b = ctx->is_direct ? NULL : ctx->backend;
    extra = 0;

    if (b != NULL && b->ext->tls != NULL) {
        more[extra++] = &b->ext->tls->policy;
    }

    if (b != NULL && b->ext->traffic != NULL) {
        more[extra++] = &b->ext->traffic->policy;
    }

    if (ctx->session != NULL && ctx->session->policy.len) {
        more[extra++] = &ctx->session->policy;
    }

    if (ctx->eff != NULL) {
        out->data = (u_char *) ctx->eff->policies.data;
        out->len = ctx->eff->policies.len;
    }

    if (extra == 0) {
        return out->len ? NGX_OK : NGX_DECLINED;
    }

    n = 0;
    len = out->len;
    p = out->data;
    end = p + out->len;

    while (p < end && n < NGX_HTTP_GAMMA_POLICY_NAMES - 3) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        names[n].data = p;
        names[n++].len = comma - p;
        p = comma + 1;
    }

    for (i = 0; i < extra; i++) {
        names[n].data = (u_char *) more[i]->data;
        names[n++].len = more[i]->len;
        len += more[i]->len + 1;
    }

    ngx_qsort(names, n, sizeof(ngx_str_t), ngx_http_gamma_name_cmp);

    out->data = ngx_pnalloc(r->pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;

    for (i = 0; i < n; i++) {
        if (i > 0 && names[i].len == names[i - 1].len
            && ngx_strncmp(names[i].data, names[i - 1].data, names[i].len)
               == 0)
        {
            continue;
        }

        if (p != out->data) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, names[i].data, names[i].len);
    }

    out->len = p - out->data;

    return NGX_OK;
}


/* bytewise, as the compiler sorts */
static int ngx_libc_cdecl
ngx_http_gamma_name_cmp(const void *one, const void *two)
{
    int               rc;
    const ngx_str_t  *a = one, *b = two;

    rc = ngx_memcmp(a->data, b->data, ngx_min(a->len, b->len));

    if (rc != 0) {
        return rc;
    }

    return (a->len < b->len) ? -1 : (a->len > b->len);
}
