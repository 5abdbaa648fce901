/*
 * nginx-gamma: the API resources the Kubernetes source lists and watches,
 * one per object kind.  A kind added to the core gets its row here.
 */

#ifndef GM_KUBE_RESOURCE_H
#define GM_KUBE_RESOURCE_H


#include "gm_object.h"


#define GM_KUBE_MAX_VERSIONS  3


typedef struct {
    gm_kind_e     kind;
    const char   *group;              /* "" for the core group */
    const char   *versions[GM_KUBE_MAX_VERSIONS];  /* preferred first */
    const char   *plural;
    unsigned      optional:1;         /* a CRD: may be absent (404) */
    /* the label selector unless configured: what is read at all */
    const char   *selector;
} gm_kube_resource_t;


/* the resource of a kind; NULL for a kind with no API resource */
const gm_kube_resource_t *gm_kube_resource(gm_kind_e kind);
/* by plural name ("services"); NULL when unknown */
const gm_kube_resource_t *gm_kube_resource_by_plural(const char *plural);

/*
 * Writes the collection path, "/api/v1/namespaces/<ns>/services" or
 * "/apis/<group>/<version>/<plural>"; ns NULL means all namespaces.
 * Returns the length, or -1 when it does not fit.
 */
int gm_kube_resource_path(const gm_kube_resource_t *res, unsigned version,
    const char *ns, char *buf, size_t size);

/* "v1", "discovery.k8s.io/v1" */
int gm_kube_resource_api_version(const gm_kube_resource_t *res,
    unsigned version, char *buf, size_t size);


#endif /* GM_KUBE_RESOURCE_H */
