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

/* PCRE2 limits of a route regex: a pathological one simply does not match */
#define NGX_HTTP_GAMMA_REGEX_MATCH_LIMIT  100000
#define NGX_HTTP_GAMMA_REGEX_DEPTH_LIMIT  1000
/* a worker waits this long at start for its first file snapshot */
#define NGX_HTTP_GAMMA_FIRST_FILE_MS      2000
/* ... and for the first from the API server, which may be slow */
#define NGX_HTTP_GAMMA_FIRST_KUBE_MS      500
/* a namespace is a DNS label */
#define NGX_HTTP_GAMMA_NAMESPACE_MAX      63


typedef enum {
    NGX_HTTP_GAMMA_SOURCE_NONE = 0,
    NGX_HTTP_GAMMA_SOURCE_FILE,
    NGX_HTTP_GAMMA_SOURCE_KUBERNETES
} ngx_http_gamma_source_e;


/* what one worker owns: the thread, the hand-off and the live snapshot */
typedef struct {
    ngx_log_t              *log;
    gm_watcher_t           *watcher;
    ngx_connection_t       *notify;       /* the eventfd in the event loop */
    pthread_mutex_t         lock;
    gm_snapshot_t          *pending;      /* under lock */
    gm_snapshot_t          *current;      /* event loop only */
    gm_matcher_t           *matcher;
    uint64_t                rnd;          /* xorshift state */
} ngx_http_gamma_worker_t;


typedef struct {
    ngx_http_gamma_source_e   source;
    ngx_str_t                 file_path;     /* zero-terminated */
    ngx_str_t                 api_url;       /* zero-terminated */
    ngx_http_gamma_worker_t  *worker;
    gm_kube_conf_t            kube;          /* strings from cf->pool */
    /* in a cluster: the pod's namespace, the default gamma_namespace */
    ngx_http_complex_value_t *pod_namespace;
    unsigned                  in_cluster:1;
    unsigned                  kube_directives:1;
} ngx_http_gamma_main_conf_t;


typedef struct {
    ngx_http_complex_value_t  *namespace;
} ngx_http_gamma_srv_conf_t;


typedef struct {
    ngx_flag_t                 enable;
} ngx_http_gamma_loc_conf_t;


#define NGX_HTTP_GAMMA_TIMEOUT_NONE      0
#define NGX_HTTP_GAMMA_TIMEOUT_REQUEST   1
#define NGX_HTTP_GAMMA_TIMEOUT_BACKEND   2


/* per request: the routing decision and the snapshot it points into */
typedef struct {
    gm_snapshot_t             *snapshot;
    const gm_frontend_t       *frontend;
    const gm_rule_t           *rule;
    gm_table_kind_e            table_kind;
    gm_weighted_backend_t     *weighted;      /* the backendRef chosen */
    gm_backend_t              *backend;
    gm_sockaddr_t              direct;        /* passthrough, not a Service */
    unsigned                   is_direct:1;
    const gm_sockaddr_t       *endpoint;      /* last one the balancer chose */
    ngx_uint_t                 attempts;      /* tries sent to backends */
    ngx_uint_t                 timed_out;     /* NGX_HTTP_GAMMA_TIMEOUT_* */
    ngx_event_t                request_timer; /* timeouts.request */
    /* HTTPRoute filters' state (ngx_http_gamma_filter.h), or NULL */
    struct ngx_http_gamma_filter_ctx_s  *filter;
} ngx_http_gamma_ctx_t;


extern ngx_module_t  ngx_http_gamma_module;


ngx_int_t ngx_http_gamma_watcher_init(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf);
void ngx_http_gamma_watcher_exit(ngx_http_gamma_main_conf_t *gmcf);

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

ngx_int_t ngx_http_gamma_router_init(ngx_conf_t *cf);

char *ngx_http_gamma_balancer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

ngx_int_t ngx_http_gamma_add_variables(ngx_conf_t *cf);

ngx_int_t ngx_http_gamma_timeout_start(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);
void ngx_http_gamma_upstream_timeout(ngx_http_upstream_t *u,
    ngx_uint_t last);


#endif /* NGX_HTTP_GAMMA_MODULE_H */
