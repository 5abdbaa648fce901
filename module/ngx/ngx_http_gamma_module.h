/*
 * nginx-gamma: types shared by the nginx glue.
 */

#ifndef NGX_HTTP_GAMMA_MODULE_H
#define NGX_HTTP_GAMMA_MODULE_H


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gm_match.h"
#include "gm_snapshot.h"
#include "gm_source.h"


/*
 * The glue's defaults and limits, in one place (the source layer's are in
 * gm_source.h).
 */

/* a request past the regex budget (gm_limits.h) is logged once a second */
#define NGX_HTTP_GAMMA_REGEX_LOG_S        1
/* a worker waits this long at start for its first file snapshot */
#define NGX_HTTP_GAMMA_FIRST_FILE_MS      2000
/* ... and for the first from the API server, which may be slow */
#define NGX_HTTP_GAMMA_FIRST_KUBE_MS      1000
/* ... looking this often */
#define NGX_HTTP_GAMMA_FIRST_POLL_MS      5
/* an idle worker adopts a new generation (and lets the old go) this often */
#define NGX_HTTP_GAMMA_ADOPT_MS           1000
/* the source process frees unused generations this often */
#define NGX_HTTP_GAMMA_RECLAIM_MS         250
/*
 * ... and tries again to start its watcher thread after a failure, twice
 * as late after each (libcurl missing: one line a minute at most)
 */
#define NGX_HTTP_GAMMA_SOURCE_RETRY_MS    1000
#define NGX_HTTP_GAMMA_SOURCE_RETRY_MAX   60000
/* a namespace is a DNS label */
#define NGX_HTTP_GAMMA_NAMESPACE_MAX      63


typedef enum {
    NGX_HTTP_GAMMA_SOURCE_NONE = 0,
    NGX_HTTP_GAMMA_SOURCE_FILE,
    NGX_HTTP_GAMMA_SOURCE_KUBERNETES
} ngx_http_gamma_source_e;


typedef struct ngx_http_gamma_worker_s  ngx_http_gamma_worker_t;
typedef struct ngx_http_gamma_gen_s     ngx_http_gamma_gen_t;
typedef struct ngx_http_gamma_source_s  ngx_http_gamma_source_t;

/* a generation a worker holds: the zone's snapshot, the worker's count */
struct ngx_http_gamma_gen_s {
    gm_snapshot_t            *snapshot;      /* in the zone, read only */
    uint64_t                  generation;
    ngx_uint_t                refs;          /* requests, +1 while current */
    ngx_http_gamma_worker_t  *worker;
    ngx_http_gamma_gen_t     *prev;
    ngx_http_gamma_gen_t     *next;          /* newer */
};

/* what one worker owns: its generations, its slot and its regex scratch */
struct ngx_http_gamma_worker_s {
    ngx_log_t                      *log;
    struct ngx_http_gamma_shm_s    *sh;
    struct ngx_http_gamma_slot_s   *slot;
    ngx_http_gamma_gen_t           *current;   /* NULL before the first */
    uint64_t                        generation;  /* the zone's, adopted */
    ngx_http_gamma_gen_t           *held;      /* the oldest first */
    ngx_http_gamma_gen_t           *last;
    ngx_event_t                     timer;     /* adopts while idle */
    gm_matcher_t                   *matcher;
    uint64_t                        rnd;       /* xorshift state */
};


/* a worker's backend TLS state (ngx_http_gamma_backend_tls.c) */
typedef struct ngx_http_gamma_tls_s  ngx_http_gamma_tls_t;


