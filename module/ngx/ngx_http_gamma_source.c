/*
 * nginx-gamma: the source process.  One process per nginx instance runs
 * the watcher thread (source, store and compiler) and publishes its
 * snapshots into the zone: with a master, the helper process nginx starts
 * (and respawns) for an ngx_path_t that has a manager, as for proxy_cache;
 * without one, the single process itself.  Workers run no thread.
 *
 * The cache loader is a helper process too: the watcher starts on the
 * first call of the manager, which only the cache manager makes.  The
 * cache manager leaves with exit() and no exit_process hook: an atexit()
 * handler stops the thread, so it never dies holding the zone's mutex.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_counters.h"
#include "ngx_http_gamma_zone.h"


struct ngx_http_gamma_source_s {
    ngx_http_gamma_zone_t      zone;
    gm_watcher_t              *watcher;
    ngx_event_t                reclaim;      /* without a master */
};


static ngx_int_t ngx_http_gamma_source_path(ngx_conf_t *cf,
    ngx_http_gamma_main_conf_t *gmcf);
static ngx_msec_t ngx_http_gamma_source_manager(void *data);
static void ngx_http_gamma_source_watcher_conf(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf, gm_watcher_conf_t *wc);
static void ngx_http_gamma_source_free(void *data);
static void ngx_http_gamma_source_atexit(void);
static void ngx_http_gamma_source_reclaim(ngx_event_t *ev);
static void ngx_http_gamma_source_log(void *data, gm_log_level_e level,
    const char *msg);
static void ngx_http_gamma_source_publish(void *data, gm_snapshot_t *s);


static const ngx_uint_t  ngx_http_gamma_log_levels[] = {
    NGX_LOG_ERR, NGX_LOG_WARN, NGX_LOG_NOTICE, NGX_LOG_INFO, NGX_LOG_DEBUG
};


/* the zone and the helper's path, once the http block is parsed */
ngx_int_t
ngx_http_gamma_source_conf(ngx_conf_t *cf, ngx_http_gamma_main_conf_t *gmcf)
{
    if (gmcf->zone_size == 0) {
        gmcf->zone_size = NGX_HTTP_GAMMA_ZONE_SIZE;
    }

    if (ngx_http_gamma_zone_add(cf, &gmcf->shm_zone, gmcf->zone_size)
        != NGX_OK
        || ngx_http_gamma_counters_add(cf, &gmcf->counters) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_gamma_source_path(cf, gmcf);
}


/*
 * nginx creates (and chowns to the workers' user) the directory of every
 * path: a directory of its own, never one that exists for other uses.
 */
static ngx_int_t
ngx_http_gamma_source_path(ngx_conf_t *cf, ngx_http_gamma_main_conf_t *gmcf)
{
    ngx_path_t  *path;

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_ERROR;
    }

    if (gmcf->helper_dir.len) {
        path->name = gmcf->helper_dir;

    } else {
        ngx_str_set(&path->name, NGX_HTTP_GAMMA_HELPER_DIR);
    }

    if (ngx_conf_full_name(cf->cycle, &path->name, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    path->manager = ngx_http_gamma_source_manager;
    path->data = gmcf;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    return ngx_add_path(cf, &path);
}


/* the cache manager process calls it at once, then when it asks */
static ngx_msec_t
ngx_http_gamma_source_manager(void *data)
{
    ngx_http_gamma_main_conf_t  *gmcf = data;

    if (gmcf->source_process == NULL
        && ngx_http_gamma_source_start((ngx_cycle_t *) ngx_cycle, gmcf)
           != NGX_OK)
    {
        gmcf->source_retry = gmcf->source_retry
                             ? ngx_min(gmcf->source_retry * 2,
                                       NGX_HTTP_GAMMA_SOURCE_RETRY_MAX)
                             : NGX_HTTP_GAMMA_SOURCE_RETRY_MS;

        return gmcf->source_retry;
    }

    ngx_http_gamma_zone_reclaim(&gmcf->source_process->zone);

    return NGX_HTTP_GAMMA_RECLAIM_MS;
}


ngx_int_t
ngx_http_gamma_source_start(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf)
{
    ngx_uint_t                level;
    gm_allocator_t            al;
    ngx_pool_cleanup_t       *cln;
    gm_watcher_conf_t         wc;
    ngx_http_gamma_source_t  *src;

    /* not from the cycle's pool: a start that fails is tried again */
    src = ngx_calloc(sizeof(ngx_http_gamma_source_t), cycle->log);
    if (src == NULL) {
        return NGX_ERROR;
    }

    src->zone.log = cycle->log;
    src->zone.shm_zone = gmcf->shm_zone;

    ngx_http_gamma_source_watcher_conf(cycle, gmcf, &wc);
    wc.publish_data = src;
    wc.operator_conf = &gmcf->operator_conf;
    wc.generation = ngx_http_gamma_zone_own(&src->zone);

    al.alloc = ngx_http_gamma_zone_alloc;
    al.free = ngx_http_gamma_zone_free;
    al.data = src->zone.shpool;
    al.exhausted = ngx_http_gamma_zone_exhausted;
    wc.allocator = &al;

    src->watcher = gm_watcher_start(&wc);
    if (src->watcher == NULL) {
        /* the source process tries again; a single process cannot */
        level = (ngx_process == NGX_PROCESS_SINGLE) ? NGX_LOG_EMERG
                                                    : NGX_LOG_ERR;
        ngx_log_error(level, cycle->log, ngx_errno,
                      "gamma: cannot start the watcher thread");
        ngx_free(src);
        return NGX_ERROR;
    }

    /* freed with the cycle's pool (a single process's exit), not leaked */
    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        gm_watcher_stop(src->watcher);
        ngx_free(src);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_gamma_source_free;
    cln->data = src;

    gmcf->source_process = src;

    if (ngx_process == NGX_PROCESS_SINGLE) {
        src->reclaim.handler = ngx_http_gamma_source_reclaim;
        src->reclaim.data = src;
        src->reclaim.log = cycle->log;
        src->reclaim.cancelable = 1;
        ngx_add_timer(&src->reclaim, NGX_HTTP_GAMMA_RECLAIM_MS);
        return NGX_OK;
    }

    if (atexit(ngx_http_gamma_source_atexit) != 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0, "gamma: atexit() failed");
    }

    return NGX_OK;
}


void
ngx_http_gamma_source_stop(ngx_http_gamma_main_conf_t *gmcf)
{
    ngx_http_gamma_source_t  *src;

    src = gmcf->source_process;

    if (src == NULL || src->watcher == NULL) {
        return;
    }

    gm_watcher_stop(src->watcher);
    src->watcher = NULL;
}


static void
ngx_http_gamma_source_watcher_conf(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf, gm_watcher_conf_t *wc)
{
    ngx_memzero(wc, sizeof(gm_watcher_conf_t));

    wc->log.handler = ngx_http_gamma_source_log;
    wc->log.data = cycle->log;
    wc->publish = ngx_http_gamma_source_publish;
    wc->reference_grants = gmcf->reference_grants
                           == NGX_HTTP_GAMMA_GRANTS_REQUIRE;

    if (gmcf->source == NGX_HTTP_GAMMA_SOURCE_KUBERNETES) {
        gmcf->kube.reference_grants = wc->reference_grants;
        wc->kube = &gmcf->kube;

        if (gmcf->status_writer) {
            gmcf->status.log = wc->log;
            wc->status = &gmcf->status;
        }

        wc->interval_ms = GM_SOURCE_KUBE_INTERVAL_MS;
        return;
    }

    wc->file_path = (const char *) gmcf->file_path.data;
    wc->interval_ms = GM_SOURCE_FILE_INTERVAL_MS;
}


static void
ngx_http_gamma_source_free(void *data)
{
    ngx_http_gamma_source_t  *src = data;

    if (src->reclaim.timer_set) {
        ngx_del_timer(&src->reclaim);
    }

    if (src->watcher) {
        gm_watcher_stop(src->watcher);
    }

    ngx_free(src);
}


static void
ngx_http_gamma_source_atexit(void)
{
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_gamma_module);

    if (gmcf) {
        ngx_http_gamma_source_stop(gmcf);
    }
}


