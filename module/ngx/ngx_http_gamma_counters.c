/*
 * nginx-gamma: the counters shared by the workers (ngx_http_gamma_counters.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_gamma_counters.h"


extern ngx_module_t  ngx_http_gamma_module;


typedef struct {
    ngx_uint_t                  nslots;
    ngx_http_gamma_counter_t    slots[1];
} ngx_http_gamma_counters_sh_t;


static ngx_int_t ngx_http_gamma_counters_init(ngx_shm_zone_t *shm_zone,
    void *data);


ngx_int_t
ngx_http_gamma_counters_add(ngx_conf_t *cf, ngx_shm_zone_t **zone)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *shm_zone;

    ngx_str_set(&name, NGX_HTTP_GAMMA_COUNTERS_NAME);

    shm_zone = ngx_shared_memory_add(cf, &name, NGX_HTTP_GAMMA_COUNTERS_SIZE,
                                     &ngx_http_gamma_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_gamma_counters_init;
    *zone = shm_zone;

    return NGX_OK;
}


/* a reload keeps the counters (same name, size and tag) */
static ngx_int_t
ngx_http_gamma_counters_init(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                         size;
    ngx_uint_t                     n;
    ngx_slab_pool_t               *shpool;
    ngx_http_gamma_counters_sh_t  *sh;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /* the slab pool's own pages and headers take their share */
    n = (shm_zone->shm.size / 2) / sizeof(ngx_http_gamma_counter_t);
    size = sizeof(ngx_http_gamma_counters_sh_t)
           + (n - 1) * sizeof(ngx_http_gamma_counter_t);

    sh = ngx_slab_calloc(shpool, size);
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->nslots = n;
    shm_zone->data = sh;

    return NGX_OK;
}


ngx_http_gamma_counter_t *
ngx_http_gamma_counter_lock(ngx_shm_zone_t *zone, uint64_t key,
    uint64_t params, ngx_msec_t now)
{
    ngx_uint_t                     i, at;
    ngx_slab_pool_t               *shpool;
    ngx_http_gamma_counter_t      *c, *lru;
    ngx_http_gamma_counters_sh_t  *sh;

    if (zone == NULL || zone->data == NULL) {
        return NULL;
    }

    sh = zone->data;
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    lru = NULL;
    at = (ngx_uint_t) (key % sh->nslots);

    for (i = 0; i < NGX_HTTP_GAMMA_COUNTERS_PROBE; i++) {
        c = &sh->slots[(at + i) % sh->nslots];

        if (c->key == key) {
            lru = c;
            break;
        }

        if (lru == NULL || c->key == 0
            || (lru->key != 0 && c->used < lru->used))
        {
            lru = c;
        }
    }

    c = lru;

    if (c->key != key || c->params != params) {
        ngx_memzero(c, sizeof(ngx_http_gamma_counter_t));
        c->key = key;
        c->params = params;
        c->n[0] = -1;               /* new: the user sets it up */
    }

    c->used = now;

    return c;
}


void
ngx_http_gamma_counter_unlock(ngx_shm_zone_t *zone)
{
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    ngx_shmtx_unlock(&shpool->mutex);
}
