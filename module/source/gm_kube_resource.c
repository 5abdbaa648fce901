/*
 * nginx-gamma: the API resources the Kubernetes source lists and watches.
 */

#include <stdio.h>
#include <string.h>

#include "gm_kube_resource.h"


static const gm_kube_resource_t  gm_kube_resources[] = {

    { GM_KIND_SERVICE, "", { "v1", NULL, NULL }, "services", 0, NULL },

    { GM_KIND_ENDPOINTSLICE, "discovery.k8s.io", { "v1", NULL, NULL },
      "endpointslices", 0, NULL },

    /* v1beta1 for clusters with a Gateway API older than v1.0 */
    { GM_KIND_HTTPROUTE, "gateway.networking.k8s.io", { "v1", "v1beta1", NULL },
      "httproutes", 1, NULL },

    /* watched for "gamma_reference_grants require" only; v1beta1 stores */
    { GM_KIND_REFERENCEGRANT, "gateway.networking.k8s.io",
      { "v1beta1", "v1", NULL }, "referencegrants", 1, NULL },

    /* GRPCRoute is v1 since Gateway API v1.1; optional like HTTPRoute */
    { GM_KIND_GRPCROUTE, "gateway.networking.k8s.io", { "v1", NULL, NULL },
      "grpcroutes", 1, NULL },

    /* our own policy kind: its CRD is docker/k8s/crd/trafficpolicy.yaml */
    { GM_KIND_TRAFFICPOLICY, "policy.nginx-gamma.dev", { "v1alpha1", NULL,
      NULL }, "trafficpolicies", 1, NULL },

    /* v1alpha3 for clusters with a Gateway API older than v1.4 */
    { GM_KIND_BACKENDTLSPOLICY, "gateway.networking.k8s.io",
      { "v1", "v1alpha3", NULL }, "backendtlspolicies", 1, NULL },

    /* the retry budget: the Gateway API's experimental channel */
    { GM_KIND_XBACKENDTRAFFICPOLICY, "gateway.networking.x-k8s.io",
      { "v1alpha1", NULL, NULL }, "xbackendtrafficpolicies", 1, NULL },

    /*
     * CA bundles of BackendTLSPolicies: a sidecar must not read every
     * ConfigMap of the cluster, so only those labelled as CA bundles
     * (gamma_kubernetes_label_selector ... configmaps changes it)
     */
    { GM_KIND_CONFIGMAP, "", { "v1", NULL, NULL }, "configmaps", 0,
      "policy.nginx-gamma.dev/ca-bundle" },
};


const gm_kube_resource_t *
gm_kube_resource(gm_kind_e kind)
{
    size_t  i;

    for (i = 0; i < sizeof(gm_kube_resources) / sizeof(gm_kube_resources[0]);
         i++)
    {
        if (gm_kube_resources[i].kind == kind) {
            return &gm_kube_resources[i];
        }
    }

    return NULL;
}


const gm_kube_resource_t *
gm_kube_resource_by_plural(const char *plural)
{
    size_t  i;

    for (i = 0; i < sizeof(gm_kube_resources) / sizeof(gm_kube_resources[0]);
         i++)
    {
        if (strcmp(gm_kube_resources[i].plural, plural) == 0) {
            return &gm_kube_resources[i];
        }
    }

    return NULL;
}


int
gm_kube_resource_path(const gm_kube_resource_t *res, unsigned version,
    const char *ns, char *buf, size_t size)
{
    int  n;

    if (res->group[0] == '\0') {
        n = snprintf(buf, size, "/api/%s%s%s/%s", res->versions[version],
                     ns ? "/namespaces/" : "", ns ? ns : "", res->plural);

    } else {
        n = snprintf(buf, size, "/apis/%s/%s%s%s/%s", res->group,
                     res->versions[version], ns ? "/namespaces/" : "",
                     ns ? ns : "", res->plural);
    }

    return (n < 0 || (size_t) n >= size) ? -1 : n;
}


int
gm_kube_resource_api_version(const gm_kube_resource_t *res, unsigned version,
    char *buf, size_t size)
{
    int  n;

    n = snprintf(buf, size, "%s%s%s", res->group,
                 res->group[0] ? "/" : "", res->versions[version]);

    return (n < 0 || (size_t) n >= size) ? -1 : n;
}
