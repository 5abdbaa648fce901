/*
 * nginx-gamma: the routing phase handler.  It finds the Service by the
 * connection's destination, picks the consumer or producer route table for
 * the client's namespace, matches the request and chooses a backend; the
 * balancer then picks the endpoint.  Nothing here allocates more than the
 * request context, and nothing waits on the source process: a request
 * adopts a newer generation when the zone has one (one load compares).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <linux/netfilter_ipv4.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_filter.h"
#include "ngx_http_gamma_zone.h"


#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST  80
#endif


typedef struct {
    ngx_sockaddr_t              sa;
    socklen_t                   socklen;
    ngx_uint_t                  redirected;  /* REDIRECTed: not local */

    /*
     * The last request's Service and route table: the next request on
     * the connection takes them again while it routes with the same
     * generation and server, unless its namespace is a variable.
     */
    ngx_http_gamma_gen_t       *gen;
    uint64_t                    generation;  /* gen can be a new one */
    ngx_http_gamma_srv_conf_t  *gscf;
    const gm_frontend_t        *frontend;
    const gm_route_table_t     *table;
    gm_table_kind_e             table_kind;
    ngx_str_t                   ns;          /* the client's namespace */
} ngx_http_gamma_dst_t;


static ngx_int_t ngx_http_gamma_handler(ngx_http_request_t *r);
static ngx_http_gamma_ctx_t *ngx_http_gamma_create_ctx(ngx_http_request_t *r,
    ngx_http_gamma_worker_t *w);
static void ngx_http_gamma_cleanup(void *data);
static ngx_http_gamma_dst_t *ngx_http_gamma_connection_dst(
    ngx_http_request_t *r);
static ngx_http_gamma_dst_t *ngx_http_gamma_connection_dst_add(
    ngx_http_request_t *r) __attribute__((noinline));
static void ngx_http_gamma_dst_cleanup(void *data);
static ngx_int_t ngx_http_gamma_destination(ngx_http_request_t *r,
    ngx_http_gamma_dst_t *dst);
static ngx_int_t ngx_http_gamma_route(ngx_http_request_t *r,
    ngx_http_gamma_worker_t *w, ngx_http_gamma_ctx_t *ctx);
/* out of line: a connection's later requests need neither */
static ngx_int_t ngx_http_gamma_find(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_dst_t *dst,
    const gm_route_table_t **table, ngx_str_t *nsp) __attribute__((noinline));
static ngx_int_t ngx_http_gamma_direct(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_dst_t *dst);
static ngx_int_t ngx_http_gamma_passthrough(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_str_t *ns) __attribute__((noinline));
static ngx_int_t ngx_http_gamma_choose(ngx_http_request_t *r,
    ngx_http_gamma_worker_t *w, ngx_http_gamma_ctx_t *ctx,
    const gm_route_table_t *table, ngx_str_t *ns);
static ngx_int_t ngx_http_gamma_backend_status(ngx_http_request_t *r,
    gm_backend_t *b);
static const gm_effective_t *ngx_http_gamma_effective(
    const gm_policy_set_t *p, ngx_str_t *ns);
static int ngx_http_gamma_header(void *data, const gm_str_t *lname,
    gm_str_t *value);
static uint32_t ngx_http_gamma_random(ngx_http_gamma_worker_t *w);
static void ngx_http_gamma_addr(gm_addr_t *addr, uint16_t *port,
    struct sockaddr *sa);


ngx_int_t
ngx_http_gamma_router_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gamma_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_gamma_ctx_t        *ctx;
    ngx_http_gamma_worker_t     *w;
    ngx_http_gamma_loc_conf_t   *glcf;
    ngx_http_gamma_main_conf_t  *gmcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gamma_module);

    if (!glcf->enable || ngx_http_get_module_ctx(r, ngx_http_gamma_module)) {
        return NGX_DECLINED;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);
    w = gmcf->worker;

    if (w != NULL
        && __atomic_load_n(&w->sh->generation, __ATOMIC_ACQUIRE)
           != w->generation)
    {
        ngx_http_gamma_worker_adopt(w);
    }

    if (w == NULL || w->current == NULL) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "gamma: no mesh state yet, answering 503");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ctx = ngx_http_gamma_create_ctx(r, w);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_gamma_route(r, w, ctx);

    /* an h2c backend for an HTTP/1 client (ngx_http_gamma_grpc.c) */
    if (rc == NGX_DECLINED && ctx->backend != NULL && ctx->backend->h2c) {
        ngx_http_gamma_grpc_h2c(r, ctx);
    }

    return rc;
}


