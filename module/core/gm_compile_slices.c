/*
 * nginx-gamma: the store's EndpointSlices by Service, for the incremental
 * compiler: kept from the store's puts and deletes (gm_store_watch), so
 * that a patch resolves a Service's backends again from its own slices.
 */

#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


static void gm_compile_slices_remove(gm_compile_slices_t *sl,
    gm_object_t *obj);
static int gm_compile_slices_add(gm_compile_slices_t *sl,
    gm_object_t *obj);
static gm_compile_svc_slices_t *gm_compile_slices_slot(
    const gm_compile_slices_t *sl, const gm_str_t *ns,
    const gm_str_t *name);
static int gm_compile_slices_grow(gm_compile_slices_t *sl);
static int gm_compile_slices_usable(const gm_endpointslice_t *eps);


void
gm_compile_slices_put(gm_compile_slices_t *sl, gm_object_t *old,
    gm_object_t *obj)
{
    if (old != NULL && old->body->meta.kind == GM_KIND_ENDPOINTSLICE) {
        gm_compile_slices_remove(sl, old);
    }

    if (obj != NULL && obj->body->meta.kind == GM_KIND_ENDPOINTSLICE
        && gm_compile_slices_add(sl, obj) != 0)
    {
        sl->broken = 1;
    }
}


const gm_compile_svc_slices_t *
gm_compile_slices_find(const gm_compile_slices_t *sl, const gm_str_t *ns,
    const gm_str_t *name)
{
    gm_compile_svc_slices_t  *svc;

    if (sl->size == 0) {
        return NULL;
    }

    svc = gm_compile_slices_slot(sl, ns, name);

    return svc->key.name.data ? svc : NULL;
}


void
gm_compile_slices_free(gm_compile_slices_t *sl)
{
    size_t  i;

    for (i = 0; i < sl->size; i++) {
        free(sl->svcs[i].objs);
    }

    free(sl->svcs);
    gm_arena_destroy(sl->strings);
    memset(sl, 0, sizeof(gm_compile_slices_t));
}


static void
gm_compile_slices_remove(gm_compile_slices_t *sl, gm_object_t *obj)
{
    size_t                    i;
    gm_endpointslice_t       *eps;
    gm_compile_svc_slices_t  *svc;

    eps = &obj->body->endpointslice;
    svc = (gm_compile_svc_slices_t *)
          gm_compile_slices_find(sl, &eps->meta.ns, &eps->service_name);

    for (i = 0; svc != NULL && i < svc->nobjs; i++) {
        if (svc->objs[i] == obj) {
            svc->objs[i] = svc->objs[--svc->nobjs];
            break;
        }
    }

    /*
     * An empty list goes: small blocks left behind among freed objects
     * keep their pages from going back to the system (t/018).
     */
    if (svc != NULL && svc->nobjs == 0) {
        free(svc->objs);
        svc->objs = NULL;
        svc->objs_size = 0;
    }
}


static int
gm_compile_slices_add(gm_compile_slices_t *sl, gm_object_t *obj)
{
    gm_object_t             **objs;
    gm_endpointslice_t       *eps;
    gm_compile_svc_slices_t  *svc;

    eps = &obj->body->endpointslice;

    if ((sl->n + 1) * 2 > sl->size && gm_compile_slices_grow(sl) != 0) {
        return -1;
    }

    svc = gm_compile_slices_slot(sl, &eps->meta.ns, &eps->service_name);

    if (svc->key.name.data == NULL) {
        if (sl->strings == NULL) {
            sl->strings = gm_arena_create(4096);

            if (sl->strings == NULL) {
                return -1;
            }
        }

        if (gm_arena_strdup(sl->strings, &svc->key.ns, eps->meta.ns.data,
                            eps->meta.ns.len)
            != 0
            || gm_arena_strdup(sl->strings, &svc->key.name,
                               eps->service_name.data,
                               eps->service_name.len)
               != 0)
        {
            svc->key.name.data = NULL;
            return -1;
        }

        sl->n++;
    }

    /* most Services have one slice or two */
    if (svc->nobjs == svc->objs_size) {
        objs = gm_realloc(svc->objs, (svc->objs_size ? svc->objs_size * 2 : 2)
                                     * sizeof(gm_object_t *));
        if (objs == NULL) {
            return -1;
        }

        svc->objs = objs;
        svc->objs_size = svc->objs_size ? svc->objs_size * 2 : 2;
    }

    svc->objs[svc->nobjs++] = obj;

    return 0;
}


