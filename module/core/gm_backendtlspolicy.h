/*
 * nginx-gamma: BackendTLSPolicy (gateway.networking.k8s.io/v1, also
 * v1alpha3), parsed by gm_backendtlspolicy.c and put on backends by
 * gm_compile_backendtls.c.
 */

#ifndef GM_BACKENDTLSPOLICY_H
#define GM_BACKENDTLSPOLICY_H


#include <stddef.h>

#include "gm_meta.h"
#include "gm_policy.h"


typedef enum {
    GM_SAN_HOSTNAME = 0,
    GM_SAN_URI
} gm_san_type_e;

typedef struct {
    gm_san_type_e        type;
    gm_str_t             value;
} gm_san_t;

typedef struct {
    gm_meta_t            meta;
    gm_policy_target_t  *targets;
    size_t               ntargets;
    gm_str_t             hostname;
    gm_str_t            *ca_refs;     /* ConfigMap names */
    size_t               nca_refs;
    unsigned             system_ca:1; /* wellKnownCACertificates: System */
    unsigned             bad_ca_kind:1;   /* a ref not to a ConfigMap */
    gm_san_t            *sans;
    size_t               nsans;
} gm_backendtlspolicy_t;


#endif /* GM_BACKENDTLSPOLICY_H */
