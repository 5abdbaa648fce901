/*
 * nginx-gamma: a generation patched from the last one when HTTPRoutes or
 * GRPCRoutes changed.  The frontends of the Services the changed routes
 * name as parents (before and after the change) are compiled again by
 * the compiler's own stages, restricted to those Services (a subset
 * compile: the routes bound to them, their tables and policies; every
 * Service indexed, slices read from the index when a backend needs them,
 * a Service port's backend the previous generation's object).  They
 * replace the old ones in a copy of the previous index; the route status
 * entries of the routes compiled replace theirs (the array is shared
 * when none changed).  Everything else is shared, with the lifetime of
 * gm_compile_patch.c: the new generation holds its parent's arena.
 *
 * A route's status depends only on the route, Services and grants; a
 * frontend's tables only on the routes bound to it: so the other
 * Services' frontends and the other routes' status stay as they were.
 * A new Service among them (added, gm_compile_incr.c) has no frontends
 * to replace: they take free slots of the copied index.
 *
 * What makes it refuse (a full compile then): BackendTLSPolicies or
 * XBackendTrafficPolicies in the store, a TrafficPolicy that targets a
 * route, a ClusterIP:port of those Services claimed by another one (of
 * a new one: claimed at all; or the index would be more than 2/3 full), a
 * note of the compiler (a warning: the full compile's notes are kept for
 * patched generations, so a patch must not change them) from the subset
 * compile or about a changed route in the last full compile's notes.
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"
#include "gm_compile_subset_int.h"


static void gm_subset_note(void *data, gm_log_level_e level,
    const char *msg);
static void gm_subset_policy(void *data, gm_object_t *obj);
static int gm_subset_owned(const gm_snapshot_t *prev, gm_store_t *store,
    const gm_compile_key_t *keys, size_t nkeys,
    const gm_compile_key_t *added, size_t nadded);
static int gm_subset_key_in(const gm_compile_key_t *keys, size_t n,
    const gm_str_t *ns, const gm_str_t *name);
static int gm_subset_insert(gm_subset_t *st, gm_frontend_slot_t *slot,
    const gm_frontend_slot_t *mini, size_t *used);
static void gm_subset_added_counts(gm_subset_t *st);
static int gm_subset_splice(gm_subset_t *st);
static int gm_subset_add_old(gm_subset_t *st, const gm_frontend_t *f);
static int gm_subset_bound_before(const gm_compile_subset_t *sub, size_t k,
    const gm_object_t *obj);
static int gm_subset_index_grow(gm_compile_ctx_t *ctx);
static void gm_subset_index_add(gm_compile_ctx_t *ctx,
    gm_compile_service_t *cs);


int
gm_compile_routes_patch(gm_snapshot_t *prev, gm_store_t *store,
    const gm_compile_slices_t *slices, gm_compile_deps_t *deps,
    const gm_compile_key_t *keys, size_t nkeys,
    const gm_compile_key_t *added, size_t nadded,
    const gm_compile_rkey_t *routes, size_t nroutes,
    const gm_compile_rkey_t *noted, size_t nnoted,
    const gm_compile_opts_t *opts, const gm_allocator_t *al,
    gm_snapshot_t **out)
{
    int                   rc, refuse;
    size_t                i, notes;
    gm_log_t              log;
    gm_subset_t           st;
    gm_compile_subset_t   sub;

    *out = NULL;
    refuse = 0;

    if (slices == NULL
        || gm_store_count(store, GM_KIND_BACKENDTLSPOLICY) != 0
        || gm_store_count(store, GM_KIND_XBACKENDTRAFFICPOLICY) != 0)
    {
        return 1;
    }

    gm_store_foreach(store, GM_KIND_TRAFFICPOLICY, gm_subset_policy, &refuse);

    if (refuse
        || gm_subset_owned(prev, store, keys, nkeys, added, nadded) != 0)
    {
        return 1;
    }

    sub.prev = prev;
    sub.slices = slices;
    sub.keys = keys;
    sub.nkeys = nkeys;

    /* any note: the kept notes of the full compile would not hold */
    notes = 0;
    log.handler = gm_subset_note;
    log.data = &notes;

    memset(&st, 0, sizeof(gm_subset_t));
    st.prev = prev;
    st.routes = routes;
    st.nroutes = nroutes;
    st.noted = noted;
    st.nnoted = nnoted;
    st.added = added;
    st.nadded = nadded;
    st.store = store;

    st.snap = gm_compile_build_subset(store, &log, al, opts, &sub);
    if (st.snap == NULL) {
        return -1;
    }

    rc = (notes != 0) ? 1 : gm_subset_splice(&st);

    if (rc == 0) {
        rc = gm_compile_subset_status(&st);
    }

    for (i = 0; rc == 0 && i < st.nslots; i++) {
        if (gm_compile_deps_update(deps, st.snap->slots[st.slots[i]].frontend,
                                   st.slots[i])
            != 0)
        {
            rc = -1;
        }
    }

    free(st.old);
    free(st.slots);
    free(st.ranges);

    if (rc != 0) {
        gm_snapshot_unref(st.snap);
        return rc;
    }

    gm_snapshot_chain(st.snap, prev);

    *out = st.snap;

    return 0;
}


