/*
 * nginx-gamma: the chunks of a status list a reader walked last
 * (gm_route_status.h).  A patched generation shares the chunks it did
 * not change with the previous one, their serials with them: the status
 * writer and the file source's log read the new chunks only, and learn
 * from the keys kept of the chunks gone which objects may have vanished.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_route_status.h"


typedef struct {
    uint64_t    serial;
    size_t      key;                  /* its objects' keys from here */
    size_t      nkeys;
    unsigned    kept:1;               /* in the list of this walk */
} gm_delta_chunk_t;

/* one walk's chunks, sorted by serial, and their objects' keys */
typedef struct {
    gm_delta_chunk_t  *chunks;
    size_t             nchunks;
    size_t             chunks_size;
    uint64_t          *keys;
    size_t             nkeys;
    size_t             keys_size;
} gm_delta_walked_t;

struct gm_status_delta_s {
    gm_delta_walked_t  last;
    gm_delta_walked_t  next;
    unsigned           valid:1;       /* last is what the reader has */
};


static gm_delta_chunk_t *gm_delta_find(gm_delta_walked_t *w,
    uint64_t serial);
static int gm_delta_chunk(gm_status_delta_t *d,
    const gm_status_chunk_t *c, gm_delta_chunk_t *last,
    const gm_status_walk_t *walk);
static int gm_delta_key(gm_delta_walked_t *w, uint64_t key);
static int gm_delta_gone(gm_status_delta_t *d, const gm_status_walk_t *walk);
static int gm_delta_cmp(const void *one, const void *two);


gm_status_delta_t *
gm_status_delta_create(void)
{
    return calloc(1, sizeof(gm_status_delta_t));
}


void
gm_status_delta_destroy(gm_status_delta_t *d)
{
    if (d) {
        free(d->last.chunks);
        free(d->last.keys);
        free(d->next.chunks);
        free(d->next.keys);
        free(d);
    }
}


void
gm_status_delta_reset(gm_status_delta_t *d)
{
    d->valid = 0;
}


int
gm_status_delta_walk(gm_status_delta_t *d, const gm_status_list_t *list,
    const gm_status_walk_t *walk)
{
    int                 whole, failed;
    size_t              c;
    gm_delta_chunk_t   *last;
    gm_delta_walked_t   done;

    whole = !d->valid;
    failed = 0;
    d->next.nchunks = 0;
    d->next.nkeys = 0;

    for (c = 0; c < d->last.nchunks; c++) {
        d->last.chunks[c].kept = 0;
    }

    if (d->next.chunks_size < list->nchunks) {
        free(d->next.chunks);
        d->next.chunks = malloc(list->nchunks * sizeof(gm_delta_chunk_t));
        d->next.chunks_size = d->next.chunks ? list->nchunks : 0;
        failed = (d->next.chunks == NULL);
    }

    /* the walk goes on after a failure: the reader sees every change */
    for (c = 0; c < list->nchunks; c++) {
        last = whole ? NULL : gm_delta_find(&d->last,
                                            list->chunks[c].serial);
        failed |= gm_delta_chunk(d, &list->chunks[c], last, walk);
    }

    if (!whole && walk->gone) {
        failed |= gm_delta_gone(d, walk);
    }

    if (d->next.nchunks > 1) {
        qsort(d->next.chunks, d->next.nchunks, sizeof(gm_delta_chunk_t),
              gm_delta_cmp);
    }

    done = d->last;
    d->last = d->next;
    d->next = done;
    d->valid = !failed;

    return whole;
}


/* a chunk of the last walk by its serial (0: none is) */

static gm_delta_chunk_t *
gm_delta_find(gm_delta_walked_t *w, uint64_t serial)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = w->nchunks;

    while (serial != 0 && lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (w->chunks[mid].serial == serial) {
            return &w->chunks[mid];
        }

        if (w->chunks[mid].serial < serial) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}


/* one chunk: its keys kept from the last walk, or its objects walked */

static int
gm_delta_chunk(gm_status_delta_t *d, const gm_status_chunk_t *c,
    gm_delta_chunk_t *last, const gm_status_walk_t *walk)
{
    int                failed;
    size_t             i, n, k;
    uint64_t           key;
    gm_status_list_t   one;
    gm_delta_chunk_t  *dc;

    failed = (d->next.chunks == NULL);
    dc = failed ? NULL : &d->next.chunks[d->next.nchunks++];

    if (dc) {
        dc->serial = c->serial;
        dc->key = d->next.nkeys;
        dc->kept = 0;
    }

    if (last) {
        last->kept = 1;

        for (k = 0; walk->gone && k < last->nkeys; k++) {
            failed |= gm_delta_key(&d->next,
                                   d->last.keys[last->key + k]);
        }

    } else {
        /* the chunk as a list of its own: its objects end in it */
        one.chunks = c;
        one.nchunks = 1;
        one.n = c->first + c->n;

        for (i = c->first; i < c->first + c->n; i += n) {
            n = gm_status_object_len(&one, i);
            key = walk->object(walk->data, &c->entries[i - c->first], n);
            failed |= (key == 0);

            if (walk->gone) {
                failed |= gm_delta_key(&d->next, key);
            }
        }
    }

    if (dc) {
        dc->nkeys = d->next.nkeys - dc->key;
    }

    return failed;
}


static int
gm_delta_key(gm_delta_walked_t *w, uint64_t key)
{
    size_t     size;
    uint64_t  *keys;

    if (w->nkeys == w->keys_size) {
        size = w->keys_size ? w->keys_size * 2 : 256;
        keys = realloc(w->keys, size * sizeof(uint64_t));

        if (keys == NULL) {
            return 1;
        }

        w->keys = keys;
        w->keys_size = size;
    }

    w->keys[w->nkeys++] = key;

    return 0;
}


/* the objects of the chunks of the last walk that this list has not */

static int
gm_delta_gone(gm_status_delta_t *d, const gm_status_walk_t *walk)
{
    int                      failed;
    size_t                   c, k;
    const gm_delta_chunk_t  *dc;

    failed = 0;

    for (c = 0; c < d->last.nchunks; c++) {
        dc = &d->last.chunks[c];

        for (k = 0; !dc->kept && k < dc->nkeys; k++) {
            failed |= (walk->gone(walk->data, d->last.keys[dc->key + k])
                       != 0);
        }
    }

    return failed;
}


static int
gm_delta_cmp(const void *one, const void *two)
{
    const gm_delta_chunk_t  *a = one, *b = two;

    return (a->serial > b->serial) - (a->serial < b->serial);
}
