/*
 * nginx-gamma: the incremental compiler.  It watches the store's puts and
 * deletes.  When only EndpointSlices changed since its last build, the
 * next snapshot is the previous one with the backends of their Services
 * resolved again (gm_compile_patch.c); when HTTPRoutes or GRPCRoutes
 * changed, the frontends of their parent Services are compiled again
 * (gm_compile_subset.c), on top of the slices' patch when both changed;
 * everything else is shared.  A Service modified with the same type,
 * ClusterIPs, port numbers, protocols, appProtocols and creation time is
 * patched too (gm_compile_incr_service()): when nothing else the compiler
 * reads changed (labels, annotations, resourceVersion) there is nothing
 * to do; when port names or targetPorts changed, its backends are
 * resolved again as for a slice change, and its frontends compiled again
 * when a route names one of its ports by sectionName.  A Service added
 * that nothing names yet: its frontends compiled by the route subset,
 * into free slots of the index; one deleted that nothing names: its
 * keys out of the index (gm_compile_incr_service.c decides).  Any other
 * change (a Service with other ports; policies, ReferenceGrants,
 * ConfigMaps), the operator's configuration or options changed, too
 * many objects at once, or a chain of patches grown past its bounds: a
 * full compile, the same as gm_snapshot_build_opts().
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_incr_int.h"
#include "gm_reject.h"






static void gm_compile_incr_watch(void *data, const gm_object_t *old,
    const gm_object_t *obj);
static void gm_compile_incr_index(void *data, gm_object_t *obj);
static int gm_compile_incr_note(gm_compile_incr_t *ci,
    const gm_object_t *obj);
static int gm_compile_incr_route(gm_compile_incr_t *ci,
    const gm_object_t *obj);
static gm_snapshot_t *gm_compile_incr_patch_all(gm_compile_incr_t *ci,
    const gm_allocator_t *al, const gm_compile_opts_t *opts, int *rc);
static gm_snapshot_t *gm_compile_incr_patch(gm_compile_incr_t *ci,
    const gm_allocator_t *al, const gm_compile_opts_t *opts, int *rc);
static gm_snapshot_t *gm_compile_incr_full(gm_compile_incr_t *ci,
    const gm_log_t *log, const gm_allocator_t *al,
    const gm_compile_opts_t *opts);
static void gm_compile_incr_log(void *data, gm_log_level_e level,
    const char *msg);
static int gm_compile_incr_noted(const gm_compile_incr_t *ci);
static int gm_compile_incr_patchable(gm_compile_incr_t *ci,
    unsigned require_grants);
static int gm_compile_incr_deps(gm_compile_incr_t *ci);
static void gm_compile_incr_clear(gm_compile_incr_t *ci);
static void gm_compile_incr_number(gm_compile_incr_t *ci, gm_snapshot_t *s);


gm_compile_incr_t *
gm_compile_incr_create(gm_store_t *store)
{
    gm_compile_incr_t  *ci;

    ci = gm_calloc(1, sizeof(gm_compile_incr_t));
    if (ci == NULL) {
        return NULL;
    }

    ci->store = store;
    ci->full = 1;

    gm_store_foreach(store, GM_KIND_ENDPOINTSLICE, gm_compile_incr_index, ci);
    gm_store_foreach(store, GM_KIND_HTTPROUTE, gm_compile_incr_index, ci);
    gm_store_foreach(store, GM_KIND_GRPCROUTE, gm_compile_incr_index, ci);
    gm_store_watch(store, gm_compile_incr_watch, ci);

    return ci;
}


void
gm_compile_incr_destroy(gm_compile_incr_t *ci)
{
    if (ci == NULL) {
        return;
    }

    gm_store_watch(ci->store, NULL, NULL);
    gm_compile_deps_free(&ci->deps);
    gm_compile_slices_free(&ci->slices);
    gm_snapshot_unhold(ci->prev);
    gm_arena_destroy(ci->keys_arena);
    gm_arena_destroy(ci->noted_arena);
    free(ci->noted);
    free(ci->gone);
    free(ci);
}


void
gm_compile_incr_reset(gm_compile_incr_t *ci)
{
    ci->full = 1;
}


gm_snapshot_t *
gm_compile_incr_build(gm_compile_incr_t *ci, const gm_log_t *log,
    const gm_allocator_t *al, const gm_compile_opts_t *opts, int *full)
{
    int             rc;
    unsigned        require_grants;
    gm_snapshot_t  *s;

    require_grants = opts ? opts->require_grants : 0;
    s = NULL;
    *full = 0;
    rc = 1;

    if (gm_compile_incr_patchable(ci, require_grants)
        && gm_compile_incr_deps(ci) == 0)
    {
        s = gm_compile_incr_patch(ci, al, opts, &rc);

        if (rc == -1) {
            /* the changes stay noted for the next build */
            gm_compile_nomem(log, al);
            return NULL;
        }
    }

    if (s == NULL) {
        s = gm_compile_incr_full(ci, log, al, opts);

        if (s == NULL) {
            return NULL;
        }

        *full = 1;

        /* its strings are the old chain's, which goes with prev */
        gm_compile_deps_free(&ci->deps);
        ci->deps_read = 0;
    }

    gm_compile_incr_number(ci, s);
    gm_snapshot_unhold(ci->prev);
    gm_snapshot_hold(s);
    ci->prev = s;
    ci->operator_conf = gm_store_operator(ci->store);
    ci->require_grants = require_grants;

    gm_compile_incr_clear(ci);

    return s;
}


