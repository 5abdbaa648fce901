/*
 * nginx-gamma: the object store, keyed by kind, namespace and name.
 * One chained hash table per kind, so counting and walking a kind never
 * looks at the others.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_hash.h"
#include "gm_limits.h"
#include "gm_store.h"


/* the objects chain through their own next and hash fields */
typedef struct {
    gm_object_t      **buckets;
    size_t             nbuckets;      /* a power of two */
    size_t             nelts;
} gm_store_table_t;

/* a rejection noted for a key, kept until the key's next put or delete */
typedef struct gm_store_note_s  gm_store_note_t;

struct gm_store_note_s {
    gm_store_note_t  *next;
    gm_reject_t       reject;         /* strings from malloc */
};

struct gm_store_s {
    gm_store_table_t   tables[GM_KIND_MAX];
    gm_store_note_t   *notes;
    uint64_t           version;
    const gm_operator_conf_t  *operator_conf;
    gm_store_watch_pt  watch;         /* the incremental compiler's */
    void              *watch_data;
};


static uint32_t gm_store_hash(const char *ns, size_t ns_len,
    const char *name, size_t name_len);
static int gm_store_node_is(gm_object_t *node, uint32_t hash,
    const char *ns, size_t ns_len, const char *name, size_t name_len);
static gm_object_t **gm_store_lookup(gm_store_table_t *t, uint32_t hash,
    const char *ns, size_t ns_len, const char *name, size_t name_len);
static int gm_store_grow(gm_store_table_t *t);
static int gm_store_unnote(gm_store_t *store, gm_kind_e kind,
    const char *ns, size_t ns_len, const char *name, size_t name_len);
static void gm_store_note_free(gm_store_note_t *note);


gm_store_t *
gm_store_create(void)
{
    gm_store_t  *store;
    size_t       i;

    store = calloc(1, sizeof(gm_store_t));
    if (store == NULL) {
        return NULL;
    }

    for (i = 0; i < GM_KIND_MAX; i++) {
        store->tables[i].buckets = calloc(GM_STORE_MIN_BUCKETS,
                                          sizeof(gm_object_t *));
        if (store->tables[i].buckets == NULL) {
            gm_store_destroy(store);
            return NULL;
        }

        store->tables[i].nbuckets = GM_STORE_MIN_BUCKETS;
    }

    return store;
}


void
gm_store_destroy(gm_store_t *store)
{
    size_t             i, b;
    gm_object_t       *node, *next;
    gm_store_note_t   *note;
    gm_store_table_t  *t;

    if (store == NULL) {
        return;
    }

    for (i = 0; i < GM_KIND_MAX; i++) {
        t = &store->tables[i];

        for (b = 0; t->buckets && b < t->nbuckets; b++) {
            for (node = t->buckets[b]; node; node = next) {
                next = node->next;
                gm_object_free(node);
            }
        }

        free(t->buckets);
    }

    while (store->notes) {
        note = store->notes;
        store->notes = note->next;
        gm_store_note_free(note);
    }

    free(store);
}


int
gm_store_put(gm_store_t *store, gm_object_t *obj)
{
    uint32_t            hash;
    gm_meta_t          *meta;
    gm_object_t       **slot;
    gm_store_table_t   *t;

    meta = &obj->body->meta;

    if ((unsigned) meta->kind >= GM_KIND_MAX) {
        gm_object_free(obj);
        return -1;
    }

    t = &store->tables[meta->kind];
    hash = gm_store_hash(meta->ns.data, meta->ns.len,
                         meta->name.data, meta->name.len);

    slot = gm_store_lookup(t, hash, meta->ns.data, meta->ns.len,
                           meta->name.data, meta->name.len);

    (void) gm_store_unnote(store, meta->kind, meta->ns.data, meta->ns.len,
                           meta->name.data, meta->name.len);

    obj->hash = hash;

    if (*slot) {
        if (store->watch) {
            store->watch(store->watch_data, *slot, obj);
        }

        obj->next = (*slot)->next;
        gm_object_free(*slot);
        *slot = obj;
        store->version++;
        return 0;
    }

    /*
     * two objects a bucket on average before it grows: the chains stay
     * short (the hash is compared first) and the buckets take 4 to 8
     * bytes an object, not 8 to 16 (memory, issue 12)
     */
    if (t->nelts >= 2 * t->nbuckets && gm_store_grow(t) != 0) {
        gm_object_free(obj);
        return -1;
    }

    obj->next = t->buckets[hash & (t->nbuckets - 1)];
    t->buckets[hash & (t->nbuckets - 1)] = obj;
    t->nelts++;
    store->version++;

    if (store->watch) {
        store->watch(store->watch_data, NULL, obj);
    }

    return 0;
}


