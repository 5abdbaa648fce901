/*
 * nginx-gamma: the snapshot object: its reference count, the
 * (ClusterIP, port) index and the route table choice.  The compiler that
 * fills it is gm_compile.c.
 */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gm_hash.h"
#include "gm_snapshot_int.h"


static uint64_t gm_frontend_hash(const gm_addr_t *ip, uint16_t port);
static void gm_snapshot_release(gm_snapshot_t *s);


const gm_backend_ext_t  gm_backend_ext_none;

/* the HTTP methods of the Gateway API, as gm_syntax.c's gm_methods[] */
const gm_str_t  gm_route_methods[GM_ROUTE_METHODS] = {
    { 0, (char *) "" }, { 3, (char *) "GET" }, { 4, (char *) "HEAD" },
    { 4, (char *) "POST" }, { 3, (char *) "PUT" }, { 6, (char *) "DELETE" },
    { 7, (char *) "CONNECT" }, { 7, (char *) "OPTIONS" },
    { 5, (char *) "TRACE" }, { 5, (char *) "PATCH" }
};

const gm_rule_ext_t  gm_rule_ext_none = {
    .session_path = "",
    .timeout_request_ms = GM_DURATION_UNSET,
    .timeout_backend_ms = GM_DURATION_UNSET,
    .retry_backoff_ms = GM_DURATION_UNSET,
};


gm_snapshot_t *
gm_snapshot_build(gm_store_t *store, const gm_log_t *log)
{
    return gm_snapshot_build_in(store, log, NULL);
}


gm_snapshot_t *
gm_snapshot_create(size_t block_size, const gm_allocator_t *al)
{
    gm_arena_t     *arena;
    gm_snapshot_t  *s;

    arena = gm_arena_create_in(block_size, al);
    if (arena == NULL) {
        return NULL;
    }

    s = gm_arena_calloc(arena, sizeof(gm_snapshot_t));
    if (s == NULL) {
        gm_arena_destroy(arena);
        return NULL;
    }

    s->arena = arena;
    s->refs = 1;
    s->body_refs = 1;

    return s;
}


int
gm_snapshot_init_index(gm_snapshot_t *s, size_t n)
{
    size_t  nslots;

    /* a load factor of at most 2/3 keeps the probe sequences short */
    nslots = 16;

    while (nslots < n + n / 2) {
        nslots *= 2;
    }

    s->slots = gm_arena_calloc(s->arena, nslots * sizeof(gm_frontend_slot_t));
    if (s->slots == NULL) {
        return -1;
    }

    s->nslots = nslots;

    return 0;
}


gm_frontend_slot_t *
gm_snapshot_frontend_slot(const gm_snapshot_t *s, const gm_addr_t *ip,
    uint16_t port)
{
    size_t               i, alen;
    gm_frontend_slot_t  *slot;

    alen = (ip->family == AF_INET) ? 4 : 16;
    i = gm_frontend_hash(ip, port) & (s->nslots - 1);

    for ( ;; ) {
        slot = &s->slots[i];

        if (slot->frontend == NULL
            || (slot->port == port
                && slot->addr.family == ip->family
                && memcmp(slot->addr.addr, ip->addr, alen) == 0))
        {
            return slot;
        }

        i = (i + 1) & (s->nslots - 1);
    }
}


/* backward shift: no tombstone, a lookup stays a plain probe */

int
gm_snapshot_remove_frontend(gm_snapshot_t *s, const gm_addr_t *ip,
    uint16_t port, int (*moved)(void *data, gm_snapshot_t *s, uint32_t slot),
    void *data)
{
    size_t               i, j, k, mask;
    gm_frontend_slot_t  *slot;

    if (s->nslots == 0) {
        return 1;
    }

    slot = gm_snapshot_frontend_slot(s, ip, port);

    if (slot->frontend == NULL) {
        return 1;
    }

    mask = s->nslots - 1;
    i = (size_t) (slot - s->slots);
    j = i;

    for ( ;; ) {
        j = (j + 1) & mask;

        if (s->slots[j].frontend == NULL) {
            break;
        }

        k = gm_frontend_hash(&s->slots[j].addr, s->slots[j].port) & mask;

        /* j's home is cyclically in (i, j]: it stays */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }

        s->slots[i] = s->slots[j];

        if (moved(data, s, (uint32_t) i) != 0) {
            return -1;
        }

        i = j;
    }

    memset(&s->slots[i], 0, sizeof(gm_frontend_slot_t));

    return 0;
}


/*
 * Atomic: the incremental compiler keeps the last build while the source
 * process's event loop drops the generations workers left.
 */

void
gm_snapshot_ref(gm_snapshot_t *s)
{
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}


void
gm_snapshot_chain(gm_snapshot_t *s, gm_snapshot_t *prev)
{
    __atomic_add_fetch(&prev->body_refs, 1, __ATOMIC_RELAXED);
    s->parent = prev;
    s->chain_bytes = prev->chain_bytes + s->arena->total;
}


void
gm_snapshot_unref(gm_snapshot_t *s)
{
    if (s == NULL) {
        return;
    }

    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        gm_snapshot_release(s);
    }
}


