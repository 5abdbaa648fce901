/*
 * nginx-gamma: a snapshot patched from the previous one when only
 * EndpointSlices changed.  The backends of their Services are resolved
 * again; the rules that name a changed backend, the tables holding those
 * rules and the frontends holding those tables (or the backend itself as
 * passthrough) are copied with the new pointers, everything else (regexes,
 * filters, policies, status, the other backends) is shared with the
 * previous generation.  The new generation's index is its own.
 *
 * Lifetime: the new generation holds a reference on the arena of the
 * previous one (body_refs), which holds one on its own parent, down to
 * the full compile; an arena is freed when neither its generation nor a
 * later patch uses it (gm_snapshot.c), so a piece shared by generations
 * N and N + 1 lives until both were reclaimed from the zone.
 *
 * Only the frontends that depend on a changed Service are visited, by
 * the dependencies read from the full compile (gm_compile_deps.c).
 *
 * What makes it refuse (a full compile then): a backend whose status
 * changes (the compiler's notices about backends without endpoints would
 * change), a RequestMirror to a changed Service, a Service gone.
 */

#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


typedef struct {
    gm_backend_t                  *old;
    gm_backend_t                  *new;         /* == old: unchanged */
} gm_patch_backend_t;

typedef struct {
    const void                    *old;
    void                          *new;
} gm_patch_copy_t;

typedef struct {
    gm_snapshot_t                 *prev;
    gm_snapshot_t                 *snap;
    const gm_compile_deps_t       *deps;
    const gm_compile_key_t        *keys;
    size_t                         nkeys;
    gm_compile_service_t          *services;    /* one per key */
    gm_compile_ctx_t               ctx;         /* resolves endpoints */
    gm_patch_backend_t            *backends;
    size_t                         nbackends;
    size_t                         backends_size;
    gm_patch_copy_t               *copies;      /* rules, tables, frontends */
    size_t                         ncopies;
    size_t                         copies_size;
    unsigned                       changed:1;
    unsigned                       refuse:1;
    unsigned                       nomem:1;
} gm_patch_t;


static int gm_patch_services(gm_patch_t *p, gm_store_t *store,
    const gm_compile_slices_t *slices);
static int gm_patch_slice(gm_patch_t *p, int k, gm_object_t *obj);
static void gm_patch_add_slice(void *data, gm_object_t *obj);
static int gm_patch_key(const gm_patch_t *p, const gm_str_t *ns,
    const gm_str_t *name);
static int gm_patch_find_fast(gm_patch_t *p);
static void gm_patch_find(gm_patch_t *p);
static void gm_patch_find_table(gm_patch_t *p, const gm_route_table_t *t);
static void gm_patch_find_filters(gm_patch_t *p, const gm_filters_t *fs);
static void gm_patch_find_backend(gm_patch_t *p, gm_backend_t *b);
static int gm_patch_resolve(gm_patch_t *p);
static int gm_patch_same_endpoints(const gm_backend_t *a,
    const gm_backend_t *b);
static gm_backend_t *gm_patch_backend(const gm_patch_t *p, gm_backend_t *b);
static gm_rule_t *gm_patch_rule(gm_patch_t *p, gm_rule_t *r);
static gm_route_table_t *gm_patch_table(gm_patch_t *p, gm_route_table_t *t);
static gm_frontend_t *gm_patch_frontend(gm_patch_t *p, gm_frontend_t *f);
static void *gm_patch_copied(const gm_patch_t *p, const void *old);
static void *gm_patch_copy(gm_patch_t *p, const void *old, size_t size);
static int gm_patch_index(gm_patch_t *p);