/*
 * The status chunks s made get serials, never given again by this
 * compiler; those it shares with prev keep theirs (gm_route_status.h).
 * A directory of prev's has no chunk without one: it is not written.
 */

static void
gm_compile_incr_number(gm_compile_incr_t *ci, gm_snapshot_t *s)
{
    size_t              c;
    gm_status_chunk_t  *chunks;

    if (ci->prev != NULL && s->status == ci->prev->status) {
        return;
    }

    chunks = (gm_status_chunk_t *) s->status;

    for (c = 0; c < s->nstatus_chunks; c++) {
        if (chunks[c].serial == 0) {
            chunks[c].serial = ++ci->status_serial;
        }
    }
}


/* the patches, then the keys of deleted Services out of the index */

static gm_snapshot_t *
gm_compile_incr_patch(gm_compile_incr_t *ci, const gm_allocator_t *al,
    const gm_compile_opts_t *opts, int *rc)
{
    gm_snapshot_t  *s;

    if (ci->ndeleted != 0) {
        *rc = gm_compile_incr_deleted_check(ci);

        if (*rc != 0) {
            return NULL;
        }
    }

    s = gm_compile_incr_patch_all(ci, al, opts, rc);

    if (s == NULL || ci->ndeleted == 0) {
        return s;
    }

    *rc = gm_compile_incr_remove(ci, s);

    if (*rc != 0) {
        gm_snapshot_unref(s);
        return NULL;
    }

    return s;
}


/* the slices' patch, then the routes' on top; NULL with *rc 1: refused */

