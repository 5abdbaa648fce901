/*
 * nginx-gamma: ngx_http_gamma_metrics_module, the observability half of
 * the .so.  Requests are counted in the log phase into a shared zone: each
 * worker writes its own row of counters without a lock or an atomic (row
 * 0, shared by workers beyond the others, uses atomic adds), a series'
 * labels are claimed once with a compare-and-swap, and a scrape adds the
 * rows up.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gm_hash.h"
#include "ngx_http_gamma_metrics.h"
#include "ngx_http_gamma_filter.h"


#define NGX_HTTP_GAMMA_METRICS_SIZE     (16 * 1024 * 1024)
#define NGX_HTTP_GAMMA_CACHE_SIZE       1024


static ngx_int_t ngx_http_gamma_metrics_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_gamma_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gamma_metrics_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_gamma_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_shm_zone_t *ngx_http_gamma_metrics_add_zone(ngx_conf_t *cf,
    ngx_str_t *name, size_t size);
static ngx_int_t ngx_http_gamma_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static char *ngx_http_gamma_metrics_location(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static gm_snapshot_t *ngx_http_gamma_current(
    ngx_http_gamma_main_conf_t *gmcf);
static ngx_int_t ngx_http_gamma_metrics_init_process(ngx_cycle_t *cycle);
static void ngx_http_gamma_metrics_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_gamma_metrics_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_gamma_series(ngx_http_gamma_metrics_main_conf_t *mmcf,
    ngx_http_gamma_ctx_t *ctx);
static ngx_int_t ngx_http_gamma_series_find(
    ngx_http_gamma_metrics_main_conf_t *mmcf, ngx_http_gamma_ctx_t *ctx);
static ngx_int_t ngx_http_gamma_series_claim(ngx_http_gamma_metrics_sh_t *sh,
    ngx_http_gamma_series_key_t *want);
static void ngx_http_gamma_series_label(ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_series_key_t *k);
static void ngx_http_gamma_count(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_atomic_uint_t *c, ngx_uint_t shared);
static ngx_uint_t ngx_http_gamma_mirror_failures(ngx_http_gamma_ctx_t *ctx);


static ngx_command_t  ngx_http_gamma_metrics_commands[] = {

    { ngx_string("gamma_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gamma_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gamma_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gamma_metrics_location,
      0,
      0,
      (void *) ngx_http_gamma_metrics_handler },

    { ngx_string("gamma_ready"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gamma_metrics_location,
      0,
      0,
      (void *) ngx_http_gamma_ready_handler },

    { ngx_string("gamma_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gamma_metrics_location,
      0,
      0,
      (void *) ngx_http_gamma_status_handler },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gamma_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gamma_metrics_postconfiguration, /* postconfiguration */

    ngx_http_gamma_metrics_create_main_conf, /* create main configuration */
    ngx_http_gamma_metrics_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gamma_metrics_module = {
    NGX_MODULE_V1,
    &ngx_http_gamma_metrics_module_ctx,    /* module context */
    ngx_http_gamma_metrics_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gamma_metrics_init_process,   /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gamma_metrics_exit_process,   /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* upper bounds of the buckets in ms: .005s ... 10s */
static const ngx_msec_t  ngx_http_gamma_bucket_ms[NGX_HTTP_GAMMA_NBUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};


static ngx_int_t
ngx_http_gamma_metrics_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gamma_metrics_log;

    return NGX_OK;
}


static void *
ngx_http_gamma_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gamma_metrics_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gamma_metrics_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mmcf->shm_zone = NULL;
     *     mmcf->sh = NULL;
     *     mmcf->row = 0;
     *     mmcf->cache = NULL;
     *     mmcf->last = NULL;
     */

    mmcf->off = NGX_CONF_UNSET;

    return mmcf;
}


/* with a mesh and no "gamma_metrics_zone": the default zone */
static char *
ngx_http_gamma_metrics_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gamma_metrics_main_conf_t  *mmcf = conf;

    ngx_str_t                    name = ngx_string("gamma_metrics");
    ngx_http_gamma_main_conf_t  *gmcf;

    if (mmcf->off == 1 || mmcf->shm_zone != NULL) {
        return NGX_CONF_OK;
    }

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gamma_module);

    if (gmcf->source == NGX_HTTP_GAMMA_SOURCE_NONE) {
        return NGX_CONF_OK;
    }

    mmcf->shm_zone = ngx_http_gamma_metrics_add_zone(cf, &name,
                                              NGX_HTTP_GAMMA_METRICS_SIZE);

    return mmcf->shm_zone ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* gamma_metrics_zone <name> <size> | off */