int
gm_compile_subset_has(const gm_compile_subset_t *sub, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t  i;

    for (i = 0; i < sub->nkeys; i++) {
        if (gm_str_eq(&sub->keys[i].name, name)
            && gm_str_eq(&sub->keys[i].ns, ns))
        {
            return 1;
        }
    }

    return 0;
}


gm_backend_t *
gm_compile_subset_backend(const gm_compile_subset_t *sub,
    const gm_service_t *svc, size_t p)
{
    size_t          i;
    gm_frontend_t  *f;

    if (svc->headless || svc->type == GM_SERVICE_EXTERNAL_NAME) {
        return NULL;
    }

    for (i = 0; i < svc->ncluster_ips; i++) {
        f = (gm_frontend_t *) gm_snapshot_find_frontend(sub->prev,
                                                        &svc->cluster_ips[i],
                                                        svc->ports[p].port);

        if (f != NULL && f->passthrough != NULL
            && f->passthrough->port == svc->ports[p].port
            && gm_str_eq(&f->passthrough->name, &svc->meta.name)
            && gm_str_eq(&f->passthrough->ns, &svc->meta.ns))
        {
            return f->passthrough;
        }
    }

    return NULL;
}


int
gm_compile_subset_slices(gm_compile_ctx_t *ctx, gm_compile_service_t *cs)
{
    size_t                          i;
    gm_compile_slice_t             *sl;
    const gm_compile_svc_slices_t  *svc;

    if (cs->slices_read) {
        return 0;
    }

    cs->slices_read = 1;

    svc = gm_compile_slices_find(ctx->subset->slices, &cs->svc->meta.ns,
                                 &cs->svc->meta.name);

    for (i = 0; svc != NULL && i < svc->nobjs; i++) {
        sl = gm_arena_alloc(ctx->scratch, sizeof(gm_compile_slice_t));
        if (sl == NULL) {
            return -1;
        }

        sl->eps = &svc->objs[i]->body->endpointslice;
        sl->next = cs->slices;
        cs->slices = sl;
    }

    return 0;
}


/*
 * The collect stage of a subset compile: the subset's Services, whose
 * frontends it compiles, and the routes bound to them, from the index;
 * any other Service joins the index when a stage asks for it.  Nothing
 * here is proportional to the mesh.
 */