typedef struct {
    ngx_http_gamma_source_e   source;
    ngx_str_t                 file_path;     /* zero-terminated */
    ngx_str_t                 api_url;       /* zero-terminated */
    ngx_http_gamma_worker_t  *worker;        /* in a worker */
    ngx_http_gamma_source_t  *source_process;  /* where the watcher runs */
    ngx_msec_t                source_retry;  /* after a failed start */
    ngx_shm_zone_t           *shm_zone;
    size_t                    zone_size;
    ngx_str_t                 helper_dir;
    gm_kube_conf_t            kube;          /* strings from cf->pool */
    /* in a cluster: the pod's namespace, the default gamma_namespace */
    ngx_http_complex_value_t *pod_namespace;
    unsigned                  in_cluster:1;
    unsigned                  kube_directives:1;
    /* ngx_http_gamma_status_conf.c */
    gm_status_writer_conf_t   status;
    unsigned                  status_writer:1;
    unsigned                  status_writer_set:1;
    /* gamma_reference_grants: NGX_HTTP_GAMMA_GRANTS_* */
    ngx_uint_t                reference_grants;
    /* ngx_http_gamma_regex_budget.c: 0 is GM_REGEX_BUDGET */
    ngx_uint_t                regex_budget;
    /* gamma_default and gamma_override (ngx_http_gamma_policy_conf.c) */
    ngx_array_t              *operator_lines;
    gm_operator_conf_t        operator_conf;
    ngx_http_gamma_tls_t     *tls;           /* per worker, on first use */
    ngx_shm_zone_t           *counters;      /* ngx_http_gamma_counters.h */
} ngx_http_gamma_main_conf_t;


typedef struct {
    ngx_http_complex_value_t  *namespace;
} ngx_http_gamma_srv_conf_t;


#define NGX_HTTP_GAMMA_GRANTS_IGNORE    0
#define NGX_HTTP_GAMMA_GRANTS_REQUIRE   1

#define NGX_HTTP_GAMMA_SLASHES_REJECT   0
#define NGX_HTTP_GAMMA_SLASHES_DECODE   1
#define NGX_HTTP_GAMMA_SLASHES_KEEP     2

typedef struct {
    ngx_flag_t                 enable;
    ngx_uint_t                 escaped_slashes;  /* ngx_http_gamma_path.c */
} ngx_http_gamma_loc_conf_t;


#define NGX_HTTP_GAMMA_TIMEOUT_NONE      0
#define NGX_HTTP_GAMMA_TIMEOUT_REQUEST   1
#define NGX_HTTP_GAMMA_TIMEOUT_BACKEND   2


typedef struct ngx_http_gamma_ctx_s          ngx_http_gamma_ctx_t;
typedef struct ngx_http_gamma_peer_timers_s  ngx_http_gamma_peer_timers_t;

/* per request: gamma_balancer's state (ngx_http_gamma_balancer.c) */
typedef struct {
    ngx_http_request_t     *request;
    ngx_http_gamma_ctx_t   *ctx;
    const gm_sockaddr_t    *endpoints;
    ngx_uint_t              nendpoints;
    ngx_uint_t              start;       /* the first endpoint tried */
    ngx_uint_t              attempt;
    const gm_sockaddr_t    *counted;     /* the endpoint counted now */
    ngx_str_t               name;
    ngx_msec_t              connect_timeout;
    unsigned                least:1;     /* count requests in flight */
    unsigned                own_conf:1;  /* u->conf is this request's copy */
    ngx_http_gamma_peer_timers_t  *timers;   /* or NULL */
    ngx_connection_t       *pending;     /* connect deferred by backoff */
    ngx_atomic_uint_t       pending_number;
} ngx_http_gamma_peer_data_t;

/*
 * Per request: the routing decision and the snapshot it points into.  It
 * lives in every request's pool, so it is kept small: the pool's blocks
 * are 4 KB, and a few bytes more can cost a request one more block.
 */
