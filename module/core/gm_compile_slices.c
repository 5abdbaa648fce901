/*
 * nginx-gamma: the store's EndpointSlices and routes by Service, for the
 * incremental compiler: kept from the store's puts and deletes
 * (gm_store_watch), so that a patch resolves a Service's backends again
 * from its own slices, and a route patch finds the routes bound to a
 * Service without a pass over all routes.  A Service's slices and routes
 * share one array (the slices first): most Services have a slice and a
 * route, two pointers.
 */

#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


static void gm_compile_slices_remove(gm_compile_slices_t *sl,
    gm_object_t *obj, const gm_str_t *ns, const gm_str_t *name);
static int gm_compile_slices_add(gm_compile_slices_t *sl, gm_object_t *obj,
    const gm_str_t *ns, const gm_str_t *name);
static int gm_compile_slices_parents(gm_compile_slices_t *sl,
    gm_object_t *obj, int add);
static int gm_compile_slices_first(const gm_httproute_t *route, size_t p);
static gm_compile_svc_slices_t *gm_compile_slices_key(
    gm_compile_slices_t *sl, const gm_str_t *ns, const gm_str_t *name);
static uint32_t *gm_compile_slices_slot(const gm_compile_slices_t *sl,
    const gm_str_t *ns, const gm_str_t *name);
static size_t gm_compile_slices_room(size_t n);
static int gm_compile_slices_grow(gm_compile_slices_t *sl);
static int gm_compile_slices_more(gm_compile_slices_t *sl);
static int gm_compile_slices_usable(const gm_endpointslice_t *eps);


void
gm_compile_slices_put(gm_compile_slices_t *sl, gm_object_t *old,
    gm_object_t *obj)
{
    gm_endpointslice_t  *eps;

    if (old != NULL && old->body->meta.kind == GM_KIND_ENDPOINTSLICE) {
        eps = &old->body->endpointslice;
        gm_compile_slices_remove(sl, old, &eps->meta.ns, &eps->service_name);

    } else if (old != NULL) {
        (void) gm_compile_slices_parents(sl, old, 0);
    }

    if (obj == NULL) {
        return;
    }

    if (obj->body->meta.kind == GM_KIND_ENDPOINTSLICE) {
        eps = &obj->body->endpointslice;

        if (gm_compile_slices_add(sl, obj, &eps->meta.ns, &eps->service_name)
            != 0)
        {
            sl->broken = 1;
        }

    } else if (gm_compile_slices_parents(sl, obj, 1) != 0) {
        sl->broken = 1;
    }
}


const gm_compile_svc_slices_t *
gm_compile_slices_find(const gm_compile_slices_t *sl, const gm_str_t *ns,
    const gm_str_t *name)
{
    uint32_t  *slot;

    if (sl->size == 0) {
        return NULL;
    }

    slot = gm_compile_slices_slot(sl, ns, name);

    return *slot ? &sl->svcs[*slot - 1] : NULL;
}


void
gm_compile_slices_free(gm_compile_slices_t *sl)
{
    size_t  i;

    for (i = 0; i < sl->n; i++) {
        if (sl->svcs[i].objs != sl->svcs[i].inl) {
            free(sl->svcs[i].objs);
        }
    }

    free(sl->svcs);
    free(sl->index);
    gm_arena_destroy(sl->strings);
    memset(sl, 0, sizeof(gm_compile_slices_t));
}


/* a route under each Service it names as a parent, once */

static int
gm_compile_slices_parents(gm_compile_slices_t *sl, gm_object_t *obj,
    int add)
{
    size_t                  p;
    gm_httproute_t         *route;
    const gm_parent_ref_t  *ref;

    if (obj->body->meta.kind != GM_KIND_HTTPROUTE
        && obj->body->meta.kind != GM_KIND_GRPCROUTE)
    {
        return 0;
    }

    route = &obj->body->httproute;

    for (p = 0; p < route->nparents; p++) {
        ref = &route->parents[p];

        if (!gm_compile_slices_first(route, p)) {
            continue;
        }

        if (!add) {
            gm_compile_slices_remove(sl, obj, &ref->ns, &ref->name);

        } else if (gm_compile_slices_add(sl, obj, &ref->ns, &ref->name) != 0) {
            return -1;
        }
    }

    return 0;
}


