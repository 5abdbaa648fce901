/*
 * nginx-gamma: the route status of a generation patched by the route
 * subset (gm_compile_subset.c): the subset's route entries replace the
 * previous ones of the same routes and of the changed ones, found by
 * binary search in the previous array; the array is shared when nothing
 * differs.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"
#include "gm_compile_subset_int.h"


static int gm_subset_ranges(gm_subset_t *st);
static int gm_subset_add_range(gm_subset_t *st, const char *kind,
    const gm_str_t *ns, const gm_str_t *name);
static size_t gm_subset_bound(const gm_snapshot_t *prev,
    const gm_status_entry_t *key, int upper);
static size_t gm_subset_lower(const gm_snapshot_t *prev,
    const gm_status_entry_t *e);
static int gm_subset_key_cmp(const gm_status_entry_t *a,
    const gm_status_entry_t *b);
static int gm_subset_range_cmp(const void *one, const void *two);
static int gm_subset_same_range(const gm_subset_t *st,
    const gm_subset_range_t *r, size_t *j);
static int gm_subset_merge(gm_subset_t *st);
static int gm_subset_is_route(const gm_status_entry_t *e);
static int gm_subset_find(const gm_subset_t *st, const char *kind,
    const gm_compile_key_t *key);
static int gm_subset_find_entry(const gm_subset_t *st, const char *kind,
    const gm_str_t *ns, const gm_str_t *name);
static int gm_subset_same_status(const gm_status_entry_t *a,
    const gm_status_entry_t *b);


/*
 * The route entries of the subset replace those of the same routes and
 * of the changed ones; the others, policies' too, stay.  When nothing
 * differs the previous array is shared.  Both arrays are sorted: the
 * entries replaced are found by binary search, ranges of the previous
 * array, so that only a new array is proportional to the mesh.
 */

int
gm_compile_subset_status(gm_subset_t *st)
{
    size_t              i, j;
    gm_snapshot_t      *s;
    gm_status_entry_t  *mini;

    s = st->snap;

    /* the subset's own policy entries are partial: left out */
    mini = (gm_status_entry_t *) s->status;
    st->nmini = 0;

    for (i = 0; i < s->nstatus; i++) {
        if (gm_subset_is_route(&s->status[i])) {
            mini[st->nmini++] = s->status[i];
        }
    }

    st->mini = mini;

    /* a route compiled again that had a note: the note may change */
    for (i = 0; i < st->nnoted; i++) {
        if (gm_subset_find(st, gm_kind_name(GM_KIND_HTTPROUTE),
                           &st->noted[i].key)
            || gm_subset_find(st, gm_kind_name(GM_KIND_GRPCROUTE),
                              &st->noted[i].key))
        {
            return 1;
        }
    }

    if (gm_subset_ranges(st) != 0) {
        return -1;
    }

    /* the entries replaced, in order, against the subset's */
    j = 0;

    for (i = 0; i < st->nranges; i++) {
        if (!gm_subset_same_range(st, &st->ranges[i], &j)) {
            return gm_subset_merge(st);
        }
    }

    if (j != st->nmini) {
        return gm_subset_merge(st);
    }

    s->status = st->prev->status;
    s->nstatus = st->prev->nstatus;

    return 0;
}


/* the previous entries of the changed routes and of the subset's, sorted */

static int
gm_subset_ranges(gm_subset_t *st)
{
    size_t                    i, n;
    const gm_compile_rkey_t  *r;
    const gm_status_entry_t  *e;

    for (i = 0; i < st->nroutes; i++) {
        r = &st->routes[i];

        if (gm_subset_add_range(st, gm_kind_name(r->kind), &r->key.ns,
                                &r->key.name)
            != 0)
        {
            return -1;
        }
    }

    for (i = 0; i < st->nmini; i++) {
        e = &st->mini[i];

        if ((i == 0 || gm_subset_key_cmp(e, &st->mini[i - 1]) != 0)
            && gm_subset_add_range(st, e->kind, &e->ns, &e->name) != 0)
        {
            return -1;
        }
    }

    if (st->nranges > 1) {
        qsort(st->ranges, st->nranges, sizeof(gm_subset_range_t),
              gm_subset_range_cmp);
    }

    /* a changed route the subset compiled too: its range twice */
    for (i = 0, n = 0; i < st->nranges; i++) {
        if (n == 0 || st->ranges[i].lo != st->ranges[n - 1].lo) {
            st->ranges[n++] = st->ranges[i];
        }
    }

    st->nranges = n;

    return 0;
}


static int
gm_subset_add_range(gm_subset_t *st, const char *kind, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t              lo, hi;
    gm_status_entry_t   key;
    gm_subset_range_t  *r;

    memset(&key, 0, sizeof(gm_status_entry_t));
    key.kind = kind;
    key.ns = *ns;
    key.name = *name;

    lo = gm_subset_bound(st->prev, &key, 0);
    hi = gm_subset_bound(st->prev, &key, 1);

    if (lo == hi) {
        return 0;
    }

    if (gm_compile_reserve((void **) &st->ranges, &st->ranges_size,
                           st->nranges + 1, sizeof(gm_subset_range_t))
        != 0)
    {
        return -1;
    }

    r = &st->ranges[st->nranges++];
    r->lo = lo;
    r->hi = hi;

    return 0;
}


