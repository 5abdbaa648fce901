/*
 * nginx-gamma: the private layout of a compiled snapshot, shared by the
 * compiler (gm_compile*.c), the snapshot accessors (gm_snapshot.c) and the
 * matcher (gm_match.c).  The nginx glue uses gm_snapshot.h and gm_match.h
 * only.
 */

#ifndef GM_SNAPSHOT_INT_H
#define GM_SNAPSHOT_INT_H


#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH  8
#endif

#include <pcre2.h>

#include "gm_route_status.h"
#include "gm_snapshot.h"


/* a header or query parameter test */
typedef struct {
    const char        *name;          /* headers: lowercase */
    const char        *value;
    pcre2_code        *re;            /* GM_MATCH_REGEX: full-value match */
    /* lengths and type last (memory, issue 12): GM_MAX_HEADER_NAME, ... */
    uint16_t           name_len;
    uint16_t           value_len;     /* <= GM_MAX_HEADER_VALUE */
    uint8_t            type;          /* GM_MATCH_EXACT or GM_MATCH_REGEX */
} gm_value_test_t;

/* one HTTPRouteMatch, its tests precompiled */
typedef struct {
    /* PathPrefix: without its trailing '/', so "/" is the empty string */
    const char        *path;          /* path_len bytes */
    pcre2_code        *path_re;       /* GM_MATCH_REGEX: full-path match */
    /* the header tests, then the query parameter tests: one array */
    gm_value_test_t   *tests;
    /* lengths, counts and types last (memory, issue 12) */
    uint16_t           path_len;      /* <= GM_MAX_PATH_VALUE */
    uint16_t           nheaders;      /* <= GM_MAX_KV_MATCHES */
    uint16_t           nquery;        /* <= GM_MAX_KV_MATCHES */
    uint8_t            path_type;     /* gm_match_type_e */
    uint8_t            method;        /* in gm_route_methods[]; 0: any */
} gm_route_match_t;

typedef struct {
    const gm_route_match_t  *match;
    const gm_rule_t         *rule;
    const gm_policy_set_t   *policy;  /* the rule's settings here */
} gm_route_entry_t;

/* (rule, match) pairs in precedence order: the first that matches wins */
struct gm_route_table_s {
    size_t             nentries;
    gm_route_entry_t   entries[];
};

/* open addressing slot of the (ClusterIP, port) index */
typedef struct {
    gm_addr_t          addr;
    uint16_t           port;
    gm_frontend_t     *frontend;      /* NULL: the slot is free */
} gm_frontend_slot_t;

struct gm_snapshot_s {
    gm_arena_t          *arena;       /* holds the snapshot itself too */
    uint64_t             generation;
    uint32_t             refs;        /* users of this generation, atomic */
    /*
     * Users of the arena, atomic: the generation itself until its refs
     * drop, and the patched generation built on it (gm_compile_patch.c),
     * which points into it.  The last one frees it, then drops parent.
     */
    uint32_t             body_refs;
    struct gm_snapshot_s  *parent;    /* whose memory this one shares */
    /* the process whose incremental compiler holds a reference, atomic */
    int32_t              holder;
    unsigned             slots_apart:1;   /* slots freed with refs */
    uint32_t             depth;       /* patches since the full compile */
    size_t               chain_bytes; /* the arenas of those patches */
    size_t               base_bytes;  /* the full compile's arena */
    size_t               nservices;
    size_t               nfrontends;
    size_t               ntables;
    gm_frontend_slot_t  *slots;
    size_t               nslots;      /* a power of two */
    const gm_status_chunk_t  *status; /* gm_route_status.h, sorted */
    size_t               nstatus_chunks;
    size_t               nstatus;     /* entries */
    const struct gm_source_stats_s  *stats;   /* gm_snapshot_walk.h */
};


/* al NULL: malloc() */
gm_snapshot_t *gm_snapshot_create(size_t block_size,
    const gm_allocator_t *al);
/* s, a patch of prev, points into prev's arena: prev's body lives on */
void gm_snapshot_chain(gm_snapshot_t *s, gm_snapshot_t *prev);
/* sizes the frontend index for n (ClusterIP, port) keys; -1: no memory */
int gm_snapshot_init_index(gm_snapshot_t *s, size_t n);
/* the slot holding this key, or the free slot where it belongs */
gm_frontend_slot_t *gm_snapshot_frontend_slot(const gm_snapshot_t *s,
    const gm_addr_t *ip, uint16_t port);
/*
 * Takes a key out of an index the caller owns (a patched generation's
 * copy, not yet published): the keys after it in its probe run move up,
 * moved() is told each slot that got another key.  1: no such key.
 */
int gm_snapshot_remove_frontend(gm_snapshot_t *s, const gm_addr_t *ip,
    uint16_t port, int (*moved)(void *data, gm_snapshot_t *s,
    uint32_t slot), void *data);

/* a match's method by its number: "" (any), "GET", ... "PATCH" */
extern const gm_str_t  gm_route_methods[];
#define GM_ROUTE_METHODS  10

/* the order of consumer namespaces: bytes, then length */
int gm_str_cmp(const char *a, size_t alen, const char *b, size_t blen);


#endif /* GM_SNAPSHOT_INT_H */
