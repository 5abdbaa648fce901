/*
 * nginx-gamma: gamma_balancer, the upstream load balancer that sends a
 * request to an endpoint of the backend the router chose.  Shaped like the
 * hash balancer: init_upstream, then init_peer/get/free per request, so
 * "keepalive" in the same upstream block wraps it as usual.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"


/* only for rules with timeouts or retries */
struct ngx_http_gamma_peer_timers_s {
    ngx_event_t             attempt;     /* timeouts.backendRequest */
    ngx_event_t             backoff;     /* retry.backoff */
};


/* the status codes nginx itself can retry on */
static const struct {
    ngx_uint_t  status;
    ngx_uint_t  mask;
} ngx_http_gamma_retry_codes[] = {
    { 403, NGX_HTTP_UPSTREAM_FT_HTTP_403 },
    { 404, NGX_HTTP_UPSTREAM_FT_HTTP_404 },
    { 429, NGX_HTTP_UPSTREAM_FT_HTTP_429 },
    { 500, NGX_HTTP_UPSTREAM_FT_HTTP_500 },
    { 502, NGX_HTTP_UPSTREAM_FT_HTTP_502 },
    { 503, NGX_HTTP_UPSTREAM_FT_HTTP_503 },
    { 504, NGX_HTTP_UPSTREAM_FT_HTTP_504 },
    { 0, 0 }
};


static ngx_int_t ngx_http_gamma_balancer_init(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_gamma_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_gamma_balancer_init_any(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx) __attribute__((noinline));
static void ngx_http_gamma_balancer_peer(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_peer_data_t *pd);
static ngx_int_t ngx_http_gamma_balancer_conf(ngx_http_request_t *r,
    ngx_http_gamma_peer_data_t *pd);
static void ngx_http_gamma_balancer_timeouts(ngx_http_upstream_conf_t *conf,
    const gm_policy_values_t *v);
static ngx_uint_t ngx_http_gamma_retry_mask(const gm_policy_values_t *v);
static ngx_int_t ngx_http_gamma_balancer_get_peer(ngx_peer_connection_t *pc,
    void *data);
static ngx_int_t ngx_http_gamma_balancer_arm(ngx_peer_connection_t *pc,
    ngx_http_gamma_peer_data_t *pd) __attribute__((noinline));
static void ngx_http_gamma_balancer_free_peer(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
static ngx_msec_t ngx_http_gamma_backoff_delay(ngx_http_gamma_peer_data_t *pd);
static ngx_int_t ngx_http_gamma_backoff_start(ngx_peer_connection_t *pc,
    ngx_http_gamma_peer_data_t *pd, ngx_msec_t delay);
static void ngx_http_gamma_backoff_handler(ngx_event_t *ev);
static void ngx_http_gamma_attempt_timeout(ngx_event_t *ev);
static void ngx_http_gamma_balancer_cleanup(void *data);


char *
ngx_http_gamma_balancer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_upstream_server_t    *us;
    ngx_http_upstream_srv_conf_t  *uscf;

    uscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_upstream_module);

    /*
     * "upstream" insists on a server; this placeholder is never used: the
     * mesh provides the endpoints.
     */
    us = ngx_array_push(uscf->servers);
    if (us == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(us, sizeof(ngx_http_upstream_server_t));
    ngx_str_set(&us->name, "gamma");

    if (uscf->peer.init_upstream) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "load balancing method redefined");
    }

    uscf->peer.init_upstream = ngx_http_gamma_balancer_init;

    uscf->flags = NGX_HTTP_UPSTREAM_CREATE
                  |NGX_HTTP_UPSTREAM_MAX_FAILS
                  |NGX_HTTP_UPSTREAM_FAIL_TIMEOUT;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gamma_balancer_init(ngx_conf_t *cf, ngx_http_upstream_srv_conf_t *us)
{
    if (us->servers->nelts > 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"server\" cannot be used in an upstream with "
                           "\"gamma_balancer\": the mesh provides endpoints");
        return NGX_ERROR;
    }

    us->peer.init = ngx_http_gamma_balancer_init_peer;

    return NGX_OK;
}


/* the fields that need this request's own upstream configuration */
#define NGX_HTTP_GAMMA_CONF_FIELDS                                           \
    (GM_PF_TIMEOUT_REQUEST|GM_PF_TIMEOUT_BACKEND|GM_PF_TIMEOUT_CONNECT       \
     |GM_PF_TIMEOUT_IDLE|GM_PF_RETRY)

