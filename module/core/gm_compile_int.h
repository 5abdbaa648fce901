/*
 * nginx-gamma: what the compiler's files share (gm_compile*.c): the
 * compile context and the compiler's view of Services, routes and table
 * entries while a snapshot is built.  Nothing outside the compiler
 * includes it.
 */

#ifndef GM_COMPILE_INT_H
#define GM_COMPILE_INT_H


#include "gm_filter.h"
#include "gm_limits.h"
#include "gm_route_status.h"
#include "gm_snapshot_int.h"


/* the ranks of path match types, lower first */
#define GM_RANK_EXACT       0
#define GM_RANK_REGEX       1
#define GM_RANK_PREFIX      2


typedef struct gm_compile_ctx_s  gm_compile_ctx_t;

/* one step of the build; -1: out of memory */
typedef int (*gm_compile_stage_pt)(gm_compile_ctx_t *ctx);


typedef struct gm_compile_slice_s  gm_compile_slice_t;

struct gm_compile_slice_s {
    gm_endpointslice_t            *eps;
    gm_compile_slice_t            *next;
};

typedef struct {
    gm_service_t                  *svc;
    gm_str_t                       ns;          /* copies in the snapshot */
    gm_str_t                       name;
    gm_frontend_t                 *frontends;   /* one per port, or NULL */
    gm_backend_t                 **backends;    /* one per port, on first use */
    gm_compile_slice_t            *slices;      /* its EndpointSlices */
    unsigned                       dirty:1;     /* subset: compiled */
    unsigned                       slices_read:1;   /* subset: slices */
} gm_compile_service_t;

typedef struct gm_compile_route_s  gm_compile_route_t;

/* a table entry with the keys it is sorted by */
typedef struct {
    const gm_route_match_t        *match;
    const gm_rule_t               *rule;
    const gm_compile_route_t      *route;
    uint32_t                       rank;
    uint32_t                       match_index;
    size_t                         plen;        /* 0 for Exact: they tie */
    /* GRPCRoute: the lengths of the service and method matched */
    size_t                         slen;
    size_t                         mlen;
} gm_compile_entry_t;

struct gm_compile_route_s {
    gm_httproute_t                *route;
    gm_str_t                       ns;          /* copies in the snapshot */
    gm_str_t                       name;
    gm_rule_route_t               *names;       /* its rules' route */
    gm_rule_t                     *rules;       /* NULL until first bound */
    gm_compile_entry_t            *entries;
    size_t                         nentries;
};

typedef struct {
    size_t                         frontend;    /* index in ctx->frontends */
    /* consumer ns; NULL: producer */
    const gm_str_t                *ns;
    gm_compile_route_t            *route;
} gm_compile_attach_t;

typedef struct {
    gm_addr_t                      addr;
    uint16_t                       port;
} gm_compile_endpoint_t;

struct gm_compile_ctx_s {
    gm_store_t                    *store;
    const gm_log_t                *log;
    gm_snapshot_t                 *snap;
    gm_arena_t                    *arena;       /* the snapshot's */
    gm_arena_t                    *scratch;     /* destroyed after the build */
    pcre2_compile_context         *pcre;

    gm_compile_service_t          *services;
    size_t                         nservices;
    /* by ns/name, open addressing */
    gm_compile_service_t         **index;
    size_t                         index_size;
    gm_compile_route_t            *routes;
    size_t                         nroutes;
    gm_frontend_t                 *frontends;
    size_t                         nfrontends;

    gm_compile_attach_t           *attach;
    size_t                         nattach;
    size_t                         attach_size;
    /* unresolvable, by ns/name:port */
    gm_backend_t                 **backends;
    size_t                         nbackends;
    size_t                         nunresolved;
    size_t                         backends_size;
    gm_compile_entry_t            *entries;     /* the table being built */
    size_t                         entries_size;
    gm_compile_endpoint_t         *eps;         /* the backend being resolved */
    size_t                         eps_size;
    gm_str_t                      *strings;     /* interned, open addressing */
    size_t                         nstrings;
    size_t                         strings_size;
    gm_status_entry_t             *status;      /* in the snapshot */
    size_t                         nstatus;
    size_t                         status_size;
    unsigned                       nomem:1;     /* set where -1 cannot return */
    unsigned                       require_grants:1;  /* gm_compile_grant.c */
    const gm_rule_t               *filter_rule; /* whose filters compile */
    /* policies being resolved (gm_compile_policy.c) */
    struct gm_cpolicies_s         *policies;
    /* a subset compile (gm_compile_subset.c); NULL: the full compile */
    const struct gm_compile_subset_s  *subset;
    size_t                         nindexed;    /* subset: in the index */
};


