/*
 * nginx-gamma: TrafficPolicy (policy.nginx-gamma.dev/v1alpha1), our own
 * policy kind in the GEP-713 shape, parsed by gm_trafficpolicy.c and
 * merged by gm_compile_policy.c.
 */

#ifndef GM_TRAFFICPOLICY_H
#define GM_TRAFFICPOLICY_H


#include <stddef.h>

#include "gm_meta.h"
#include "gm_policy.h"


typedef struct {
    gm_meta_t            meta;
    gm_policy_target_t  *targets;
    size_t               ntargets;
    gm_policy_values_t   defaults;
    gm_policy_values_t   overrides;
} gm_trafficpolicy_t;


#endif /* GM_TRAFFICPOLICY_H */
