/*
 * nginx-gamma: the snapshot zone (ngx_http_gamma_zone.h): the gamma_zone
 * directive, the zone's header, publishing a snapshot and freeing the
 * generations no process uses any more.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/random.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_zone.h"


static ngx_int_t ngx_http_gamma_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_gamma_zone_key(u_char *key, ngx_log_t *log);
static void ngx_http_gamma_zone_untouch(ngx_slab_pool_t *shpool,
    ngx_log_t *log);
static void ngx_http_gamma_zone_release(ngx_http_gamma_zone_t *z);
static uint64_t ngx_http_gamma_zone_oldest_used(ngx_http_gamma_zone_t *z);
static ngx_int_t ngx_http_gamma_zone_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


#define NGX_HTTP_GAMMA_VAR_ZONE_USED   0
#define NGX_HTTP_GAMMA_VAR_GENERATION  1


static ngx_http_variable_t  ngx_http_gamma_zone_vars[] = {

    /* bytes of the zone in use: every generation still held, and spare */
    { ngx_string("gamma_zone_used"), NULL, ngx_http_gamma_zone_variable,
      NGX_HTTP_GAMMA_VAR_ZONE_USED, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* the generation the request routed with, else the worker's current */
    { ngx_string("gamma_generation"), NULL, ngx_http_gamma_zone_variable,
      NGX_HTTP_GAMMA_VAR_GENERATION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_gamma_zone_add_variables(ngx_conf_t *cf)
{
    return ngx_http_gamma_add_variable_table(cf, ngx_http_gamma_zone_vars);
}


/* gamma_zone <size> [<helper directory>] */
char *
ngx_http_gamma_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gamma_main_conf_t  *gmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (gmcf->zone_size != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < NGX_HTTP_GAMMA_ZONE_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid size \"%V\" in \"gamma_zone\" directive, "
                           "it must be at least 64k", &value[1]);
        return NGX_CONF_ERROR;
    }

    gmcf->zone_size = size;

    if (cf->args->nelts == 3) {
        gmcf->helper_dir = value[2];
    }

    return NGX_CONF_OK;
}


/*
 * nginx gives a new zone when the size changes and hands the old zone's
 * data to the init of an unchanged one: a reload keeps serving it.
 */
ngx_int_t
ngx_http_gamma_zone_add(ngx_conf_t *cf, ngx_shm_zone_t **zone, size_t size)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *shm_zone;

    ngx_str_set(&name, NGX_HTTP_GAMMA_ZONE_NAME);

    shm_zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_gamma_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_gamma_zone_init;
    *zone = shm_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t       *shpool;
    ngx_http_gamma_shm_t  *sh;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    ngx_http_gamma_zone_untouch(shpool, shm_zone->shm.log);

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_gamma_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_gamma_zone_key(sh->session_key, shm_zone->shm.log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    shpool->data = sh;
    /* a snapshot that does not fit is reported once, with its sizes */
    shpool->log_nomem = 0;
    shm_zone->data = sh;

    return NGX_OK;
}


/* in the master, before the workers fork: they all share it */
static ngx_int_t
ngx_http_gamma_zone_key(u_char *key, ngx_log_t *log)
{
    ssize_t  n;

    n = getrandom(key, GM_SESSION_KEY_LEN, 0);

    if (n != GM_SESSION_KEY_LEN) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "gamma: getrandom() for the session key failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * ngx_slab_init() zeroes a page descriptor for every page of the zone (3 MB
 * for 512 MB), in the master, before it forks: resident memory nobody
 * uses until a snapshot takes those pages.  The descriptors are all zero
 * but the first, and a hole in shared memory reads as zeroes: give their
 * pages back, the allocator touches them again as the zone fills.
 */
static void
ngx_http_gamma_zone_untouch(ngx_slab_pool_t *shpool, ngx_log_t *log)
{
    u_char  *start, *end;

    start = ngx_align_ptr((u_char *) (shpool->pages + 1), ngx_pagesize);
    end = (u_char *) ((uintptr_t) shpool->last & ~(ngx_pagesize - 1));

    if (end <= start) {
        return;
    }

    if (madvise(start, end - start, MADV_REMOVE) == -1) {
        ngx_log_error(NGX_LOG_INFO, log, ngx_errno,
                      "gamma: madvise(MADV_REMOVE) of the zone's page "
                      "descriptors failed, they stay resident");
    }
}


