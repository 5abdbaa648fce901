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


typedef struct {
    ngx_http_request_t     *request;
    ngx_http_gamma_ctx_t   *ctx;
    const gm_sockaddr_t    *endpoints;
    ngx_uint_t              nendpoints;
    ngx_uint_t              start;       /* round-robin position */
    ngx_uint_t              attempt;
    ngx_str_t               name;
} ngx_http_gamma_peer_data_t;


static ngx_int_t ngx_http_gamma_balancer_init(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_gamma_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_gamma_balancer_get_peer(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_gamma_balancer_free_peer(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);


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


static ngx_int_t
ngx_http_gamma_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    gm_backend_t                *b;
    ngx_http_gamma_ctx_t        *ctx;
    ngx_http_gamma_peer_data_t  *pd;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    if (ctx == NULL || (ctx->backend == NULL && !ctx->is_direct)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gamma_balancer: the request was not routed by the "
                      "mesh (is \"gamma on\" set for this location?)");
        return NGX_ERROR;
    }

    pd = ngx_pcalloc(r->pool, sizeof(ngx_http_gamma_peer_data_t));
    if (pd == NULL) {
        return NGX_ERROR;
    }

    pd->request = r;
    pd->ctx = ctx;

    if (ctx->is_direct) {
        pd->endpoints = &ctx->direct;
        pd->nendpoints = 1;

    } else {
        b = ctx->backend;
        pd->endpoints = b->endpoints;
        pd->nendpoints = b->nendpoints;
        pd->start = b->rr++;
    }

    if (pd->nendpoints == 0) {
        return NGX_ERROR;
    }

    r->upstream->peer.data = pd;
    r->upstream->peer.get = ngx_http_gamma_balancer_get_peer;
    r->upstream->peer.free = ngx_http_gamma_balancer_free_peer;
    /* proxy_next_upstream walks the remaining endpoints */
    r->upstream->peer.tries = pd->nendpoints;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_balancer_get_peer(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_gamma_peer_data_t  *pd = data;

    const gm_sockaddr_t  *ep;

    ep = &pd->endpoints[(pd->start + pd->attempt) % pd->nendpoints];
    pd->attempt++;

    pd->name.data = (u_char *) ep->text.data;
    pd->name.len = ep->text.len;

    pc->sockaddr = (struct sockaddr *) &ep->u.sa;
    pc->socklen = ep->socklen;
    pc->name = &pd->name;
    pc->cached = 0;
    pc->connection = NULL;

    pd->ctx->endpoint = ep;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                   "gamma balancer: endpoint %V", &pd->name);

    return NGX_OK;
}


static void
ngx_http_gamma_balancer_free_peer(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    if (pc->tries) {
        pc->tries--;
    }
}