static gm_snapshot_t *
gm_compile_incr_patch_all(gm_compile_incr_t *ci, const gm_allocator_t *al,
    const gm_compile_opts_t *opts, int *rc)
{
    size_t          i;
    gm_snapshot_t  *s, *r, *base;

    s = NULL;
    *rc = 0;

    /* Services with other port names: what else their names decide */
    if (ci->nsvcs != 0) {
        *rc = gm_compile_incr_ports(ci);

        if (*rc != 0) {
            return NULL;
        }
    }

    /* new Services: nothing may name them yet */
    if (ci->nadded != 0) {
        *rc = gm_compile_incr_added(ci);

        if (*rc != 0) {
            return NULL;
        }
    }

    /*
     * A Service port that gains or loses its last endpoint changes the
     * compiler's notes, also about rules no table holds (a route that
     * lost a conflict): a full compile
     */
    for (i = 0; i < ci->nkeys; i++) {
        if (ci->slices.broken || ci->ready[i] == 0
            || ci->ready[i] != gm_compile_slices_ready(&ci->slices,
                                                       &ci->keys[i].ns,
                                                       &ci->keys[i].name))
        {
            *rc = 1;
            return NULL;
        }
    }

    /* no change at all: a patch of nothing, as before */
    if (ci->nkeys != 0 || (ci->nroutes == 0 && ci->nparents == 0)) {
        *rc = gm_compile_patch(ci->prev, ci->store,
                               ci->slices.broken ? NULL : &ci->slices,
                               &ci->deps, ci->keys, ci->nkeys, al, &s);
        if (*rc != 0) {
            return NULL;
        }
    }

    if (ci->nroutes == 0 && ci->nparents == 0) {
        return s;
    }

    if (gm_compile_incr_noted(ci)) {
        gm_snapshot_unref(s);
        *rc = 1;
        return NULL;
    }

    base = s ? s : ci->prev;

    *rc = gm_compile_routes_patch(base, ci->store,
                                  ci->slices.broken ? NULL : &ci->slices,
                                  &ci->deps, ci->parents, ci->nparents,
                                  ci->added, ci->nadded,
                                  ci->routes, ci->nroutes, ci->noted,
                                  ci->nnoted, opts, al, &r);

    /* the slices' generation lives on in the routes' (its body) */
    gm_snapshot_unref(s);

    return (*rc == 0) ? r : NULL;
}


/* the full compile, its notes about routes kept */

static gm_snapshot_t *
gm_compile_incr_full(gm_compile_incr_t *ci, const gm_log_t *log,
    const gm_allocator_t *al, const gm_compile_opts_t *opts)
{
    gm_log_t        tap;
    gm_snapshot_t  *s;

    ci->nnoted = 0;
    gm_arena_destroy(ci->noted_arena);
    ci->noted_arena = NULL;
    ci->log = log;

    tap.handler = gm_compile_incr_log;
    tap.data = ci;

    s = gm_snapshot_build_opts(ci->store, &tap, al, opts);

    if (ci->nnoted == SIZE_MAX) {
        /* out of memory noting: no route patch until the next one */
        ci->full = 1;
    }

    return s;
}


static void
gm_compile_incr_log(void *data, gm_log_level_e level, const char *msg)
{
    gm_reject_t         r;
    gm_compile_incr_t  *ci;
    gm_compile_rkey_t  *k;

    ci = data;

    if (ci->log != NULL && ci->log->handler != NULL) {
        ci->log->handler(ci->log->data, level, msg);
    }

    if (level > GM_LOG_NOTICE || ci->nnoted == SIZE_MAX
        || gm_reject_parse(msg, &r) != 0
        || (r.kind != GM_KIND_HTTPROUTE && r.kind != GM_KIND_GRPCROUTE))
    {
        return;
    }

    if (ci->noted_arena == NULL) {
        ci->noted_arena = gm_arena_create(1024);
    }

    if (ci->noted_arena == NULL
        || gm_compile_reserve((void **) &ci->noted, &ci->noted_size,
                              ci->nnoted + 1, sizeof(gm_compile_rkey_t))
           != 0)
    {
        ci->nnoted = SIZE_MAX;
        return;
    }

    k = &ci->noted[ci->nnoted];
    k->kind = r.kind;

    if (gm_arena_strdup(ci->noted_arena, &k->key.ns, r.ns.data, r.ns.len)
        != 0
        || gm_arena_strdup(ci->noted_arena, &k->key.name, r.name.data,
                           r.name.len)
           != 0)
    {
        ci->nnoted = SIZE_MAX;
        return;
    }

    ci->nnoted++;
}


/*
 * A changed route the full compile had a note about: its note may go.
 * By ns/name only: the notes of a GRPCRoute's rules say HTTPRoute.
 */

