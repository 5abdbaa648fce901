/*
 * nginx-gamma: compiling Services: the index of Services by ns/name, and
 * one frontend per Service port, found by (ClusterIP, port).
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "gm_compile_int.h"


static int gm_compile_older(const gm_service_t *a, const gm_service_t *b);
static int gm_compile_is_parent(const gm_service_t *svc);
static int gm_compile_service_frontends(gm_compile_ctx_t *ctx,
    gm_compile_service_t *cs);
static void gm_compile_index_frontend(gm_compile_ctx_t *ctx,
    gm_compile_service_t *cs, gm_frontend_t *f, const gm_addr_t *ip);


int
gm_compile_index_services(gm_compile_ctx_t *ctx)
{
    size_t                  i, j, size;
    gm_meta_t              *meta;
    gm_compile_service_t  **index;

    size = GM_COMPILE_INDEX_INIT;

    while (size < ctx->nservices * 2) {
        size *= 2;
    }

    index = gm_arena_calloc(ctx->scratch,
                            size * sizeof(gm_compile_service_t *));
    if (index == NULL) {
        return -1;
    }

    for (i = 0; i < ctx->nservices; i++) {
        meta = &ctx->services[i].svc->meta;
        j = gm_compile_hash(&meta->ns, &meta->name, 0) & (size - 1);

        while (index[j] != NULL) {
            j = (j + 1) & (size - 1);
        }

        index[j] = &ctx->services[i];
    }

    ctx->index = index;
    ctx->index_size = size;

    return 0;
}


gm_compile_service_t *
gm_compile_find_service(gm_compile_ctx_t *ctx, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t                 i;
    gm_meta_t             *meta;
    gm_compile_service_t  *cs;

    i = gm_compile_hash(ns, name, 0) & (ctx->index_size - 1);

    for ( ;; ) {
        cs = ctx->index[i];

        if (cs == NULL) {
            /* a subset compile indexes a Service when it is asked for */
            return ctx->subset ? gm_compile_subset_service(ctx, ns, name)
                               : NULL;
        }

        meta = &cs->svc->meta;

        if (gm_str_eq(&meta->name, name) && gm_str_eq(&meta->ns, ns)) {
            return cs;
        }

        i = (i + 1) & (ctx->index_size - 1);
    }
}


/* whether a wins over b: the older, then the first by ns/name */

static int
gm_compile_older(const gm_service_t *a, const gm_service_t *b)
{
    int  c;

    if (a->meta.created != b->meta.created) {
        return a->meta.created < b->meta.created;
    }

    c = gm_str_cmp(a->meta.ns.data, a->meta.ns.len,
                   b->meta.ns.data, b->meta.ns.len);

    if (c == 0) {
        c = gm_str_cmp(a->meta.name.data, a->meta.name.len,
                       b->meta.name.data, b->meta.name.len);
    }

    return c < 0;
}


/* headless and ExternalName Services have no frontend (spec 1.2) */

static int
gm_compile_is_parent(const gm_service_t *svc)
{
    return !svc->headless && svc->type != GM_SERVICE_EXTERNAL_NAME;
}


int
gm_compile_frontends(gm_compile_ctx_t *ctx)
{
    size_t                 i, n, nkeys;
    gm_service_t          *svc;
    gm_compile_service_t  *cs;

    n = 0;
    nkeys = 0;

    for (i = 0; i < ctx->nservices; i++) {
        svc = ctx->services[i].svc;

        if (gm_compile_is_parent(svc)
            && (ctx->subset == NULL || ctx->services[i].dirty))
        {
            n += svc->nports;
            nkeys += svc->nports * svc->ncluster_ips;
        }
    }

    if (gm_snapshot_init_index(ctx->snap, nkeys) != 0) {
        return -1;
    }

    ctx->frontends = gm_arena_calloc(ctx->arena,
                                     (n + 1) * sizeof(gm_frontend_t));
    if (ctx->frontends == NULL) {
        return -1;
    }

    for (i = 0; i < ctx->nservices; i++) {
        cs = &ctx->services[i];

        if (!gm_compile_is_parent(cs->svc) || cs->svc->nports == 0
            || (ctx->subset != NULL && !cs->dirty))
        {
            continue;
        }

        cs->frontends = &ctx->frontends[ctx->nfrontends];
        ctx->nfrontends += cs->svc->nports;

        if (gm_compile_service_frontends(ctx, cs) != 0) {
            return -1;
        }
    }

    ctx->snap->nfrontends = ctx->nfrontends;

    return 0;
}


int
gm_compile_service_names(gm_compile_ctx_t *ctx, gm_compile_service_t *cs)
{
    if (cs->name.data != NULL) {
        return 0;
    }

    /* interned: the backendRefs and parentRefs naming it share the copy */
    if (gm_compile_intern(ctx, &cs->ns, &cs->svc->meta.ns) != 0
        || gm_compile_intern(ctx, &cs->name, &cs->svc->meta.name) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_compile_service_frontends(gm_compile_ctx_t *ctx, gm_compile_service_t *cs)
{
    size_t          p, i;
    gm_frontend_t  *f;
    gm_service_t   *svc;

    svc = cs->svc;

    if (gm_compile_service_names(ctx, cs) != 0) {
        return -1;
    }

    for (p = 0; p < svc->nports; p++) {
        f = &cs->frontends[p];

        f->passthrough = gm_compile_port_backend(ctx, cs, p);
        if (f->passthrough == NULL) {
            return -1;
        }

        f->port = svc->ports[p].port;

        for (i = 0; i < svc->ncluster_ips; i++) {
            gm_compile_index_frontend(ctx, cs, f, &svc->cluster_ips[i]);
        }
    }

    return 0;
}


/* a ClusterIP:port claimed twice stays with the older Service */

static void
gm_compile_index_frontend(gm_compile_ctx_t *ctx, gm_compile_service_t *cs,
    gm_frontend_t *f, const gm_addr_t *ip)
{
    char                   text[INET6_ADDRSTRLEN];
    gm_frontend_t         *other;
    gm_compile_service_t  *owner;
    gm_frontend_slot_t    *slot;

    if (ip->family != AF_INET && ip->family != AF_INET6) {
        return;
    }

    slot = gm_snapshot_frontend_slot(ctx->snap, ip, f->port);
    other = slot->frontend;

    if (other == NULL) {
        slot->addr = *ip;
        slot->port = f->port;
        slot->frontend = f;
        return;
    }

    owner = gm_compile_find_service(ctx, &other->passthrough->ns,
                                    &other->passthrough->name);

    if (owner != NULL && gm_compile_older(cs->svc, owner->svc)) {
        slot->frontend = f;
    }

    inet_ntop(ip->family, ip->addr, text, sizeof(text));

    gm_log(ctx->log, GM_LOG_WARN,
           "Service %s/%s: ClusterIP %s port %u is also claimed by "
           "Service %s/%s; %s/%s keeps it", f->passthrough->ns.data,
           f->passthrough->name.data, text, (unsigned) f->port,
           other->passthrough->ns.data, other->passthrough->name.data,
           slot->frontend->passthrough->ns.data,
           slot->frontend->passthrough->name.data);
}