struct ngx_http_gamma_ctx_s {
    ngx_http_gamma_gen_t      *gen;
    gm_snapshot_t             *snapshot;
    /* the router zeroes what follows, up to "endpoint", for each request */
    const gm_frontend_t       *frontend;
    const gm_rule_t           *rule;
    /* the merged policy settings of this request, never NULL once routed */
    const gm_effective_t      *eff;
    gm_weighted_backend_t     *weighted;      /* the backendRef chosen */
    gm_backend_t              *backend;
    /* sessionPersistence (ngx_http_gamma_session.c), or NULL */
    const gm_session_t        *session;
    /* timeouts.request: allocated for the rules that have one */
    ngx_event_t               *request_timer;
    /* HTTPRoute filters' state (ngx_http_gamma_filter.h), or NULL */
    struct ngx_http_gamma_filter_ctx_s  *filter;
    gm_table_kind_e            table_kind;
    uint16_t                   attempts;      /* tries sent to backends */
    uint8_t                    timed_out;     /* NGX_HTTP_GAMMA_TIMEOUT_* */
    /* 1: a retry was refused by the retry budget (503), 2: answered so */
    uint8_t                    retry_denied;
    uint32_t                   session_ep;    /* 1 + the token's endpoint */
    unsigned                   session_state:2;
    unsigned                   session_seen:1;    /* a token came */
    unsigned                   is_direct:1;
    /* gamma_escaped_slashes keep: r->uri is the path as sent, escaped */
    unsigned                   path_escaped:1;
    unsigned                   h2c:1;         /* @gamma_h2c was looked for */
    /*
     * Set to NULL apart: 80 bytes zeroed above are a few vector stores,
     * 88 a string instruction that counts one a word.
     */
    const gm_sockaddr_t       *endpoint;      /* last one the balancer chose */
    /* these are set where they are used: */
    /* releases gen with the request pool, without an allocation */
    ngx_pool_cleanup_t         cleanup;
    gm_sockaddr_t             *direct;        /* is_direct: not a Service */
    ngx_http_gamma_peer_data_t  peer;         /* gamma_balancer's */
};


extern ngx_module_t  ngx_http_gamma_module;


/* ngx_http_gamma_source.c: the one process running the watcher */
ngx_int_t ngx_http_gamma_source_conf(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf);
ngx_int_t ngx_http_gamma_source_start(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf);
void ngx_http_gamma_source_stop(ngx_http_gamma_main_conf_t *gmcf);

/* ngx_http_gamma_thread_log.c: ngx_log_error() for the watcher thread */
void ngx_http_gamma_thread_log(ngx_uint_t level, ngx_log_t *log,
    const char *fmt, ...);

/* ngx_http_gamma_worker.c: the generations a worker routes with */
ngx_int_t ngx_http_gamma_worker_init(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf);
void ngx_http_gamma_worker_exit(ngx_http_gamma_main_conf_t *gmcf);
void ngx_http_gamma_worker_adopt(ngx_http_gamma_worker_t *w);
void ngx_http_gamma_worker_release(ngx_http_gamma_gen_t *gen);

/* ngx_http_gamma_zone.c */
char *ngx_http_gamma_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gamma_zone_add_variables(ngx_conf_t *cf);

ngx_int_t ngx_http_gamma_valid_namespace(ngx_str_t *ns);