static char *
ngx_http_gamma_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_metrics_main_conf_t  *mmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (mmcf->off != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "off") != 0) {
            return "takes \"<name> <size>\" or \"off\"";
        }

        mmcf->off = 1;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (256 * 1024)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid size \"%V\" in \"gamma_metrics_zone\", "
                           "it must be at least 256k", &value[2]);
        return NGX_CONF_ERROR;
    }

    mmcf->off = 0;
    mmcf->shm_zone = ngx_http_gamma_metrics_add_zone(cf, &value[1], size);

    return mmcf->shm_zone ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static ngx_shm_zone_t *
ngx_http_gamma_metrics_add_zone(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, name, size,
                                     &ngx_http_gamma_metrics_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", name);
        return NULL;
    }

    shm_zone->init = ngx_http_gamma_metrics_init_zone;
    shm_zone->data = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_gamma_metrics_module);

    return shm_zone;
}


/* the layout follows from the size alone, so a reload keeps the counts */
static ngx_int_t
ngx_http_gamma_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_gamma_metrics_main_conf_t  *mmcf = shm_zone->data;
    ngx_http_gamma_metrics_main_conf_t  *omcf = data;

    size_t            per, avail;
    ngx_uint_t        n;
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    mmcf->shpool = shpool;

    if (omcf) {
        mmcf->sh = omcf->sh;
        return NGX_OK;
    }

    mmcf->sh = ngx_slab_calloc(shpool, sizeof(ngx_http_gamma_metrics_sh_t));
    if (mmcf->sh == NULL) {
        return NGX_ERROR;
    }

    per = sizeof(ngx_http_gamma_series_key_t) + NGX_HTTP_GAMMA_METRICS_ROWS
          * NGX_HTTP_GAMMA_NCOUNTERS * sizeof(ngx_atomic_uint_t);
    avail = (shpool->pfree > 4 ? shpool->pfree - 4 : 0) * ngx_pagesize;

    for (n = 1; n * 2 * per <= avail; n *= 2) { /* void */ }

    /* fresh shared memory is zero: no page is touched before it is used */
    mmcf->sh->nseries = n;
    mmcf->sh->keys = ngx_slab_alloc(shpool,
                                    n * sizeof(ngx_http_gamma_series_key_t));
    mmcf->sh->counters = ngx_slab_alloc(shpool, n * NGX_HTTP_GAMMA_METRICS_ROWS
                                        * NGX_HTTP_GAMMA_NCOUNTERS
                                        * sizeof(ngx_atomic_uint_t));

    if (mmcf->sh->keys == NULL || mmcf->sh->counters == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "gamma_metrics_zone \"%V\" is too small",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static char *
ngx_http_gamma_metrics_location(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate";
    }

    clcf->handler = (ngx_http_handler_pt) cmd->post;

    return NGX_CONF_OK;
}


/*
 * A worker takes a free row, or the row of a worker that is gone (its
 * counts go on from where they were); none left: the shared row 0.
 */
static ngx_int_t
ngx_http_gamma_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                           i;
    ngx_atomic_t                         pid;
    gm_snapshot_t                       *s;
    ngx_http_gamma_row_t                *row;
    ngx_http_gamma_main_conf_t          *gmcf;
    ngx_http_gamma_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gamma_metrics_module);

    if (mmcf == NULL || mmcf->sh == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    mmcf->cache = ngx_pcalloc(cycle->pool, NGX_HTTP_GAMMA_CACHE_SIZE
                                  * sizeof(ngx_http_gamma_series_cache_t));
    if (mmcf->cache == NULL) {
        return NGX_ERROR;
    }

    for (i = 1; i < NGX_HTTP_GAMMA_METRICS_ROWS; i++) {
        row = &mmcf->sh->rows[i];
        pid = row->pid;

        if (pid != 0 && (kill((pid_t) pid, 0) == 0 || ngx_errno != NGX_ESRCH))
        {
            continue;
        }

        if (ngx_atomic_cmp_set(&row->pid, pid, ngx_pid)) {
            row->generation = 0;
            row->synced = 0;
            mmcf->row = i;
            break;
        }
    }

    if (mmcf->row == 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "gamma: every metrics row is taken, this worker "
                      "counts in the shared one");
    }

    gmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_gamma_module);

    /* the first snapshot may have come before this module's turn */
    s = ngx_http_gamma_current(gmcf);

    if (s) {
        ngx_http_gamma_metrics_adopt(cycle, s);
    }

    return NGX_OK;
}