int
gm_compile_patch(gm_snapshot_t *prev, gm_store_t *store,
    const gm_compile_slices_t *slices, const gm_compile_deps_t *deps,
    const gm_compile_key_t *keys, size_t nkeys, const gm_allocator_t *al,
    gm_snapshot_t **out)
{
    int          rc;
    size_t       i;
    gm_patch_t   p;

    *out = NULL;

    /* a mirrored Service is left to the full compile */
    for (i = 0; i < nkeys; i++) {
        if (gm_compile_deps_find(deps, &keys[i].ns, &keys[i].name) != NULL
            && gm_compile_deps_find(deps, &keys[i].ns,
                                    &keys[i].name)->mirrored)
        {
            return 1;
        }
    }

    memset(&p, 0, sizeof(gm_patch_t));
    p.prev = prev;
    p.deps = deps;
    p.keys = keys;
    p.nkeys = nkeys;

    p.snap = gm_snapshot_create(GM_INCR_BLOCK, al);
    if (p.snap == NULL) {
        return -1;
    }

    p.ctx.store = store;
    p.ctx.arena = p.snap->arena;
    p.ctx.scratch = gm_arena_create(GM_INCR_BLOCK);

    rc = -1;

    if (p.ctx.scratch != NULL && gm_patch_services(&p, store, slices) == 0) {
        if (gm_patch_find_fast(&p) != 0) {
            gm_patch_find(&p);
        }

        if (!p.refuse && gm_patch_resolve(&p) == 0 && !p.refuse
            && gm_patch_index(&p) == 0)
        {
            rc = 0;
        }
    }

    if (p.refuse) {
        rc = 1;
    }

    gm_arena_destroy(p.ctx.scratch);
    free(p.ctx.eps);
    free(p.backends);
    free(p.copies);

    if (rc != 0) {
        gm_snapshot_unref(p.snap);
        return rc;
    }

    gm_snapshot_chain(p.snap, prev);

    *out = p.snap;

    return 0;
}


/*
 * The changed Services as the compiler sees them, with their slices: from
 * the incremental compiler's index, or (slices NULL) a pass over all.
 */

