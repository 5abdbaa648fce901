/*
 * nginx-gamma: the Kubernetes API source's directives ("gamma_source
 * kubernetes" and gamma_kubernetes_*), and the in-cluster defaults: the
 * API server from the environment, the service account's token, CA and
 * namespace.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"


#define NGX_HTTP_GAMMA_SA_DIR  "/var/run/secrets/kubernetes.io/serviceaccount"

/* the longest gamma_kubernetes_* time and the largest number */
#define NGX_HTTP_GAMMA_KUBE_TIME_MAX_S   86400
#define NGX_HTTP_GAMMA_KUBE_NUMBER_MAX   100000


static char *ngx_http_gamma_kube_in_cluster(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf);
static char *ngx_http_gamma_kube_url(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf, const char *host, const char *port);
static const char *ngx_http_gamma_kube_selector_all(ngx_conf_t *cf,
    ngx_uint_t kind, ngx_str_t *sel);


char *
ngx_http_gamma_kube_init_main_conf(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf)
{
    gmcf->kube.url = (const char *) gmcf->api_url.data;

    if (gmcf->in_cluster) {
        return ngx_http_gamma_kube_in_cluster(cf, gmcf);
    }

    return NGX_CONF_OK;
}


char *
ngx_http_gamma_kube_source(ngx_conf_t *cf, ngx_http_gamma_main_conf_t *gmcf)
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


/*
 * In a pod: the service account's token, CA and namespace.  The namespace
 * file is the one next to the token file, so tests can point elsewhere.
 */
static char *
ngx_http_gamma_kube_in_cluster(ngx_conf_t *cf,
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

    ns = gm_source_read_small_file((char *) name.data,
                                   GM_SOURCE_NAMESPACE_FILE_MAX);

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


char *
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


char *
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


/*
 * "<selector>" for every resource, or "<selector> <resource> ...".  The
 * first narrows what a resource with a selector of its own reads (CA
 * bundle ConfigMaps), never widens it: both must match.
 */
char *
ngx_http_gamma_kube_selector(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    ngx_int_t    kind;
    ngx_str_t   *value;
    ngx_uint_t   i, k;

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "has an empty selector";
    }

    gmcf->kube_directives = 1;

    for (k = 0; cf->args->nelts == 2 && k < GM_KIND_MAX; k++) {
        if (gmcf->kube.selectors[k] != NULL) {
            return "is duplicate";
        }

        gmcf->kube.selectors[k] = ngx_http_gamma_kube_selector_all(cf, k,
                                                                   &value[1]);
        if (gmcf->kube.selectors[k] == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {
        kind = gm_source_kind_by_resource((const char *) value[i].data);

        if (kind == -1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown resource \"%V\" in "
                               "\"gamma_kubernetes_label_selector\" "
                               "directive, it must be a plural such as "
                               "\"services\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (gmcf->kube.selectors[kind] != NULL) {
            return "is duplicate";
        }

        gmcf->kube.selectors[kind] = (const char *) value[1].data;
    }

    return NGX_CONF_OK;
}


static const char *
ngx_http_gamma_kube_selector_all(ngx_conf_t *cf, ngx_uint_t kind,
    ngx_str_t *sel)
{
    u_char      *p;
    const char  *own;

    own = gm_source_default_selector((int) kind);

    if (own == NULL) {
        return (const char *) sel->data;
    }

    /* a label selector's terms are ANDed, comma-separated */
    p = ngx_pnalloc(cf->pool, ngx_strlen(own) + 1 + sel->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_sprintf(p, "%s,%V", own, sel) = '\0';

    return (const char *) p;
}


char *
ngx_http_gamma_kube_time(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    unsigned    *field, sec;
    ngx_int_t    t, max;
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
    max = sec ? NGX_HTTP_GAMMA_KUBE_TIME_MAX_S
              : NGX_HTTP_GAMMA_KUBE_TIME_MAX_S * 1000;

    if (t == NGX_ERROR || t == 0 || t > max) {
        return "has an invalid time: it must be more than 0 and at most 24h";
    }

    *field = (unsigned) t;
    gmcf->kube_directives = 1;

    return NGX_CONF_OK;
}


char *
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


char *
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

    if (n == NGX_ERROR || n == 0 || n > NGX_HTTP_GAMMA_KUBE_NUMBER_MAX) {
        return "has an invalid number";
    }

    *field = (unsigned) n;
    gmcf->kube_directives = 1;

    return NGX_CONF_OK;
}