static void
ngx_http_gamma_metrics_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gamma_row_t                *row;
    ngx_http_gamma_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gamma_metrics_module);

    if (mmcf == NULL || mmcf->sh == NULL || mmcf->row == 0) {
        return;
    }

    row = &mmcf->sh->rows[mmcf->row];
    row->generation = 0;
    row->synced = 0;
    (void) ngx_atomic_cmp_set(&row->pid, ngx_pid, 0);
}


/* the watcher's hand-off: this worker serves generation s from now on */
void
ngx_http_gamma_metrics_adopt(ngx_cycle_t *cycle, gm_snapshot_t *s)
{
    ngx_http_gamma_row_t                *row;
    const gm_source_stats_t             *st;
    ngx_http_gamma_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gamma_metrics_module);

    if (mmcf == NULL || mmcf->sh == NULL || mmcf->row == 0) {
        return;
    }

    row = &mmcf->sh->rows[mmcf->row];
    st = gm_snapshot_stats(s);

    row->synced = (st && st->synced);
    row->generation = (ngx_atomic_t) gm_snapshot_generation(s);
}


/* the snapshot this worker serves now, or NULL */
gm_snapshot_t *
ngx_http_gamma_metrics_snapshot(ngx_http_request_t *r)
{
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);

    return ngx_http_gamma_current(gmcf);
}


/* the one place that knows how a worker holds its snapshot */
static gm_snapshot_t *
ngx_http_gamma_current(ngx_http_gamma_main_conf_t *gmcf)
{
    return gmcf->worker && gmcf->worker->current
           ? gmcf->worker->current->snapshot : NULL;
}


static ngx_int_t
ngx_http_gamma_metrics_log(ngx_http_request_t *r)
{
    ngx_int_t                            i;
    ngx_atomic_uint_t                   *c;
    ngx_http_gamma_ctx_t                *ctx;
    ngx_http_gamma_loc_conf_t           *glcf;
    ngx_http_gamma_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_metrics_module);

    if (mmcf->sh == NULL || mmcf->cache == NULL || r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    if (ctx == NULL) {
        glcf = ngx_http_get_module_loc_conf(r, ngx_http_gamma_module);

        if (!glcf->enable) {
            return NGX_OK;
        }
    }

    i = ngx_http_gamma_series(mmcf, ctx);

    if (i == NGX_ERROR) {
        (void) ngx_atomic_fetch_add(&mmcf->sh->rows[mmcf->row].dropped, 1);
        return NGX_OK;
    }

    c = mmcf->sh->counters
        + (mmcf->row * mmcf->sh->nseries + i) * NGX_HTTP_GAMMA_NCOUNTERS;

    ngx_http_gamma_count(r, ctx, c, mmcf->row == 0);

    return NGX_OK;
}


#define ngx_http_gamma_add(c, i, n, shared)                                  \
    if (shared) { (void) ngx_atomic_fetch_add(&(c)[i], n); }                 \
    else { (c)[i] += (n); }