ngx_http_gamma_shm_t *
ngx_http_gamma_zone_shm(ngx_shm_zone_t *shm_zone)
{
    return shm_zone->data;
}


uint64_t
ngx_http_gamma_zone_own(ngx_http_gamma_zone_t *z)
{
    uint64_t  generation;

    z->shpool = (ngx_slab_pool_t *) z->shm_zone->shm.addr;
    z->sh = z->shm_zone->data;

    /* a previous helper (before a reload or a crash) publishes no more */
    ngx_shmtx_lock(&z->shpool->mutex);
    z->sh->owner = ngx_pid;
    generation = z->sh->generation;
    ngx_shmtx_unlock(&z->shpool->mutex);

    return generation;
}


/* runs in the watcher thread */
void *
ngx_http_gamma_zone_alloc(void *data, size_t size)
{
    ngx_slab_pool_t  *shpool = data;

    void                  *p;
    ngx_http_gamma_shm_t  *sh;

    sh = shpool->data;

    /* what the build asked for, the refused request included */
    sh->build_bytes += size;

    p = ngx_slab_alloc(shpool, size);

    if (p == NULL) {
        sh->build_nomem = 1;
    }

    return p;
}


void
ngx_http_gamma_zone_free(void *data, void *p)
{
    ngx_slab_pool_t  *shpool = data;

    ngx_slab_free(shpool, p);
}


/* runs in the watcher thread, like the allocations it reports on */
int
ngx_http_gamma_zone_exhausted(void *data)
{
    ngx_slab_pool_t  *shpool = data;

    ngx_http_gamma_shm_t  *sh;

    sh = shpool->data;

    return sh->build_nomem != 0;
}


/* runs in the watcher thread; on success the zone owns the snapshot */
ngx_int_t
ngx_http_gamma_zone_publish(ngx_http_gamma_zone_t *z, gm_snapshot_t *s)
{
    uint64_t                generation;
    ngx_http_gamma_shm_t   *sh;
    ngx_http_gamma_live_t  *live;

    sh = z->sh;

    live = ngx_http_gamma_zone_alloc(z->shpool,
                                     sizeof(ngx_http_gamma_live_t));
    if (live == NULL) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    if (sh->owner != (ngx_atomic_uint_t) ngx_pid) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        ngx_slab_free(z->shpool, live);
        return NGX_DECLINED;
    }

    generation = gm_snapshot_generation(s);

    if (generation <= sh->generation) {
        generation = sh->generation + 1;
        gm_snapshot_set_generation(s, generation);
    }

    live->snapshot = s;
    live->generation = generation;
    live->next = sh->live;
    sh->live = live;

    /* the snapshot before its number: a reader of the number sees both */
    __atomic_store_n(&sh->current, (ngx_atomic_uint_t) (uintptr_t) s,
                     __ATOMIC_RELEASE);
    __atomic_store_n(&sh->generation, generation, __ATOMIC_RELEASE);

    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/*
 * Runs on the helper's event loop.  The generations not current are taken
 * out of the list first, then the slots are read: a worker that read one
 * of them as current before did announce it by then.
 */
