/*
 * nginx-gamma: RequestMirror, after nginx's mirror module.
 *
 * A mirror filter takes its share of requests and records the request as
 * the filters listed before it left it (path, query, headers, Host).
 * Before the location's content handler (which the first mirror of a
 * request wraps: no phase handler runs for the requests without one), once
 * the body is read, each recorded mirror becomes a background subrequest
 * that clones the location: it skips routing, carries the mirror backend in
 * its own context and goes through gamma_balancer like any request.  Only
 * the response header is waited for (header_only); the client's response
 * never waits for a mirror, a mirror's failure is logged and nothing else,
 * and a mirror that does not answer within NGX_HTTP_GAMMA_MIRROR_TIMEOUT
 * is cut off like an upstream read timeout.  As with nginx's mirror
 * module, the client connection takes its next keep-alive request once
 * the mirrors are done.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_filter.h"


static ngx_int_t ngx_http_gamma_mirror_content(ngx_http_request_t *r);
static void ngx_http_gamma_mirror_body_handler(ngx_http_request_t *r);
static void ngx_http_gamma_mirror_send_all(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);
static ngx_int_t ngx_http_gamma_mirror_send(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_mirror_t *mr);
static ngx_int_t ngx_http_gamma_mirror_ctx(ngx_http_request_t *r,
    ngx_http_request_t *sr, ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_mirror_t *mr);
static void ngx_http_gamma_mirror_start(ngx_http_request_t *sr,
    ngx_http_gamma_mirror_t *mr);
static ngx_int_t ngx_http_gamma_mirror_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_gamma_mirror_timeout(ngx_event_t *ev);
static void ngx_http_gamma_mirror_cleanup(void *data);


ngx_int_t
ngx_http_gamma_mirror_add(ngx_http_request_t *r,
    ngx_http_gamma_filter_ctx_t *fctx, const gm_mirror_t *m)
{
    ngx_http_gamma_mirror_t  *mr;

    if (m->backend == NULL
        || m->numerator == 0
        || (m->numerator < m->denominator
            && (uint32_t) (ngx_random() % m->denominator) >= m->numerator))
    {
        return NGX_DECLINED;
    }

    if (m->backend->status != GM_BACKEND_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gamma: mirror to %s skipped: %s", m->backend->label.data,
                      m->backend->status == GM_BACKEND_NO_ENDPOINTS
                      ? "no ready endpoints" : "no such Service or port");
        return NGX_DECLINED;
    }

    if (fctx->mirrors == NULL) {
        /* as before: a subrequest's mirrors are not sent */
        if (r != r->main || r->content_handler == NULL) {
            return NGX_DECLINED;
        }

        fctx->mirrors = ngx_array_create(r->pool, 2,
                                         sizeof(ngx_http_gamma_mirror_t));
        if (fctx->mirrors == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* the mirrors go first (their clones set it again) */
        fctx->content = r->content_handler;
        r->content_handler = ngx_http_gamma_mirror_content;
    }

    mr = ngx_array_push(fctx->mirrors);
    if (mr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(mr, sizeof(ngx_http_gamma_mirror_t));

    mr->mirror = m;
    mr->uri = r->uri;
    mr->args = r->args;
    mr->valid_unparsed_uri = r->valid_unparsed_uri;

    if (fctx->upstream_host.len) {
        mr->host = fctx->upstream_host;

    } else if (r->headers_in.host) {
        mr->host = r->headers_in.host->value;
    }

    if (ngx_http_gamma_headers_copy(r->pool, &mr->headers,
                                    &r->headers_in.headers)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * The content handler of a request with mirrors and of its mirror
 * subrequests (clones): past the access phase, as nginx's mirror module
 * in the precontent phase, and then the location's own handler.
 */
static ngx_int_t
ngx_http_gamma_mirror_content(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_gamma_ctx_t         *ctx;
    ngx_http_gamma_filter_ctx_t  *fctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    if (ctx == NULL || ctx->filter == NULL || ctx->filter->content == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    fctx = ctx->filter;

    if (fctx->mirror) {
        /* a mirror subrequest, on its way to the mirror backend */
        ngx_http_gamma_mirror_start(r, fctx->mirror);
        return fctx->content(r);
    }

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        ngx_http_gamma_mirror_send_all(r, ctx);
        return fctx->content(r);
    }

    /* the mirrors need the whole body, as nginx's mirror module does */
    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_gamma_mirror_body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_gamma_mirror_body_handler(ngx_http_request_t *r)
{
    ngx_http_gamma_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    ngx_http_gamma_mirror_send_all(r, ctx);

    r->preserve_body = 1;

    /* what ngx_http_core_content_phase() does */
    r->write_event_handler = ngx_http_request_empty_handler;
    ngx_http_finalize_request(r, ctx->filter->content(r));
}


/* a mirror that cannot be sent is logged; the request goes on */
static void
ngx_http_gamma_mirror_send_all(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx)
{
    ngx_uint_t                i;
    ngx_http_gamma_mirror_t  *mr;

    mr = ctx->filter->mirrors->elts;

    for (i = 0; i < ctx->filter->mirrors->nelts; i++) {
        if (ngx_http_gamma_mirror_send(r, ctx, &mr[i]) != NGX_OK) {
            mr[i].failed = 1;
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "gamma: mirror to %s not sent",
                          mr[i].mirror->backend->label.data);
        }
    }
}


static ngx_int_t
ngx_http_gamma_mirror_send(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_mirror_t *mr)
{
    ngx_http_request_t          *sr;
    ngx_pool_cleanup_t          *cln;
    ngx_http_post_subrequest_t  *ps;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ps == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    /* the timer must go before the request's memory does */
    cln->handler = ngx_http_gamma_mirror_cleanup;
    cln->data = mr;

    ps->handler = ngx_http_gamma_mirror_done;
    ps->data = mr;

    if (ngx_http_subrequest(r, &mr->uri, &mr->args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_BACKGROUND
                            |NGX_HTTP_SUBREQUEST_CLONE)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    mr->sr = sr;

    /* a clone takes the location's handler again: it starts the timer */
    sr->content_handler = ngx_http_gamma_mirror_content;

    /* the response is of no interest: the upstream stops at its header */
    sr->header_only = 1;
    sr->headers_in.headers = mr->headers;
    sr->valid_unparsed_uri = mr->valid_unparsed_uri;

    return ngx_http_gamma_mirror_ctx(r, sr, ctx, mr);
}


/* the subrequest starts past the router: it is routed here */
static ngx_int_t
ngx_http_gamma_mirror_ctx(ngx_http_request_t *r, ngx_http_request_t *sr,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_mirror_t *mr)
{
    ngx_http_gamma_ctx_t         *sctx;
    ngx_http_gamma_filter_ctx_t  *sfctx;

    sctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gamma_ctx_t));
    sfctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gamma_filter_ctx_t));

    if (sctx == NULL || sfctx == NULL) {
        return NGX_ERROR;
    }

    /* the main request holds the snapshot for both */
    sctx->snapshot = ctx->snapshot;
    sctx->frontend = ctx->frontend;
    sctx->table_kind = ctx->table_kind;
    sctx->backend = mr->mirror->backend;
    sctx->filter = sfctx;

    sfctx->upstream_host = mr->host;
    sfctx->mirror = mr;
    sfctx->content = ctx->filter->content;

    ngx_http_set_ctx(sr, sctx, ngx_http_gamma_module);

    return NGX_OK;
}