/* a duration that is set and not "0s" (off) */
#define ngx_http_gamma_on(v, bit, ms)  (((v)->set & (bit)) && (ms) > 0)


/*
 * The common request in a small frame: a backend with endpoints, round
 * robin, no session's endpoint, retry budget, TLS or setting that needs
 * the request's own upstream configuration, a request head proxy_pass
 * wrote.  Everything else in ngx_http_gamma_balancer_init_any().
 */
static ngx_int_t
ngx_http_gamma_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_chain_t                 *cl;
    gm_backend_t                *b;
    ngx_http_gamma_ctx_t        *ctx;
    ngx_http_gamma_peer_data_t  *pd;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);
    b = (ctx != NULL) ? ctx->backend : NULL;
    cl = r->upstream->request_bufs;

    if (b == NULL || ctx->is_direct || ctx->session_ep != 0
        || b->nendpoints == 0 || b->ext->traffic != NULL || b->ext->tls != NULL
        || !ngx_http_gamma_lb_round_robin(ctx, b)
        || (ctx->eff != NULL
            && (ctx->eff->v.set & NGX_HTTP_GAMMA_CONF_FIELDS))
        || (cl != NULL && ngx_http_gamma_grpc_head(cl->buf)))
    {
        return ngx_http_gamma_balancer_init_any(r, ctx);
    }

    pd = &ctx->peer;
    ngx_http_gamma_balancer_peer(r, ctx, pd);

    pd->endpoints = b->endpoints;
    pd->nendpoints = b->nendpoints;
    pd->start = __atomic_fetch_add(&b->rr, 1, __ATOMIC_RELAXED);
    pd->connect_timeout = r->upstream->conf->connect_timeout;

    r->upstream->peer.tries = pd->nendpoints;

    return NGX_OK;
}


/* in the request context, which leaves it to be set here */
static ngx_inline void
ngx_http_gamma_balancer_peer(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_peer_data_t *pd)
{
    pd->request = r;
    pd->ctx = ctx;
    pd->start = 0;
    pd->attempt = 0;
    pd->least = 0;
    pd->counted = NULL;
    pd->own_conf = 0;
    pd->timers = NULL;
    pd->pending = NULL;
    pd->pending_number = 0;

    r->upstream->peer.data = pd;
    r->upstream->peer.get = ngx_http_gamma_balancer_get_peer;
    r->upstream->peer.free = ngx_http_gamma_balancer_free_peer;
}


static ngx_int_t
ngx_http_gamma_balancer_init_any(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx)
{
    ngx_uint_t                   least;
    ngx_chain_t                 *cl;
    gm_backend_t                *b;
    ngx_http_gamma_peer_data_t  *pd;

    if (ctx == NULL || (ctx->backend == NULL && !ctx->is_direct)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gamma_balancer: the request was not routed by the "
                      "mesh (is \"gamma on\" set for this location?)");
        return NGX_ERROR;
    }

    pd = &ctx->peer;
    ngx_http_gamma_balancer_peer(r, ctx, pd);

    if (ctx->is_direct) {
        pd->endpoints = ctx->direct;
        pd->nendpoints = 1;

    } else {
        b = ctx->backend;
        pd->endpoints = b->endpoints;
        pd->nendpoints = b->nendpoints;
        if (ctx->session_ep && ctx->session_ep <= b->nendpoints) {
            /* the endpoint of a session (ngx_http_gamma_session.c) */
            pd->start = ctx->session_ep - 1;

        } else if (ngx_http_gamma_lb_round_robin(ctx, b)) {
            pd->start = __atomic_fetch_add(&b->rr, 1, __ATOMIC_RELAXED);

        } else {
            pd->start = ngx_http_gamma_lb_start(r, ctx, b, &least);
            pd->least = least;
        }

        if (b->ext->traffic != NULL) {
            ngx_http_gamma_retry_budget_request(r, b->ext->traffic);
        }
    }

    if (pd->nendpoints == 0) {
        return NGX_ERROR;
    }

    /* proxy_next_upstream walks the remaining endpoints */
    r->upstream->peer.tries = pd->nendpoints;

    /* grpc_pass: the request head is built, give it the client's host */
    cl = r->upstream->request_bufs;

    if (cl != NULL && ngx_http_gamma_grpc_head(cl->buf)
        && ngx_http_gamma_grpc_authority(r) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_gamma_balancer_conf(r, pd);
}


