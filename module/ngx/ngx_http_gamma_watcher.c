/*
 * nginx-gamma: the worker side of the watcher thread.  The thread publishes
 * a snapshot into a one-slot mailbox and signals the module's own eventfd;
 * the event loop swaps it in.  ngx_notify() is not used: it has a single
 * handler slot that nginx's thread pools share.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <pthread.h>
#include <poll.h>
#include <sys/eventfd.h>

#include "ngx_http_gamma_module.h"


static ngx_int_t ngx_http_gamma_notify_init(ngx_cycle_t *cycle,
    ngx_http_gamma_worker_t *w);
static void ngx_http_gamma_watcher_conf(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf, gm_watcher_conf_t *wc);
static void ngx_http_gamma_watcher_log(void *data, gm_log_level_e level,
    const char *msg);
static void ngx_http_gamma_publish(void *data, gm_snapshot_t *s);
static void ngx_http_gamma_notify_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_gamma_swap(ngx_http_gamma_worker_t *w);
static void ngx_http_gamma_wait_first(ngx_http_gamma_worker_t *w,
    ngx_msec_t timeout);
static void ngx_http_gamma_dummy_handler(ngx_event_t *ev);


static const ngx_uint_t  ngx_http_gamma_log_levels[] = {
    NGX_LOG_ERR, NGX_LOG_WARN, NGX_LOG_NOTICE, NGX_LOG_INFO, NGX_LOG_DEBUG
};


ngx_int_t
ngx_http_gamma_watcher_init(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf)
{
    gm_watcher_conf_t         wc;
    ngx_http_gamma_worker_t  *w;

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_gamma_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->log = cycle->log;
    w->rnd = (uint64_t) ngx_random() << 32 | (uint64_t) ngx_random() | 1;
    pthread_mutex_init(&w->lock, NULL);

    w->matcher = gm_matcher_create(NGX_HTTP_GAMMA_REGEX_MATCH_LIMIT,
                                   NGX_HTTP_GAMMA_REGEX_DEPTH_LIMIT);
    if (w->matcher == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_gamma_notify_init(cycle, w) != NGX_OK) {
        return NGX_ERROR;
    }

    gmcf->worker = w;

    ngx_http_gamma_watcher_conf(cycle, gmcf, &wc);

    w->watcher = gm_watcher_start(&wc);
    if (w->watcher == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "gamma: cannot start the watcher thread");
        return NGX_ERROR;
    }

    ngx_http_gamma_wait_first(w, wc.kube ? NGX_HTTP_GAMMA_FIRST_KUBE_MS
                                         : NGX_HTTP_GAMMA_FIRST_FILE_MS);

    return NGX_OK;
}


/* the module's own eventfd in the event loop: the thread signals it */
static ngx_int_t
ngx_http_gamma_notify_init(ngx_cycle_t *cycle, ngx_http_gamma_worker_t *w)
{
    int                fd;
    ngx_connection_t  *c;

    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "gamma: eventfd() failed");
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        close(fd);
        return NGX_ERROR;
    }

    c->data = w;
    c->read->handler = ngx_http_gamma_notify_handler;
    c->read->log = cycle->log;
    c->write->handler = ngx_http_gamma_dummy_handler;
    w->notify = c;

    return ngx_handle_read_event(c->read, 0);
}


static void
ngx_http_gamma_watcher_conf(ngx_cycle_t *cycle,
    ngx_http_gamma_main_conf_t *gmcf, gm_watcher_conf_t *wc)
{
    ngx_memzero(wc, sizeof(gm_watcher_conf_t));

    wc->log.handler = ngx_http_gamma_watcher_log;
    wc->log.data = cycle->log;
    wc->publish = ngx_http_gamma_publish;
    wc->publish_data = gmcf->worker;

    if (gmcf->source == NGX_HTTP_GAMMA_SOURCE_KUBERNETES) {
        wc->kube = &gmcf->kube;
        wc->debounce_ms = GM_SOURCE_KUBE_DEBOUNCE_MS;
        wc->max_delay_ms = GM_SOURCE_KUBE_MAX_DELAY_MS;
        return;
    }

    wc->file_path = (const char *) gmcf->file_path.data;
    wc->debounce_ms = GM_SOURCE_FILE_DEBOUNCE_MS;
    wc->max_delay_ms = GM_SOURCE_FILE_MAX_DELAY_MS;
}


