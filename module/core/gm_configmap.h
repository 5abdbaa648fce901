/*
 * nginx-gamma: a ConfigMap (v1), read for the CA bundles BackendTLSPolicies
 * name (gm_configmap.c): only its "ca.crt" is kept.
 */

#ifndef GM_CONFIGMAP_H
#define GM_CONFIGMAP_H


#include "gm_meta.h"


typedef struct {
    gm_meta_t            meta;
    gm_str_t             ca_crt;      /* empty when absent */
} gm_configmap_t;


#endif /* GM_CONFIGMAP_H */