/* the first parentRef of the route to that Service */

static int
gm_compile_slices_first(const gm_httproute_t *route, size_t p)
{
    size_t                  i;
    const gm_parent_ref_t  *ref;

    ref = &route->parents[p];

    if (!gm_compile_is_service_parent(ref)) {
        return 0;
    }

    for (i = 0; i < p; i++) {
        if (gm_compile_is_service_parent(&route->parents[i])
            && gm_str_eq(&route->parents[i].name, &ref->name)
            && gm_str_eq(&route->parents[i].ns, &ref->ns))
        {
            return 0;
        }
    }

    return 1;
}


static void
gm_compile_slices_remove(gm_compile_slices_t *sl, gm_object_t *obj,
    const gm_str_t *ns, const gm_str_t *name)
{
    size_t                    i, last;
    gm_compile_svc_slices_t  *svc;

    svc = (gm_compile_svc_slices_t *) gm_compile_slices_find(sl, ns, name);

    if (svc == NULL) {
        return;
    }

    last = svc->nobjs + svc->nroutes;

    for (i = 0; i < last && svc->objs[i] != obj; i++) {
        /* void */
    }

    if (i == last) {
        return;
    }

    /* a slice's place goes to the last slice, that one's to the last */
    if (i < svc->nobjs) {
        svc->objs[i] = svc->objs[svc->nobjs - 1];
        i = --svc->nobjs;

    } else {
        svc->nroutes--;
    }

    svc->objs[i] = svc->objs[last - 1];

    /*
     * An empty list goes: small blocks left behind among freed objects
     * keep their pages from going back to the system (t/018).
     */
    if (svc->nobjs + svc->nroutes == 0) {
        if (svc->objs != svc->inl) {
            free(svc->objs);
        }

        svc->objs = NULL;
    }
}


static int
gm_compile_slices_add(gm_compile_slices_t *sl, gm_object_t *obj,
    const gm_str_t *ns, const gm_str_t *name)
{
    size_t                    n;
    gm_object_t             **objs;
    gm_compile_svc_slices_t  *svc;

    svc = gm_compile_slices_key(sl, ns, name);
    if (svc == NULL) {
        return -1;
    }

    n = svc->nobjs + svc->nroutes;

    if (n == UINT32_MAX) {
        return -1;
    }

    if (svc->objs == NULL) {
        svc->objs = svc->inl;

    } else if (gm_compile_slices_room(n + 1) > gm_compile_slices_room(n)) {
        /* past the two in the entry, an array of its own */
        objs = gm_realloc(svc->objs == svc->inl ? NULL : svc->objs,
                          gm_compile_slices_room(n + 1)
                          * sizeof(gm_object_t *));
        if (objs == NULL) {
            return -1;
        }

        if (svc->objs == svc->inl) {
            memcpy(objs, svc->inl, sizeof(svc->inl));
        }

        svc->objs = objs;
    }

    if (obj->body->meta.kind != GM_KIND_ENDPOINTSLICE) {
        svc->objs[svc->nobjs + svc->nroutes++] = obj;
        return 0;
    }

    /* a slice goes before the routes: the first route moves to the end */
    if (svc->nroutes != 0) {
        svc->objs[n] = svc->objs[svc->nobjs];
    }

    svc->objs[svc->nobjs++] = obj;

    return 0;
}


/* the room an array of n has: 2, then powers of two */

static size_t
gm_compile_slices_room(size_t n)
{
    size_t  room;

    for (room = 2; room < n; room *= 2) {
        /* void */
    }

    return room;
}


