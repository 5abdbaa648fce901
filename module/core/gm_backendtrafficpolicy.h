/*
 * nginx-gamma: XBackendTrafficPolicy (gateway.networking.x-k8s.io
 * v1alpha1, GEP-3388), parsed by gm_backendtrafficpolicy.c and put on
 * backends by gm_compile_backendtraffic.c: the retry budget and the
 * session persistence of the Services it targets.
 */

#ifndef GM_BACKENDTRAFFICPOLICY_H
#define GM_BACKENDTRAFFICPOLICY_H


#include <stddef.h>
#include <stdint.h>

#include "gm_meta.h"
#include "gm_policy.h"
#include "gm_session.h"


#define GM_XBTP_GROUP                "gateway.networking.x-k8s.io"

/* the defaults and bounds of retryConstraint (spec 1.13) */
#define GM_RETRY_BUDGET_PERCENT      20
#define GM_RETRY_BUDGET_INTERVAL_MS  10000
#define GM_RETRY_MIN_COUNT           10
#define GM_RETRY_MIN_INTERVAL_MS     1000
#define GM_RETRY_MAX_INTERVAL_MS     3600000
#define GM_RETRY_MAX_COUNT           1000000


typedef struct {
    gm_meta_t            meta;
    gm_policy_target_t  *targets;
    size_t               ntargets;
    unsigned             has_retry:1;        /* retryConstraint given */
    unsigned             has_session:1;      /* sessionPersistence given */
    uint32_t             percent;            /* budget.percent */
    int64_t              interval_ms;        /* budget.interval */
    uint32_t             min_count;          /* minRetryRate.count */
    int64_t              min_interval_ms;    /* minRetryRate.interval */
    gm_session_t         session;            /* when has_session */
} gm_backendtrafficpolicy_t;


#endif /* GM_BACKENDTRAFFICPOLICY_H */