void
ngx_http_gamma_watcher_exit(ngx_http_gamma_main_conf_t *gmcf)
{
    ngx_http_gamma_worker_t  *w;

    w = gmcf->worker;
    gmcf->worker = NULL;

    gm_watcher_stop(w->watcher);

    if (w->pending) {
        gm_snapshot_unref(w->pending);
    }

    /* requests still holding it are gone: the process is exiting */
    if (w->current) {
        gm_snapshot_unref(w->current);
    }

    gm_matcher_destroy(w->matcher);

    if (w->notify) {
        ngx_close_connection(w->notify);
    }
}


/* runs in the watcher thread: ngx_log_error() only writes to the log */
static void
ngx_http_gamma_watcher_log(void *data, gm_log_level_e level, const char *msg)
{
    ngx_log_t  *log = data;

    ngx_log_error(ngx_http_gamma_log_levels[level], log, 0, "gamma: %s", msg);
}


/* runs in the watcher thread */
static void
ngx_http_gamma_publish(void *data, gm_snapshot_t *s)
{
    ngx_http_gamma_worker_t  *w = data;

    uint64_t        one;
    gm_snapshot_t  *old;

    pthread_mutex_lock(&w->lock);
    old = w->pending;
    w->pending = s;
    pthread_mutex_unlock(&w->lock);

    /* the event loop never saw it, so the thread may drop it */
    if (old) {
        gm_snapshot_unref(old);
    }

    one = 1;

    if (write(w->notify->fd, &one, sizeof(one)) != sizeof(one)) {
        ngx_log_error(NGX_LOG_ALERT, w->log, ngx_errno,
                      "gamma: eventfd write() failed");
    }
}


static void
ngx_http_gamma_notify_handler(ngx_event_t *ev)
{
    ngx_connection_t         *c = ev->data;
    ngx_http_gamma_worker_t  *w = c->data;

    uint64_t  count;

    /* drains the counter: the edge-triggered event rearms */
    while (read(c->fd, &count, sizeof(count)) == sizeof(count)) {
        /* void */
    }

    ngx_http_gamma_swap(w);
}


static ngx_int_t
ngx_http_gamma_swap(ngx_http_gamma_worker_t *w)
{
    gm_snapshot_t  *s;

    pthread_mutex_lock(&w->lock);
    s = w->pending;
    w->pending = NULL;
    pthread_mutex_unlock(&w->lock);

    if (s == NULL) {
        return NGX_DECLINED;
    }

    if (w->current) {
        gm_snapshot_unref(w->current);
    }

    w->current = s;

    ngx_log_error(NGX_LOG_INFO, w->log, 0,
                  "gamma: snapshot %uL in service",
                  (uint64_t) gm_snapshot_generation(s));

    return NGX_OK;
}


/*
 * A file source is local and answers at once: waiting for it here, before
 * the worker accepts connections, spares the first requests a 503.
 */
static void
ngx_http_gamma_wait_first(ngx_http_gamma_worker_t *w, ngx_msec_t timeout)
{
    uint64_t       count;
    struct pollfd  pfd;

    pfd.fd = w->notify->fd;
    pfd.events = POLLIN;

    if (poll(&pfd, 1, (int) timeout) == 1) {
        while (read(pfd.fd, &count, sizeof(count)) == sizeof(count)) {
            /* void */
        }

        ngx_http_gamma_swap(w);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, w->log, 0,
                  "gamma: no mesh state after %M ms, answering 503 until "
                  "it arrives", timeout);
}


static void
ngx_http_gamma_dummy_handler(ngx_event_t *ev)
{
}
