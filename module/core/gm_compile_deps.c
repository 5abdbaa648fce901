/*
 * nginx-gamma: which frontends of a snapshot depend on which Service, for
 * the incremental compile: a frontend depends on the Services of every
 * resolved backend it can send to (its passthrough, its tables' rules);
 * a RequestMirror to a Service marks it, a patch refuses those.  Read
 * once per full compile, by one walk; a patch then visits only the
 * frontends of the changed Services.
 */

#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


static int gm_compile_deps_frontend(gm_compile_deps_t *d,
    const gm_frontend_t *f, uint32_t slot);
static int gm_compile_deps_table(gm_compile_deps_t *d,
    const gm_route_table_t *t, uint32_t slot);
static int gm_compile_deps_filters(gm_compile_deps_t *d,
    const gm_filters_t *fs);
static int gm_compile_deps_add(gm_compile_deps_t *d, const gm_backend_t *b,
    uint32_t slot, unsigned mirrored);
static gm_compile_dep_t *gm_compile_deps_slot(const gm_compile_deps_t *d,
    const gm_str_t *ns, const gm_str_t *name);
static int gm_compile_deps_grow(gm_compile_deps_t *d);


int
gm_compile_deps_build(gm_compile_deps_t *d, const gm_snapshot_t *s)
{
    size_t  i;

    memset(d, 0, sizeof(gm_compile_deps_t));

    for (i = 0; i < s->nslots; i++) {
        if (s->slots[i].frontend != NULL
            && gm_compile_deps_frontend(d, s->slots[i].frontend,
                                        (uint32_t) i) != 0)
        {
            gm_compile_deps_free(d);
            return -1;
        }
    }

    return 0;
}


int
gm_compile_deps_update(gm_compile_deps_t *d, const gm_frontend_t *f,
    uint32_t slot)
{
    return gm_compile_deps_frontend(d, f, slot);
}


const gm_compile_dep_t *
gm_compile_deps_find(const gm_compile_deps_t *d, const gm_str_t *ns,
    const gm_str_t *name)
{
    gm_compile_dep_t  *dep;

    if (d->size == 0) {
        return NULL;
    }

    dep = gm_compile_deps_slot(d, ns, name);

    return dep->key.name.data ? dep : NULL;
}


void
gm_compile_deps_free(gm_compile_deps_t *d)
{
    size_t  i;

    for (i = 0; i < d->size; i++) {
        free(d->deps[i].slots);
    }

    free(d->deps);
    memset(d, 0, sizeof(gm_compile_deps_t));
}


static int
gm_compile_deps_frontend(gm_compile_deps_t *d, const gm_frontend_t *f,
    uint32_t slot)
{
    size_t  c;

    if (gm_compile_deps_add(d, f->passthrough, slot, 0) != 0
        || gm_compile_deps_table(d, f->producer, slot) != 0)
    {
        return -1;
    }

    for (c = 0; c < f->nconsumers; c++) {
        if (gm_compile_deps_table(d, f->consumer[c], slot) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
gm_compile_deps_table(gm_compile_deps_t *d, const gm_route_table_t *t,
    uint32_t slot)
{
    size_t           i, j;
    const gm_rule_t *r;

    if (t == NULL) {
        return 0;
    }

    for (i = 0; i < t->nentries; i++) {
        r = t->entries[i].rule;

        if (gm_compile_deps_filters(d, r->ext->filters) != 0) {
            return -1;
        }

        for (j = 0; j < r->nbackends; j++) {
            if (gm_compile_deps_add(d, r->backends[j].backend, slot, 0) != 0
                || gm_compile_deps_filters(d, gm_rule_backend_filters(r, j))
                   != 0)
            {
                return -1;
            }
        }
    }

    return 0;
}


static int
gm_compile_deps_filters(gm_compile_deps_t *d, const gm_filters_t *fs)
{
    size_t  i;

    for (i = 0; fs != NULL && i < fs->nfilters; i++) {
        if (fs->filters[i].type == GM_FILTER_REQUEST_MIRROR
            && gm_compile_deps_add(d, fs->filters[i].u.mirror.backend,
                                   UINT32_MAX, 1)
               != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* only resolved backends depend on slices; slot UINT32_MAX: none */

static int
gm_compile_deps_add(gm_compile_deps_t *d, const gm_backend_t *b,
    uint32_t slot, unsigned mirrored)
{
    uint32_t          *slots;
    gm_compile_dep_t  *dep;

    if (b == NULL
        || (b->status != GM_BACKEND_OK
            && b->status != GM_BACKEND_NO_ENDPOINTS))
    {
        return 0;
    }

    if ((d->n + 1) * 2 > d->size && gm_compile_deps_grow(d) != 0) {
        return -1;
    }

    dep = gm_compile_deps_slot(d, &b->ns, &b->name);

    if (dep->key.name.data == NULL) {
        dep->key.ns = b->ns;
        dep->key.name = b->name;
        d->n++;
    }

    dep->mirrored |= mirrored;

    if (slot == UINT32_MAX
        || (dep->nslots > 0 && dep->slots[dep->nslots - 1] == slot))
    {
        return 0;
    }

    /* most Services have a frontend or two depending on them */
    if (dep->nslots == dep->slots_size) {
        slots = gm_realloc(dep->slots, (dep->slots_size ? dep->slots_size * 2
                                                        : 4)
                                       * sizeof(uint32_t));
        if (slots == NULL) {
            return -1;
        }

        dep->slots = slots;
        dep->slots_size = dep->slots_size ? dep->slots_size * 2 : 4;
    }

    dep->slots[dep->nslots++] = slot;

    return 0;
}


static gm_compile_dep_t *
gm_compile_deps_slot(const gm_compile_deps_t *d, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t             i;
    gm_compile_dep_t  *dep;

    i = gm_compile_hash(ns, name, 0) & (d->size - 1);

    for ( ;; ) {
        dep = &d->deps[i];

        if (dep->key.name.data == NULL
            || (gm_str_eq(&dep->key.name, name)
                && gm_str_eq(&dep->key.ns, ns)))
        {
            return dep;
        }

        i = (i + 1) & (d->size - 1);
    }
}


static int
gm_compile_deps_grow(gm_compile_deps_t *d)
{
    size_t             i, size;
    gm_compile_dep_t  *old, *dep;
    gm_compile_deps_t  nd;

    size = d->size ? d->size * 2 : 1024;

    nd.deps = gm_calloc(size, sizeof(gm_compile_dep_t));
    if (nd.deps == NULL) {
        return -1;
    }

    nd.size = size;
    nd.n = d->n;
    old = d->deps;

    for (i = 0; i < d->size; i++) {
        if (old[i].key.name.data != NULL) {
            dep = gm_compile_deps_slot(&nd, &old[i].key.ns, &old[i].key.name);
            *dep = old[i];
        }
    }

    free(old);
    *d = nd;

    return 0;
}