/* ngx_http_gamma_kube_conf.c */
char *ngx_http_gamma_kube_source(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf);
char *ngx_http_gamma_kube_init_main_conf(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf);
char *ngx_http_gamma_kube_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gamma_kube_namespaces(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gamma_kube_selector(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gamma_kube_time(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gamma_kube_backoff(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gamma_kube_number(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_gamma_status_conf.c */
char *ngx_http_gamma_status_writer(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gamma_status_lease(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gamma_status_init_main_conf(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf);
/* ngx_http_gamma_policy_conf.c */
char *ngx_http_gamma_policy_line(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gamma_policy_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* ngx_http_gamma_policy_var.c: $gamma_policy's names */
ngx_int_t ngx_http_gamma_policy_names(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_str_t *out);

/* ngx_http_gamma_lb.c; without a loadBalancer, round robin (the cursor) */
#define ngx_http_gamma_lb_round_robin(ctx, b)                                \
    ((ctx)->eff == NULL || !((ctx)->eff->v.set & GM_PF_LB_TYPE)             \
     || (b)->nendpoints < 2)
ngx_uint_t ngx_http_gamma_lb_start(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, gm_backend_t *b, ngx_uint_t *least);
void ngx_http_gamma_lb_active(const gm_sockaddr_t *ep, ngx_int_t delta);
ngx_int_t ngx_http_gamma_request_header(ngx_http_request_t *r,
    ngx_str_t *lname, ngx_str_t *value);
ngx_int_t ngx_http_gamma_request_cookie(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);

/* ngx_http_gamma_session.c */
ngx_int_t ngx_http_gamma_session_header(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);
ngx_int_t ngx_http_gamma_session_add_variables(ngx_conf_t *cf);
gm_weighted_backend_t *ngx_http_gamma_session_route(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, const gm_rule_t *rule);
void ngx_http_gamma_session_start(ngx_http_gamma_ctx_t *ctx,
    const gm_rule_t *rule, const gm_backend_t *b);
void ngx_http_gamma_session_passthrough(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);

/* ngx_http_gamma_retry_budget.c */
void ngx_http_gamma_retry_budget_request(ngx_http_request_t *r,
    const gm_backend_traffic_t *tr);
ngx_int_t ngx_http_gamma_retry_budget_take(ngx_http_request_t *r,
    const gm_backend_traffic_t *tr);
ngx_int_t ngx_http_gamma_retry_denied(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);

/* ngx_http_gamma_ratelimit.c; called only when the rule has a rateLimit */
#define ngx_http_gamma_rate_limited(ctx)                                     \
    ((ctx)->eff != NULL && (ctx)->eff->rate_key != 0)
ngx_int_t ngx_http_gamma_rate_limit(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);

/* ngx_http_gamma_backend_tls.c */
ngx_int_t ngx_http_gamma_tls_check(ngx_http_request_t *r, gm_backend_t *b);
void ngx_http_gamma_tls_exit(ngx_http_gamma_main_conf_t *gmcf);
ngx_int_t ngx_http_gamma_tls_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_conf_t *conf, const gm_backend_tls_t *tls);

ngx_int_t ngx_http_gamma_router_init(ngx_conf_t *cf);

/* ngx_http_gamma_path.c */
extern ngx_conf_enum_t  ngx_http_gamma_escaped_slashes_modes[];
/*
 * Not the request line's URI any more, or one without a %, a dot or
 * double slash, or an empty path: $uri is the path as sent, nothing to
 * check (the test ngx_http_gamma_path() makes first, inline).
 */
#define ngx_http_gamma_path_as_sent(r)                                       \
    (!(r)->valid_unparsed_uri                                                \
     || (!(r)->quoted_uri && !(r)->complex_uri && !(r)->empty_path_in_uri))
ngx_int_t ngx_http_gamma_path(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);

/* ngx_http_gamma_regex_budget.c */
char *ngx_http_gamma_regex_budget(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
uint32_t ngx_http_gamma_regex_budget_steps(ngx_http_gamma_main_conf_t *gmcf);
ngx_int_t ngx_http_gamma_regex_budget_exceeded(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, const gm_rule_t *rule);

char *ngx_http_gamma_balancer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

ngx_int_t ngx_http_gamma_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_gamma_add_variable_table(ngx_conf_t *cf,
    ngx_http_variable_t *vars);

/* ngx_http_gamma_grpc.c */
ngx_int_t ngx_http_gamma_grpc_init(ngx_conf_t *cf);
ngx_int_t ngx_http_gamma_grpc_request(ngx_http_request_t *r);
ngx_int_t ngx_http_gamma_grpc_authority(ngx_http_request_t *r);
ngx_int_t ngx_http_gamma_grpc_header(ngx_http_request_t *r);
void ngx_http_gamma_grpc_h2c(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);
/*
 * A request head that grpc_pass wrote starts with the HTTP/2 preface or
 * a frame (a 24-bit length below 16384: its first octet is 0); one that
 * proxy_pass wrote starts with the method.
 */
#define ngx_http_gamma_grpc_head(b)                                          \
    ((b)->last > (b)->pos && ((b)->pos[0] == '\0' || (b)->pos[0] == 'P'))

/* ngx_http_gamma_timeout.c; called only with a timeouts.request */
#define ngx_http_gamma_request_timeout_set(ctx)                              \
    ((ctx)->eff != NULL && ((ctx)->eff->v.set & GM_PF_TIMEOUT_REQUEST))
ngx_int_t ngx_http_gamma_timeout_start(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);
void ngx_http_gamma_upstream_timeout(ngx_http_upstream_t *u,
    ngx_uint_t last);


#endif /* NGX_HTTP_GAMMA_MODULE_H */
