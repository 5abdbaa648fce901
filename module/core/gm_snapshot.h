/*
 * nginx-gamma: the compiled, immutable, reference-counted view of the mesh
 * that the event loop routes with.  Built by the watcher thread from the
 * store; after the hand-off it is only read, but for the round-robin
 * cursors (atomic).  Its reference count belongs to whoever built it:
 * processes sharing a snapshot count their own uses.
 */

#ifndef GM_SNAPSHOT_H
#define GM_SNAPSHOT_H


#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "gm_arena.h"
#include "gm_log.h"
#include "gm_object.h"
#include "gm_store.h"


typedef struct gm_snapshot_s     gm_snapshot_t;
typedef struct gm_route_table_s  gm_route_table_t;
typedef struct gm_rule_s         gm_rule_t;


typedef struct {
    union {
        struct sockaddr       sa;
        struct sockaddr_in    sin;
        struct sockaddr_in6   sin6;
    } u;
    socklen_t   socklen;
    /* "10.0.0.1:8080", "[::1]:80", text_len bytes and a NUL */
    const char *text;
    /* requests in flight (LeastRequest), atomic, like gm_backend_t.rr */
    uint32_t    active;
    /* last (memory, issue 12): at most INET6_ADDRSTRLEN + 8 */
    uint16_t    text_len;
} gm_sockaddr_t;


/* a backend's TLS, from its BackendTLSPolicy (gm_compile_backendtls.c) */
typedef struct {
    gm_str_t              policy;     /* "ns/name" */
    gm_str_t              hostname;   /* SNI; verified unless SANs given */
    gm_str_t              ca_pem;     /* the bundle; empty with system_ca */
    uint64_t              ca_id;      /* the bundle's hash: a cache key */
    unsigned              system_ca:1;
    /* set when no usable CA: requests fail (502), never go plain */
    gm_str_t              error;
    const gm_san_t       *sans;       /* subjectAltNames, any may match */
    size_t                nsans;
} gm_backend_tls_t;

/* a backend's retry budget, from its XBackendTrafficPolicy */
typedef struct {
    gm_str_t              policy;     /* "ns/name" */
    uint64_t              key;        /* its counters: policy and Service */
    uint32_t              percent;    /* of the requests, in retries */
    uint32_t              min_count;  /* retries allowed anyway ... */
    int64_t               interval_ms;
    int64_t               min_interval_ms;    /* ... per this */
} gm_backend_traffic_t;

typedef enum {
    GM_BACKEND_OK = 0,
    GM_BACKEND_NOT_FOUND,             /* no such Service or port: 500 */
    GM_BACKEND_INVALID,               /* kind, ExternalName, ...: 500 */
    GM_BACKEND_NO_ENDPOINTS           /* no ready endpoints: 503 */
} gm_backend_status_e;

/*
 * A backend's rarely set policies, out of line (memory, issue 12): a
 * patched copy of the backend shares the block, a policy that sets a
 * field makes a new one (gm_compile_backend_ext()).
 */
typedef struct {
    const gm_backend_tls_t      *tls;         /* NULL: plain HTTP */
    const gm_backend_traffic_t  *traffic;     /* NULL: no retry budget */
    /* its XBackendTrafficPolicy's sessionPersistence, or NULL */
    const gm_session_t          *session;
} gm_backend_ext_t;

extern const gm_backend_ext_t  gm_backend_ext_none;

/* one (Service, port) as a destination; shared by every rule using it */
typedef struct {
    gm_str_t              ns;
    gm_str_t              name;
    gm_str_t              label;      /* "ns/name:port" */
    gm_sockaddr_t        *endpoints;  /* ready endpoints only */
    /* never NULL: gm_backend_ext_none when no policy sets one */
    const gm_backend_ext_t  *ext;
    /* counts and flags last: no padding between them (memory, issue 12) */
    uint32_t              nendpoints;
    gm_backend_status_e   status;
    /* round-robin cursor: advanced with an atomic add by every process */
    uint32_t              rr;
    uint16_t              port;
    unsigned              h2c:1;      /* appProtocol kubernetes.io/h2c */
} gm_backend_t;

/* compiled HTTPRoute filters, laid out by gm_filter.h */
typedef struct gm_filters_s  gm_filters_t;

/*
 * Its "ns/name:port" is backend->label; its backendRef filters are out of
 * line (memory, issue 12): gm_rule_backend_filters().
 */
typedef struct {
    gm_backend_t        *backend;
    uint32_t             weight;      /* 0: only sessions come to it */
} gm_weighted_backend_t;

/* the names of a rule's route: one block shared by all its rules */
typedef struct {
    gm_str_t                ns;
    gm_str_t                name;
} gm_rule_route_t;

/*
 * A rule's rarely set fields, out of line (memory, issue 12): a rule that
 * sets none points to gm_rule_ext_none, static data, never NULL.
 */