static void
ngx_http_gamma_count(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    ngx_atomic_uint_t *c, ngx_uint_t shared)
{
    ngx_uint_t   status, b;
    ngx_msec_t   ms;
    ngx_time_t  *tp;

    status = r->err_status ? r->err_status : r->headers_out.status;
    status = (status >= 100 && status < 600) ? status / 100 - 1 : 5;

    tp = ngx_timeofday();
    ms = (ngx_msec_t) ((tp->sec - r->start_sec) * 1000
                       + (tp->msec - r->start_msec));

    for (b = 0; b < NGX_HTTP_GAMMA_NBUCKETS; b++) {
        if (ms <= ngx_http_gamma_bucket_ms[b]) {
            break;
        }
    }

    ngx_http_gamma_add(c, NGX_HTTP_GAMMA_C_STATUS + status, 1, shared);
    ngx_http_gamma_add(c, NGX_HTTP_GAMMA_C_SUM_MS, ms, shared);

    if (b < NGX_HTTP_GAMMA_NBUCKETS) {
        ngx_http_gamma_add(c, NGX_HTTP_GAMMA_C_BUCKET + b, 1, shared);
    }

    if (ctx == NULL) {
        return;
    }

    if (ctx->attempts > 1) {
        ngx_http_gamma_add(c, NGX_HTTP_GAMMA_C_RETRIES, ctx->attempts - 1,
                           shared);
    }

    if (ctx->timed_out == NGX_HTTP_GAMMA_TIMEOUT_REQUEST) {
        ngx_http_gamma_add(c, NGX_HTTP_GAMMA_C_TIMEOUT_REQUEST, 1, shared);

    } else if (ctx->timed_out == NGX_HTTP_GAMMA_TIMEOUT_BACKEND) {
        ngx_http_gamma_add(c, NGX_HTTP_GAMMA_C_TIMEOUT_BACKEND, 1, shared);
    }

    if (ctx->backend && ctx->backend->status == GM_BACKEND_NO_ENDPOINTS) {
        ngx_http_gamma_add(c, NGX_HTTP_GAMMA_C_NO_ENDPOINT, 1, shared);
    }

    b = ngx_http_gamma_mirror_failures(ctx);

    if (b) {
        ngx_http_gamma_add(c, NGX_HTTP_GAMMA_C_MIRROR_FAILURES, b, shared);
    }
}


/* mirrors not sent, failed or timed out; they end before the request */
static ngx_uint_t
ngx_http_gamma_mirror_failures(ngx_http_gamma_ctx_t *ctx)
{
    ngx_uint_t                i, n;
    ngx_http_gamma_mirror_t  *mr;

    if (ctx->filter == NULL || ctx->filter->mirrors == NULL) {
        return 0;
    }

    mr = ctx->filter->mirrors->elts;
    n = 0;

    for (i = 0; i < ctx->filter->mirrors->nelts; i++) {
        n += (mr[i].failed || mr[i].timed_out);
    }

    return n;
}


/* the series of this routing decision: the worker's cache, else the zone */
#define ngx_http_gamma_series_hit(e, gen, fe, rl, be, kd)                   \
    ((e)->generation == (gen) && (e)->frontend == (fe) && (e)->rule == (rl) \
     && (e)->backend == (be) && (e)->kind == (kd) && (e)->index > 0)


static ngx_int_t
ngx_http_gamma_series(ngx_http_gamma_metrics_main_conf_t *mmcf,
    ngx_http_gamma_ctx_t *ctx)
{
    uintptr_t                       h;
    uint64_t                        gen;
    const void                     *fe, *rule, *be;
    ngx_uint_t                      kind;
    ngx_http_gamma_series_cache_t  *e;

    /* the generation the request holds (a mirror's context holds none) */
    gen = (ctx && ctx->gen) ? ctx->gen->generation : 0;
    fe = ctx ? ctx->frontend : NULL;
    rule = ctx ? ctx->rule : NULL;
    be = ctx ? ctx->backend : NULL;
    kind = ctx ? ctx->table_kind : GM_TABLE_NONE;

    /* a run of requests to one route: the same entry, no hash */
    e = mmcf->last;

    if (e != NULL && ngx_http_gamma_series_hit(e, gen, fe, rule, be, kind)) {
        return e->index - 1;
    }

    h = ((uintptr_t) fe >> 4) ^ ((uintptr_t) rule >> 3)
        ^ ((uintptr_t) be >> 5) ^ kind;
    e = &mmcf->cache[(h ^ (h >> 10)) & (NGX_HTTP_GAMMA_CACHE_SIZE - 1)];
    mmcf->last = e;

    if (ngx_http_gamma_series_hit(e, gen, fe, rule, be, kind)) {
        return e->index - 1;
    }

    /* the index is kept plus one: 0 is an empty entry */
    e->index = ngx_http_gamma_series_find(mmcf, ctx);

    if (e->index == NGX_ERROR) {
        e->index = 0;
        return NGX_ERROR;
    }

    e->generation = gen;
    e->frontend = fe;
    e->rule = rule;
    e->backend = be;
    e->kind = kind;

    return e->index++;
}