static gm_compile_svc_slices_t *
gm_compile_slices_key(gm_compile_slices_t *sl, const gm_str_t *ns,
    const gm_str_t *name)
{
    char                     *names;
    uint32_t                 *slot;
    gm_compile_svc_slices_t  *svc;

    if ((sl->n + 1) * 2 > sl->size && gm_compile_slices_grow(sl) != 0) {
        return NULL;
    }

    slot = gm_compile_slices_slot(sl, ns, name);

    if (*slot != 0) {
        return &sl->svcs[*slot - 1];
    }

    if (sl->n == sl->nalloc && gm_compile_slices_more(sl) != 0) {
        return NULL;
    }

    if (sl->strings == NULL) {
        sl->strings = gm_arena_create(4096);

        if (sl->strings == NULL) {
            return NULL;
        }
    }

    svc = &sl->svcs[sl->n];
    memset(svc, 0, sizeof(gm_compile_svc_slices_t));

    if (ns->len > UINT32_MAX - 2 - name->len) {
        return NULL;
    }

    names = gm_arena_bytes(sl->strings, ns->len + name->len + 2);
    if (names == NULL) {
        return NULL;
    }

    memcpy(names, ns->data, ns->len);
    names[ns->len] = '\0';
    memcpy(names + ns->len + 1, name->data, name->len);
    names[ns->len + 1 + name->len] = '\0';

    svc->names = names;
    svc->ns_len = (uint32_t) ns->len;
    svc->name_len = (uint32_t) name->len;

    *slot = (uint32_t) ++sl->n;

    return svc;
}


static uint32_t *
gm_compile_slices_slot(const gm_compile_slices_t *sl, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t                    i;
    gm_compile_svc_slices_t  *svc;

    i = gm_compile_hash(ns, name, 0) & (sl->size - 1);

    for ( ;; ) {
        if (sl->index[i] == 0) {
            return &sl->index[i];
        }

        svc = &sl->svcs[sl->index[i] - 1];

        if (svc->name_len == name->len && svc->ns_len == ns->len
            && memcmp(svc->names + svc->ns_len + 1, name->data, name->len)
               == 0
            && memcmp(svc->names, ns->data, ns->len) == 0)
        {
            return &sl->index[i];
        }

        i = (i + 1) & (sl->size - 1);
    }
}


/* a larger index, every key placed again (keys are never removed) */

static int
gm_compile_slices_grow(gm_compile_slices_t *sl)
{
    size_t                    i, size;
    uint32_t                 *index, *old, *slot;
    gm_str_t                  ns, name;
    gm_compile_svc_slices_t  *svc;

    if (sl->n >= UINT32_MAX / 2) {
        return -1;
    }

    size = sl->size ? sl->size * 2 : 1024;

    index = gm_calloc(size, sizeof(uint32_t));
    if (index == NULL) {
        return -1;
    }

    old = sl->index;
    sl->index = index;
    sl->size = size;

    for (i = 0; i < sl->n; i++) {
        svc = &sl->svcs[i];
        ns.data = (char *) svc->names;
        ns.len = svc->ns_len;
        name.data = (char *) svc->names + svc->ns_len + 1;
        name.len = svc->name_len;

        slot = gm_compile_slices_slot(sl, &ns, &name);
        *slot = (uint32_t) (i + 1);
    }

    free(old);

    return 0;
}


/* room for more Services: their pages are touched only when used */

static int
gm_compile_slices_more(gm_compile_slices_t *sl)
{
    size_t                    i, nalloc;
    gm_compile_svc_slices_t  *svcs;

    nalloc = sl->nalloc ? sl->nalloc * 2 : 512;

    /* an array in its entry moves with it: NULL with objects says so */
    for (i = 0; i < sl->n; i++) {
        if (sl->svcs[i].objs == sl->svcs[i].inl) {
            sl->svcs[i].objs = NULL;
        }
    }

    svcs = gm_realloc(sl->svcs, nalloc * sizeof(gm_compile_svc_slices_t));

    if (svcs != NULL) {
        sl->svcs = svcs;
        sl->nalloc = nalloc;
    }

    for (i = 0; i < sl->n; i++) {
        if (sl->svcs[i].objs == NULL
            && sl->svcs[i].nobjs + sl->svcs[i].nroutes != 0)
        {
            sl->svcs[i].objs = sl->svcs[i].inl;
        }
    }

    return svcs != NULL ? 0 : -1;
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
