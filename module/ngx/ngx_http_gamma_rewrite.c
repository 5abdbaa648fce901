/*
 * nginx-gamma: URLRewrite.  The path changes r->uri (decoded, as nginx
 * keeps it) and invalidates the unparsed URI, so that "proxy_pass" without
 * a URI part sends the new path, escaped, with the original query string.
 * The hostname becomes $gamma_upstream_host, the Host the backend sees.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_filter.h"


ngx_int_t
ngx_http_gamma_rewrite(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_rewrite_t *rw)
{
    ngx_int_t              rc;
    ngx_str_t              path;
    ngx_http_gamma_ctx_t  *ctx;

    if (rw->hostname.len) {
        fctx->upstream_host.data = (u_char *) rw->hostname.data;
        fctx->upstream_host.len = rw->hostname.len;
    }

    if (rw->path.type == GM_PATH_KEEP) {
        return NGX_DECLINED;
    }

    rc = ngx_http_gamma_rewrite_path(r, &rw->path, &path);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gamma: URLRewrite: \"%V\" is not under the prefix "
                      "\"%s\", path kept", &r->uri, rw->path.prefix.data);
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gamma rewrite: \"%V\" -> \"%V\"", &r->uri, &path);

    r->uri = path;
    r->valid_unparsed_uri = 0;
    /* the proxy module escapes a path only when it had escapes */
    r->quoted_uri = 1;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    if (ctx && ctx->path_escaped) {
        /* gamma_escaped_slashes keep: the path is escaped already */
        r->quoted_uri = 0;
    }

    ngx_http_set_exten(r);

    return NGX_DECLINED;
}


/*
 * The path a path modifier makes of r->uri, in r->pool.  NGX_DECLINED: a
 * prefix replacement on a path no longer under the prefix.
 */
ngx_int_t
ngx_http_gamma_rewrite_path(ngx_http_request_t *r, const gm_path_mod_t *pm,
    ngx_str_t *path)
{
    u_char   *p;
    ssize_t   n;

    switch (pm->type) {

    case GM_PATH_FULL:
        p = ngx_pnalloc(r->pool, pm->value.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, pm->value.data, pm->value.len);
        path->data = p;
        path->len = pm->value.len;
        return NGX_OK;

    case GM_PATH_PREFIX:
        p = ngx_pnalloc(r->pool, r->uri.len + pm->value.len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        n = gm_path_replace_prefix(pm, (char *) r->uri.data, r->uri.len,
                                   (char *) p);
        if (n < 0) {
            return NGX_DECLINED;
        }

        path->data = p;
        path->len = (size_t) n;
        return NGX_OK;

    default:
        *path = r->uri;
        return NGX_OK;
    }
}