/*
 * The effective timeouts and retries (the rule's, merged with policies
 * and nginx.conf) go into a copy of the upstream configuration that
 * belongs to this request alone (the technique of lua-nginx-module's
 * balancer): other requests are unaffected.
 */
static ngx_int_t
ngx_http_gamma_balancer_conf(ngx_http_request_t *r,
    ngx_http_gamma_peer_data_t *pd)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_upstream_t       *u;
    const gm_backend_tls_t    *tls;
    ngx_http_upstream_conf_t  *conf;
    const gm_policy_values_t  *v;

    u = r->upstream;
    v = pd->ctx->eff ? &pd->ctx->eff->v : NULL;
    tls = pd->ctx->is_direct ? NULL : pd->ctx->backend->ext->tls;

    if ((v == NULL || !(v->set & NGX_HTTP_GAMMA_CONF_FIELDS)) && tls == NULL) {
        pd->connect_timeout = u->conf->connect_timeout;
        return NGX_OK;
    }

    pd->timers = ngx_pcalloc(r->pool, sizeof(ngx_http_gamma_peer_timers_t));
    if (pd->timers == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_gamma_balancer_cleanup;
    cln->data = pd;

    conf = ngx_palloc(r->pool, sizeof(ngx_http_upstream_conf_t));
    if (conf == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(conf, u->conf, sizeof(ngx_http_upstream_conf_t));
    u->conf = conf;
    pd->own_conf = 1;

    pd->connect_timeout = conf->connect_timeout;

    /* BackendTLSPolicy: this request goes out over TLS */
    if (tls && ngx_http_gamma_tls_init_peer(r, conf, tls) != NGX_OK) {
        return NGX_ERROR;
    }

    if (v == NULL) {
        return NGX_OK;
    }

    ngx_http_gamma_balancer_timeouts(conf, v);

    /* no new attempt starts past the request's deadline */
    if (ngx_http_gamma_on(v, GM_PF_TIMEOUT_REQUEST, v->timeout_request_ms)) {
        conf->next_upstream_timeout = (ngx_msec_t) v->timeout_request_ms;
    }

    if (v->set & GM_PF_RETRY) {
        conf->next_upstream = NGX_HTTP_UPSTREAM_FT_ERROR
                              |NGX_HTTP_UPSTREAM_FT_TIMEOUT
                              |NGX_HTTP_UPSTREAM_FT_INVALID_HEADER
                              |ngx_http_gamma_retry_mask(v);
        conf->next_upstream_tries = 0;
        u->peer.tries = v->retry_attempts + 1;
    }

    pd->connect_timeout = conf->connect_timeout;

    return NGX_OK;
}


/*
 * timeouts.connect is proxy_connect_timeout, timeouts.idle the longest
 * silence on the backend connection (proxy_send/read_timeout), and
 * timeouts.backendRequest bounds all three for one attempt.
 */
static void
ngx_http_gamma_balancer_timeouts(ngx_http_upstream_conf_t *conf,
    const gm_policy_values_t *v)
{
    ngx_msec_t  ms;

    if (ngx_http_gamma_on(v, GM_PF_TIMEOUT_CONNECT, v->timeout_connect_ms)) {
        conf->connect_timeout = (ngx_msec_t) v->timeout_connect_ms;
    }

    if (ngx_http_gamma_on(v, GM_PF_TIMEOUT_IDLE, v->timeout_idle_ms)) {
        conf->send_timeout = (ngx_msec_t) v->timeout_idle_ms;
        conf->read_timeout = (ngx_msec_t) v->timeout_idle_ms;
    }

    if (ngx_http_gamma_on(v, GM_PF_TIMEOUT_BACKEND, v->timeout_backend_ms)) {
        ms = (ngx_msec_t) v->timeout_backend_ms;
        conf->connect_timeout = ngx_min(conf->connect_timeout, ms);
        conf->send_timeout = ngx_min(conf->send_timeout, ms);
        conf->read_timeout = ngx_min(conf->read_timeout, ms);
    }
}


static ngx_uint_t
ngx_http_gamma_retry_mask(const gm_policy_values_t *v)
{
    size_t      i;
    ngx_uint_t  j, mask;

    mask = 0;

    for (i = 0; (v->set & GM_PF_RETRY_CODES) && i < v->nretry_codes; i++) {
        for (j = 0; ngx_http_gamma_retry_codes[j].status; j++) {
            if (ngx_http_gamma_retry_codes[j].status == v->retry_codes[i]) {
                mask |= ngx_http_gamma_retry_codes[j].mask;
            }
        }
    }

    return mask;
}


static ngx_int_t
ngx_http_gamma_balancer_get_peer(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_gamma_peer_data_t  *pd = data;

    const gm_sockaddr_t  *ep;

    /* no retry past the budget: the failure is answered as 503 */
    if (pd->attempt > 0 && !pd->ctx->is_direct
        && pd->ctx->backend->ext->traffic != NULL
        && ngx_http_gamma_retry_budget_take(pd->request,
                                            pd->ctx->backend->ext->traffic)
           != NGX_OK)
    {
        pd->ctx->retry_denied = 1;
        pc->tries = 0;
        return NGX_DECLINED;
    }

    ep = &pd->endpoints[(pd->start + pd->attempt) % pd->nendpoints];
    pd->attempt++;
    pd->ctx->attempts = (uint16_t) ngx_min(pd->attempt, 0xffff);

    pd->name.data = (u_char *) ep->text;
    pd->name.len = ep->text_len;

    pc->sockaddr = (struct sockaddr *) &ep->u.sa;
    pc->socklen = ep->socklen;
    pc->name = &pd->name;
    pc->cached = 0;
    pc->connection = NULL;

    pd->ctx->endpoint = ep;

    if (pd->least) {
        ngx_http_gamma_lb_active(ep, 1);
        pd->counted = ep;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                   "gamma balancer: attempt %ui to %V", pd->attempt,
                   &pd->name);

    /* no timeouts, no retries (ngx_http_gamma_balancer_conf) */
    if (pd->timers == NULL) {
        return NGX_OK;
    }

    return ngx_http_gamma_balancer_arm(pc, pd);
}


/* out of line: the common request has no timers, and a lighter frame */
static ngx_int_t
ngx_http_gamma_balancer_arm(ngx_peer_connection_t *pc,
    ngx_http_gamma_peer_data_t *pd)
{
    ngx_msec_t                 delay, ms;
    const gm_policy_values_t  *v;

    v = pd->ctx->eff ? &pd->ctx->eff->v : NULL;
    delay = (pd->attempt > 1) ? ngx_http_gamma_backoff_delay(pd) : 0;

    if (v && ngx_http_gamma_on(v, GM_PF_TIMEOUT_BACKEND,
                               v->timeout_backend_ms))
    {
        ms = (ngx_msec_t) v->timeout_backend_ms;

        pd->timers->attempt.handler = ngx_http_gamma_attempt_timeout;
        pd->timers->attempt.data = pd;
        pd->timers->attempt.log = pc->log;
        ngx_add_timer(&pd->timers->attempt, delay + ms);
    }

    if (delay) {
        return ngx_http_gamma_backoff_start(pc, pd, delay);
    }

    if (pd->own_conf) {
        pd->request->upstream->conf->connect_timeout = pd->connect_timeout;
    }

    return NGX_OK;
}


static void
ngx_http_gamma_balancer_free_peer(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_http_gamma_peer_data_t  *pd = data;

    if (pd->timers) {
        ngx_http_gamma_balancer_cleanup(pd);
    }

    pd->pending = NULL;

    if (pd->counted) {
        ngx_http_gamma_lb_active(pd->counted, -1);
        pd->counted = NULL;
    }

    if (pc->tries) {
        pc->tries--;
    }
}


/* retry.backoff, plus up to a quarter more of jitter, within the deadline */
static ngx_msec_t
ngx_http_gamma_backoff_delay(ngx_http_gamma_peer_data_t *pd)
{
    ngx_msec_t                 delay, spent, limit;
    const gm_policy_values_t  *v;

    v = pd->ctx->eff ? &pd->ctx->eff->v : NULL;

    if (v == NULL
        || !ngx_http_gamma_on(v, GM_PF_RETRY_BACKOFF, v->retry_backoff_ms))
    {
        return 0;
    }

    delay = (ngx_msec_t) v->retry_backoff_ms;
    delay += ngx_random() % (delay / 4 + 1);

    if (ngx_http_gamma_on(v, GM_PF_TIMEOUT_REQUEST, v->timeout_request_ms)) {
        limit = (ngx_msec_t) v->timeout_request_ms;
        spent = ngx_current_msec - pd->request->upstream->peer.start_time;
        delay = spent < limit ? ngx_min(delay, limit - spent) : 1;
    }

    return delay;
}


/*
 * A retry after a backoff: the upstream gets a connection whose connect()
 * only starts when the backoff timer fires, so nothing blocks and the
 * usual upstream event handlers take it from there.
 */
static ngx_int_t
ngx_http_gamma_backoff_start(ngx_peer_connection_t *pc,
    ngx_http_gamma_peer_data_t *pd, ngx_msec_t delay)
{
    ngx_socket_t       s;
    ngx_connection_t  *c;

    s = ngx_socket(pc->sockaddr->sa_family, SOCK_STREAM, 0);
    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, pc->log, ngx_socket_errno,
                      ngx_socket_n " failed");
        return NGX_ERROR;
    }

    c = ngx_get_connection(s, pc->log);
    if (c == NULL) {
        ngx_close_socket(s);
        return NGX_ERROR;
    }

    if (ngx_nonblocking(s) == -1) {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    c->type = SOCK_STREAM;
    c->recv = ngx_recv;
    c->send = ngx_send;
    c->recv_chain = ngx_recv_chain;
    c->send_chain = ngx_send_chain;
    c->sendfile = 1;
    c->log_error = pc->log_error;
    c->read->log = pc->log;
    c->write->log = pc->log;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    pc->connection = c;
    pd->pending = c;
    pd->pending_number = c->number;

    /* nginx arms its connect timer now: it must outlast the backoff */
    pd->request->upstream->conf->connect_timeout = pd->connect_timeout + delay;

    pd->timers->backoff.handler = ngx_http_gamma_backoff_handler;
    pd->timers->backoff.data = pd;
    pd->timers->backoff.log = pc->log;
    ngx_add_timer(&pd->timers->backoff, delay);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                   "gamma balancer: retry in %M ms", delay);

    return NGX_AGAIN;
}