static gm_compile_svc_slices_t *
gm_compile_slices_slot(const gm_compile_slices_t *sl, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t                    i;
    gm_compile_svc_slices_t  *svc;

    i = gm_compile_hash(ns, name, 0) & (sl->size - 1);

    for ( ;; ) {
        svc = &sl->svcs[i];

        if (svc->key.name.data == NULL
            || (gm_str_eq(&svc->key.name, name)
                && gm_str_eq(&svc->key.ns, ns)))
        {
            return svc;
        }

        i = (i + 1) & (sl->size - 1);
    }
}


static int
gm_compile_slices_grow(gm_compile_slices_t *sl)
{
    size_t                    i, size;
    gm_compile_svc_slices_t  *old, *svc;
    gm_compile_slices_t       nsl;

    size = sl->size ? sl->size * 2 : 1024;

    memset(&nsl, 0, sizeof(gm_compile_slices_t));
    nsl.svcs = gm_calloc(size, sizeof(gm_compile_svc_slices_t));
    if (nsl.svcs == NULL) {
        return -1;
    }

    nsl.size = size;
    old = sl->svcs;

    for (i = 0; i < sl->size; i++) {
        if (old[i].key.name.data != NULL) {
            svc = gm_compile_slices_slot(&nsl, &old[i].key.ns,
                                         &old[i].key.name);
            *svc = old[i];
        }
    }

    free(old);
    sl->svcs = nsl.svcs;
    sl->size = size;

    return 0;
}


/*
 * Which ports of a Service's slices have a ready address: a hash of the
 * set of (port name, port number set or not) pairs (a slice without ports
 * counts as one of its own): endpoints moving between addresses or port
 * numbers keep it.  Equal before and after a change: no Service port of
 * it gained or lost its last endpoint, whoever refers to it.
 */

uint64_t
gm_compile_slices_ready(const gm_compile_slices_t *sl, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t                          i, j, k, n;
    uint64_t                        h, set[GM_INCR_READY_PORTS];
    gm_str_t                        none;
    const gm_endpointslice_t       *eps;
    const gm_compile_svc_slices_t  *svc;

    svc = gm_compile_slices_find(sl, ns, name);
    n = 0;
    none.data = (char *) "";
    none.len = 0;

    for (i = 0; svc != NULL && i < svc->nobjs; i++) {
        eps = &svc->objs[i]->body->endpointslice;

        if (!gm_compile_slices_usable(eps)) {
            continue;
        }

        for (j = 0; j < (eps->nports ? eps->nports : 1); j++) {
            /* a port number only tells whether the slice sets one */
            h = eps->nports ? gm_compile_hash(&eps->ports[j].name, NULL,
                                              eps->ports[j].port != 0)
                            : gm_compile_hash(&none, &none, 0);

            for (k = 0; k < n && set[k] != h; k++) {
                /* void */
            }

            if (k < n) {
                continue;
            }

            if (n == GM_INCR_READY_PORTS) {
                return 0;       /* too many to tell: "changed" */
            }

            set[n++] = h;
        }
    }

    h = 1;

    for (k = 0; k < n; k++) {
        h ^= set[k];
    }

    return h;
}


/* a ready endpoint with an address the compiler takes */

static int
gm_compile_slices_usable(const gm_endpointslice_t *eps)
{
    size_t  i, j;

    for (i = 0; i < eps->nendpoints; i++) {
        if (!eps->endpoints[i].ready) {
            continue;
        }

        for (j = 0; j < eps->endpoints[i].naddrs; j++) {
            if (eps->endpoints[i].addrs[j].family == AF_INET
                || eps->endpoints[i].addrs[j].family == AF_INET6)
            {
                return 1;
            }
        }
    }

    return 0;
}
