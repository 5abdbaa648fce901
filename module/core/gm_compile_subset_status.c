/*
 * nginx-gamma: the route status of a generation patched by the route
 * subset (gm_compile_subset.c): the subset's route entries replace the
 * previous ones of the same routes and of the changed ones, found by
 * binary search in the previous entries; the chunks they are in are
 * copied, the others and, when nothing differs, the whole directory are
 * shared with the previous generation.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"
#include "gm_compile_subset_int.h"


static const gm_status_entry_t *gm_subset_prev(const gm_snapshot_t *prev,
    size_t i);
static int gm_subset_ranges(gm_subset_t *st);
static int gm_subset_add_range(gm_subset_t *st, const char *kind,
    const gm_str_t *ns, const gm_str_t *name);
static size_t gm_subset_search(const gm_status_list_t *list,
    const gm_status_entry_t *key,
    int (*cmp)(const gm_status_entry_t *, const gm_status_entry_t *),
    int upper);
static size_t gm_subset_bound(const gm_snapshot_t *prev,
    const gm_status_entry_t *key, int upper);
static int gm_subset_entry_cmp(const gm_status_entry_t *a,
    const gm_status_entry_t *b);
static size_t gm_subset_lower(const gm_snapshot_t *prev,
    const gm_status_entry_t *e);
static int gm_subset_key_cmp(const gm_status_entry_t *a,
    const gm_status_entry_t *b);
static int gm_subset_range_cmp(const void *one, const void *two);
static int gm_subset_unchanged(gm_subset_t *st);
static size_t gm_subset_mini_bound(const gm_subset_t *st,
    const gm_status_entry_t *key, int upper);
static int gm_subset_merge(gm_subset_t *st);
static int gm_subset_merge_chunk(gm_subset_t *st,
    const gm_status_chunk_t *pc, const size_t *pos, size_t jstart,
    size_t jend, size_t *r, gm_status_chunk_t **dir, size_t *ndir,
    size_t *dir_size);
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
    size_t                    i;
    gm_snapshot_t            *s;
    gm_status_list_t          list;
    gm_status_entry_t        *mini;
    const gm_status_entry_t  *e;

    s = st->snap;

    /* the subset's own policy entries are partial: left out */
    gm_snapshot_status(s, &list);
    mini = NULL;
    st->nmini = 0;

    if (list.n != 0) {
        mini = gm_arena_alloc(s->arena, list.n * sizeof(gm_status_entry_t));
        if (mini == NULL) {
            return -1;
        }
    }

    for (i = 0; i < list.n; i++) {
        e = gm_status_at(&list, i);

        if (gm_subset_is_route(e)) {
            mini[st->nmini++] = *e;
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

    /* the objects whose entries did not change stay as they are */
    if (gm_subset_unchanged(st) != 0) {
        return -1;
    }

    if (st->nranges != 0 || st->nmini != 0) {
        return gm_subset_merge(st);
    }

    s->status = st->prev->status;
    s->nstatus_chunks = st->prev->nstatus_chunks;
    s->nstatus = st->prev->nstatus;

    return 0;
}


static const gm_status_entry_t *
gm_subset_prev(const gm_snapshot_t *prev, size_t i)
{
    gm_status_list_t  list;

    gm_snapshot_status(prev, &list);

    return gm_status_at(&list, i);
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
    gm_status_list_t  list;

    gm_snapshot_status(prev, &list);

    return gm_subset_search(&list, key, gm_subset_key_cmp, upper);
}


/*
 * The binary search of a sorted list of entries: the first entry not
 * before key by cmp (upper: the first after it).
 */

static size_t
gm_subset_search(const gm_status_list_t *list, const gm_status_entry_t *key,
    int (*cmp)(const gm_status_entry_t *, const gm_status_entry_t *),
    int upper)
{
    int     c;
    size_t  lo, hi, mid;

    lo = 0;
    hi = list->n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = cmp(gm_status_at(list, mid), key);

        if (c < 0 || (c == 0 && upper)) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo;
}


static int
gm_subset_entry_cmp(const gm_status_entry_t *a, const gm_status_entry_t *b)
{
    return gm_compile_status_cmp(a, b);
}


/* the first previous entry not before e, by the whole order */

static size_t
gm_subset_lower(const gm_snapshot_t *prev, const gm_status_entry_t *e)
{
    gm_status_list_t  list;

    gm_snapshot_status(prev, &list);

    return gm_subset_search(&list, e, gm_subset_entry_cmp, 0);
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


/*
 * The ranges whose entries the subset has the same, and those entries of
 * the subset, are left out of the merge: their chunks stay shared.
 */

static int
gm_subset_unchanged(gm_subset_t *st)
{
    size_t                    r, n, i, lo, hi, len;
    unsigned char            *drop;
    gm_status_entry_t        *mini;
    const gm_subset_range_t  *range;

    drop = NULL;
    mini = (gm_status_entry_t *) st->mini;

    if (st->nmini != 0) {
        drop = calloc(st->nmini, 1);
        if (drop == NULL) {
            return -1;
        }
    }

    for (r = 0, n = 0; r < st->nranges; r++) {
        range = &st->ranges[r];
        len = range->hi - range->lo;
        lo = gm_subset_mini_bound(st, gm_subset_prev(st->prev, range->lo), 0);
        hi = gm_subset_mini_bound(st, gm_subset_prev(st->prev, range->lo), 1);

        for (i = 0; hi - lo == len && i < len; i++) {
            if (!gm_subset_same_status(gm_subset_prev(st->prev,
                                                      range->lo + i),
                                       &mini[lo + i]))
            {
                break;
            }
        }

        if (hi - lo == len && i == len) {
            memset(&drop[lo], 1, len);
            continue;
        }

        st->ranges[n++] = *range;
    }

    st->nranges = n;

    for (i = 0, n = 0; i < st->nmini; i++) {
        if (!drop[i]) {
            mini[n++] = mini[i];
        }
    }

    st->nmini = n;
    free(drop);

    return 0;
}


/* the first of the subset's entries of key's object (upper: after it) */

static size_t
gm_subset_mini_bound(const gm_subset_t *st, const gm_status_entry_t *key,
    int upper)
{
    gm_status_list_t   list;
    gm_status_chunk_t  one;

    /* the subset's entries, one array: a list of one chunk */
    one.entries = st->mini;
    one.n = (uint32_t) st->nmini;
    one.first = 0;
    one.serial = 0;
    list.chunks = &one;
    list.nchunks = 1;
    list.n = st->nmini;

    return gm_subset_search(&list, key, gm_subset_key_cmp, upper);
}


/*
 * A new directory: the previous chunks without ranges or subset entries
 * are shared; the others are copied without their ranges, with the subset
 * entries that go there (before the previous entry of their object's
 * first position, or at the end of the last chunk).
 */

static int
gm_subset_merge(gm_subset_t *st)
{
    int                       rc;
    size_t                    c, j, jstart, r, nchunks, ndir, dir_size, n;
    size_t                   *pos;
    gm_snapshot_t            *s;
    gm_status_list_t          list;
    gm_status_chunk_t        *dir, *all, none;
    const gm_status_chunk_t  *pc;

    s = st->snap;
    gm_snapshot_status(st->prev, &list);

    pos = NULL;

    if (st->nmini != 0) {
        pos = malloc(st->nmini * sizeof(size_t));
        if (pos == NULL) {
            return -1;
        }
    }

    /* an object's entries go together: its first entry's position */
    for (j = 0; j < st->nmini; j++) {
        pos[j] = (j != 0 && gm_subset_key_cmp(&st->mini[j],
                                              &st->mini[j - 1]) == 0)
                 ? pos[j - 1] : gm_subset_lower(st->prev, &st->mini[j]);
    }

    memset(&none, 0, sizeof(gm_status_chunk_t));
    nchunks = list.nchunks ? list.nchunks : 1;
    dir = NULL;
    ndir = 0;
    dir_size = 0;
    rc = 0;
    r = 0;
    j = 0;

    for (c = 0; rc == 0 && c < nchunks; c++) {
        pc = list.nchunks ? &list.chunks[c] : &none;
        jstart = j;

        while (j < st->nmini
               && (pos[j] < pc->first + pc->n || c == nchunks - 1))
        {
            j++;
        }

        rc = gm_subset_merge_chunk(st, pc, pos, jstart, j, &r, &dir, &ndir,
                                   &dir_size);
    }

    free(pos);

    all = NULL;

    if (rc == 0 && ndir != 0) {
        all = gm_arena_alloc(s->arena, ndir * sizeof(gm_status_chunk_t));
        if (all == NULL) {
            rc = -1;
        }
    }

    if (rc != 0) {
        free(dir);
        return -1;
    }

    for (c = 0, n = 0; c < ndir; c++) {
        all[c] = dir[c];
        all[c].first = (uint32_t) n;
        n += dir[c].n;
    }

    free(dir);

    s->status = all;
    s->nstatus_chunks = ndir;
    s->nstatus = n;

    return 0;
}


/* one previous chunk pc into the directory: shared, copied or gone */

static int
gm_subset_merge_chunk(gm_subset_t *st, const gm_status_chunk_t *pc,
    const size_t *pos, size_t jstart, size_t jend, size_t *r,
    gm_status_chunk_t **dir, size_t *ndir, size_t *dir_size)
{
    size_t                    i, j, k, m, end;
    uint64_t                  serial;
    gm_status_entry_t        *all;
    const gm_subset_range_t  *ranges;

    ranges = st->ranges;
    end = pc->first + pc->n;

    if (jstart == jend && (*r == st->nranges || ranges[*r].lo >= end)) {
        m = (pc->n != 0);
        all = (gm_status_entry_t *) pc->entries;
        k = pc->n;
        serial = pc->serial;           /* shared: the same chunk */
        goto add;
    }

    serial = 0;                        /* a new one */
    m = pc->n + (jend - jstart);
    all = gm_arena_alloc(st->snap->arena, m * sizeof(gm_status_entry_t));
    if (all == NULL) {
        return -1;
    }

    k = 0;
    j = jstart;

    for (i = pc->first; i < end; i++) {
        while (j < jend && pos[j] <= i) {
            all[k++] = st->mini[j++];
        }

        while (*r < st->nranges && ranges[*r].hi <= i) {
            (*r)++;
        }

        if (*r < st->nranges && ranges[*r].lo <= i) {
            continue;
        }

        all[k++] = pc->entries[i - pc->first];
    }

    while (j < jend) {
        all[k++] = st->mini[j++];
    }

    while (*r < st->nranges && ranges[*r].hi <= end) {
        (*r)++;
    }

    /* a chunk grown too long is cut again */
    m = (k == 0) ? 0
        : (k <= 2 * GM_STATUS_CHUNK) ? 1 : gm_status_chunks(all, k, NULL, 0);

add:

    if (m == 0) {
        return 0;
    }

    if (gm_compile_reserve((void **) dir, dir_size, *ndir + m,
                           sizeof(gm_status_chunk_t))
        != 0)
    {
        return -1;
    }

    if (m == 1) {
        (*dir)[*ndir].entries = all;
        (*dir)[*ndir].n = (uint32_t) k;
        (*dir)[*ndir].serial = serial;

    } else {
        (void) gm_status_chunks(all, k, &(*dir)[*ndir], 0);
    }

    *ndir += m;

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
