/*
 * nginx-gamma: the module, its directives and configuration.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"
#include "gm_kube_auth.h"
#include "gm_kube_resource.h"
#include "ngx_http_gamma_filter.h"


#define NGX_HTTP_GAMMA_SA_DIR  "/var/run/secrets/kubernetes.io/serviceaccount"


static ngx_int_t ngx_http_gamma_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_gamma_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_gamma_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gamma_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_gamma_init_in_cluster(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf);
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
static char *ngx_http_gamma_source_kube(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf);
static char *ngx_http_gamma_kube_url(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf, const char *host, const char *port);
static char *ngx_http_gamma_kube_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gamma_kube_namespaces(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_gamma_kube_selector(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gamma_kube_time(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gamma_kube_backoff(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gamma_kube_number(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gamma_namespace(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gamma_valid_namespace(ngx_str_t *ns);
static ngx_int_t ngx_http_gamma_init_process(ngx_cycle_t *cycle);
static void ngx_http_gamma_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gamma_commands[] = {

    { ngx_string("gamma_source"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gamma_source,
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
    return ngx_http_gamma_add_variables(cf);
}


static ngx_int_t
ngx_http_gamma_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_gamma_filter_init(cf) != NGX_OK) {
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
     *     gmcf->kube = { 0 }: every field at its default;
     *     gmcf->pod_namespace = NULL;
     */

    return gmcf;
}


static char *
ngx_http_gamma_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    if (gmcf->source != NGX_HTTP_GAMMA_SOURCE_KUBERNETES) {
        if (gmcf->kube_directives) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"gamma_kubernetes_*\" directives require "
                               "\"gamma_source kubernetes\"");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    gmcf->kube.url = (const char *) gmcf->api_url.data;

    if (gmcf->in_cluster) {
        return ngx_http_gamma_init_in_cluster(cf, gmcf);
    }

    return NGX_CONF_OK;
}


/*
 * In a pod: the service account's token, CA and namespace.  The namespace
 * file is the one next to the token file, so tests can point elsewhere.
 */
static char *
ngx_http_gamma_init_in_cluster(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf)
{
    char                      *ns, *slash;
    size_t                     len;
    ngx_str_t                  name;
    ngx_http_complex_value_t  *cv;

    if (gmcf->kube.token_file == NULL) {
        gmcf->kube.token_file = NGX_HTTP_GAMMA_SA_DIR "/token";
    }

    if (gmcf->kube.ca_file == NULL) {
        gmcf->kube.ca_file = NGX_HTTP_GAMMA_SA_DIR "/ca.crt";
    }

    slash = strrchr(gmcf->kube.token_file, '/');
    len = slash ? (size_t) (slash - gmcf->kube.token_file) : 1;

    name.data = ngx_pnalloc(cf->pool, len + sizeof("/namespace"));
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(name.data, "%*s/namespace%Z", len,
                slash ? gmcf->kube.token_file : ".");

    ns = gm_kube_read_file((char *) name.data, 253);

    if (ns == NULL || ns[0] == '\0') {
        ngx_conf_log_error(NGX_LOG_WARN, cf, ns ? 0 : ngx_errno,
                           "the pod's namespace cannot be read from \"%s\", "
                           "\"gamma_namespace\" has no default", name.data);
        free(ns);
        return NGX_CONF_OK;
    }

    cv = ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (cv == NULL) {
        free(ns);
        return NGX_CONF_ERROR;
    }

    name.data = (u_char *) ns;
    name.len = ngx_strlen(ns);

    cv->value.len = name.len;
    cv->value.data = ngx_pstrdup(cf->pool, &name);
    free(ns);

    if (cv->value.data == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_gamma_valid_namespace(&cv->value) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid pod namespace \"%V\" in the service "
                           "account's namespace file", &cv->value);
        return NGX_CONF_ERROR;
    }

    gmcf->pod_namespace = cv;

    return NGX_CONF_OK;
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

    return glcf;
}


static char *
ngx_http_gamma_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gamma_loc_conf_t  *prev = parent;
    ngx_http_gamma_loc_conf_t  *conf = child;

    ngx_http_gamma_main_conf_t  *gmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

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

        return ngx_http_gamma_source_kube(cf, gmcf);
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
ngx_http_gamma_source_kube(ngx_conf_t *cf, ngx_http_gamma_main_conf_t *gmcf)
{
    ngx_str_t  *value, *url;

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        /* nginx clears the environment of its workers: read it now */
        return ngx_http_gamma_kube_url(cf, gmcf,
                                       getenv("KUBERNETES_SERVICE_HOST"),
                                       getenv("KUBERNETES_SERVICE_PORT"));
    }

    url = &value[2];

    while (url->len > 8 && url->data[url->len - 1] == '/') {
        url->data[--url->len] = '\0';
    }

    gmcf->api_url = *url;
    gmcf->source = NGX_HTTP_GAMMA_SOURCE_KUBERNETES;

    return NGX_CONF_OK;
}


