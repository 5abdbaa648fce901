/*
 * nginx-gamma: timeouts.request, one deadline for the whole request, from
 * routing until the response is complete, across every retry.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"


static void ngx_http_gamma_request_timeout(ngx_event_t *ev);
static void ngx_http_gamma_timeout_cleanup(void *data);


ngx_int_t
ngx_http_gamma_timeout_start(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    ngx_event_t         *ev;
    ngx_pool_cleanup_t  *cln;

    if (ctx->eff == NULL || !(ctx->eff->v.set & GM_PF_TIMEOUT_REQUEST)
        || ctx->eff->v.timeout_request_ms <= 0)
    {
        return NGX_OK;
    }

    ev = ngx_pcalloc(r->pool, sizeof(ngx_event_t));
    if (ev == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_gamma_timeout_cleanup;
    cln->data = ev;

    ev->handler = ngx_http_gamma_request_timeout;
    ev->data = r;
    ev->log = r->connection->log;
    ctx->request_timer = ev;

    ngx_add_timer(ev, (ngx_msec_t) ctx->eff->v.timeout_request_ms);

    return NGX_OK;
}


/*
 * Past the deadline no attempt is left.  While a backend is working, it is
 * made to look like an upstream read timeout: before the response starts
 * nginx answers 504, after it the connection is closed.
 */
static void
ngx_http_gamma_request_timeout(ngx_event_t *ev)
{
    ngx_http_request_t    *r;
    ngx_http_upstream_t   *u;
    ngx_http_gamma_ctx_t  *ctx;

    r = ev->data;

    /* the response is complete: background mirrors may still hold it */
    if (r->done) {
        return;
    }

    u = r->upstream;
    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "gamma: request timed out after %L ms",
                  ctx ? (long long) ctx->eff->v.timeout_request_ms : 0LL);

    if (ctx) {
        ctx->timed_out = NGX_HTTP_GAMMA_TIMEOUT_REQUEST;
    }

    if (u && u->peer.connection) {
        ngx_http_gamma_upstream_timeout(u, 1);
        return;
    }

    if (r->header_sent) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    ngx_http_finalize_request(r, NGX_HTTP_GATEWAY_TIME_OUT);
}


static void
ngx_http_gamma_timeout_cleanup(void *data)
{
    ngx_event_t  *ev = data;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
}


/*
 * Ends the upstream's current attempt as if its read had timed out: before
 * the response starts nginx retries or answers 504, after it the client
 * connection is closed.  With last set no retry follows.
 */
void
ngx_http_gamma_upstream_timeout(ngx_http_upstream_t *u, ngx_uint_t last)
{
    ngx_connection_t  *c;

    c = u->peer.connection;

    if (c == NULL) {
        return;
    }

    if (last) {
        u->peer.tries = 0;
    }

    c->read->timedout = 1;
    c->read->handler(c->read);
}