typedef struct {
    const gm_filters_t     *filters;      /* rule filters, or NULL */
    /* per backend, its backendRef filters; NULL when none has any */
    const gm_filters_t    **backend_filters;
    const uint16_t         *retry_codes;
    /* its own sessionPersistence (it beats its backends'), or NULL */
    const gm_session_t     *session;
    /*
     * A cookie's default Path, session_path_len bytes, "" when none: set
     * for a rule with has_session only (gm_compile_backendtraffic.c)
     */
    const char             *session_path;
    int64_t                 timeout_request_ms;   /* GM_DURATION_UNSET */
    int64_t                 timeout_backend_ms;   /* GM_DURATION_UNSET */
    int64_t                 retry_backoff_ms;     /* GM_DURATION_UNSET */
    uint32_t                nretry_codes;
    uint32_t                retry_attempts;       /* retries after the 1st */
    uint16_t                session_path_len;
} gm_rule_ext_t;

extern const gm_rule_ext_t  gm_rule_ext_none;

struct gm_rule_s {
    /*
     * "ns/name/rulename", or "ns/name/rule<index>" when unnamed: a named
     * rule's name is its tail (gm_rule_name())
     */
    gm_str_t                label;
    const gm_rule_route_t  *route;
    gm_weighted_backend_t  *backends;
    const gm_rule_ext_t    *ext;                  /* never NULL */
    /* counts and flags last: no padding between them (memory, issue 12) */
    /* at most GM_MAX_BACKEND_REFS of GM_MAX_WEIGHT: 32 bits */
    uint32_t                total_weight; /* 0 ⇒ nothing can be chosen */
    uint8_t                 rule_index;   /* < GM_MAX_RULES, 16 */
    uint8_t                 nbackends;    /* <= GM_MAX_BACKEND_REFS, 16 */
    unsigned                named:1;         /* the rule has a name */
    unsigned                no_backends:1;   /* rule has no backendRefs */
    unsigned                grpc:1;          /* of a GRPCRoute */
    /* its own or a backend's sessionPersistence: else no session work */
    unsigned                has_session:1;
    unsigned                has_retry:1;
    unsigned                has_filters:1;   /* ext->filters is set */
    unsigned                has_backend_filters:1;
};

/* the backendRef filters of the rule's backend i, or NULL */
#define gm_rule_backend_filters(rule, i)                                     \
    ((rule)->ext->backend_filters ? (rule)->ext->backend_filters[i] : NULL)

/* where an effective field came from: gm_effective_t.origin[] */
#define GM_ORIGIN_OP_OVERRIDE     1       /* gamma_override */
#define GM_ORIGIN_OVERRIDE        2       /* a policy's override */
#define GM_ORIGIN_RULE            3       /* the route rule's own field */
#define GM_ORIGIN_DEFAULT         4       /* a policy's default */
#define GM_ORIGIN_OP_DEFAULT      5       /* gamma_default */
#define gm_origin_level(o)        ((o) & 0x7)
/* a policy's target level (Service, port, route, rule); an op's scope */
#define gm_origin_target(o)       (((o) >> 3) & 0x7)
#define gm_origin_consumer(o)     (((o) >> 6) & 0x1)

/*
 * What a request gets once the five levels are merged, field by field
 * (gm_compile_policy.c): nginx.conf overrides, policy overrides, the
 * rule's own fields, policy defaults, nginx.conf defaults.
 */
typedef struct {
    gm_policy_values_t      v;
    gm_str_t                policies;     /* "ns/a,ns/b": contributors */
    /* the rateLimit's bucket: who set rateLimit.requests, at what target */
    uint64_t                rate_key;
    /* per field (bit i of v.set), for the status dump: its level, ... */
    uint8_t                 origin[GM_PF_COUNT];
    /* ... and the policy's index in policies (origin 2 and 4) */
    uint8_t                 from[GM_PF_COUNT];
} gm_effective_t;

/* the effective settings of one rule (or passthrough) of one frontend */
typedef struct {
    const gm_effective_t    *all;         /* clients of other namespaces */
    /* namespaces with consumer policies here, sorted, and theirs */
    const gm_str_t          *ns;
    const gm_effective_t   **by_ns;
    size_t                   nns;
} gm_policy_set_t;

typedef enum {
    GM_TABLE_NONE = 0,
    GM_TABLE_PRODUCER,
    GM_TABLE_CONSUMER
} gm_table_kind_e;

/*
 * One Service port as seen through its ClusterIPs.  Its namespace, name,
 * "ns/name:port" label and port are its passthrough backend's, never NULL
 * (memory, issue 12): f->passthrough->ns, ...
 */