static void
ngx_http_gamma_mirror_start(ngx_http_request_t *sr,
    ngx_http_gamma_mirror_t *mr)
{
    if (mr->done || mr->timer.timer_set) {
        return;
    }

    mr->timer.handler = ngx_http_gamma_mirror_timeout;
    mr->timer.data = mr;
    mr->timer.log = sr->connection->log;

    ngx_add_timer(&mr->timer, NGX_HTTP_GAMMA_MIRROR_TIMEOUT);
}


/* whatever happened to it, a mirror ends well for the main request */
static ngx_int_t
ngx_http_gamma_mirror_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_gamma_mirror_t  *mr = data;

    ngx_uint_t  status;

    if (rc == NGX_AGAIN || mr->done) {
        return rc;
    }

    mr->done = 1;

    if (mr->timer.timer_set) {
        ngx_del_timer(&mr->timer);
    }

    status = sr->headers_out.status;

    if (mr->timed_out) {
        ngx_log_error(NGX_LOG_WARN, sr->connection->log, 0,
                      "gamma: mirror of \"%V\" to %s timed out after %M ms",
                      &mr->uri, mr->mirror->backend->label.data,
                      (ngx_msec_t) NGX_HTTP_GAMMA_MIRROR_TIMEOUT);

    } else if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE
               || status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
    {
        mr->failed = 1;
        ngx_log_error(NGX_LOG_WARN, sr->connection->log, 0,
                      "gamma: mirror of \"%V\" to %s failed: %i",
                      &mr->uri, mr->mirror->backend->label.data,
                      rc >= NGX_HTTP_SPECIAL_RESPONSE ? rc
                                                      : (ngx_int_t) status);

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                       "gamma mirror: %s answered %ui",
                       mr->mirror->backend->label.data, status);
    }

    return NGX_OK;
}


/* past the deadline it looks like an upstream read timeout, no retry */
static void
ngx_http_gamma_mirror_timeout(ngx_event_t *ev)
{
    ngx_http_gamma_mirror_t  *mr = ev->data;

    ngx_http_upstream_t  *u;

    u = mr->sr->upstream;

    if (mr->done || u == NULL || u->peer.connection == NULL) {
        return;
    }

    mr->timed_out = 1;

    ngx_http_gamma_upstream_timeout(u, 1);
}


static void
ngx_http_gamma_mirror_cleanup(void *data)
{
    ngx_http_gamma_mirror_t  *mr = data;

    if (mr->timer.timer_set) {
        ngx_del_timer(&mr->timer);
    }
}
