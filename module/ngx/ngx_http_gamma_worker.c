/*
 * nginx-gamma: a worker's side of the snapshot zone.  A worker adopts the
 * current generation between requests (the handler compares one number
 * at the start of each request; a slow timer does it for an idle worker)
 * and counts the requests still routing with each generation it holds.
 * Its process slot in the zone announces the oldest of them, so the helper
 * frees a generation only when no worker can use it any more.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gm_limits.h"
#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_zone.h"
#include "ngx_http_gamma_metrics.h"


static void ngx_http_gamma_worker_wait_first(ngx_http_gamma_worker_t *w,
    ngx_msec_t timeout);
static void ngx_http_gamma_worker_timer(ngx_event_t *ev);
static void ngx_http_gamma_worker_announce(ngx_http_gamma_worker_t *w,
    uint64_t oldest);


ngx_int_t
ngx_http_gamma_worker_init(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf)
{
    ngx_http_gamma_worker_t  *w;

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_gamma_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->log = cycle->log;
    w->rnd = (uint64_t) ngx_random() << 32 | (uint64_t) ngx_random() | 1;
    w->sh = ngx_http_gamma_zone_shm(gmcf->shm_zone);
    w->slot = &w->sh->slots[ngx_process_slot];

    w->matcher = gm_matcher_create(ngx_http_gamma_regex_budget_steps(gmcf),
                                   GM_REGEX_DEPTH_LIMIT);
    if (w->matcher == NULL) {
        return NGX_ERROR;
    }

    /* the slot of a crashed predecessor: its announcement goes first */
    __atomic_store_n(&w->slot->oldest, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&w->slot->pid, (ngx_atomic_uint_t) ngx_pid,
                     __ATOMIC_RELEASE);

    gmcf->worker = w;

    /* a respawned worker serves the current generation at once */
    ngx_http_gamma_worker_adopt(w);

    if (w->current == NULL) {
        ngx_http_gamma_worker_wait_first(w,
                  gmcf->source == NGX_HTTP_GAMMA_SOURCE_KUBERNETES
                  ? NGX_HTTP_GAMMA_FIRST_KUBE_MS
                  : NGX_HTTP_GAMMA_FIRST_FILE_MS);
    }

    w->timer.handler = ngx_http_gamma_worker_timer;
    w->timer.data = w;
    w->timer.log = cycle->log;
    w->timer.cancelable = 1;
    ngx_add_timer(&w->timer, NGX_HTTP_GAMMA_ADOPT_MS);

    return NGX_OK;
}


void
ngx_http_gamma_worker_exit(ngx_http_gamma_main_conf_t *gmcf)
{
    ngx_http_gamma_gen_t     *gen, *next;
    ngx_http_gamma_worker_t  *w;

    w = gmcf->worker;
    gmcf->worker = NULL;

    /* requests still holding a generation are gone: the process exits */
    __atomic_store_n(&w->slot->oldest, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&w->slot->pid, 0, __ATOMIC_RELEASE);

    for (gen = w->held; gen; gen = next) {
        next = gen->next;
        ngx_free(gen);
    }

    w->held = w->last = w->current = NULL;

    gm_matcher_destroy(w->matcher);
}


/*
 * Hazard-style: announce a generation no newer than the current one, a
 * full fence, then read the current snapshot.  The helper, which takes a
 * snapshot off the current pointer before it reads the slots, sees the
 * announcement or keeps that snapshot.
 */
void
ngx_http_gamma_worker_adopt(ngx_http_gamma_worker_t *w)
{
    uint64_t               g, oldest;
    gm_snapshot_t         *s;
    ngx_http_gamma_gen_t  *gen, *old;

    g = __atomic_load_n(&w->sh->generation, __ATOMIC_ACQUIRE);

    if (g == 0 || g == w->generation) {
        return;
    }

    gen = ngx_alloc(sizeof(ngx_http_gamma_gen_t), w->log);
    if (gen == NULL) {
        return;
    }

    oldest = w->held ? w->held->generation : g;
    ngx_http_gamma_worker_announce(w, oldest < g ? oldest : g);

    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    s = (gm_snapshot_t *) (uintptr_t) __atomic_load_n(&w->sh->current,
                                                       __ATOMIC_ACQUIRE);

    /* the number lagged behind the pointer last time */
    if (w->current && w->current->snapshot == s) {
        ngx_free(gen);
        w->generation = g;
        ngx_http_gamma_worker_announce(w, w->held->generation);
        return;
    }

    gen->snapshot = s;
    gen->generation = gm_snapshot_generation(s);
    gen->refs = 1;
    gen->worker = w;

    /* held: the oldest first */
    gen->next = NULL;
    gen->prev = w->last;

    if (w->last) {
        w->last->next = gen;

    } else {
        w->held = gen;
    }

    w->last = gen;

    old = w->current;
    w->current = gen;
    w->generation = g;

    /* readiness: the metrics zone says which generation this worker serves */
    ngx_http_gamma_metrics_adopt((ngx_cycle_t *) ngx_cycle, s);

    ngx_log_error(NGX_LOG_INFO, w->log, 0,
                  "gamma: snapshot %uL in service", gen->generation);

    if (old) {
        ngx_http_gamma_worker_release(old);
    }
}


void
ngx_http_gamma_worker_release(ngx_http_gamma_gen_t *gen)
{
    ngx_http_gamma_worker_t  *w;

    if (--gen->refs != 0) {
        return;
    }

    w = gen->worker;

    if (gen->prev) {
        gen->prev->next = gen->next;

    } else {
        w->held = gen->next;
    }

    if (gen->next) {
        gen->next->prev = gen->prev;

    } else {
        w->last = gen->prev;
    }

    ngx_free(gen);

    /* only ever raised here: a late store pins longer, never less */
    ngx_http_gamma_worker_announce(w, w->held ? w->held->generation : 0);
}


static void
ngx_http_gamma_worker_announce(ngx_http_gamma_worker_t *w, uint64_t oldest)
{
    __atomic_store_n(&w->slot->oldest, oldest, __ATOMIC_RELEASE);
}


/*
 * Before the first snapshot a worker would answer 503: at start it waits
 * a moment for the source process's first one (a file source needs well
 * under a second), before it accepts connections.
 */
static void
ngx_http_gamma_worker_wait_first(ngx_http_gamma_worker_t *w,
    ngx_msec_t timeout)
{
    ngx_msec_t  waited;

    for (waited = 0; waited < timeout; waited += NGX_HTTP_GAMMA_FIRST_POLL_MS)
    {
        ngx_msleep(NGX_HTTP_GAMMA_FIRST_POLL_MS);

        ngx_http_gamma_worker_adopt(w);

        if (w->current) {
            return;
        }
    }

    ngx_log_error(NGX_LOG_WARN, w->log, 0,
                  "gamma: no mesh state after %M ms, answering 503 until "
                  "it arrives", timeout);
}


static void
ngx_http_gamma_worker_timer(ngx_event_t *ev)
{
    ngx_http_gamma_worker_t  *w = ev->data;

    ngx_http_gamma_worker_adopt(w);

    ngx_add_timer(ev, NGX_HTTP_GAMMA_ADOPT_MS);
}
