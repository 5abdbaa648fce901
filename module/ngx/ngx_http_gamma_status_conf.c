/*
 * nginx-gamma: the status writer's directives: gamma_status_writer
 * on | off and gamma_status_lease <namespace>/<name>.  With the
 * Kubernetes source, an instance with the writer on competes for the
 * Lease and, while it holds it, writes route and policy status (in the
 * source process, gm_kube_status.h).  The file source writes nothing:
 * it logs the same conditions.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"


static ngx_int_t ngx_http_gamma_status_name(ngx_str_t *s, size_t max);


char *
ngx_http_gamma_status_writer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                   *value;
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    if (gmcf->status_writer_set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        gmcf->status_writer = 1;

    } else if (ngx_strcmp(value[1].data, "off") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, it "
                           "must be \"on\" or \"off\"", &value[1],
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    gmcf->status_writer_set = 1;

    return NGX_CONF_OK;
}


char *
ngx_http_gamma_status_lease(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                      *slash;
    ngx_str_t                   *value, ns, name;
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    if (gmcf->status.lease_name) {
        return "is duplicate";
    }

    value = cf->args->elts;
    slash = ngx_strlchr(value[1].data, value[1].data + value[1].len, '/');

    if (slash == NULL) {
        goto invalid;
    }

    ns.data = value[1].data;
    ns.len = slash - value[1].data;
    name.data = slash + 1;
    name.len = value[1].data + value[1].len - name.data;

    if (ngx_http_gamma_valid_namespace(&ns) != NGX_OK
        || ngx_http_gamma_status_name(&name, 253) != NGX_OK)
    {
        goto invalid;
    }

    *slash = '\0';
    gmcf->status.lease_ns = (char *) ns.data;
    gmcf->status.lease_name = (char *) name.data;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"%V\" value \"%V\": must be "
                       "<namespace>/<name> (a DNS label and a DNS "
                       "subdomain)", &cmd->name, &value[1]);

    return NGX_CONF_ERROR;
}


/* a DNS subdomain: lowercase alphanumerics, '-' and '.' */

static ngx_int_t
ngx_http_gamma_status_name(ngx_str_t *s, size_t max)
{
    size_t  i;
    u_char  c;

    if (s->len == 0 || s->len > max) {
        return NGX_ERROR;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || ((c == '-' || c == '.') && i != 0 && i != s->len - 1)))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the Lease's namespace: the directive, the pod's, $POD_NAMESPACE */

char *
ngx_http_gamma_status_init_main_conf(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf)
{
    char       *env;
    u_char     *p;
    ngx_str_t   ns;

    if (!gmcf->status_writer) {
        return NGX_CONF_OK;
    }

    if (gmcf->source != NGX_HTTP_GAMMA_SOURCE_KUBERNETES) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"gamma_status_writer\" writes with "
                           "\"gamma_source kubernetes\" only; the file "
                           "source logs the route status");
        gmcf->status_writer = 0;
        return NGX_CONF_OK;
    }

    gmcf->status.kube = &gmcf->kube;

    if (gmcf->status.lease_name == NULL) {
        gmcf->status.lease_name = GM_STATUS_LEASE_NAME;
    }

    if (gmcf->status.lease_ns != NULL) {
        return NGX_CONF_OK;
    }

    if (gmcf->pod_namespace) {
        ns = gmcf->pod_namespace->value;

    } else {
        env = getenv("POD_NAMESPACE");
        ns.data = (u_char *) env;
        ns.len = env ? ngx_strlen(env) : 0;

        if (env == NULL || ngx_http_gamma_valid_namespace(&ns) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"gamma_status_writer\" needs the Lease's "
                               "namespace: \"gamma_status_lease\", the pod's "
                               "namespace file or $POD_NAMESPACE");
            return NGX_CONF_ERROR;
        }
    }

    p = ngx_pnalloc(cf->pool, ns.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(p, ns.data, ns.len + 1);
    gmcf->status.lease_ns = (char *) p;

    return NGX_CONF_OK;
}