static int
gm_patch_services(gm_patch_t *p, gm_store_t *store,
    const gm_compile_slices_t *slices)
{
    size_t                          i, j;
    gm_object_t                    *obj;
    const gm_compile_svc_slices_t  *svc;

    p->services = gm_arena_calloc(p->ctx.scratch,
                                  (p->nkeys + 1)
                                  * sizeof(gm_compile_service_t));
    if (p->services == NULL) {
        return -1;
    }

    for (i = 0; i < p->nkeys; i++) {
        obj = gm_store_get(store, GM_KIND_SERVICE, p->keys[i].ns.data,
                           p->keys[i].name.data);

        p->services[i].svc = obj ? &obj->body->service : NULL;
    }

    if (slices == NULL) {
        gm_store_foreach(store, GM_KIND_ENDPOINTSLICE, gm_patch_add_slice, p);
        return p->nomem ? -1 : 0;
    }

    for (i = 0; i < p->nkeys; i++) {
        svc = gm_compile_slices_find(slices, &p->keys[i].ns,
                                     &p->keys[i].name);

        for (j = 0; svc != NULL && j < svc->nobjs; j++) {
            if (gm_patch_slice(p, (int) i, svc->objs[j]) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


static void
gm_patch_add_slice(void *data, gm_object_t *obj)
{
    int                  k;
    gm_patch_t          *p;
    gm_endpointslice_t  *eps;

    p = data;
    eps = &obj->body->endpointslice;

    k = gm_patch_key(p, &eps->meta.ns, &eps->service_name);

    if (k >= 0 && gm_patch_slice(p, k, obj) != 0) {
        p->nomem = 1;
    }
}


static int
gm_patch_slice(gm_patch_t *p, int k, gm_object_t *obj)
{
    gm_compile_slice_t  *sl;

    if (p->services[k].svc == NULL) {
        return 0;
    }

    sl = gm_arena_alloc(p->ctx.scratch, sizeof(gm_compile_slice_t));
    if (sl == NULL) {
        return -1;
    }

    sl->eps = &obj->body->endpointslice;
    sl->next = p->services[k].slices;
    p->services[k].slices = sl;

    return 0;
}


static int
gm_patch_key(const gm_patch_t *p, const gm_str_t *ns, const gm_str_t *name)
{
    size_t  i;

    for (i = 0; i < p->nkeys; i++) {
        if (gm_str_eq(&p->keys[i].name, name)
            && gm_str_eq(&p->keys[i].ns, ns))
        {
            return (int) i;
        }
    }

    return -1;
}


/*
 * The previous generation's backends of the changed Services: a Service
 * port's backend is the passthrough of its frontend, found by ClusterIP.
 * -1: a Service without frontends of its own (headless, claimed by
 * another Service), then the whole generation is walked.
 */

static int
gm_patch_find_fast(gm_patch_t *p)
{
    size_t                 k, port, i;
    gm_service_t          *svc;
    const gm_frontend_t   *f;

    for (k = 0; k < p->nkeys; k++) {
        svc = p->services[k].svc;

        if (svc == NULL) {
            continue;
        }

        for (port = 0; port < svc->nports; port++) {
            f = NULL;

            for (i = 0; i < svc->ncluster_ips; i++) {
                f = gm_snapshot_find_frontend(p->prev, &svc->cluster_ips[i],
                                              svc->ports[port].port);

                if (f != NULL
                    && gm_str_eq(&f->passthrough->name, &svc->meta.name)
                    && gm_str_eq(&f->passthrough->ns, &svc->meta.ns))
                {
                    break;
                }

                f = NULL;
            }

            if (f == NULL) {
                p->nbackends = 0;
                return -1;
            }

            gm_patch_find_backend(p, f->passthrough);
        }
    }

    return p->nomem ? -1 : 0;
}


static void
gm_patch_find(gm_patch_t *p)
{
    size_t          i, c;
    gm_frontend_t  *f;

    for (i = 0; i < p->prev->nslots && !p->refuse && !p->nomem; i++) {
        f = p->prev->slots[i].frontend;

        if (f == NULL) {
            continue;
        }

        gm_patch_find_backend(p, f->passthrough);
        gm_patch_find_table(p, f->producer);

        for (c = 0; c < f->nconsumers; c++) {
            gm_patch_find_table(p, f->consumer[c]);
        }
    }
}


static void
gm_patch_find_table(gm_patch_t *p, const gm_route_table_t *t)
{
    size_t           i, j;
    const gm_rule_t *r;

    if (t == NULL) {
        return;
    }

    for (i = 0; i < t->nentries; i++) {
        r = t->entries[i].rule;

        for (j = 0; j < r->nbackends; j++) {
            gm_patch_find_backend(p, r->backends[j].backend);
            gm_patch_find_filters(p, gm_rule_backend_filters(r, j));
        }

        gm_patch_find_filters(p, r->ext->filters);
    }
}


static void
gm_patch_find_filters(gm_patch_t *p, const gm_filters_t *fs)
{
    size_t               i;
    const gm_backend_t  *b;

    if (fs == NULL) {
        return;
    }

    for (i = 0; i < fs->nfilters; i++) {
        if (fs->filters[i].type != GM_FILTER_REQUEST_MIRROR) {
            continue;
        }

        b = fs->filters[i].u.mirror.backend;

        if (b != NULL && gm_patch_key(p, &b->ns, &b->name) >= 0) {
            p->refuse = 1;
        }
    }
}


/* only resolved backends depend on slices: not the missing or refused */

static void
gm_patch_find_backend(gm_patch_t *p, gm_backend_t *b)
{
    size_t  i;

    if (b == NULL
        || (b->status != GM_BACKEND_OK
            && b->status != GM_BACKEND_NO_ENDPOINTS)
        || gm_patch_key(p, &b->ns, &b->name) < 0)
    {
        return;
    }

    for (i = 0; i < p->nbackends; i++) {
        if (p->backends[i].old == b) {
            return;
        }
    }

    if (gm_compile_reserve((void **) &p->backends, &p->backends_size,
                           p->nbackends + 1, sizeof(gm_patch_backend_t))
        != 0)
    {
        p->nomem = 1;
        return;
    }

    p->backends[p->nbackends].old = b;
    p->backends[p->nbackends].new = NULL;
    p->nbackends++;
}


static int
gm_patch_resolve(gm_patch_t *p)
{
    int                    k;
    size_t                 i, port;
    gm_backend_t          *b, *nb;
    gm_compile_service_t  *cs;

    if (p->nomem) {
        return -1;
    }

    for (i = 0; i < p->nbackends; i++) {
        b = p->backends[i].old;
        k = gm_patch_key(p, &b->ns, &b->name);
        cs = &p->services[k];

        if (cs->svc == NULL) {
            p->refuse = 1;
            return 0;
        }

        for (port = 0; port < cs->svc->nports; port++) {
            if (cs->svc->ports[port].port == b->port) {
                break;
            }
        }

        if (port == cs->svc->nports) {
            p->refuse = 1;
            return 0;
        }

        nb = gm_arena_alloc(p->ctx.arena, sizeof(gm_backend_t));
        if (nb == NULL) {
            return -1;
        }

        *nb = *b;
        nb->rr = 0;

        if (gm_compile_port_endpoints(&p->ctx, nb, cs, port) != 0) {
            return -1;
        }

        if (nb->status != b->status) {
            p->refuse = 1;
            return 0;
        }

        if (gm_patch_same_endpoints(b, nb)) {
            p->backends[i].new = b;
            continue;
        }

        p->backends[i].new = nb;
        p->changed = 1;
    }

    return 0;
}


static int
gm_patch_same_endpoints(const gm_backend_t *a, const gm_backend_t *b)
{
    size_t  i;

    if (a->nendpoints != b->nendpoints) {
        return 0;
    }

    for (i = 0; i < a->nendpoints; i++) {
        if (a->endpoints[i].text_len != b->endpoints[i].text_len
            || memcmp(a->endpoints[i].text, b->endpoints[i].text,
                      a->endpoints[i].text_len) != 0)
        {
            return 0;
        }
    }

    return 1;
}


static gm_backend_t *
gm_patch_backend(const gm_patch_t *p, gm_backend_t *b)
{
    size_t  i;

    for (i = 0; i < p->nbackends; i++) {
        if (p->backends[i].old == b) {
            return p->backends[i].new;
        }
    }

    return b;
}


/* r itself when none of its backends changed, else its copy */

static gm_rule_t *
gm_patch_rule(gm_patch_t *p, gm_rule_t *r)
{
    size_t                  i;
    gm_rule_t              *nr;
    gm_weighted_backend_t  *wb;

    for (i = 0; i < r->nbackends; i++) {
        if (gm_patch_backend(p, r->backends[i].backend)
            != r->backends[i].backend)
        {
            break;
        }
    }

    if (i == r->nbackends) {
        return r;
    }

    nr = gm_patch_copied(p, r);
    if (nr != NULL) {
        return nr;
    }

    wb = gm_arena_alloc(p->ctx.arena,
                        r->nbackends * sizeof(gm_weighted_backend_t));
    nr = gm_patch_copy(p, r, sizeof(gm_rule_t));

    if (wb == NULL || nr == NULL) {
        p->nomem = 1;
        return r;
    }

    for (i = 0; i < r->nbackends; i++) {
        wb[i] = r->backends[i];
        wb[i].backend = gm_patch_backend(p, r->backends[i].backend);
    }

    nr->backends = wb;

    return nr;
}


static gm_route_table_t *
gm_patch_table(gm_patch_t *p, gm_route_table_t *t)
{
    size_t             i;
    gm_rule_t         *r;
    gm_route_table_t  *nt;

    if (t == NULL) {
        return NULL;
    }

    for (i = 0; i < t->nentries; i++) {
        r = (gm_rule_t *) t->entries[i].rule;

        if (gm_patch_rule(p, r) != r) {
            break;
        }
    }

    if (i == t->nentries) {
        return t;
    }

    nt = gm_patch_copied(p, t);
    if (nt != NULL) {
        return nt;
    }

    nt = gm_patch_copy(p, t, sizeof(gm_route_table_t)
                             + t->nentries * sizeof(gm_route_entry_t));
    if (nt == NULL) {
        return t;
    }

    for (i = 0; i < t->nentries; i++) {
        nt->entries[i].rule = gm_patch_rule(p, (gm_rule_t *)
                                               t->entries[i].rule);
    }

    return nt;
}


static gm_frontend_t *
gm_patch_frontend(gm_patch_t *p, gm_frontend_t *f)
{
    size_t              c;
    gm_frontend_t      *nf;
    gm_route_table_t  **consumer;

    for (c = 0; c < f->nconsumers; c++) {
        if (gm_patch_table(p, f->consumer[c]) != f->consumer[c]) {
            break;
        }
    }

    if (c == f->nconsumers
        && gm_patch_backend(p, f->passthrough) == f->passthrough
        && gm_patch_table(p, f->producer) == f->producer)
    {
        return f;
    }

    nf = gm_patch_copied(p, f);
    if (nf != NULL) {
        return nf;
    }

    nf = gm_patch_copy(p, f, sizeof(gm_frontend_t));
    if (nf == NULL) {
        return f;
    }

    nf->passthrough = gm_patch_backend(p, f->passthrough);
    nf->producer = gm_patch_table(p, f->producer);

    if (c == f->nconsumers) {
        return nf;
    }

    consumer = gm_arena_alloc(p->ctx.arena,
                              f->nconsumers * sizeof(gm_route_table_t *));
    if (consumer == NULL) {
        p->nomem = 1;
        return f;
    }

    for (c = 0; c < f->nconsumers; c++) {
        consumer[c] = gm_patch_table(p, f->consumer[c]);
    }

    nf->consumer = consumer;

    return nf;
}


/* copies are few (what names a changed backend): a list will do */

static void *
gm_patch_copied(const gm_patch_t *p, const void *old)
{
    size_t  i;

    for (i = 0; i < p->ncopies; i++) {
        if (p->copies[i].old == old) {
            return p->copies[i].new;
        }
    }

    return NULL;
}


static void *
gm_patch_copy(gm_patch_t *p, const void *old, size_t size)
{
    void  *new;

    if (gm_compile_reserve((void **) &p->copies, &p->copies_size,
                           p->ncopies + 1, sizeof(gm_patch_copy_t))
        != 0)
    {
        p->nomem = 1;
        return NULL;
    }

    new = gm_arena_alloc(p->ctx.arena, size);
    if (new == NULL) {
        p->nomem = 1;
        return NULL;
    }

    memcpy(new, old, size);

    p->copies[p->ncopies].old = old;
    p->copies[p->ncopies].new = new;
    p->ncopies++;

    return new;
}


/* the new generation: the previous one's counts, its own index */

static int
gm_patch_index(gm_patch_t *p)
{
    size_t                   i, k, size;
    const gm_compile_dep_t  *dep;
    gm_allocator_t     *al;
    gm_snapshot_t      *s, *prev;
    gm_frontend_slot_t *slot;

    s = p->snap;
    prev = p->prev;
    al = &s->arena->allocator;
    size = prev->nslots * sizeof(gm_frontend_slot_t);

    s->nservices = prev->nservices;
    s->nfrontends = prev->nfrontends;
    s->ntables = prev->ntables;
    s->status = prev->status;
    s->nstatus_chunks = prev->nstatus_chunks;
    s->nstatus = prev->nstatus;
    s->base_bytes = prev->base_bytes;
    s->depth = prev->depth + 1;

    if (size != 0) {
        s->slots = al->alloc(al->data, size);
        if (s->slots == NULL) {
            return -1;
        }

        s->slots_apart = 1;
        s->nslots = prev->nslots;
        memcpy(s->slots, prev->slots, size);
    }

    /* only the frontends that depend on a changed Service */
    for (k = 0; p->changed && k < p->nkeys; k++) {
        dep = gm_compile_deps_find(p->deps, &p->keys[k].ns,
                                   &p->keys[k].name);

        for (i = 0; dep != NULL && i < dep->nslots; i++) {
            slot = &s->slots[dep->slots[i]];

            if (slot->frontend != NULL) {
                slot->frontend = gm_patch_frontend(p, slot->frontend);
            }
        }
    }

    if (p->nomem) {
        return -1;
    }

    return 0;
}