static int
gm_compile_incr_noted(const gm_compile_incr_t *ci)
{
    size_t  i, j;

    for (i = 0; i < ci->nroutes; i++) {
        for (j = 0; j < ci->nnoted; j++) {
            if (gm_str_eq(&ci->noted[j].key.name,
                             &ci->routes[i].key.name)
                && gm_str_eq(&ci->noted[j].key.ns, &ci->routes[i].key.ns))
            {
                return 1;
            }
        }
    }

    return 0;
}


static void
gm_compile_incr_watch(void *data, const gm_object_t *old,
    const gm_object_t *obj)
{
    gm_compile_incr_t  *ci;

    ci = data;

    /* before the index changes: a Service's slices as they were */
    if (ci->full) {
        /* void */

    } else if (old != NULL && obj != NULL
               && obj->body->meta.kind == GM_KIND_SERVICE)
    {
        if (gm_compile_incr_service(ci, &old->body->service,
                                    &obj->body->service)
            != 0)
        {
            ci->full = 1;
        }

    } else if (old != NULL && obj == NULL
               && old->body->meta.kind == GM_KIND_SERVICE)
    {
        if (gm_compile_incr_deleted(ci, &old->body->service) != 0) {
            ci->full = 1;
        }

    } else if (old == NULL && obj != NULL
               && obj->body->meta.kind == GM_KIND_SERVICE)
    {
        /* a new Service: its frontends compiled by the route subset */
        if (gm_compile_incr_has(ci->deleted, ci->ndeleted,
                                &obj->body->meta.ns, &obj->body->meta.name)
            || gm_compile_incr_key(ci, ci->added, &ci->nadded,
                                &obj->body->meta.ns, &obj->body->meta.name)
            != 0
            || gm_compile_incr_key(ci, ci->parents, &ci->nparents,
                                   &obj->body->meta.ns,
                                   &obj->body->meta.name)
               != 0)
        {
            ci->full = 1;
        }

    } else if ((old != NULL && gm_compile_incr_note(ci, old) != 0)
               || (obj != NULL && gm_compile_incr_note(ci, obj) != 0))
    {
        ci->full = 1;
    }

    /* the store's objects: only their constness is the store's to keep */
    gm_compile_slices_put(&ci->slices, (gm_object_t *) old,
                          (gm_object_t *) obj);
}


static void
gm_compile_incr_index(void *data, gm_object_t *obj)
{
    gm_compile_incr_t  *ci;

    ci = data;

    gm_compile_slices_put(&ci->slices, NULL, obj);
}


/* the Service of a changed EndpointSlice, a route; -1: not patchable */

static int
gm_compile_incr_note(gm_compile_incr_t *ci, const gm_object_t *obj)
{
    size_t                     n;
    const gm_endpointslice_t  *eps;

    if (obj->body->meta.kind == GM_KIND_HTTPROUTE
        || obj->body->meta.kind == GM_KIND_GRPCROUTE)
    {
        return gm_compile_incr_route(ci, obj);
    }

    if (obj->body->meta.kind != GM_KIND_ENDPOINTSLICE) {
        return -1;
    }

    eps = &obj->body->endpointslice;
    n = ci->nkeys;

    if (gm_compile_incr_key(ci, ci->keys, &ci->nkeys, &eps->meta.ns,
                            &eps->service_name)
        != 0)
    {
        return -1;
    }

    if (ci->nkeys > n) {
        ci->ready[n] = gm_compile_slices_ready(&ci->slices, &eps->meta.ns,
                                               &eps->service_name);
    }

    return 0;
}


/* a route, and the Services it names as parents (old and new version) */

