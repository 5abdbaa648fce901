/*
 * nginx-gamma: the module, its http directives and configuration.  The
 * Kubernetes source's directives are in ngx_http_gamma_kube_conf.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_filter.h"


static ngx_int_t ngx_http_gamma_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_gamma_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_gamma_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gamma_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gamma_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_gamma_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void *ngx_http_gamma_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gamma_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_gamma_source(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gamma_source_file(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf, ngx_str_t *value);
static char *ngx_http_gamma_namespace(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gamma_init_process(ngx_cycle_t *cycle);
static void ngx_http_gamma_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_gamma_reference_grants_modes[] = {
    { ngx_string("ignore"), NGX_HTTP_GAMMA_GRANTS_IGNORE },
    { ngx_string("require"), NGX_HTTP_GAMMA_GRANTS_REQUIRE },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gamma_commands[] = {

    { ngx_string("gamma_source"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gamma_source,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_status_writer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_status_writer,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_status_lease"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_status_lease,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gamma_zone_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_kubernetes_token_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_kube_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gamma_main_conf_t, kube.token_file),
      NULL },

    { ngx_string("gamma_kubernetes_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_kube_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gamma_main_conf_t, kube.ca_file),
      NULL },

    { ngx_string("gamma_kubernetes_namespaces"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_gamma_kube_namespaces,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_kubernetes_label_selector"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_gamma_kube_selector,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_kubernetes_watch_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_kube_time,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gamma_main_conf_t, kube.watch_timeout_s),
      NULL },

    { ngx_string("gamma_kubernetes_stall_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_kube_time,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gamma_main_conf_t, kube.stall_timeout_ms),
      NULL },

    { ngx_string("gamma_kubernetes_watch_idle_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_kube_time,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gamma_main_conf_t, kube.watch_idle_timeout_ms),
      NULL },

    { ngx_string("gamma_kubernetes_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_gamma_kube_backoff,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_kubernetes_page_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_kube_number,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gamma_main_conf_t, kube.page_size),
      NULL },

    { ngx_string("gamma_reference_grants"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gamma_main_conf_t, reference_grants),
      &ngx_http_gamma_reference_grants_modes },

    { ngx_string("gamma_regex_budget"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_regex_budget,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_default"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE3,
      ngx_http_gamma_policy_line,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_override"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE3,
      ngx_http_gamma_policy_line,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_namespace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_http_gamma_namespace,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gamma_loc_conf_t, enable),
      NULL },

    { ngx_string("gamma_escaped_slashes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gamma_loc_conf_t, escaped_slashes),
      &ngx_http_gamma_escaped_slashes_modes },

    { ngx_string("gamma_balancer"),
      NGX_HTTP_UPS_CONF|NGX_CONF_NOARGS,
      ngx_http_gamma_balancer,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gamma_module_ctx = {
    ngx_http_gamma_preconfiguration,       /* preconfiguration */
    ngx_http_gamma_postconfiguration,      /* postconfiguration */

    ngx_http_gamma_create_main_conf,       /* create main configuration */
    ngx_http_gamma_init_main_conf,         /* init main configuration */

    ngx_http_gamma_create_srv_conf,        /* create server configuration */
    ngx_http_gamma_merge_srv_conf,         /* merge server configuration */

    ngx_http_gamma_create_loc_conf,        /* create location configuration */
    ngx_http_gamma_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_gamma_module = {
    NGX_MODULE_V1,
    &ngx_http_gamma_module_ctx,            /* module context */
    ngx_http_gamma_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gamma_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gamma_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gamma_preconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_gamma_zone_add_variables(cf) != NGX_OK
        || ngx_http_gamma_session_add_variables(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_gamma_add_variables(cf);
}


static ngx_int_t
ngx_http_gamma_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_gamma_grpc_init(cf) != NGX_OK
        || ngx_http_gamma_filter_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_gamma_router_init(cf);
}


static void *
ngx_http_gamma_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gamma_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     gmcf->source = NGX_HTTP_GAMMA_SOURCE_NONE;
     *     gmcf->file_path = { 0, NULL };
     *     gmcf->api_url = { 0, NULL };
     *     gmcf->worker = NULL;
     *     gmcf->source_process = NULL;
     *     gmcf->source_retry = 0;
     *     gmcf->shm_zone = NULL;
     *     gmcf->zone_size = 0;
     *     gmcf->helper_dir = { 0, NULL };
     *     gmcf->kube = { 0 }: every field at its default;
     *     gmcf->pod_namespace = NULL;
     */

    gmcf->reference_grants = NGX_CONF_UNSET_UINT;

    return gmcf;
}


static char *
ngx_http_gamma_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    if (gmcf->source != NGX_HTTP_GAMMA_SOURCE_KUBERNETES
        && gmcf->kube_directives)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gamma_kubernetes_*\" directives require "
                           "\"gamma_source kubernetes\"");
        return NGX_CONF_ERROR;
    }

    if (gmcf->source == NGX_HTTP_GAMMA_SOURCE_NONE) {
        if (gmcf->zone_size) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"gamma_zone\" requires \"gamma_source\"");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_http_gamma_source_conf(cf, gmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (gmcf->source == NGX_HTTP_GAMMA_SOURCE_KUBERNETES
        && ngx_http_gamma_kube_init_main_conf(cf, gmcf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return ngx_http_gamma_status_init_main_conf(cf, gmcf);
}

static void *
ngx_http_gamma_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_gamma_srv_conf_t  *gscf;

    gscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gamma_srv_conf_t));
    if (gscf == NULL) {
        return NULL;
    }

    gscf->namespace = NGX_CONF_UNSET_PTR;

    return gscf;
}