/* resolves a Service backend of a RequestMirror; NULL: out of memory */
typedef gm_backend_t *(*gm_filter_backend_pt)(void *data,
    const gm_str_t *ns, const gm_str_t *name, uint16_t port);

/* what compiling a filter list needs to know (gm_filter_compile.c) */
typedef struct {
    gm_arena_t             *arena;    /* the snapshot's */
    const gm_log_t         *log;
    const char             *label;    /* the rule, for log lines */
    const gm_http_rule_t   *rule;     /* its PathPrefix for prefix rewrites */
    gm_filter_backend_pt    backend;
    void                   *data;
} gm_filter_compile_ctx_t;


/* utilities of the driver (gm_compile.c) */
/* "snapshot: out of memory", unless al's owner reports its own failure */
void gm_compile_nomem(const gm_log_t *log, const gm_allocator_t *al);
int gm_compile_reserve(void **p, size_t *size, size_t n, size_t elt);
uint64_t gm_compile_hash(const gm_str_t *a, const gm_str_t *b,
    uint32_t n);
int gm_compile_intern(gm_compile_ctx_t *ctx, gm_str_t *dst,
    const gm_str_t *src);
int gm_compile_sprintf(gm_arena_t *a, gm_str_t *dst, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Services and frontends (gm_compile_service.c) */
int gm_compile_index_services(gm_compile_ctx_t *ctx);
gm_compile_service_t *gm_compile_find_service(gm_compile_ctx_t *ctx,
    const gm_str_t *ns, const gm_str_t *name);
int gm_compile_frontends(gm_compile_ctx_t *ctx);
int gm_compile_service_names(gm_compile_ctx_t *ctx,
    gm_compile_service_t *cs);

/* backends (gm_compile_backend.c) */
/* the backend's policies, a copy of its own to set a field in */
gm_backend_ext_t *gm_compile_backend_ext(gm_compile_ctx_t *ctx,
    gm_backend_t *b);
gm_backend_t *gm_compile_backend(gm_compile_ctx_t *ctx, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port);
gm_backend_t *gm_compile_port_backend(gm_compile_ctx_t *ctx,
    gm_compile_service_t *cs, size_t p);
gm_backend_t *gm_compile_ref_backend(gm_compile_ctx_t *ctx,
    const gm_rule_t *rule, const gm_backend_ref_t *ref);
/* the endpoints of port p of cs resolved again into b */
int gm_compile_port_endpoints(gm_compile_ctx_t *ctx, gm_backend_t *b,
    const gm_compile_service_t *cs, size_t p);
/* a Service reference no ReferenceGrant permits: its own invalid backend */
gm_backend_t *gm_compile_refused_backend(gm_compile_ctx_t *ctx,
    const gm_rule_t *rule, const gm_str_t *ns, const gm_str_t *name,
    uint16_t port);

/*
 * ReferenceGrants (gm_compile_grant.c): 1 when a route of that kind
 * (HTTPRoute, GRPCRoute) and namespace may refer to the Service ns/name
 */
int gm_compile_ref_permitted(gm_compile_ctx_t *ctx, gm_kind_e from_kind,
    const gm_str_t *from_ns, const gm_str_t *ns, const gm_str_t *name);

/* routes attached, rules compiled (gm_compile_route.c) */
int gm_compile_attach_routes(gm_compile_ctx_t *ctx);
const gm_http_rule_t *gm_compile_http_rule(const gm_compile_route_t *cr,
    uint32_t index);
int gm_compile_is_service_parent(const gm_parent_ref_t *ref);
int gm_compile_port_applies(const gm_service_port_t *sp,
    const gm_parent_ref_t *ref);

/*
 * status entries (gm_route_status.c): the routes' stage, and what a
 * policy kind's stage calls to add its status.ancestors[] entries
 */
int gm_compile_status(gm_compile_ctx_t *ctx);
gm_status_entry_t *gm_compile_status_add(gm_compile_ctx_t *ctx,
    const char *kind, const gm_meta_t *meta, uint32_t index,
    const gm_parent_ref_t *ref);
int gm_compile_status_cond(gm_compile_ctx_t *ctx, gm_status_entry_t *e,
    const char *type, unsigned status, const char *reason,
    const char *message);

/* matches and table entries (gm_compile_match.c) */
int gm_compile_rule_entries(gm_compile_ctx_t *ctx, gm_compile_route_t *cr,
    uint32_t index);

/* route tables (gm_compile_table.c) */
int gm_compile_tables(gm_compile_ctx_t *ctx);

/* BackendTLSPolicies on backends (gm_compile_backendtls.c) */
int gm_compile_backend_tls(gm_compile_ctx_t *ctx);

/* XBackendTrafficPolicies on backends (gm_compile_backendtraffic.c) */
int gm_compile_backend_traffic(gm_compile_ctx_t *ctx);
/* the rule's ext, its own to write (gm_compile_route.c); NULL: no memory */
gm_rule_ext_t *gm_compile_rule_own_ext(gm_compile_ctx_t *ctx,
    gm_rule_t *rule);
/* a rule's own sessionPersistence (gm_compile_backendtraffic.c) */
int gm_compile_rule_session(gm_compile_ctx_t *ctx, gm_rule_ext_t *rx,
    const gm_http_rule_t *hr);

/* TrafficPolicies and nginx.conf merged per rule (gm_compile_policy.c) */
int gm_compile_policies(gm_compile_ctx_t *ctx);

/* a Service whose EndpointSlices changed (gm_compile_incr.c) */
typedef struct {
    gm_str_t                       ns;
    gm_str_t                       name;
} gm_compile_key_t;

/*
 * A Service's EndpointSlices, then the HTTPRoutes and GRPCRoutes naming
 * it as a parent, as the store holds them now: one array, objs[0] to
 * objs[nobjs - 1] the slices, the routes after them; up to two of them
 * (most Services: a slice and a route) objs is inl, in the entry, not an
 * allocation of its own.  The Service's namespace and name are one
 * copy, the name after the namespace and its NUL: 48 bytes an entry
 * (memory, issue 12).
 */
typedef struct {
    const char                    *names;
    gm_object_t                  **objs;
    gm_object_t                   *inl[2];
    uint32_t                       nobjs;
    uint32_t                       nroutes;
    uint32_t                       ns_len;
    uint32_t                       name_len;
} gm_compile_svc_slices_t;

/*
 * The store's EndpointSlices and routes by Service (gm_compile_slices.c),
 * kept by the incremental compiler from the store's puts and deletes, so
 * that a patch finds a Service's slices and the routes bound to it
 * without a pass over all of them.
 */
typedef struct {
    gm_compile_svc_slices_t       *svcs;        /* n, the first named first */
    size_t                         n;
    size_t                         nalloc;
    /*
     * open addressing at most half full, 4 bytes a slot (memory, issue
     * 12): svcs[index[i] - 1], 0 free
     */
    uint32_t                      *index;
    size_t                         size;        /* a power of two */
    gm_arena_t                    *strings;     /* the keys' */
    unsigned                       broken:1;    /* out of memory once */
} gm_compile_slices_t;

void gm_compile_slices_put(gm_compile_slices_t *sl, gm_object_t *old,
    gm_object_t *obj);
/* NULL: no slice names that Service */
const gm_compile_svc_slices_t *gm_compile_slices_find(
    const gm_compile_slices_t *sl, const gm_str_t *ns,
    const gm_str_t *name);
void gm_compile_slices_free(gm_compile_slices_t *sl);
/* which slice ports have ready addresses, as a hash; 0: too many */
uint64_t gm_compile_slices_ready(const gm_compile_slices_t *sl,
    const gm_str_t *ns, const gm_str_t *name);

/* the index slots whose frontends name a Service's backends */
typedef struct {
    gm_compile_key_t               key;         /* strings of the snapshot */
    uint32_t                      *slots;
    size_t                         nslots;
    size_t                         slots_size;
    unsigned                       mirrored:1;  /* a RequestMirror names it */
} gm_compile_dep_t;

/*
 * Which frontends depend on which Service (gm_compile_deps.c), read from
 * a full compile once; its patches keep the same index layout and the
 * same dependencies, so it holds for them too.
 */
typedef struct {
    gm_compile_dep_t              *deps;        /* open addressing */
    size_t                         size;
    size_t                         n;
} gm_compile_deps_t;

int gm_compile_deps_build(gm_compile_deps_t *d, const gm_snapshot_t *s);
const gm_compile_dep_t *gm_compile_deps_find(const gm_compile_deps_t *d,
    const gm_str_t *ns, const gm_str_t *name);
void gm_compile_deps_free(gm_compile_deps_t *d);

/*
 * The previous snapshot with the backends of these Services resolved
 * again, sharing the rest (gm_compile_patch.c).  Returns 0 and *out, 1
 * when a full compile must do it, -1 when memory runs out.
 */
int gm_compile_patch(gm_snapshot_t *prev, gm_store_t *store,
    const gm_compile_slices_t *slices, const gm_compile_deps_t *deps,
    const gm_compile_key_t *keys, size_t nkeys, const gm_allocator_t *al,
    gm_snapshot_t **out);


/* a changed route: its kind too (HTTPRoute or GRPCRoute) */
typedef struct {
    gm_kind_e                      kind;
    gm_compile_key_t               key;
} gm_compile_rkey_t;

/*
 * A compile of a few Services only (gm_compile_subset.c): their
 * frontends, with the routes bound to them; the other Services indexed
 * for the backends, their slices read from the index when named, a
 * Service port's backend the previous generation's when it has one.
 */
typedef struct gm_compile_subset_s {
    gm_snapshot_t                 *prev;
    const gm_compile_slices_t     *slices;
    const gm_compile_key_t        *keys;        /* the Services compiled */
    size_t                         nkeys;
} gm_compile_subset_t;

gm_snapshot_t *gm_compile_build_subset(gm_store_t *store,
    const gm_log_t *log, const gm_allocator_t *al,
    const gm_compile_opts_t *opts, const gm_compile_subset_t *sub);
int gm_compile_subset_has(const gm_compile_subset_t *sub,
    const gm_str_t *ns, const gm_str_t *name);
/* the Service port's backend of the previous generation, or NULL */
gm_backend_t *gm_compile_subset_backend(const gm_compile_subset_t *sub,
    const gm_service_t *svc, size_t p);
/* the slices of cs from the index, once */
int gm_compile_subset_slices(gm_compile_ctx_t *ctx,
    gm_compile_service_t *cs);
/* the subset's Services and the routes bound to them (the collect stage) */
int gm_compile_subset_collect(gm_compile_ctx_t *ctx);
/* a Service the subset did not index yet, from the store; NULL: none */
gm_compile_service_t *gm_compile_subset_service(gm_compile_ctx_t *ctx,
    const gm_str_t *ns, const gm_str_t *name);

/* adds what a frontend at slot depends on (a route patch's frontends) */
int gm_compile_deps_update(gm_compile_deps_t *d, const gm_frontend_t *f,
    uint32_t slot);

/*
 * The previous snapshot with the frontends of the parent Services of
 * changed routes compiled again (gm_compile_subset.c): 0 and *out, 1
 * when a full compile must do it, -1 when memory runs out.  noted: the
 * routes the last full compile had notes about.  added: those of keys
 * that are new Services, whose frontends join the index.
 */
int gm_compile_routes_patch(gm_snapshot_t *prev, gm_store_t *store,
    const gm_compile_slices_t *slices, gm_compile_deps_t *deps,
    const gm_compile_key_t *keys, size_t nkeys,
    const gm_compile_key_t *added, size_t nadded,
    const gm_compile_rkey_t *routes, size_t nroutes,
    const gm_compile_rkey_t *noted, size_t nnoted,
    const gm_compile_opts_t *opts, const gm_allocator_t *al,
    gm_snapshot_t **out);

/* the order of status entries: kind, ns, name, index */
int gm_compile_status_cmp(const void *one, const void *two);


/*
 * HTTPRoute filters (gm_filter_compile.c): compiles n filters; *out is
 * NULL when n is 0.  A filter part that cannot be served (a hop-by-hop
 * header, a mirror to a non-Service) is left out with a warning.  Returns
 * -1 when memory runs out.
 */
int gm_filters_compile(const gm_filter_compile_ctx_t *ctx,
    const gm_filter_t *f, size_t n, const gm_filters_t **out);


#endif /* GM_COMPILE_INT_H */