static void
ngx_http_gamma_source_reclaim(ngx_event_t *ev)
{
    ngx_http_gamma_source_t  *src = ev->data;

    ngx_http_gamma_zone_reclaim(&src->zone);

    ngx_add_timer(ev, NGX_HTTP_GAMMA_RECLAIM_MS);
}


/* runs in the watcher thread: a line carries the time of its event */
static void
ngx_http_gamma_source_log(void *data, gm_log_level_e level, const char *msg)
{
    ngx_log_t  *log = data;

    ngx_http_gamma_thread_log(ngx_http_gamma_log_levels[level], log,
                              "gamma: %s", msg);
}


/* runs in the watcher thread */
static void
ngx_http_gamma_source_publish(void *data, gm_snapshot_t *s)
{
    ngx_http_gamma_source_t  *src = data;

    ngx_int_t               rc;
    ngx_http_gamma_shm_t   *sh;
    ngx_http_gamma_zone_t  *z;

    z = &src->zone;
    sh = z->sh;
    rc = (s != NULL) ? ngx_http_gamma_zone_publish(z, s) : NGX_ERROR;

    if (rc == NGX_OK) {
        ngx_http_gamma_thread_log(NGX_LOG_INFO, z->log,
                                  "gamma: snapshot %uL published, %uz bytes, "
                                  "zone \"%V\" %uz of %uz bytes used",
                                  (uint64_t) gm_snapshot_generation(s),
                                  gm_snapshot_size(s), &z->shm_zone->shm.name,
                                  ngx_http_gamma_zone_used(z->shm_zone),
                                  ngx_http_gamma_zone_size(z->shm_zone));

    } else if (rc == NGX_DECLINED) {
        ngx_http_gamma_thread_log(NGX_LOG_NOTICE, z->log,
                                  "gamma: snapshot %uL dropped, a newer "
                                  "process publishes now",
                                  (uint64_t) gm_snapshot_generation(s));

    } else if (sh->build_nomem) {
        ngx_http_gamma_thread_log(NGX_LOG_ERR, z->log,
                                  "gamma: a snapshot of at least %uz bytes "
                                  "does not fit in zone \"%V\" (%uz of %uz "
                                  "bytes used), the previous one keeps "
                                  "serving: raise \"gamma_zone\"",
                                  sh->build_bytes, &z->shm_zone->shm.name,
                                  ngx_http_gamma_zone_used(z->shm_zone),
                                  ngx_http_gamma_zone_size(z->shm_zone));
    }

    if (rc != NGX_OK && s != NULL) {
        gm_snapshot_unref(s);
    }

    sh->build_bytes = 0;
    sh->build_nomem = 0;
}