static char *
ngx_http_gamma_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gamma_srv_conf_t  *prev = parent;
    ngx_http_gamma_srv_conf_t  *conf = child;

    ngx_http_gamma_main_conf_t  *gmcf;

    ngx_conf_merge_ptr_value(conf->namespace, prev->namespace, NULL);

    if (conf->namespace == NULL) {
        /* a sidecar in a cluster: its own namespace */
        gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gamma_module);
        conf->namespace = gmcf->pod_namespace;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gamma_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gamma_loc_conf_t  *glcf;

    glcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gamma_loc_conf_t));
    if (glcf == NULL) {
        return NULL;
    }

    glcf->enable = NGX_CONF_UNSET;
    glcf->escaped_slashes = NGX_CONF_UNSET_UINT;

    return glcf;
}


static char *
ngx_http_gamma_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gamma_loc_conf_t  *prev = parent;
    ngx_http_gamma_loc_conf_t  *conf = child;

    ngx_http_gamma_main_conf_t  *gmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_uint_value(conf->escaped_slashes, prev->escaped_slashes,
                              NGX_HTTP_GAMMA_SLASHES_REJECT);

    if (conf->enable) {
        gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gamma_module);

        if (gmcf->source == NGX_HTTP_GAMMA_SOURCE_NONE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"gamma on\" requires \"gamma_source\" "
                               "in the http block");
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gamma_source(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    ngx_str_t  *value;

    if (gmcf->source != NGX_HTTP_GAMMA_SOURCE_NONE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strncmp(value[1].data, "file:", 5) == 0) {
        if (cf->args->nelts != 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "extra parameter \"%V\" in \"gamma_source\" "
                               "directive", &value[2]);
            return NGX_CONF_ERROR;
        }

        return ngx_http_gamma_source_file(cf, gmcf, &value[1]);
    }

    if (ngx_strcmp(value[1].data, "kubernetes") == 0) {
        if (cf->args->nelts == 3
            && ngx_strncmp(value[2].data, "https://", 8) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid API server URL \"%V\" in "
                               "\"gamma_source\" directive, it must start "
                               "with \"https://\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        return ngx_http_gamma_kube_source(cf, gmcf);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"gamma_source\" directive, "
                       "it must be \"file:<path>\" or \"kubernetes [<url>]\"",
                       &value[1]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_gamma_source_file(ngx_conf_t *cf, ngx_http_gamma_main_conf_t *gmcf,
    ngx_str_t *value)
{
    ngx_str_t        path;
    ngx_file_info_t  fi;

    path.data = value->data + 5;
    path.len = value->len - 5;

    if (path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty path in \"gamma_source\" directive");
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* nginx -t says so now rather than a worker later */
    if (ngx_file_info(path.data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "gamma_source \"%V\" cannot be read", &path);
        return NGX_CONF_ERROR;
    }

    gmcf->source = NGX_HTTP_GAMMA_SOURCE_FILE;
    gmcf->file_path = path;

    return NGX_CONF_OK;
}


static char *
ngx_http_gamma_namespace(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_srv_conf_t  *gscf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (gscf->namespace != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    gscf->namespace = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (gscf->namespace == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = gscf->namespace;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (gscf->namespace->lengths == NULL
        && ngx_http_gamma_valid_namespace(&value[1]) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid namespace \"%V\" in \"gamma_namespace\" "
                           "directive, it must be a DNS label (lowercase "
                           "letters, digits and \"-\", at most 63)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_gamma_valid_namespace(ngx_str_t *ns)
{
    u_char      c;
    ngx_uint_t  i;

    if (ns->len == 0 || ns->len > NGX_HTTP_GAMMA_NAMESPACE_MAX
        || ns->data[0] == '-' || ns->data[ns->len - 1] == '-')
    {
        return NGX_ERROR;
    }

    for (i = 0; i < ns->len; i++) {
        c = ns->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Workers route; the source process (the cache-manager-type helper)
 * starts its watcher from its path manager; without a master, the one
 * process does both.
 */
static ngx_int_t
ngx_http_gamma_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gamma_main_conf_t  *gmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    gmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_gamma_module);

    if (gmcf == NULL || gmcf->source == NGX_HTTP_GAMMA_SOURCE_NONE) {
        return NGX_OK;
    }

    if (ngx_process == NGX_PROCESS_SINGLE
        && ngx_http_gamma_source_start(cycle, gmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_gamma_worker_init(cycle, gmcf);
}


static void
ngx_http_gamma_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_gamma_module);

    if (gmcf == NULL) {
        return;
    }

    if (gmcf->worker) {
        ngx_http_gamma_worker_exit(gmcf);
    }

    ngx_http_gamma_tls_exit(gmcf);
    ngx_http_gamma_source_stop(gmcf);
}
