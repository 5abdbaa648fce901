/*
 * nginx-gamma: reading a snapshot's status entries: by object, hashed,
 * and remembered, so that an object whose status did not change is not
 * written (or logged) again.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_hash.h"
#include "gm_snapshot_int.h"


typedef struct {
    uint64_t    key;                  /* hash of kind/ns/name; 0: free */
    uint64_t    value;                /* hash of the entries */
} gm_status_slot_t;

struct gm_status_seen_s {
    gm_status_slot_t   *slots;
    size_t              size;         /* a power of two */
    size_t              n;
    gm_status_delta_t  *delta;        /* the chunks of the last log */
};

typedef struct {
    gm_status_seen_t   *seen;
    const gm_log_t     *log;
} gm_status_log_ctx_t;


static const gm_status_chunk_t *gm_status_chunk_of(
    const gm_status_list_t *list, size_t i);
static int gm_status_same_object(const gm_status_entry_t *a,
    const gm_status_entry_t *b);
static uint64_t gm_status_fnv(uint64_t h, const void *p, size_t len);
static uint64_t gm_status_key(const gm_status_entry_t *e);
static gm_status_slot_t *gm_status_slot(gm_status_seen_t *seen,
    uint64_t key);
static int gm_status_grow(gm_status_seen_t *seen);
static uint64_t gm_status_log_object(void *data, const gm_status_entry_t *e,
    size_t n);


void
gm_snapshot_status(const gm_snapshot_t *s, gm_status_list_t *list)
{
    list->chunks = s ? s->status : NULL;
    list->nchunks = s ? s->nstatus_chunks : 0;
    list->n = s ? s->nstatus : 0;
}


/* the chunk holding entry i: a binary search of the directory */

static const gm_status_chunk_t *
gm_status_chunk_of(const gm_status_list_t *list, size_t i)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = list->nchunks;

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (list->chunks[mid].first <= i) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return &list->chunks[lo];
}


const gm_status_entry_t *
gm_status_at(const gm_status_list_t *list, size_t i)
{
    const gm_status_chunk_t  *c;

    c = gm_status_chunk_of(list, i);

    return &c->entries[i - c->first];
}


static int
gm_status_same_object(const gm_status_entry_t *a, const gm_status_entry_t *b)
{
    return strcmp(a->kind, b->kind) == 0 && gm_str_eq(&a->ns, &b->ns)
           && gm_str_eq(&a->name, &b->name);
}


/* an object's entries are in one chunk: the chunk's end bounds them */

size_t
gm_status_object_len(const gm_status_list_t *list, size_t i)
{
    size_t                    n, left;
    const gm_status_chunk_t  *c;
    const gm_status_entry_t  *a;

    c = gm_status_chunk_of(list, i);
    a = &c->entries[i - c->first];
    left = c->first + c->n - i;

    for (n = 1; n < left; n++) {
        if (!gm_status_same_object(a, &a[n])) {
            break;
        }
    }

    return n;
}


size_t
gm_status_chunks(const gm_status_entry_t *e, size_t n,
    gm_status_chunk_t *chunks, size_t first)
{
    size_t  i, start, k;

    k = 0;
    start = 0;

    for (i = 1; i <= n; i++) {
        /* no short tail: the last chunk takes it */
        if (i < n && (i - start < GM_STATUS_CHUNK
                      || n - i < GM_STATUS_CHUNK / 2
                      || gm_status_same_object(&e[i - 1], &e[i])))
        {
            continue;
        }

        if (chunks) {
            chunks[k].entries = &e[start];
            chunks[k].n = (uint32_t) (i - start);
            chunks[k].first = (uint32_t) (first + start);
            chunks[k].serial = 0;      /* numbered by the compiler */
        }

        k++;
        start = i;
    }

    return k;
}


static uint64_t
gm_status_fnv(uint64_t h, const void *p, size_t len)
{
    /* 0xff after each field: "ab" + "c" is not "a" + "bc" */
    return gm_fnv64_byte(gm_fnv64_add(h, p, len), 0xff);
}


uint64_t
gm_status_hash(const gm_status_entry_t *e, size_t n)
{
    size_t                 i, k;
    uint64_t               h;
    const gm_condition_t  *c;

    h = GM_FNV64_BASIS;

    for (i = 0; i < n; i++) {
        h = gm_status_fnv(h, &e[i].generation, sizeof(int64_t));
        h = gm_status_fnv(h, &e[i].index, sizeof(uint32_t));
        h = gm_status_fnv(h, e[i].ref.ns.data, e[i].ref.ns.len);
        h = gm_status_fnv(h, e[i].ref.name.data, e[i].ref.name.len);
        h = gm_status_fnv(h, e[i].ref.section_name,
                          strlen(e[i].ref.section_name));
        h = gm_status_fnv(h, &e[i].ref.port, sizeof(uint16_t));

        for (k = 0; k < e[i].nconds; k++) {
            c = &e[i].conds[k];
            h = gm_status_fnv(h, c->type, strlen(c->type));
            h = gm_status_fnv(h, c->reason, strlen(c->reason));
            /* a message made from the ref (hashed above): a mark */
            h = c->message ? gm_status_fnv(h, c->message, c->message_len)
                           : gm_status_fnv(h, "@", 1);
            h = gm_status_fnv(h, c->status ? "T" : "F", 1);
        }
    }

    return gm_fnv64_nonzero(h);
}