int
gm_store_delete(gm_store_t *store, gm_kind_e kind, const char *ns,
    const char *name)
{
    size_t              ns_len, name_len;
    uint32_t            hash;
    gm_object_t       **slot, *node;
    gm_store_table_t   *t;

    if ((unsigned) kind >= GM_KIND_MAX) {
        return 0;
    }

    ns_len = strlen(ns);
    name_len = strlen(name);
    hash = gm_store_hash(ns, ns_len, name, name_len);
    t = &store->tables[kind];

    slot = gm_store_lookup(t, hash, ns, ns_len, name, name_len);
    node = *slot;

    if (node == NULL) {
        return gm_store_unnote(store, kind, ns, ns_len, name, name_len);
    }

    (void) gm_store_unnote(store, kind, ns, ns_len, name, name_len);

    *slot = node->next;
    t->nelts--;
    store->version++;

    if (store->watch) {
        store->watch(store->watch_data, node, NULL);
    }

    gm_object_free(node);

    return 1;
}


gm_object_t *
gm_store_get(gm_store_t *store, gm_kind_e kind, const char *ns,
    const char *name)
{
    size_t             ns_len, name_len;
    uint32_t           hash;
    gm_object_t      **slot;

    if ((unsigned) kind >= GM_KIND_MAX) {
        return NULL;
    }

    ns_len = strlen(ns);
    name_len = strlen(name);
    hash = gm_store_hash(ns, ns_len, name, name_len);

    slot = gm_store_lookup(&store->tables[kind], hash, ns, ns_len,
                           name, name_len);

    return *slot;
}


size_t
gm_store_count(gm_store_t *store, gm_kind_e kind)
{
    if ((unsigned) kind >= GM_KIND_MAX) {
        return 0;
    }

    return store->tables[kind].nelts;
}


void
gm_store_foreach(gm_store_t *store, gm_kind_e kind, gm_store_iter_pt cb,
    void *data)
{
    size_t             b;
    gm_object_t       *node;
    gm_store_table_t  *t;

    if ((unsigned) kind >= GM_KIND_MAX) {
        return;
    }

    t = &store->tables[kind];

    for (b = 0; b < t->nbuckets; b++) {
        for (node = t->buckets[b]; node; node = node->next) {
            cb(data, node);
        }
    }
}


int
gm_store_reject(gm_store_t *store, const gm_reject_t *r)
{
    gm_store_note_t  *note;

    if ((unsigned) r->kind >= GM_KIND_MAX) {
        return -1;
    }

    note = calloc(1, sizeof(gm_store_note_t));
    if (note == NULL) {
        return -1;
    }

    note->reject = *r;
    note->reject.ns.data = strndup(r->ns.data, r->ns.len);
    note->reject.name.data = strndup(r->name.data, r->name.len);
    note->reject.message.data = strndup(r->message.data, r->message.len);

    if (note->reject.ns.data == NULL || note->reject.name.data == NULL
        || note->reject.message.data == NULL)
    {
        gm_store_note_free(note);
        return -1;
    }

    note->next = store->notes;
    store->notes = note;
    store->version++;

    return 0;
}


int
gm_store_unreject(gm_store_t *store, gm_kind_e kind, const char *ns,
    size_t ns_len, const char *name, size_t name_len)
{
    return gm_store_unnote(store, kind, ns, ns_len, name, name_len);
}