void
gm_snapshot_hold(gm_snapshot_t *s)
{
    gm_snapshot_ref(s);
    __atomic_store_n(&s->holder, (int32_t) getpid(), __ATOMIC_RELEASE);
}


/* whoever clears holder drops its reference: the holder or the zone */

void
gm_snapshot_unhold(gm_snapshot_t *s)
{
    int32_t  holder;

    if (s == NULL) {
        return;
    }

    holder = (int32_t) getpid();

    if (__atomic_compare_exchange_n(&s->holder, &holder, 0, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    {
        gm_snapshot_unref(s);
    }
}


void
gm_snapshot_unref_retired(gm_snapshot_t *s)
{
    int32_t  holder;

    holder = __atomic_load_n(&s->holder, __ATOMIC_ACQUIRE);

    if (holder != 0 && holder != (int32_t) getpid()
        && kill((pid_t) holder, 0) == -1 && errno == ESRCH
        && __atomic_compare_exchange_n(&s->holder, &holder, 0, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    {
        gm_snapshot_unref(s);
    }

    gm_snapshot_unref(s);
}


/*
 * The index is this generation's own; what it points to may be shared
 * with the patched generations built on it, which hold body_refs.  The
 * regexes live in the arenas too: nothing else to free.
 */

static void
gm_snapshot_release(gm_snapshot_t *s)
{
    gm_allocator_t  al;
    gm_snapshot_t  *parent;

    if (s->slots_apart) {
        al = s->arena->allocator;
        al.free(al.data, s->slots);
        s->slots = NULL;
        s->slots_apart = 0;
    }

    while (s != NULL
           && __atomic_sub_fetch(&s->body_refs, 1, __ATOMIC_ACQ_REL) == 0)
    {
        parent = s->parent;
        gm_arena_destroy(s->arena);
        s = parent;
    }
}


uint64_t
gm_snapshot_generation(const gm_snapshot_t *s)
{
    return s->generation;
}


void
gm_snapshot_set_generation(gm_snapshot_t *s, uint64_t gen)
{
    s->generation = gen;
}


size_t
gm_snapshot_size(const gm_snapshot_t *s)
{
    return s->arena->total
           + (s->slots_apart ? s->nslots * sizeof(gm_frontend_slot_t) : 0);
}


size_t
gm_snapshot_nservices(const gm_snapshot_t *s)
{
    return s->nservices;
}


size_t
gm_snapshot_nfrontends(const gm_snapshot_t *s)
{
    return s->nfrontends;
}


const gm_frontend_t *
gm_snapshot_find_frontend(const gm_snapshot_t *s, const gm_addr_t *ip,
    uint16_t port)
{
    if (s->nslots == 0
        || (ip->family != AF_INET && ip->family != AF_INET6))
    {
        return NULL;
    }

    return gm_snapshot_frontend_slot(s, ip, port)->frontend;
}


const gm_route_table_t *
gm_frontend_route_table(const gm_frontend_t *f, const char *ns,
    size_t ns_len, gm_table_kind_e *kind)
{
    int              c;
    size_t           lo, hi, mid;
    gm_table_kind_e  unused;

    if (kind == NULL) {
        kind = &unused;
    }

    lo = 0;
    hi = (ns != NULL) ? f->nconsumers : 0;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = gm_str_cmp(ns, ns_len, f->consumer_ns[mid].data,
                       f->consumer_ns[mid].len);

        if (c == 0) {
            *kind = GM_TABLE_CONSUMER;
            return f->consumer[mid];
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    if (f->producer) {
        *kind = GM_TABLE_PRODUCER;
        return f->producer;
    }

    *kind = GM_TABLE_NONE;

    return NULL;
}


/* a named rule's label is "ns/name/rulename" */

void
gm_rule_name(const gm_rule_t *rule, gm_str_t *name)
{
    size_t  skip;

    skip = rule->route->ns.len + rule->route->name.len + 2;

    /* a label cut at GM_LABEL_MAX cannot be, names are bounded: still */
    if (!rule->named || skip >= rule->label.len) {
        name->len = 0;
        name->data = (char *) "";
        return;
    }

    name->len = rule->label.len - skip;
    name->data = rule->label.data + skip;
}


int
gm_str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int     c;
    size_t  n;

    n = alen < blen ? alen : blen;
    c = (n != 0) ? memcmp(a, b, n) : 0;

    if (c != 0) {
        return c;
    }

    return (alen > blen) - (alen < blen);
}


/* FNV-1a over the family, the address bytes and the port */

static uint64_t
gm_frontend_hash(const gm_addr_t *ip, uint16_t port)
{
    size_t    alen;
    uint64_t  h;

    alen = (ip->family == AF_INET) ? 4 : 16;
    h = gm_fnv64_value(GM_FNV64_BASIS, (uint64_t) ip->family);
    h = gm_fnv64_add(h, ip->addr, alen);
    h = gm_fnv64_byte(h, port >> 8);
    h = gm_fnv64_byte(h, port & 0xff);

    /* FNV's low bits mix poorly: a finalizer spreads the high ones */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;

    return h;
}
