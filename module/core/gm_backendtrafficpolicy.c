/*
 * nginx-gamma: parsing an XBackendTrafficPolicy (gateway.networking.x-k8s.io
 * v1alpha1): the Services it targets (no port: the kind cannot name one)
 * and retryConstraint, its retry budget, with the defaults of GEP-3388.
 */

#include <stdint.h>
#include <string.h>

#include "gm_parse_int.h"


static int gm_xbtp_retry_parse(gm_parse_ctx_t *ctx, json_t *rc,
    gm_backendtrafficpolicy_t *p);
static int gm_xbtp_duration(gm_parse_ctx_t *ctx, json_t *obj,
    const char *key, int64_t min, int64_t *out);


int
gm_backendtrafficpolicy_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body)
{
    size_t                      i;
    json_t                     *spec, *rc, *sp;
    gm_backendtrafficpolicy_t  *p;

    p = &body->backendtrafficpolicy;

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    if (spec == NULL) {
        return gm_reject(ctx, "spec", "is required");
    }

    (void) gm_path_push(ctx, "spec");

    if (gm_policy_targets_parse(ctx, spec, 0, &p->targets, &p->ntargets) != 0
        || gm_get_object(ctx, spec, "retryConstraint", &rc) != 0
        || gm_get_object(ctx, spec, "sessionPersistence", &sp) != 0)
    {
        return -1;
    }

    for (i = 0; i < p->ntargets; i++) {
        if (p->targets[i].section_name.len) {
            return gm_reject(ctx, "targetRefs", "cannot name a port "
                             "(sectionName): the policy is for a whole "
                             "Service");
        }
    }

    p->has_session = (sp != NULL);

    if (rc == NULL) {
        return 0;
    }

    (void) gm_path_push(ctx, "retryConstraint");

    return gm_xbtp_retry_parse(ctx, rc, p);
}


static int
gm_xbtp_retry_parse(gm_parse_ctx_t *ctx, json_t *rc,
    gm_backendtrafficpolicy_t *p)
{
    size_t   old;
    int64_t  n;
    json_t  *budget, *min;

    p->has_retry = 1;
    p->percent = GM_RETRY_BUDGET_PERCENT;
    p->interval_ms = GM_RETRY_BUDGET_INTERVAL_MS;
    p->min_count = GM_RETRY_MIN_COUNT;
    p->min_interval_ms = GM_RETRY_MIN_INTERVAL_MS;

    if (gm_get_object(ctx, rc, "budget", &budget) != 0
        || gm_get_object(ctx, rc, "minRetryRate", &min) != 0)
    {
        return -1;
    }

    if (budget != NULL) {
        old = gm_path_push(ctx, "budget");

        switch (gm_get_int(ctx, budget, "percent", 0, 100, &n)) {
        case -1:
            return -1;
        case 1:
            p->percent = (uint32_t) n;
            break;
        default:
            break;
        }

        if (gm_xbtp_duration(ctx, budget, "interval", 1000, &p->interval_ms)
            != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    if (min != NULL) {
        old = gm_path_push(ctx, "minRetryRate");

        switch (gm_get_int(ctx, min, "count", 1, GM_RETRY_MAX_COUNT, &n)) {
        case -1:
            return -1;
        case 1:
            p->min_count = (uint32_t) n;
            break;
        default:
            break;
        }

        if (gm_xbtp_duration(ctx, min, "interval", 1, &p->min_interval_ms)
            != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


/* a GEP-2257 duration in [min, 1h]; *out keeps its default when absent */
static int
gm_xbtp_duration(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    int64_t min, int64_t *out)
{
    int          rc;
    size_t       len;
    int64_t      ms;
    const char  *s;

    rc = gm_get_cstr(ctx, obj, key, 1, 64, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    ms = gm_duration_parse(s, len);

    if (ms < min || ms > GM_RETRY_MAX_INTERVAL_MS) {
        return gm_reject(ctx, key, "must be a duration from %s to 1h such as "
                         "\"10s\" (GEP-2257)", min >= 1000 ? "1s" : "1ms");
    }

    *out = ms;

    return 0;
}