void
gm_store_foreach_reject(gm_store_t *store, gm_store_reject_iter_pt cb,
    void *data)
{
    gm_store_note_t  *note;

    for (note = store->notes; note; note = note->next) {
        cb(data, &note->reject);
    }
}


void
gm_store_watch(gm_store_t *store, gm_store_watch_pt cb, void *data)
{
    store->watch = cb;
    store->watch_data = data;
}


uint64_t
gm_store_version(gm_store_t *store)
{
    return store->version;
}


/* FNV-1a over "ns\0name", folded to the 32 bits an object keeps */

static uint32_t
gm_store_hash(const char *ns, size_t ns_len, const char *name,
    size_t name_len)
{
    uint64_t  h;

    h = gm_fnv64_add(GM_FNV64_BASIS, ns, ns_len);
    h = gm_fnv64_byte(h, '\0');
    h = gm_fnv64_add(h, name, name_len);

    return (uint32_t) (h ^ (h >> 32));
}


static int
gm_store_node_is(gm_object_t *node, uint32_t hash, const char *ns,
    size_t ns_len, const char *name, size_t name_len)
{
    gm_meta_t  *meta;

    if (node->hash != hash) {
        return 0;
    }

    meta = &node->body->meta;

    return meta->ns.len == ns_len && meta->name.len == name_len
           && memcmp(meta->ns.data, ns, ns_len) == 0
           && memcmp(meta->name.data, name, name_len) == 0;
}


/* the link that points at the node with this key, or the chain's end */

static gm_object_t **
gm_store_lookup(gm_store_table_t *t, uint32_t hash, const char *ns,
    size_t ns_len, const char *name, size_t name_len)
{
    gm_object_t  **slot;

    slot = &t->buckets[hash & (t->nbuckets - 1)];

    while (*slot
           && !gm_store_node_is(*slot, hash, ns, ns_len, name, name_len))
    {
        slot = &(*slot)->next;
    }

    return slot;
}


static int
gm_store_grow(gm_store_table_t *t)
{
    size_t         n, b;
    gm_object_t  **buckets, *node, *next;

    n = t->nbuckets * 2;

    buckets = calloc(n, sizeof(gm_object_t *));
    if (buckets == NULL) {
        return -1;
    }

    for (b = 0; b < t->nbuckets; b++) {
        for (node = t->buckets[b]; node; node = next) {
            next = node->next;
            node->next = buckets[node->hash & (n - 1)];
            buckets[node->hash & (n - 1)] = node;
        }
    }

    free(t->buckets);
    t->buckets = buckets;
    t->nbuckets = n;

    return 0;
}


/* drops the notes of one key; returns 1 when there were some */

static int
gm_store_unnote(gm_store_t *store, gm_kind_e kind, const char *ns,
    size_t ns_len, const char *name, size_t name_len)
{
    int                dropped;
    gm_reject_t       *r;
    gm_store_note_t  **link, *note;

    dropped = 0;
    link = &store->notes;

    while (*link) {
        note = *link;
        r = &note->reject;

        if (r->kind != kind || r->ns.len != ns_len || r->name.len != name_len
            || memcmp(r->ns.data, ns, ns_len) != 0
            || memcmp(r->name.data, name, name_len) != 0)
        {
            link = &note->next;
            continue;
        }

        *link = note->next;
        gm_store_note_free(note);
        dropped = 1;
    }

    if (dropped) {
        store->version++;
    }

    return dropped;
}


static void
gm_store_note_free(gm_store_note_t *note)
{
    free(note->reject.ns.data);
    free(note->reject.name.data);
    free(note->reject.message.data);
    free(note);
}


void
gm_store_set_operator(gm_store_t *store, const gm_operator_conf_t *conf)
{
    store->operator_conf = conf;
}


const gm_operator_conf_t *
gm_store_operator(gm_store_t *store)
{
    return store->operator_conf;
}