static ngx_int_t
ngx_http_gamma_series_find(ngx_http_gamma_metrics_main_conf_t *mmcf,
    ngx_http_gamma_ctx_t *ctx)
{
    size_t                        len;
    ngx_http_gamma_series_key_t   want;

    ngx_http_gamma_series_label(ctx, &want);

    len = want.service_len + want.route_len + want.backend_len;

    /* FNV-1a, the kind in the start value */
    want.hash = gm_fnv64_add(GM_FNV64_BASIS ^ want.kind, want.text, len);

    return ngx_http_gamma_series_claim(mmcf->sh, &want);
}


/*
 * Open addressing without a lock: a free slot is claimed by CAS, written,
 * then published.  Two workers claiming one key at once may get two
 * slots; the scrape adds such twins up.
 */
static ngx_int_t
ngx_http_gamma_series_claim(ngx_http_gamma_metrics_sh_t *sh,
    ngx_http_gamma_series_key_t *want)
{
    size_t                        len;
    ngx_uint_t                    i, n, mask;
    ngx_http_gamma_series_key_t  *k;

    len = want->service_len + want->route_len + want->backend_len;
    mask = sh->nseries - 1;
    i = want->hash & mask;

    for (n = 0; n < sh->nseries; n++, i = (i + 1) & mask) {
        k = &sh->keys[i];

        if (k->state == NGX_HTTP_GAMMA_KEY_FREE) {
            if (sh->used * 8 >= sh->nseries * 7) {
                return NGX_ERROR;
            }

            if (!ngx_atomic_cmp_set(&k->state, NGX_HTTP_GAMMA_KEY_FREE,
                                    NGX_HTTP_GAMMA_KEY_BUSY))
            {
                continue;
            }

            ngx_memcpy(k->text, want->text, len);
            k->service_len = want->service_len;
            k->route_len = want->route_len;
            k->backend_len = want->backend_len;
            k->kind = want->kind;
            k->hash = want->hash;
            (void) ngx_atomic_fetch_add(&sh->used, 1);

            ngx_memory_barrier();
            k->state = NGX_HTTP_GAMMA_KEY_READY;

            return i;
        }

        if (k->state == NGX_HTTP_GAMMA_KEY_READY && k->hash == want->hash
            && k->kind == want->kind
            && k->service_len == want->service_len
            && k->route_len == want->route_len
            && k->backend_len == want->backend_len
            && ngx_memcmp(k->text, want->text, len) == 0)
        {
            return i;
        }
    }

    return NGX_ERROR;
}


/* service="ns/name", route="ns/name", backend="ns/name:port" */
static void
ngx_http_gamma_series_label(ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_series_key_t *k)
{
    u_char               *p, *end;
    const gm_rule_t      *rule;
    const gm_frontend_t  *f;

    p = k->text;
    end = k->text + NGX_HTTP_GAMMA_KEY_MAX;
    f = ctx ? ctx->frontend : NULL;
    rule = ctx ? ctx->rule : NULL;

    if (f) {
        p = ngx_slprintf(p, end, "%s/%s", f->passthrough->ns.data,
                         f->passthrough->name.data);
    }

    k->service_len = (uint16_t) (p - k->text);

    if (rule) {
        p = ngx_slprintf(p, end, "%s/%s", rule->route->ns.data,
                         rule->route->name.data);
    }

    k->route_len = (uint16_t) (p - k->text - k->service_len);

    if (ctx && ctx->backend) {
        p = ngx_slprintf(p, end, "%s", ctx->backend->label.data);
    }

    k->backend_len = (uint16_t) (p - k->text - k->service_len
                                 - k->route_len);
    k->kind = (uint8_t) (ctx ? ctx->table_kind : GM_TABLE_NONE);
}