static uint64_t
gm_status_key(const gm_status_entry_t *e)
{
    uint64_t  h;

    h = gm_status_fnv(GM_FNV64_BASIS, e->kind, strlen(e->kind));
    h = gm_status_fnv(h, e->ns.data, e->ns.len);
    h = gm_status_fnv(h, e->name.data, e->name.len);

    return gm_fnv64_nonzero(h);
}


gm_status_seen_t *
gm_status_seen_create(void)
{
    gm_status_seen_t  *seen;

    seen = calloc(1, sizeof(gm_status_seen_t));
    if (seen == NULL) {
        return NULL;
    }

    seen->size = 64;
    seen->slots = calloc(seen->size, sizeof(gm_status_slot_t));
    seen->delta = gm_status_delta_create();

    if (seen->slots == NULL || seen->delta == NULL) {
        gm_status_seen_destroy(seen);
        return NULL;
    }

    return seen;
}


void
gm_status_seen_destroy(gm_status_seen_t *seen)
{
    if (seen) {
        gm_status_delta_destroy(seen->delta);
        free(seen->slots);
        free(seen);
    }
}


void
gm_status_seen_clear(gm_status_seen_t *seen)
{
    memset(seen->slots, 0, seen->size * sizeof(gm_status_slot_t));
    seen->n = 0;
    gm_status_delta_reset(seen->delta);
}


static gm_status_slot_t *
gm_status_slot(gm_status_seen_t *seen, uint64_t key)
{
    size_t  i;

    i = key & (seen->size - 1);

    while (seen->slots[i].key != 0 && seen->slots[i].key != key) {
        i = (i + 1) & (seen->size - 1);
    }

    return &seen->slots[i];
}


int
gm_status_seen_changed(gm_status_seen_t *seen, const gm_status_entry_t *e,
    size_t n)
{
    gm_status_slot_t  *slot;

    slot = gm_status_slot(seen, gm_status_key(e));

    return slot->key == 0 || slot->value != gm_status_hash(e, n);
}


int
gm_status_seen_set(gm_status_seen_t *seen, const gm_status_entry_t *e,
    size_t n)
{
    uint64_t           key;
    gm_status_slot_t  *slot;

    /* at most 3/4 full: 16 bytes a slot, one slot a route (issue 12) */
    if ((seen->n + 1) * 4 > seen->size * 3 && gm_status_grow(seen) != 0) {
        return -1;
    }

    key = gm_status_key(e);
    slot = gm_status_slot(seen, key);

    if (slot->key == 0) {
        slot->key = key;
        seen->n++;
    }

    slot->value = gm_status_hash(e, n);

    return 0;
}


static int
gm_status_grow(gm_status_seen_t *seen)
{
    size_t             i, j, size;
    gm_status_slot_t  *slots;

    size = seen->size * 2;

    slots = calloc(size, sizeof(gm_status_slot_t));
    if (slots == NULL) {
        return -1;
    }

    for (i = 0; i < seen->size; i++) {
        if (seen->slots[i].key == 0) {
            continue;
        }

        j = seen->slots[i].key & (size - 1);

        while (slots[j].key != 0) {
            j = (j + 1) & (size - 1);
        }

        slots[j] = seen->slots[i];
    }

    free(seen->slots);
    seen->slots = slots;
    seen->size = size;

    return 0;
}


void
gm_status_log_changes(gm_status_seen_t *seen, const gm_status_list_t *list,
    const gm_log_t *log)
{
    gm_status_walk_t     walk;
    gm_status_log_ctx_t  ctx;

    ctx.seen = seen;
    ctx.log = log;
    walk.object = gm_status_log_object;
    walk.gone = NULL;
    walk.data = &ctx;

    (void) gm_status_delta_walk(seen->delta, list, &walk);
}


/* an object of a chunk not logged last; 0: not recorded (out of memory) */

static uint64_t
gm_status_log_object(void *data, const gm_status_entry_t *e, size_t n)
{
    char                   buf[GM_STATUS_MESSAGE_MAX];
    size_t                 j, k;
    uint64_t               rc;
    gm_str_t               msg;
    gm_status_log_ctx_t   *ctx = data;
    const gm_condition_t  *c;

    if (!gm_status_seen_changed(ctx->seen, e, n)) {
        return 1;
    }

    rc = (gm_status_seen_set(ctx->seen, e, n) == 0);

    for (j = 0; j < n; j++) {
        for (k = 0; k < e[j].nconds; k++) {
            c = &e[j].conds[k];
            gm_condition_message(&e[j], c, buf, &msg);
            gm_log(ctx->log, GM_LOG_NOTICE,
                   "status: %s %s/%s parentRef %s/%s: %s=%s %s: %s",
                   e[j].kind, e[j].ns.data, e[j].name.data,
                   e[j].ref.ns.data, e[j].ref.name.data, c->type,
                   c->status ? "True" : "False", c->reason, msg.data);
        }
    }

    return rc;
}
