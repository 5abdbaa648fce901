/*
 * nginx-gamma: the observability module (ngx_http_gamma_metrics_module):
 * request counters in a shared zone, readiness, the status dump and the
 * admin page.  It reads the routing decision of ngx_http_gamma_module's
 * request context and never changes it.
 */

#ifndef NGX_HTTP_GAMMA_METRICS_H
#define NGX_HTTP_GAMMA_METRICS_H


#include "ngx_http_gamma_module.h"
#include "gm_snapshot_walk.h"


/*
 * Rows of counters: one per worker process (row 0 is shared, with atomic
 * adds, by any worker beyond the others, e.g. during a reload).
 */
#define NGX_HTTP_GAMMA_METRICS_ROWS     16

/* "ns/name" + "ns/name" + "ns/name:port", Kubernetes' longest */
#define NGX_HTTP_GAMMA_KEY_MAX          584

#define NGX_HTTP_GAMMA_KEY_FREE         0
#define NGX_HTTP_GAMMA_KEY_BUSY         1
#define NGX_HTTP_GAMMA_KEY_READY        2

/* Prometheus' default buckets, in ms, without +Inf */
#define NGX_HTTP_GAMMA_NBUCKETS         11


/* one series' counters, in a row: indexes of ngx_atomic_uint_t */
enum {
    NGX_HTTP_GAMMA_C_STATUS = 0,        /* 1xx .. 5xx, then other */
    NGX_HTTP_GAMMA_C_BUCKET = 6,        /* not cumulative here */
    NGX_HTTP_GAMMA_C_SUM_MS = 6 + NGX_HTTP_GAMMA_NBUCKETS,
    NGX_HTTP_GAMMA_C_RETRIES,
    NGX_HTTP_GAMMA_C_TIMEOUT_REQUEST,
    NGX_HTTP_GAMMA_C_TIMEOUT_BACKEND,
    NGX_HTTP_GAMMA_C_MIRROR_FAILURES,
    NGX_HTTP_GAMMA_C_NO_ENDPOINT,
    NGX_HTTP_GAMMA_NCOUNTERS
};


/* the labels of a series: service, route and backend texts, then kind */
typedef struct {
    uint64_t                 hash;
    ngx_atomic_t             state;        /* NGX_HTTP_GAMMA_KEY_* */
    uint16_t                 service_len;
    uint16_t                 route_len;
    uint16_t                 backend_len;
    uint8_t                  kind;         /* gm_table_kind_e */
    u_char                   text[NGX_HTTP_GAMMA_KEY_MAX];
} ngx_http_gamma_series_key_t;

/* what one worker says about itself */
typedef struct {
    ngx_atomic_t             pid;          /* 0: free */
    ngx_atomic_t             generation;   /* the snapshot it serves */
    ngx_atomic_t             synced;       /* ... built from a full sync */
    ngx_atomic_t             dropped;      /* requests with no series */
} ngx_http_gamma_row_t;

typedef struct {
    ngx_uint_t               nseries;      /* a power of two */
    ngx_atomic_t             used;
    ngx_http_gamma_row_t     rows[NGX_HTTP_GAMMA_METRICS_ROWS];
    ngx_http_gamma_series_key_t  *keys;
    ngx_atomic_uint_t       *counters;     /* [row][series][counter] */
} ngx_http_gamma_metrics_sh_t;


typedef struct {
    uint64_t                 generation;
    const void              *frontend;
    const void              *rule;
    const void              *backend;
    ngx_uint_t               kind;
    ngx_int_t                index;
} ngx_http_gamma_series_cache_t;


typedef struct {
    ngx_shm_zone_t          *shm_zone;     /* NULL: metrics off */
    ngx_flag_t               off;
    ngx_http_gamma_metrics_sh_t   *sh;
    ngx_slab_pool_t         *shpool;
    ngx_uint_t               row;          /* this worker's, 0: shared */
    ngx_http_gamma_series_cache_t *cache;  /* this worker's */
    /* the entry the last request counted in, tried before the hash */
    ngx_http_gamma_series_cache_t *last;
} ngx_http_gamma_metrics_main_conf_t;


/* a response body built in pieces */
typedef struct {
    ngx_pool_t              *pool;
    ngx_chain_t             *first;
    ngx_chain_t            **last;
    ngx_buf_t               *buf;
    ngx_uint_t               failed;
} ngx_http_gamma_out_t;

/* a Service port and its ClusterIPs, as the status page shows it */
typedef struct {
    const gm_frontend_t     *frontend;
    gm_addr_t                ips[4];
    ngx_uint_t               nips;
} ngx_http_gamma_svc_t;


extern ngx_module_t  ngx_http_gamma_metrics_module;


/* ngx_http_gamma_metrics.c */
void ngx_http_gamma_metrics_adopt(ngx_cycle_t *cycle, gm_snapshot_t *s);
gm_snapshot_t *ngx_http_gamma_metrics_snapshot(ngx_http_request_t *r);

/* ngx_http_gamma_metrics_export.c */
ngx_int_t ngx_http_gamma_metrics_handler(ngx_http_request_t *r);

/* ngx_http_gamma_ready.c */
ngx_int_t ngx_http_gamma_ready_handler(ngx_http_request_t *r);

/* ngx_http_gamma_status.c */
ngx_int_t ngx_http_gamma_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gamma_status_services(ngx_http_request_t *r,
    gm_snapshot_t *s, ngx_str_t *only, ngx_array_t *out);
const char *ngx_http_gamma_match_type_name(gm_match_type_e type);
const char *ngx_http_gamma_filter_name(gm_filter_type_e type);
const char *ngx_http_gamma_backend_status_name(gm_backend_status_e st);

/* ngx_http_gamma_status_html.c */
ngx_int_t ngx_http_gamma_status_html(ngx_http_request_t *r,
    gm_snapshot_t *s, ngx_array_t *svcs, ngx_http_gamma_out_t *out);

/* ngx_http_gamma_status_routes.c */
void ngx_http_gamma_json_route_status(ngx_http_gamma_out_t *out,
    gm_snapshot_t *s, ngx_str_t *only);
void ngx_http_gamma_html_route_status(ngx_http_gamma_out_t *out,
    gm_snapshot_t *s);

/* ngx_http_gamma_status_policy.c; rule NULL: passthrough's, scope its */
void ngx_http_gamma_json_effective(ngx_http_gamma_out_t *out,
    const gm_policy_set_t *set, const gm_rule_t *rule,
    const gm_backend_t *passthrough, const gm_str_t *scope);
void ngx_http_gamma_html_effective(ngx_http_gamma_out_t *out,
    const gm_policy_set_t *set, const gm_rule_t *rule,
    const gm_backend_t *passthrough, const gm_str_t *scope);

/* output helpers, ngx_http_gamma_status.c */
void ngx_http_gamma_out_init(ngx_http_gamma_out_t *out, ngx_pool_t *pool);
void ngx_http_gamma_out(ngx_http_gamma_out_t *out, const char *fmt, ...);
void ngx_http_gamma_out_json(ngx_http_gamma_out_t *out, const char *s,
    size_t len);
void ngx_http_gamma_out_html(ngx_http_gamma_out_t *out, const char *s,
    size_t len);
ngx_int_t ngx_http_gamma_out_send(ngx_http_request_t *r,
    ngx_http_gamma_out_t *out, ngx_uint_t status, const char *type);


#endif /* NGX_HTTP_GAMMA_METRICS_H */