int
gm_compile_subset_collect(gm_compile_ctx_t *ctx)
{
    size_t                          k, j, n;
    gm_object_t                    *obj;
    gm_compile_route_t             *cr;
    gm_compile_service_t           *cs;
    const gm_compile_subset_t      *sub;
    const gm_compile_svc_slices_t  *svc;

    sub = ctx->subset;
    n = 0;

    for (k = 0; k < sub->nkeys; k++) {
        svc = gm_compile_slices_find(sub->slices, &sub->keys[k].ns,
                                     &sub->keys[k].name);
        n += svc ? svc->nroutes : 0;
    }

    ctx->services = gm_arena_alloc(ctx->scratch,
                                   (sub->nkeys + 1)
                                   * sizeof(gm_compile_service_t));
    ctx->routes = gm_arena_alloc(ctx->scratch,
                                 (n + 1) * sizeof(gm_compile_route_t));

    if (ctx->services == NULL || ctx->routes == NULL) {
        return -1;
    }

    for (k = 0; k < sub->nkeys; k++) {
        obj = gm_store_get(ctx->store, GM_KIND_SERVICE, sub->keys[k].ns.data,
                           sub->keys[k].name.data);

        if (obj != NULL) {
            cs = &ctx->services[ctx->nservices++];
            memset(cs, 0, sizeof(gm_compile_service_t));
            cs->svc = &obj->body->service;
            cs->dirty = 1;
        }
    }

    if (gm_compile_index_services(ctx) != 0) {
        return -1;
    }

    ctx->nindexed = ctx->nservices;

    for (k = 0; k < sub->nkeys; k++) {
        svc = gm_compile_slices_find(sub->slices, &sub->keys[k].ns,
                                     &sub->keys[k].name);

        for (j = 0; svc != NULL && j < svc->nroutes; j++) {
            obj = svc->objs[svc->nobjs + j];

            if (gm_subset_bound_before(sub, k, obj)) {
                continue;
            }

            cr = &ctx->routes[ctx->nroutes++];
            memset(cr, 0, sizeof(gm_compile_route_t));
            cr->route = &obj->body->httproute;
        }
    }

    ctx->snap->nservices = ctx->nservices;

    return 0;
}


/* a route bound to one of the first k Services too: collected already */

