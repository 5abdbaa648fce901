/*
 * nginx-gamma: the incremental compiler.  It watches the store's puts and
 * deletes; when only EndpointSlices changed since its last build, the next
 * snapshot is the previous one with the backends of their Services
 * resolved again (gm_compile_patch.c), everything else shared.  Any other
 * change, the operator's configuration or options changed, too many
 * Services at once, or a chain of patches grown past its bounds: a full
 * compile, the same as gm_snapshot_build_opts().
 */

#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


struct gm_compile_incr_s {
    gm_store_t                    *store;
    gm_snapshot_t                 *prev;        /* the last build, held */
    const gm_operator_conf_t      *operator_conf;   /* prev's */
    unsigned                       require_grants:1;  /* prev's */
    unsigned                       full:1;      /* a change not patchable */
    unsigned                       deps_read:1;
    gm_compile_deps_t              deps;        /* prev's, once read */
    gm_compile_slices_t            slices;      /* the store's, always */
    gm_arena_t                    *keys_arena;  /* the keys' strings */
    gm_compile_key_t               keys[GM_INCR_MAX_SERVICES];
    size_t                         nkeys;
};


static void gm_compile_incr_watch(void *data, const gm_object_t *old,
    const gm_object_t *obj);
static void gm_compile_incr_slice(void *data, gm_object_t *obj);
static int gm_compile_incr_note(gm_compile_incr_t *ci,
    const gm_object_t *obj);
static int gm_compile_incr_patchable(gm_compile_incr_t *ci,
    unsigned require_grants);
static int gm_compile_incr_deps(gm_compile_incr_t *ci);
static void gm_compile_incr_clear(gm_compile_incr_t *ci);


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

    gm_store_foreach(store, GM_KIND_ENDPOINTSLICE, gm_compile_incr_slice, ci);
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

    if (gm_compile_incr_patchable(ci, require_grants)
        && gm_compile_incr_deps(ci) == 0)
    {
        rc = gm_compile_patch(ci->prev, ci->store,
                              ci->slices.broken ? NULL : &ci->slices,
                              &ci->deps, ci->keys, ci->nkeys, al, &s);

        if (rc == -1) {
            /* the changes stay noted for the next build */
            gm_log(log, GM_LOG_ERR, "snapshot: out of memory");
            return NULL;
        }
    }

    if (s == NULL) {
        s = gm_snapshot_build_opts(ci->store, log, al, opts);

        if (s == NULL) {
            return NULL;
        }

        *full = 1;

        /* its strings are the old chain's, which goes with prev */
        gm_compile_deps_free(&ci->deps);
        ci->deps_read = 0;
    }

    gm_snapshot_unhold(ci->prev);
    gm_snapshot_hold(s);
    ci->prev = s;
    ci->operator_conf = gm_store_operator(ci->store);
    ci->require_grants = require_grants;

    gm_compile_incr_clear(ci);

    return s;
}


static void
gm_compile_incr_watch(void *data, const gm_object_t *old,
    const gm_object_t *obj)
{
    gm_compile_incr_t  *ci;

    ci = data;

    /* the store's objects: only their constness is the store's to keep */
    gm_compile_slices_put(&ci->slices, (gm_object_t *) old,
                          (gm_object_t *) obj);

    if (ci->full) {
        return;
    }

    if ((old != NULL && gm_compile_incr_note(ci, old) != 0)
        || (obj != NULL && gm_compile_incr_note(ci, obj) != 0))
    {
        ci->full = 1;
    }
}


static void
gm_compile_incr_slice(void *data, gm_object_t *obj)
{
    gm_compile_incr_t  *ci;

    ci = data;

    gm_compile_slices_put(&ci->slices, NULL, obj);
}


/* the Service of a changed EndpointSlice; -1: not patchable */

static int
gm_compile_incr_note(gm_compile_incr_t *ci, const gm_object_t *obj)
{
    size_t                     i;
    gm_compile_key_t          *k;
    const gm_endpointslice_t  *eps;

    if (obj->body->meta.kind != GM_KIND_ENDPOINTSLICE) {
        return -1;
    }

    eps = &obj->body->endpointslice;

    for (i = 0; i < ci->nkeys; i++) {
        if (gm_str_eq(&ci->keys[i].name, &eps->service_name)
            && gm_str_eq(&ci->keys[i].ns, &eps->meta.ns))
        {
            return 0;
        }
    }

    if (ci->nkeys == GM_INCR_MAX_SERVICES) {
        return -1;
    }

    if (ci->keys_arena == NULL) {
        ci->keys_arena = gm_arena_create(1024);

        if (ci->keys_arena == NULL) {
            return -1;
        }
    }

    k = &ci->keys[ci->nkeys];

    if (gm_arena_strdup(ci->keys_arena, &k->ns, eps->meta.ns.data,
                        eps->meta.ns.len)
        != 0
        || gm_arena_strdup(ci->keys_arena, &k->name,
                           eps->service_name.data, eps->service_name.len)
           != 0)
    {
        return -1;
    }

    ci->nkeys++;

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
    ci->full = 0;
    ci->nkeys = 0;

    gm_arena_destroy(ci->keys_arena);
    ci->keys_arena = NULL;
}
