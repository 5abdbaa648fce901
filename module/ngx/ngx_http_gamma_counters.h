/*
 * nginx-gamma: counters the worker processes share (a zone of their own,
 * "gamma_counters", apart from the snapshots': counters outlive every
 * snapshot).  One slot per key, found by hashing; a full neighbourhood
 * gives its least recently used slot to a new key.  The token buckets of
 * TrafficPolicy rateLimit and the retry budgets of XBackendTrafficPolicy
 * live here.
 */

#ifndef NGX_HTTP_GAMMA_COUNTERS_H
#define NGX_HTTP_GAMMA_COUNTERS_H


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_GAMMA_COUNTERS_NAME   "gamma_counters"
#define NGX_HTTP_GAMMA_COUNTERS_SIZE   (512 * 1024)
/* slots looked at for one key */
#define NGX_HTTP_GAMMA_COUNTERS_PROBE  8


/* the state of one key: its user gives meaning to the numbers */
typedef struct {
    uint64_t     key;                 /* 0: free */
    uint64_t     used;                /* ms of the last use */
    uint64_t     params;              /* what the state was made for */
    int64_t      n[5];
} ngx_http_gamma_counter_t;


/* adds the zone (the http block's configuration) */
ngx_int_t ngx_http_gamma_counters_add(ngx_conf_t *cf, ngx_shm_zone_t **zone);

/*
 * Locks the zone and returns the slot of key; a new one (or one made for
 * other params) is zeroed with n[0] = -1.  NULL without the zone.  The
 * caller updates it and unlocks at once: the lock spins.
 */
ngx_http_gamma_counter_t *ngx_http_gamma_counter_lock(ngx_shm_zone_t *zone,
    uint64_t key, uint64_t params, ngx_msec_t now);
void ngx_http_gamma_counter_unlock(ngx_shm_zone_t *zone);


#endif /* NGX_HTTP_GAMMA_COUNTERS_H */
