/*
 * nginx-gamma: the retry budget of XBackendTrafficPolicy retryConstraint
 * (GEP-3388), per policy and Service, counted across the workers
 * (ngx_http_gamma_counters.h).  A retry is allowed while the retries of
 * the last budget.interval stay under budget.percent of the requests of
 * that interval, or, whatever the percentage, under minRetryRate.count
 * per minRetryRate.interval.  Both are sliding windows: the current one
 * plus the share of the previous one still inside the interval.  Once
 * exceeded no retry is attempted and the client gets 503 (spec 1.13).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_counters.h"


/* the windows: n[0] start, then (current, previous) pairs */
#define NGX_HTTP_GAMMA_MIN_RATE_KEY  0x9e3779b97f4a7c15ULL


static void ngx_http_gamma_window_roll(ngx_http_gamma_counter_t *c,
    int64_t now, int64_t interval, ngx_uint_t pairs);
static int64_t ngx_http_gamma_window_sum(ngx_http_gamma_counter_t *c,
    int64_t now, int64_t interval, ngx_uint_t at);


/* a request to a backend with a budget: the base of the percentage */
void
ngx_http_gamma_retry_budget_request(ngx_http_request_t *r,
    const gm_backend_traffic_t *tr)
{
    int64_t                      now;
    ngx_http_gamma_counter_t    *c;
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);
    now = (int64_t) ngx_current_msec;

    c = ngx_http_gamma_counter_lock(gmcf->counters, tr->key,
                                    tr->percent | (tr->interval_ms << 8),
                                    ngx_current_msec);
    if (c == NULL) {
        return;
    }

    ngx_http_gamma_window_roll(c, now, tr->interval_ms, 2);
    c->n[1]++;

    ngx_http_gamma_counter_unlock(gmcf->counters);
}


/* NGX_OK: the retry may go (and is counted); NGX_DECLINED: over budget */
ngx_int_t
ngx_http_gamma_retry_budget_take(ngx_http_request_t *r,
    const gm_backend_traffic_t *tr)
{
    int64_t                      now, reqs, retries, min;
    ngx_uint_t                   ok;
    ngx_shm_zone_t              *zone;
    ngx_http_gamma_counter_t    *c;
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);
    zone = gmcf->counters;
    now = (int64_t) ngx_current_msec;

    /* the percentage of the requests */
    c = ngx_http_gamma_counter_lock(zone, tr->key,
                                    tr->percent | (tr->interval_ms << 8),
                                    ngx_current_msec);
    if (c == NULL) {
        return NGX_OK;
    }

    ngx_http_gamma_window_roll(c, now, tr->interval_ms, 2);
    reqs = ngx_http_gamma_window_sum(c, now, tr->interval_ms, 1);
    retries = ngx_http_gamma_window_sum(c, now, tr->interval_ms, 3);
    ok = (retries * 100 < reqs * (int64_t) tr->percent);

    ngx_http_gamma_counter_unlock(zone);

    /* the minimum rate, counted whether or not the percentage allowed */
    c = ngx_http_gamma_counter_lock(zone, tr->key ^ NGX_HTTP_GAMMA_MIN_RATE_KEY,
                                    tr->min_count
                                    | (tr->min_interval_ms << 21),
                                    ngx_current_msec);
    if (c != NULL) {
        ngx_http_gamma_window_roll(c, now, tr->min_interval_ms, 1);
        min = ngx_http_gamma_window_sum(c, now, tr->min_interval_ms, 1);
        ok = ok || (min < (int64_t) tr->min_count);

        if (ok) {
            c->n[1]++;
        }

        ngx_http_gamma_counter_unlock(zone);
    }

    if (!ok) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "gamma: retry budget of XBackendTrafficPolicy %s "
                      "exhausted (%uD%% of %L requests, at least %uD per "
                      "%L ms), no retry, answering 503", tr->policy.data,
                      tr->percent, reqs, tr->min_count,
                      tr->min_interval_ms);
        return NGX_DECLINED;
    }

    c = ngx_http_gamma_counter_lock(zone, tr->key,
                                    tr->percent | (tr->interval_ms << 8),
                                    ngx_current_msec);
    if (c != NULL) {
        ngx_http_gamma_window_roll(c, now, tr->interval_ms, 2);
        c->n[3]++;
        ngx_http_gamma_counter_unlock(zone);
    }

    return NGX_OK;
}


/* moves the windows on: n[0] is the current one's start */
static void
ngx_http_gamma_window_roll(ngx_http_gamma_counter_t *c, int64_t now,
    int64_t interval, ngx_uint_t pairs)
{
    ngx_uint_t  i;
    int64_t     gone;

    if (c->n[0] < 0 || now - c->n[0] >= 2 * interval) {
        for (i = 0; i < pairs; i++) {
            c->n[1 + 2 * i] = 0;
            c->n[2 + 2 * i] = 0;
        }

        c->n[0] = now;
        return;
    }

    if (now - c->n[0] < interval) {
        return;
    }

    gone = now - c->n[0];

    for (i = 0; i < pairs; i++) {
        c->n[2 + 2 * i] = c->n[1 + 2 * i];
        c->n[1 + 2 * i] = 0;
    }

    c->n[0] = now - gone % interval;
}


/* the current window and the part of the previous one still inside */
static int64_t
ngx_http_gamma_window_sum(ngx_http_gamma_counter_t *c, int64_t now,
    int64_t interval, ngx_uint_t at)
{
    int64_t  into;

    into = ngx_max(now - c->n[0], 0);
    into = ngx_min(into, interval);

    return c->n[at] + c->n[at + 1] * (interval - into) / interval;
}


/* a denied retry ends the attempt's failure answer as 503 */
ngx_int_t
ngx_http_gamma_retry_denied(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    ctx->retry_denied = 2;

    return ngx_http_filter_finalize_request(r, &ngx_http_gamma_module,
                                            NGX_HTTP_SERVICE_UNAVAILABLE);
}
