/*
 * nginx-gamma: TrafficPolicy rateLimit, a token bucket per policy and
 * target (the compiler names it: gm_effective_t.rate_key), for all clients
 * together and counted across the workers (ngx_http_gamma_counters.h).
 * Capacity "burst" (default "requests"), refilled at "requests" per
 * "unit"; a request takes one token, and without one gets 429.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_counters.h"


/*
 * The bucket counts in 1/unit_ms of a token, so that refilling is exact in
 * integers: one millisecond adds "requests" of them.
 */
ngx_int_t
ngx_http_gamma_rate_limit(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    int64_t                      tokens, cap, cost, last, now;
    uint64_t                     requests, burst, unit_s, params;
    ngx_uint_t                   allowed;
    const gm_policy_values_t    *v;
    ngx_http_gamma_counter_t    *c;
    ngx_http_gamma_main_conf_t  *gmcf;

    if (ctx->eff == NULL || ctx->eff->rate_key == 0) {
        return NGX_DECLINED;
    }

    v = &ctx->eff->v;

    if (!(v->set & GM_PF_RATE_REQUESTS) || v->rate_requests == 0) {
        return NGX_DECLINED;
    }

    requests = v->rate_requests;
    burst = (v->set & GM_PF_RATE_BURST) ? v->rate_burst : requests;
    unit_s = (v->set & GM_PF_RATE_UNIT) ? v->rate_unit_s : 1;
    params = requests | (burst << 21) | (unit_s << 42);

    cost = (int64_t) unit_s * 1000;
    cap = (int64_t) burst * cost;
    now = (int64_t) ngx_current_msec;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);

    c = ngx_http_gamma_counter_lock(gmcf->counters, ctx->eff->rate_key,
                                    params, ngx_current_msec);
    if (c == NULL) {
        return NGX_DECLINED;
    }

    if (c->n[0] < 0) {
        tokens = cap;
        last = now;

    } else {
        tokens = c->n[0];
        last = c->n[1];
    }

    /* the workers' clocks are cached apart: never go back */
    if (now > last) {
        tokens += (now - last) * (int64_t) requests;
        tokens = ngx_min(tokens, cap);
        last = now;
    }

    allowed = (tokens >= cost);

    if (allowed) {
        tokens -= cost;
    }

    c->n[0] = tokens;
    c->n[1] = last;

    ngx_http_gamma_counter_unlock(gmcf->counters);

    if (allowed) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gamma: rate limit exhausted (%uL per %s, burst %uL; "
                  "policies: \"%s\"), answering 429", requests,
                  unit_s == 60 ? "minute" : "second", burst,
                  ctx->eff->policies.data);

    return NGX_HTTP_TOO_MANY_REQUESTS;
}