typedef struct {
    gm_backend_t       *passthrough;      /* the Service's own endpoints */
    const gm_policy_set_t  *passthrough_policy;
    gm_route_table_t   *producer;         /* NULL when no producer routes */
    /* consumer tables sorted by namespace */
    gm_str_t           *consumer_ns;
    gm_route_table_t  **consumer;
    uint32_t            nconsumers;
    uint16_t            port;
} gm_frontend_t;


/*
 * Compiles the store.  Never fails on bad objects (they are logged and left
 * out); returns NULL only when memory runs out.  The result has one
 * reference.
 */
gm_snapshot_t *gm_snapshot_build(gm_store_t *store, const gm_log_t *log);
/*
 * The same, with the snapshot's memory (regexes included) from allocator
 * al: a shared memory zone, for instance.  Then the snapshot holds no
 * pointer outside that memory but to static data, and reading it writes
 * nothing: processes that map the memory at the same address may route
 * with it.  The round-robin cursors are the one field written after the
 * build (atomically, see gm_backend_t).
 */
gm_snapshot_t *gm_snapshot_build_in(gm_store_t *store, const gm_log_t *log,
    const gm_allocator_t *al);

/* how the compiler reads the mesh; zero is the default */
typedef struct {
    /* a cross-namespace backendRef needs a ReferenceGrant */
    unsigned            require_grants:1;
} gm_compile_opts_t;

/* the same, with options (opts NULL: the defaults) */
gm_snapshot_t *gm_snapshot_build_opts(gm_store_t *store,
    const gm_log_t *log, const gm_allocator_t *al,
    const gm_compile_opts_t *opts);

/*
 * The incremental compiler (gm_compile_incr.c): it watches the store and
 * builds each snapshot from the previous one when only EndpointSlices
 * changed (the backends of their Services resolved again, the rest
 * shared), else with a full compile.  The result is the same as
 * gm_snapshot_build_opts() on the same store, but for the serials of its
 * status chunks (gm_route_status.h); one reference is the caller's, the
 * compiler keeps another until its next build.
 */
typedef struct gm_compile_incr_s  gm_compile_incr_t;

gm_compile_incr_t *gm_compile_incr_create(gm_store_t *store);
void gm_compile_incr_destroy(gm_compile_incr_t *ci);
/* *full: 1 when it was a full compile; NULL: out of memory */
gm_snapshot_t *gm_compile_incr_build(gm_compile_incr_t *ci,
    const gm_log_t *log, const gm_allocator_t *al,
    const gm_compile_opts_t *opts, int *full);
/* the next build is a full compile (a reload, an operator's request) */
void gm_compile_incr_reset(gm_compile_incr_t *ci);

void gm_snapshot_ref(gm_snapshot_t *s);
/*
 * The incremental compiler's reference, marked with its process: when
 * that process died without dropping it (a SIGKILL), the zone's unref of
 * the retired generation drops it too (gm_snapshot_unref_retired).
 */
void gm_snapshot_hold(gm_snapshot_t *s);
void gm_snapshot_unhold(gm_snapshot_t *s);
void gm_snapshot_unref_retired(gm_snapshot_t *s);
void gm_snapshot_unref(gm_snapshot_t *s);

uint64_t gm_snapshot_generation(const gm_snapshot_t *s);
void gm_snapshot_set_generation(gm_snapshot_t *s, uint64_t gen);
size_t gm_snapshot_size(const gm_snapshot_t *s);     /* bytes allocated */
size_t gm_snapshot_nservices(const gm_snapshot_t *s);  /* in the store */
/* Service ports with a frontend: all but headless and ExternalName ones */
size_t gm_snapshot_nfrontends(const gm_snapshot_t *s);

/* O(1) lookup by destination; NULL when the address is no ClusterIP:port */
const gm_frontend_t *gm_snapshot_find_frontend(const gm_snapshot_t *s,
    const gm_addr_t *ip, uint16_t port);

/*
 * The consumer table of client namespace ns when there is one, else the
 * producer table, else NULL (*kind GM_TABLE_NONE: pass through).
 */
const gm_route_table_t *gm_frontend_route_table(const gm_frontend_t *f,
    const char *ns, size_t ns_len, gm_table_kind_e *kind);

/* the settings for a client of namespace ns (may be empty) */
const gm_effective_t *gm_policy_set_effective(const gm_policy_set_t *p,
    const char *ns, size_t ns_len);

/* the sessionPersistence of a request of rule (may be NULL) sent to b */
const gm_session_t *gm_session_effective(const gm_rule_t *rule,
    const gm_backend_t *b);

/* the rule's name (the tail of its label), empty when unnamed */
void gm_rule_name(const gm_rule_t *rule, gm_str_t *name);

/* weighted random choice; rnd is uniform in [0, 2^32) */
gm_weighted_backend_t *gm_rule_pick_backend(const gm_rule_t *rule,
    uint32_t rnd);


#endif /* GM_SNAPSHOT_H */