static int
gm_subset_bound_before(const gm_compile_subset_t *sub, size_t k,
    const gm_object_t *obj)
{
    size_t                  p, i;
    const gm_httproute_t   *route;
    const gm_parent_ref_t  *ref;

    route = &obj->body->httproute;

    for (p = 0; p < route->nparents; p++) {
        ref = &route->parents[p];

        if (!gm_compile_is_service_parent(ref)) {
            continue;
        }

        for (i = 0; i < k; i++) {
            if (gm_str_eq(&sub->keys[i].name, &ref->name)
                && gm_str_eq(&sub->keys[i].ns, &ref->ns))
            {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * A Service a stage of the subset compile names (a backendRef, a mirror,
 * a policy's target, another parentRef), indexed when first asked for.
 * Out of memory: NULL with ctx->nomem, which fails the build.
 */

gm_compile_service_t *
gm_compile_subset_service(gm_compile_ctx_t *ctx, const gm_str_t *ns,
    const gm_str_t *name)
{
    gm_object_t           *obj;
    gm_compile_service_t  *cs;

    /* the store's names end at their length; no other name is there */
    if (strlen(ns->data) != ns->len || strlen(name->data) != name->len) {
        return NULL;
    }

    obj = gm_store_get(ctx->store, GM_KIND_SERVICE, ns->data, name->data);
    if (obj == NULL) {
        return NULL;
    }

    if ((ctx->nindexed + 1) * 2 > ctx->index_size
        && gm_subset_index_grow(ctx) != 0)
    {
        ctx->nomem = 1;
        return NULL;
    }

    cs = gm_arena_calloc(ctx->scratch, sizeof(gm_compile_service_t));
    if (cs == NULL) {
        ctx->nomem = 1;
        return NULL;
    }

    cs->svc = &obj->body->service;
    gm_subset_index_add(ctx, cs);

    return cs;
}


static int
gm_subset_index_grow(gm_compile_ctx_t *ctx)
{
    size_t                  i, size;
    gm_compile_service_t  **old;

    old = ctx->index;
    size = ctx->index_size;

    ctx->index = gm_arena_calloc(ctx->scratch,
                                 size * 2 * sizeof(gm_compile_service_t *));
    if (ctx->index == NULL) {
        ctx->index = old;
        return -1;
    }

    ctx->index_size = size * 2;
    ctx->nindexed = 0;

    for (i = 0; i < size; i++) {
        if (old[i] != NULL) {
            gm_subset_index_add(ctx, old[i]);
        }
    }

    return 0;
}


static void
gm_subset_index_add(gm_compile_ctx_t *ctx, gm_compile_service_t *cs)
{
    size_t  j;

    j = gm_compile_hash(&cs->svc->meta.ns, &cs->svc->meta.name, 0)
        & (ctx->index_size - 1);

    while (ctx->index[j] != NULL) {
        j = (j + 1) & (ctx->index_size - 1);
    }

    ctx->index[j] = cs;
    ctx->nindexed++;
}


static void
gm_subset_note(void *data, gm_log_level_e level, const char *msg)
{
    size_t  *notes = data;

    (void) msg;

    if (level <= GM_LOG_NOTICE) {
        (*notes)++;
    }
}


/* a TrafficPolicy on a route: its status would follow the route */

static void
gm_subset_policy(void *data, gm_object_t *obj)
{
    int                        *refuse = data;
    size_t                      i;
    const gm_trafficpolicy_t   *tp;

    tp = &obj->body->trafficpolicy;

    for (i = 0; i < tp->ntargets; i++) {
        if (!gm_str_eq_cstr(&tp->targets[i].kind, "Service")) {
            *refuse = 1;
        }
    }
}


/* every ClusterIP:port of those Services was theirs: nobody else's */

/* a new Service's: nobody's */

static int
gm_subset_owned(const gm_snapshot_t *prev, gm_store_t *store,
    const gm_compile_key_t *keys, size_t nkeys,
    const gm_compile_key_t *added, size_t nadded)
{
    int                   new;
    size_t                k, p, i;
    gm_object_t          *obj;
    const gm_service_t   *svc;
    const gm_frontend_t  *f;

    for (k = 0; k < nkeys; k++) {
        obj = gm_store_get(store, GM_KIND_SERVICE, keys[k].ns.data,
                           keys[k].name.data);

        if (obj == NULL) {
            continue;
        }

        svc = &obj->body->service;

        if (svc->headless || svc->type == GM_SERVICE_EXTERNAL_NAME) {
            continue;
        }

        new = gm_subset_key_in(added, nadded, &svc->meta.ns,
                               &svc->meta.name);

        for (p = 0; p < svc->nports; p++) {
            for (i = 0; i < svc->ncluster_ips; i++) {
                if (svc->cluster_ips[i].family != AF_INET
                    && svc->cluster_ips[i].family != AF_INET6)
                {
                    continue;
                }

                f = gm_snapshot_find_frontend(prev, &svc->cluster_ips[i],
                                              svc->ports[p].port);

                if (new ? f != NULL
                        : (f == NULL
                           || !gm_str_eq(&f->passthrough->name,
                                         &svc->meta.name)
                           || !gm_str_eq(&f->passthrough->ns, &svc->meta.ns)))
                {
                    return -1;
                }
            }
        }
    }

    return 0;
}


/*
 * The previous index, copied, with the subset's frontends in the slots of
 * the ones they replace (the same keys: the Services did not change).
 */

static int
gm_subset_splice(gm_subset_t *st)
{
    size_t               i, size, nmini, ntables, used;
    gm_snapshot_t       *s, *prev;
    gm_allocator_t      *al;
    gm_frontend_slot_t  *mini, *slot;

    s = st->snap;
    prev = st->prev;
    al = &s->arena->allocator;
    size = prev->nslots * sizeof(gm_frontend_slot_t);

    mini = s->slots;
    nmini = s->nslots;
    ntables = s->ntables;

    s->slots = NULL;
    s->nslots = 0;

    if (size != 0) {
        s->slots = al->alloc(al->data, size);
        if (s->slots == NULL) {
            return -1;
        }

        s->slots_apart = 1;
        s->nslots = prev->nslots;
        memcpy(s->slots, prev->slots, size);
    }

    used = SIZE_MAX;                    /* counted when a key is new */

    for (i = 0; i < nmini; i++) {
        if (mini[i].frontend == NULL) {
            continue;
        }

        if (s->nslots == 0) {
            return 1;
        }

        slot = gm_snapshot_frontend_slot(s, &mini[i].addr, mini[i].port);

        if (slot->frontend == NULL) {
            switch (gm_subset_insert(st, slot, &mini[i], &used)) {
            case 0:
                continue;
            case 1:
                return 1;
            default:
                return -1;
            }
        }

        if (gm_subset_add_old(st, slot->frontend) != 0) {
            return -1;
        }

        slot->frontend = mini[i].frontend;

        if (gm_compile_reserve((void **) &st->slots, &st->slots_size,
                               st->nslots + 1, sizeof(uint32_t))
            != 0)
        {
            return -1;
        }

        st->slots[st->nslots++] = (uint32_t) (slot - s->slots);
    }

    /* the tables of the frontends replaced go, the subset's come */
    s->ntables = prev->ntables + ntables;

    for (i = 0; i < st->nold; i++) {
        s->ntables -= (st->old[i]->producer != NULL)
                      + st->old[i]->nconsumers;
    }

    s->nservices = prev->nservices;
    s->nfrontends = prev->nfrontends;
    s->base_bytes = prev->base_bytes;
    s->depth = prev->depth + 1;

    gm_subset_added_counts(st);

    return 0;
}


/*
 * A new Service's frontend into a free slot of the copied index: the
 * other keys keep their slots (the dependencies read from the full
 * compile name slots), the load stays at most 2/3 or it is refused.
 */

static int
gm_subset_insert(gm_subset_t *st, gm_frontend_slot_t *slot,
    const gm_frontend_slot_t *mini, size_t *used)
{
    size_t          i;
    gm_snapshot_t  *s;

    s = st->snap;

    if (!gm_subset_key_in(st->added, st->nadded,
                          &mini->frontend->passthrough->ns,
                          &mini->frontend->passthrough->name))
    {
        return 1;
    }

    if (*used == SIZE_MAX) {
        *used = 0;

        for (i = 0; i < s->nslots; i++) {
            *used += (s->slots[i].frontend != NULL);
        }
    }

    if ((*used + 1) * 3 > s->nslots * 2) {
        return 1;
    }

    *slot = *mini;
    (*used)++;

    if (gm_compile_reserve((void **) &st->slots, &st->slots_size,
                           st->nslots + 1, sizeof(uint32_t))
        != 0)
    {
        return -1;
    }

    st->slots[st->nslots++] = (uint32_t) (slot - s->slots);

    return 0;
}


/* the new Services and their frontends counted as a full compile does */

static void
gm_subset_added_counts(gm_subset_t *st)
{
    size_t               k;
    gm_object_t         *obj;
    const gm_service_t  *svc;

    for (k = 0; k < st->nadded; k++) {
        obj = gm_store_get(st->store, GM_KIND_SERVICE, st->added[k].ns.data,
                           st->added[k].name.data);

        if (obj == NULL) {
            continue;
        }

        svc = &obj->body->service;
        st->snap->nservices++;

        if (!svc->headless && svc->type != GM_SERVICE_EXTERNAL_NAME) {
            st->snap->nfrontends += svc->nports;
        }
    }
}


static int
gm_subset_key_in(const gm_compile_key_t *keys, size_t n, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (gm_str_eq(&keys[i].name, name) && gm_str_eq(&keys[i].ns, ns)) {
            return 1;
        }
    }

    return 0;
}


static int
gm_subset_add_old(gm_subset_t *st, const gm_frontend_t *f)
{
    size_t  i;

    for (i = 0; i < st->nold; i++) {
        if (st->old[i] == f) {
            return 0;
        }
    }

    if (gm_compile_reserve((void **) &st->old, &st->old_size, st->nold + 1,
                           sizeof(gm_frontend_t *))
        != 0)
    {
        return -1;
    }

    st->old[st->nold++] = f;

    return 0;
}