static int
gm_compile_incr_route(gm_compile_incr_t *ci, const gm_object_t *obj)
{
    size_t                  i, p;
    gm_compile_rkey_t      *r;
    const gm_httproute_t   *route;
    const gm_parent_ref_t  *ref;

    route = &obj->body->httproute;

    for (p = 0; p < route->nparents; p++) {
        ref = &route->parents[p];

        if (gm_compile_is_service_parent(ref)
            && gm_compile_incr_key(ci, ci->parents, &ci->nparents, &ref->ns,
                                   &ref->name)
               != 0)
        {
            return -1;
        }
    }

    for (i = 0; i < ci->nroutes; i++) {
        r = &ci->routes[i];

        if (r->kind == route->meta.kind
            && gm_str_eq(&r->key.name, &route->meta.name)
            && gm_str_eq(&r->key.ns, &route->meta.ns))
        {
            return 0;
        }
    }

    if (ci->nroutes == GM_INCR_MAX_SERVICES) {
        return -1;
    }

    r = &ci->routes[ci->nroutes];
    r->kind = route->meta.kind;

    /* keys_arena exists: a route names a parent, or it is made here */
    if (gm_compile_incr_key(ci, NULL, NULL, NULL, NULL) != 0
        || gm_arena_strdup(ci->keys_arena, &r->key.ns, route->meta.ns.data,
                           route->meta.ns.len) != 0
        || gm_arena_strdup(ci->keys_arena, &r->key.name,
                           route->meta.name.data, route->meta.name.len)
           != 0)
    {
        return -1;
    }

    ci->nroutes++;

    return 0;
}


/* ns/name once in keys; keys NULL: only the arena made */

int
gm_compile_incr_key(gm_compile_incr_t *ci, gm_compile_key_t *keys,
    size_t *n, const gm_str_t *ns, const gm_str_t *name)
{
    size_t             i;
    gm_compile_key_t  *k;

    if (ci->keys_arena == NULL) {
        ci->keys_arena = gm_arena_create(1024);

        if (ci->keys_arena == NULL) {
            return -1;
        }
    }

    if (keys == NULL) {
        return 0;
    }

    for (i = 0; i < *n; i++) {
        if (gm_str_eq(&keys[i].name, name) && gm_str_eq(&keys[i].ns, ns)) {
            return 0;
        }
    }

    if (*n == GM_INCR_MAX_SERVICES) {
        return -1;
    }

    k = &keys[*n];

    if (gm_arena_strdup(ci->keys_arena, &k->ns, ns->data, ns->len) != 0
        || gm_arena_strdup(ci->keys_arena, &k->name, name->data, name->len)
           != 0)
    {
        return -1;
    }

    (*n)++;

    return 0;
}


static int
gm_compile_incr_patchable(gm_compile_incr_t *ci, unsigned require_grants)
{
    size_t               limit;
    const gm_snapshot_t *prev;

    prev = ci->prev;

    if (prev == NULL || ci->full
        || ci->operator_conf != gm_store_operator(ci->store)
        || ci->require_grants != require_grants)
    {
        return 0;
    }

    /* a chain of patches keeps what it replaced: bounded, then rebuilt */
    limit = prev->base_bytes / 4;

    if (limit < GM_INCR_CHAIN_MIN) {
        limit = GM_INCR_CHAIN_MIN;
    }

    return prev->depth < GM_INCR_MAX_DEPTH && prev->chain_bytes < limit;
}


/* read from the first patched generation's parent, kept by its patches */

static int
gm_compile_incr_deps(gm_compile_incr_t *ci)
{
    if (ci->deps_read) {
        return 0;
    }

    if (gm_compile_deps_build(&ci->deps, ci->prev) != 0) {
        return -1;
    }

    ci->deps_read = 1;

    return 0;
}


static void
gm_compile_incr_clear(gm_compile_incr_t *ci)
{
    ci->full = (ci->nnoted == SIZE_MAX);
    ci->nkeys = 0;
    ci->nroutes = 0;
    ci->nparents = 0;
    ci->nsvcs = 0;
    ci->nadded = 0;
    ci->ndeleted = 0;
    ci->ngone = 0;

    gm_arena_destroy(ci->keys_arena);
    ci->keys_arena = NULL;
}