static char *
ngx_http_gamma_kube_url(ngx_conf_t *cf, ngx_http_gamma_main_conf_t *gmcf,
    const char *host, const char *port)
{
    u_char  *p;

    if (host == NULL || port == NULL || host[0] == '\0' || port[0] == '\0') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gamma_source kubernetes\" without a URL needs "
                           "KUBERNETES_SERVICE_HOST and "
                           "KUBERNETES_SERVICE_PORT in the environment");
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, sizeof("https://[]:") + ngx_strlen(host)
                              + ngx_strlen(port));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    gmcf->api_url.data = p;

    /* an IPv6 address goes in brackets */
    p = ngx_sprintf(p, strchr(host, ':') ? "https://[%s]:%s%Z"
                                         : "https://%s:%s%Z", host, port);

    gmcf->api_url.len = p - gmcf->api_url.data - 1;
    gmcf->source = NGX_HTTP_GAMMA_SOURCE_KUBERNETES;
    gmcf->in_cluster = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_gamma_kube_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    ngx_str_t    *value, path;
    const char  **field;

    field = (const char **) ((char *) conf + cmd->offset);

    if (*field != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (path.len == 0
        || ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK)
    {
        return "has an invalid path";
    }

    *field = (const char *) path.data;
    gmcf->kube_directives = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_gamma_kube_namespaces(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    ngx_str_t    *value;
    ngx_uint_t    i;
    const char  **list;

    if (gmcf->kube.namespaces != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    list = ngx_pcalloc(cf->pool, cf->args->nelts * sizeof(char *));
    if (list == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_http_gamma_valid_namespace(&value[i]) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid namespace \"%V\" in "
                               "\"gamma_kubernetes_namespaces\" directive",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        list[i - 1] = (const char *) value[i].data;
    }

    gmcf->kube.namespaces = list;
    gmcf->kube_directives = 1;

    return NGX_CONF_OK;
}


/* "<selector>" for every resource, or "<selector> <resource> ..." */
static char *
ngx_http_gamma_kube_selector(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    ngx_str_t                 *value;
    ngx_uint_t                 i, k;
    const gm_kube_resource_t  *res;

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "has an empty selector";
    }

    gmcf->kube_directives = 1;

    for (k = 0; cf->args->nelts == 2 && k < GM_KIND_MAX; k++) {
        if (gmcf->kube.selectors[k] != NULL) {
            return "is duplicate";
        }

        gmcf->kube.selectors[k] = (const char *) value[1].data;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        res = gm_kube_resource_by_plural((const char *) value[i].data);

        if (res == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown resource \"%V\" in "
                               "\"gamma_kubernetes_label_selector\" "
                               "directive, it must be a plural such as "
                               "\"services\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (gmcf->kube.selectors[res->kind] != NULL) {
            return "is duplicate";
        }

        gmcf->kube.selectors[res->kind] = (const char *) value[1].data;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gamma_kube_time(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    unsigned    *field, sec;
    ngx_int_t    t;
    ngx_str_t   *value;

    field = (unsigned *) ((char *) conf + cmd->offset);

    if (*field != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* timeoutSeconds is whole seconds; the rest are milliseconds */
    sec = (cmd->offset == offsetof(ngx_http_gamma_main_conf_t,
                                   kube.watch_timeout_s));

    t = ngx_parse_time(&value[1], sec);

    if (t == NGX_ERROR || t == 0 || t > (sec ? 86400 : 86400000)) {
        return "has an invalid time";
    }

    *field = (unsigned) t;
    gmcf->kube_directives = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_gamma_kube_backoff(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    ngx_int_t   initial, max;
    ngx_str_t  *value;

    if (gmcf->kube.backoff_max_ms != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;

    initial = ngx_parse_time(&value[1], 0);
    max = ngx_parse_time(&value[2], 0);

    if (initial == NGX_ERROR || max == NGX_ERROR || initial == 0
        || initial > max || max > GM_KUBE_BACKOFF_MAX_MS)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"gamma_kubernetes_backoff %V %V\", it "
                           "must be \"<initial> <max>\" with "
                           "0 < initial <= max <= 30s", &value[1], &value[2]);
        return NGX_CONF_ERROR;
    }

    gmcf->kube.backoff_initial_ms = (unsigned) initial;
    gmcf->kube.backoff_max_ms = (unsigned) max;
    gmcf->kube_directives = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_gamma_kube_number(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    unsigned   *field;
    ngx_int_t   n;
    ngx_str_t  *value;

    field = (unsigned *) ((char *) conf + cmd->offset);

    if (*field != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n == 0 || n > 100000) {
        return "has an invalid number";
    }

    *field = (unsigned) n;
    gmcf->kube_directives = 1;

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


static ngx_int_t
ngx_http_gamma_valid_namespace(ngx_str_t *ns)
{
    u_char      c;
    ngx_uint_t  i;

    if (ns->len == 0 || ns->len > 63
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

    return ngx_http_gamma_watcher_init(cycle, gmcf);
}


static void
ngx_http_gamma_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_gamma_module);

    if (gmcf && gmcf->worker) {
        ngx_http_gamma_watcher_exit(gmcf);
    }
}