void
ngx_http_gamma_zone_reclaim(ngx_http_gamma_zone_t *z)
{
    uint64_t                oldest, generation;
    ngx_uint_t              freed;
    ngx_http_gamma_live_t  *live, *next, **prev, *retired, *kept;

    retired = NULL;
    freed = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    prev = &z->sh->live;

    for (live = z->sh->live; live; live = next) {
        next = live->next;

        if ((ngx_atomic_uint_t) (uintptr_t) live->snapshot
            != z->sh->current)
        {
            *prev = next;
            live->next = retired;
            retired = live;
            continue;
        }

        prev = &live->next;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (retired == NULL) {
        return;
    }

    /* pairs with the fence of a worker between its slot and its read */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    oldest = ngx_http_gamma_zone_oldest_used(z);
    kept = NULL;

    for (live = retired; live; live = next) {
        next = live->next;

        if (oldest != 0 && live->generation >= oldest) {
            live->next = kept;
            kept = live;
            continue;
        }

        generation = live->generation;
        /* and a dead source process's hold on it (gm_compile_incr.c) */
        gm_snapshot_unref_retired(live->snapshot);
        ngx_slab_free(z->shpool, live);
        freed++;

        ngx_log_error(NGX_LOG_INFO, z->log, 0,
                      "gamma: snapshot %uL freed, zone \"%V\" %uz of %uz "
                      "bytes used", generation,
                      &z->shm_zone->shm.name,
                      ngx_http_gamma_zone_used(z->shm_zone),
                      ngx_http_gamma_zone_size(z->shm_zone));
    }

    if (freed) {
        ngx_http_gamma_zone_release(z);
    }

    if (kept == NULL) {
        return;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    for (live = kept; live; live = next) {
        next = live->next;
        live->next = z->sh->live;
        z->sh->live = live;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/*
 * A freed generation's pages stay resident in shared memory (the slab
 * keeps them for the next build): two whole snapshots after every change,
 * where one is in use.  The runs of free pages are given back; the next
 * build touches what it takes.  Under the pool's mutex: a build in the
 * watcher thread allocates meanwhile.
 */
static void
ngx_http_gamma_zone_release(ngx_http_gamma_zone_t *z)
{
    u_char           *p;
    ngx_slab_page_t  *page;
    ngx_slab_pool_t  *pool;

    pool = z->shpool;

    ngx_shmtx_lock(&pool->mutex);

    for (page = pool->free.next; page != &pool->free; page = page->next) {
        if (page->slab < NGX_HTTP_GAMMA_ZONE_RELEASE_PAGES) {
            continue;
        }

        p = pool->start + ((page - pool->pages) << ngx_pagesize_shift);

        if (madvise(p, page->slab << ngx_pagesize_shift, MADV_REMOVE)
            == -1)
        {
            ngx_log_error(NGX_LOG_INFO, z->log, ngx_errno,
                          "gamma: madvise(MADV_REMOVE) of free zone pages "
                          "failed");
            break;
        }
    }

    ngx_shmtx_unlock(&pool->mutex);
}


/* the oldest generation a live process announces, or 0 */
static uint64_t
ngx_http_gamma_zone_oldest_used(ngx_http_gamma_zone_t *z)
{
    uint64_t                oldest, gen;
    ngx_pid_t               pid;
    ngx_uint_t              i;
    ngx_http_gamma_slot_t  *slot;

    oldest = 0;

    for (i = 0; i < NGX_MAX_PROCESSES; i++) {
        slot = &z->sh->slots[i];

        pid = (ngx_pid_t) __atomic_load_n(&slot->pid, __ATOMIC_ACQUIRE);
        gen = __atomic_load_n(&slot->oldest, __ATOMIC_ACQUIRE);

        if (pid == 0 || gen == 0 || (oldest != 0 && gen >= oldest)) {
            continue;
        }

        /* a crashed worker pins nothing (its respawn takes its slot) */
        if (kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
            continue;
        }

        oldest = gen;
    }

    return oldest;
}


size_t
ngx_http_gamma_zone_used(ngx_shm_zone_t *shm_zone)
{
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    return ((shpool->end - shpool->start) >> ngx_pagesize_shift
            ) * ngx_pagesize - shpool->pfree * ngx_pagesize;
}


size_t
ngx_http_gamma_zone_size(ngx_shm_zone_t *shm_zone)
{
    return shm_zone->shm.size;
}


static ngx_int_t
ngx_http_gamma_zone_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                      *p;
    uint64_t                     n;
    ngx_http_gamma_ctx_t        *ctx;
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);

    if (gmcf->shm_zone == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == NGX_HTTP_GAMMA_VAR_ZONE_USED) {
        n = ngx_http_gamma_zone_used(gmcf->shm_zone);

    } else {
        ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

        if (ctx && ctx->gen) {
            n = ctx->gen->generation;

        } else if (gmcf->worker && gmcf->worker->current) {
            n = gmcf->worker->current->generation;

        } else {
            n = 0;
        }
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%uL", n) - p;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}