static void
ngx_http_gamma_backoff_handler(ngx_event_t *ev)
{
    ngx_http_gamma_peer_data_t  *pd = ev->data;

    int                   rc;
    ngx_err_t             err;
    ngx_connection_t     *c;
    const gm_sockaddr_t  *ep;

    c = pd->pending;
    pd->pending = NULL;

    if (c == NULL || c->fd == (ngx_socket_t) -1
        || c->number != pd->pending_number)
    {
        return;
    }

    ep = pd->ctx->endpoint;

    rc = connect(c->fd, &ep->u.sa, ep->socklen);
    err = (rc == -1) ? ngx_socket_errno : 0;

    if (ngx_add_conn) {
        if (ngx_add_conn(c) == NGX_ERROR) {
            err = NGX_ECONNREFUSED;
        }

    } else if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_CLEAR_EVENT)
               != NGX_OK
               || ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_CLEAR_EVENT)
                  != NGX_OK)
    {
        err = NGX_ECONNREFUSED;
    }

    if (err && err != NGX_EINPROGRESS) {
        /* sending on it fails, and the upstream moves on as on any error */
        ngx_log_error(NGX_LOG_ERR, c->log, err,
                      "gamma: connect() to %V failed", &pd->name);
        c->write->ready = 1;
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


/*
 * timeouts.backendRequest covers the whole attempt, even a backend that
 * keeps sending a byte now and then: to the upstream it looks like a read
 * timeout, so nginx retries or answers 504 as for any other.
 */
static void
ngx_http_gamma_attempt_timeout(ngx_event_t *ev)
{
    ngx_http_gamma_peer_data_t  *pd = ev->data;

    ngx_connection_t     *c;
    ngx_http_upstream_t  *u;

    u = pd->request->upstream;
    c = u ? u->peer.connection : NULL;

    if (c == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "gamma: backend request to %V timed out", &pd->name);

    pd->ctx->timed_out = NGX_HTTP_GAMMA_TIMEOUT_BACKEND;
    ngx_http_gamma_upstream_timeout(u, 0);
}


static void
ngx_http_gamma_balancer_cleanup(void *data)
{
    ngx_http_gamma_peer_data_t  *pd = data;

    if (pd->timers == NULL) {
        return;
    }

    if (pd->timers->attempt.timer_set) {
        ngx_del_timer(&pd->timers->attempt);
    }

    if (pd->timers->backoff.timer_set) {
        ngx_del_timer(&pd->timers->backoff);
    }
}
