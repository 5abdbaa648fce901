/*
 * nginx-gamma: RequestRedirect.  Location is scheme://host[:port]path?args:
 * the filter's scheme, else the request's; its hostname, else the Host
 * header without its port; its port, else the scheme's default when it
 * names a scheme, else the Service port the client called; no port when it
 * is the scheme's default; the path as the path modifier makes it; the
 * query string as the client sent it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_filter.h"


static void ngx_http_gamma_redirect_host(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, const gm_redirect_t *rd, ngx_str_t *host);
static ngx_uint_t ngx_http_gamma_redirect_port(ngx_http_gamma_ctx_t *ctx,
    const gm_redirect_t *rd, ngx_str_t *scheme);
static ngx_int_t ngx_http_gamma_redirect_location(ngx_http_request_t *r,
    ngx_str_t *location);


ngx_int_t
ngx_http_gamma_redirect(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    const gm_redirect_t *rd)
{
    u_char      *p;
    size_t       len;
    uintptr_t    escape;
    ngx_int_t    rc;
    ngx_str_t    scheme, host, path, location;
    ngx_uint_t   port;

    if (rd->scheme.len) {
        scheme.data = (u_char *) rd->scheme.data;
        scheme.len = rd->scheme.len;

    } else if (r->connection->ssl) {
        ngx_str_set(&scheme, "https");

    } else {
        ngx_str_set(&scheme, "http");
    }

    ngx_http_gamma_redirect_host(r, ctx, rd, &host);
    port = ngx_http_gamma_redirect_port(ctx, rd, &scheme);

    rc = ngx_http_gamma_rewrite_path(r, &rd->path, &path);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        path = r->uri;
    }

    /* gamma_escaped_slashes keep: the path is escaped already */
    escape = ctx->path_escaped
             ? 0 : 2 * ngx_escape_uri(NULL, path.data, path.len,
                                      NGX_ESCAPE_URI);

    len = scheme.len + sizeof("://") - 1 + host.len + sizeof(":65535") - 1
          + path.len + escape + 1 + r->args.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location.data = p;
    p = ngx_sprintf(p, "%V://%V", &scheme, &host);

    if (port) {
        p = ngx_sprintf(p, ":%ui", port);
    }

    if (ctx->path_escaped) {
        p = ngx_cpymem(p, path.data, path.len);

    } else {
        p = (u_char *) ngx_escape_uri(p, path.data, path.len,
                                      NGX_ESCAPE_URI);
    }

    if (r->args.len) {
        p = ngx_sprintf(p, "?%V", &r->args);
    }

    location.len = p - location.data;

    if (ngx_http_gamma_redirect_location(r, &location) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return rd->status;
}


/* no Host header (HTTP/1.0): the Service's own name */
static void
ngx_http_gamma_redirect_host(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    const gm_redirect_t *rd, ngx_str_t *host)
{
    u_char  *p;

    if (rd->hostname.len) {
        host->data = (u_char *) rd->hostname.data;
        host->len = rd->hostname.len;
        return;
    }

    if (r->headers_in.server.len) {
        *host = r->headers_in.server;
        return;
    }

    host->len = ctx->frontend->passthrough->name.len + 1
                + ctx->frontend->passthrough->ns.len + sizeof(".svc") - 1;

    p = ngx_pnalloc(r->pool, host->len);
    if (p == NULL) {
        ngx_str_set(host, "localhost");
        return;
    }

    host->data = p;
    ngx_sprintf(p, "%s.%s.svc", ctx->frontend->passthrough->name.data,
                ctx->frontend->passthrough->ns.data);
}


/* 0: no port in Location */
static ngx_uint_t
ngx_http_gamma_redirect_port(ngx_http_gamma_ctx_t *ctx,
    const gm_redirect_t *rd, ngx_str_t *scheme)
{
    ngx_uint_t  port, deflt;

    deflt = (scheme->len == 5) ? 443 : 80;

    if (rd->port) {
        port = rd->port;

    } else if (rd->scheme.len) {
        port = deflt;

    } else {
        port = ctx->frontend->port;
    }

    return (port == deflt) ? 0 : port;
}


static ngx_int_t
ngx_http_gamma_redirect_location(ngx_http_request_t *r, ngx_str_t *location)
{
    ngx_table_elt_t  *h;

    ngx_http_clear_location(r);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value = *location;
    h->lowcase_key = (u_char *) "location";

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    r->headers_out.location = h;

    return NGX_OK;
}