/* the first previous entry of key's object (upper: the first after it) */

static size_t
gm_subset_bound(const gm_snapshot_t *prev, const gm_status_entry_t *key,
    int upper)
{
    int     c;
    size_t  lo, hi, mid;

    lo = 0;
    hi = prev->nstatus;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = gm_subset_key_cmp(&prev->status[mid], key);

        if (c < 0 || (c == 0 && upper)) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo;
}


/* the first previous entry not before e, by the whole order */

static size_t
gm_subset_lower(const gm_snapshot_t *prev, const gm_status_entry_t *e)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = prev->nstatus;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (gm_compile_status_cmp(&prev->status[mid], e) < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo;
}


/* the order of status entries but the index: one object's entries tie */

static int
gm_subset_key_cmp(const gm_status_entry_t *a, const gm_status_entry_t *b)
{
    int  c;

    c = strcmp(a->kind, b->kind);

    if (c == 0) {
        c = gm_str_cmp(a->ns.data, a->ns.len, b->ns.data, b->ns.len);
    }

    if (c == 0) {
        c = gm_str_cmp(a->name.data, a->name.len, b->name.data, b->name.len);
    }

    return c;
}


static int
gm_subset_range_cmp(const void *one, const void *two)
{
    const gm_subset_range_t  *a = one, *b = two;

    return (a->lo > b->lo) - (a->lo < b->lo);
}


/* a range's entries are the subset's next ones, unchanged */

static int
gm_subset_same_range(const gm_subset_t *st, const gm_subset_range_t *r,
    size_t *j)
{
    size_t  i;

    for (i = r->lo; i < r->hi; i++) {
        if (*j == st->nmini
            || !gm_subset_same_status(&st->prev->status[i], &st->mini[*j]))
        {
            return 0;
        }

        (*j)++;
    }

    return 1;
}


/* a new array: the previous entries but the ranges, the subset's merged */

static int
gm_subset_merge(gm_subset_t *st)
{
    size_t                    i, j, r, n, end, stop, removed;
    gm_snapshot_t            *s;
    gm_status_entry_t        *all;
    const gm_snapshot_t      *prev;

    s = st->snap;
    prev = st->prev;
    removed = 0;

    for (r = 0; r < st->nranges; r++) {
        removed += st->ranges[r].hi - st->ranges[r].lo;
    }

    n = prev->nstatus - removed + st->nmini;
    all = NULL;

    if (n != 0) {
        all = gm_arena_alloc(s->arena, n * sizeof(gm_status_entry_t));
        if (all == NULL) {
            return -1;
        }
    }

    i = 0;
    r = 0;
    n = 0;

    for (j = 0; j <= st->nmini; j++) {
        end = (j < st->nmini) ? gm_subset_lower(prev, &st->mini[j])
                              : prev->nstatus;

        while (i < end) {
            while (r < st->nranges && st->ranges[r].hi <= i) {
                r++;
            }

            if (r < st->nranges && st->ranges[r].lo <= i) {
                i = st->ranges[r].hi;
                continue;
            }

            stop = (r < st->nranges && st->ranges[r].lo < end)
                   ? st->ranges[r].lo : end;

            memcpy(&all[n], &prev->status[i],
                   (stop - i) * sizeof(gm_status_entry_t));
            n += stop - i;
            i = stop;
        }

        if (j < st->nmini) {
            all[n++] = st->mini[j];
        }
    }

    s->status = all;
    s->nstatus = n;

    return 0;
}


static int
gm_subset_is_route(const gm_status_entry_t *e)
{
    return strcmp(e->kind, gm_kind_name(GM_KIND_HTTPROUTE)) == 0
           || strcmp(e->kind, gm_kind_name(GM_KIND_GRPCROUTE)) == 0;
}


static int
gm_subset_find(const gm_subset_t *st, const char *kind,
    const gm_compile_key_t *key)
{
    return gm_subset_find_entry(st, kind, &key->ns, &key->name);
}


/* the subset's entries are sorted by kind, ns, name: a binary search */

static int
gm_subset_find_entry(const gm_subset_t *st, const char *kind,
    const gm_str_t *ns, const gm_str_t *name)
{
    int                       c;
    size_t                    lo, hi, mid;
    const gm_status_entry_t  *m;

    lo = 0;
    hi = st->nmini;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        m = &st->mini[mid];

        c = strcmp(kind, m->kind);

        if (c == 0) {
            c = gm_str_cmp(ns->data, ns->len, m->ns.data, m->ns.len);
        }

        if (c == 0) {
            c = gm_str_cmp(name->data, name->len, m->name.data,
                           m->name.len);
        }

        if (c == 0) {
            return 1;
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return 0;
}


static int
gm_subset_same_status(const gm_status_entry_t *a, const gm_status_entry_t *b)
{
    return gm_compile_status_cmp(a, b) == 0
           && a->generation == b->generation
           && strcmp(a->resource_version, b->resource_version) == 0
           && gm_status_hash(a, 1) == gm_status_hash(b, 1);
}