static ngx_http_gamma_ctx_t *
ngx_http_gamma_create_ctx(ngx_http_request_t *r, ngx_http_gamma_worker_t *w)
{
    ngx_http_gamma_ctx_t  *ctx;

    ctx = ngx_palloc(r->pool, sizeof(ngx_http_gamma_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    /* the rest is set where it is used: fewer bytes to zero */
    ngx_memzero(&ctx->frontend, offsetof(ngx_http_gamma_ctx_t, endpoint)
                                - offsetof(ngx_http_gamma_ctx_t, frontend));
    ctx->endpoint = NULL;

    /* the generation lives until the last request that routed with it ends */
    ctx->gen = w->current;
    ctx->gen->refs++;
    ctx->snapshot = ctx->gen->snapshot;

    /* what ngx_pool_cleanup_add() does, with the cleanup in the context */
    ctx->cleanup.handler = ngx_http_gamma_cleanup;
    ctx->cleanup.data = ctx->gen;
    ctx->cleanup.next = r->pool->cleanup;
    r->pool->cleanup = &ctx->cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_gamma_module);

    return ctx;
}


static void
ngx_http_gamma_cleanup(void *data)
{
    ngx_http_gamma_gen_t  *gen = data;

    /* not the generation's last request: no call */
    if (gen->refs > 1) {
        gen->refs--;
        return;
    }

    ngx_http_gamma_worker_release(gen);
}


static ngx_int_t
ngx_http_gamma_route(ngx_http_request_t *r, ngx_http_gamma_worker_t *w,
    ngx_http_gamma_ctx_t *ctx)
{
    ngx_int_t                rc;
    ngx_str_t                ns;
    ngx_http_gamma_dst_t    *dst;
    const gm_route_table_t  *table;

    dst = ngx_http_gamma_connection_dst(r);
    if (dst == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (dst->gen == ctx->gen && dst->generation == ctx->gen->generation
        && dst->gscf == ngx_http_get_module_srv_conf(r, ngx_http_gamma_module))
    {
        ctx->frontend = dst->frontend;
        ctx->table_kind = dst->table_kind;
        table = dst->table;
        ns = dst->ns;

    } else {
        rc = ngx_http_gamma_find(r, ctx, dst, &table, &ns);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (table == NULL) {
        return ngx_http_gamma_passthrough(r, ctx, &ns);
    }

    return ngx_http_gamma_choose(r, w, ctx, table, &ns);
}


/* the Service of the destination, its route table for the namespace */
static ngx_int_t
ngx_http_gamma_find(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_dst_t *dst, const gm_route_table_t **table, ngx_str_t *nsp)
{
    uint16_t                    port;
    gm_addr_t                   ip;
    ngx_str_t                   ns;
    ngx_http_gamma_srv_conf_t  *gscf;

    ngx_http_gamma_addr(&ip, &port, &dst->sa.sockaddr);

    ctx->frontend = gm_snapshot_find_frontend(ctx->snapshot, &ip, port);

    if (ctx->frontend == NULL) {
        return ngx_http_gamma_direct(r, ctx, dst);
    }

    gscf = ngx_http_get_module_srv_conf(r, ngx_http_gamma_module);
    ngx_str_null(&ns);

    if (gscf->namespace
        && ngx_http_complex_value(r, gscf->namespace, &ns) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *table = gm_frontend_route_table(ctx->frontend, (const char *) ns.data,
                                     ns.len, &ctx->table_kind);
    *nsp = ns;

    /* a namespace without variables is the same for every request */
    if (gscf->namespace == NULL || gscf->namespace->lengths == NULL) {
        dst->gen = ctx->gen;
        dst->generation = ctx->gen->generation;
        dst->gscf = gscf;
        dst->frontend = ctx->frontend;
        dst->table = *table;
        dst->table_kind = ctx->table_kind;
        dst->ns = ns;
    }

    return NGX_OK;
}


/* no routes: the Service as if the mesh were absent, but its policies */
static ngx_int_t
ngx_http_gamma_passthrough(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_str_t *ns)
{
    ngx_int_t  rc;

    ctx->backend = ctx->frontend->passthrough;
    ctx->eff = ngx_http_gamma_effective(ctx->frontend->passthrough_policy, ns);

    if (ngx_http_gamma_rate_limited(ctx)) {
        rc = ngx_http_gamma_rate_limit(r, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    rc = ngx_http_gamma_backend_status(r, ctx->backend);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ngx_http_gamma_session_passthrough(r, ctx);

    if (ngx_http_gamma_request_timeout_set(ctx)
        && ngx_http_gamma_timeout_start(r, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * A connection's destination does not change: it is read for the first
 * request and kept in the connection's pool, found again by the handler
 * of its cleanup (nginx has no per-module connection context).
 */
static ngx_http_gamma_dst_t *
ngx_http_gamma_connection_dst(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->connection->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_gamma_dst_cleanup) {
            return cln->data;
        }
    }

    return ngx_http_gamma_connection_dst_add(r);
}


/* the first request of a connection */
static ngx_http_gamma_dst_t *
ngx_http_gamma_connection_dst_add(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->connection->pool,
                               sizeof(ngx_http_gamma_dst_t));
    if (cln == NULL) {
        return NULL;
    }

    ngx_memzero(cln->data, sizeof(ngx_http_gamma_dst_t));

    if (ngx_http_gamma_destination(r, cln->data) != NGX_OK) {
        return NULL;
    }

    /* set last: a failed read is tried again by the next request */
    cln->handler = ngx_http_gamma_dst_cleanup;

    return cln->data;
}


static void
ngx_http_gamma_dst_cleanup(void *data)
{
    /* nothing to release: the handler marks the cached destination */
}


static ngx_int_t
ngx_http_gamma_destination(ngx_http_request_t *r, ngx_http_gamma_dst_t *dst)
{
    int                level, name;
    socklen_t          len;
    ngx_connection_t  *c;

    c = r->connection;

    if (ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    len = sizeof(ngx_sockaddr_t);

    if (c->local_sockaddr->sa_family == AF_INET6) {
        level = SOL_IPV6;
        name = IP6T_SO_ORIGINAL_DST;

    } else {
        level = SOL_IP;
        name = SO_ORIGINAL_DST;
    }

    /* fails without conntrack: then the local address is the destination */
    if (c->local_sockaddr->sa_family != AF_UNIX
        && getsockopt(c->fd, level, name, &dst->sa, &len) == 0)
    {
        /* the kernel does not update len for SO_ORIGINAL_DST */
        dst->socklen = dst->sa.sockaddr.sa_family == AF_INET6
                       ? sizeof(struct sockaddr_in6)
                       : sizeof(struct sockaddr_in);
        dst->redirected = ngx_cmp_sockaddr(&dst->sa.sockaddr, len,
                                           c->local_sockaddr,
                                           c->local_socklen, 1)
                          != NGX_OK;
        return NGX_OK;
    }

    ngx_memcpy(&dst->sa, c->local_sockaddr, c->local_socklen);
    dst->socklen = c->local_socklen;
    dst->redirected = 0;

    return NGX_OK;
}


/*
 * Not a Service.  Redirected traffic goes on to where it was headed;
 * traffic addressed to this proxy itself names nothing to proxy to, and
 * sending it back to our own listener would loop.
 */
static ngx_int_t
ngx_http_gamma_direct(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_dst_t *dst)
{
    u_char     *p;
    ngx_str_t   text;

    p = ngx_pnalloc(r->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text.len = ngx_sock_ntop(&dst->sa.sockaddr, dst->socklen, p,
                             NGX_SOCKADDR_STRLEN, 1);
    text.data = p;
    p[text.len] = '\0';

    if (!dst->redirected) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gamma: %V is no Service ClusterIP:port, answering 421",
                      &text);
        return NGX_HTTP_MISDIRECTED_REQUEST;
    }

    /* rare: not in the context, which every request allocates */
    ctx->direct = ngx_pcalloc(r->pool, sizeof(gm_sockaddr_t));
    if (ctx->direct == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(&ctx->direct->u, &dst->sa, dst->socklen);
    ctx->direct->socklen = dst->socklen;
    ctx->direct->text = (char *) text.data;
    ctx->direct->text_len = (uint16_t) text.len;
    ctx->is_direct = 1;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gamma_choose(ngx_http_request_t *r, ngx_http_gamma_worker_t *w,
    ngx_http_gamma_ctx_t *ctx, const gm_route_table_t *table, ngx_str_t *ns)
{
    ngx_int_t               rc;
    gm_request_t            req;
    const gm_rule_t        *rule;
    gm_weighted_backend_t  *wb;
    const gm_policy_set_t  *policy;

    if (!ngx_http_gamma_path_as_sent(r)) {
        rc = ngx_http_gamma_path(r, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    req.method.data = (char *) r->method_name.data;
    req.method.len = r->method_name.len;
    req.path.data = (char *) r->uri.data;
    req.path.len = r->uri.len;
    req.args.data = (char *) r->args.data;
    req.args.len = r->args.len;
    req.header = ngx_http_gamma_header;
    req.ctx = r;

    rule = gm_route_table_match_policy(table, &req, w->matcher, &policy);
    ctx->rule = rule;
    ctx->eff = ngx_http_gamma_effective(policy, ns);

    if (rule == NULL && gm_matcher_exhausted(w->matcher) != NULL) {
        return ngx_http_gamma_regex_budget_exceeded(r, ctx,
                                      gm_matcher_exhausted(w->matcher));
    }

    if (rule == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gamma: no %s route of %s matches, answering 404",
                      ctx->table_kind == GM_TABLE_CONSUMER
                      ? "consumer" : "producer",
                      ctx->frontend->passthrough->label.data);
        return NGX_HTTP_NOT_FOUND;
    }

    if (ngx_http_gamma_rate_limited(ctx)) {
        rc = ngx_http_gamma_rate_limit(r, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (rule->has_filters) {
        rc = ngx_http_gamma_filter_rule(r, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (rule->no_backends || rule->total_weight == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gamma: rule %s has no backend to send to, "
                      "answering 500", rule->label.data);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a session's endpoint before the weights (spec 1.14) */
    wb = rule->has_session ? ngx_http_gamma_session_route(r, ctx, rule)
                           : NULL;

    if (wb == NULL) {
        wb = (rule->nbackends == 1)
             ? &rule->backends[0]
             : gm_rule_pick_backend(rule, ngx_http_gamma_random(w));

        if (rule->has_session) {
            ngx_http_gamma_session_start(ctx, rule, wb->backend);
        }
    }

    ctx->weighted = wb;
    ctx->backend = wb->backend;

    if (ctx->backend->status != GM_BACKEND_OK) {
        return ngx_http_gamma_backend_status(r, ctx->backend);
    }

    if (rule->has_backend_filters) {
        rc = ngx_http_gamma_filter_backend(r, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    /* the effective timeouts.request: nothing is armed without one */
    if (ngx_http_gamma_request_timeout_set(ctx)
        && ngx_http_gamma_timeout_start(r, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * The settings the compiler resolved for this client: only a rule with
 * consumer policies in other namespaces needs a search by namespace.
 */
static const gm_effective_t *
ngx_http_gamma_effective(const gm_policy_set_t *p, ngx_str_t *ns)
{
    if (p != NULL && p->nns == 0) {
        return p->all;
    }

    return gm_policy_set_effective(p, (const char *) ns->data, ns->len);
}


static ngx_int_t
ngx_http_gamma_backend_status(ngx_http_request_t *r, gm_backend_t *b)
{
    switch (b->status) {

    case GM_BACKEND_OK:
        return ngx_http_gamma_tls_check(r, b);

    case GM_BACKEND_NO_ENDPOINTS:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gamma: backend %s has no ready endpoints, "
                      "answering 503", b->label.data);
        return NGX_HTTP_SERVICE_UNAVAILABLE;

    default:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gamma: backend %s %s, answering 500", b->label.data,
                      b->status == GM_BACKEND_NOT_FOUND
                      ? "does not exist" : "is not a valid backend");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static int
ngx_http_gamma_header(void *data, const gm_str_t *lname, gm_str_t *value)
{
    ngx_http_request_t  *r = data;

    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == lname->len
            && ngx_strncmp(h[i].lowcase_key, lname->data, lname->len) == 0)
        {
            value->data = (char *) h[i].value.data;
            value->len = h[i].value.len;
            return 1;
        }
    }
}


/* xorshift64*: weights need speed and spread, not secrecy */
static uint32_t
ngx_http_gamma_random(ngx_http_gamma_worker_t *w)
{
    w->rnd ^= w->rnd >> 12;
    w->rnd ^= w->rnd << 25;
    w->rnd ^= w->rnd >> 27;

    return (uint32_t) ((w->rnd * 0x2545F4914F6CDD1DULL) >> 32);
}


static void
ngx_http_gamma_addr(gm_addr_t *addr, uint16_t *port, struct sockaddr *sa)
{
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    ngx_memzero(addr, sizeof(gm_addr_t));

    if (sa->sa_family == AF_INET6) {
        sin6 = (struct sockaddr_in6 *) sa;
        *port = ntohs(sin6->sin6_port);

        /* a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d */
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            addr->family = AF_INET;
            ngx_memcpy(addr->addr, &sin6->sin6_addr.s6_addr[12], 4);
            return;
        }

        addr->family = AF_INET6;
        ngx_memcpy(addr->addr, &sin6->sin6_addr, 16);
        return;
    }

    sin = (struct sockaddr_in *) sa;
    addr->family = AF_INET;
    ngx_memcpy(addr->addr, &sin->sin_addr, 4);
    *port = ntohs(sin->sin_port);
}
