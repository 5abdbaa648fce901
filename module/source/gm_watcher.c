/*
 * nginx-gamma: the watcher thread.  It owns the source, the store and the
 * compiler, and hands every new snapshot to a publish callback.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "gm_curl.h"
#include "gm_file_source.h"
#include "gm_route_status.h"
#include "gm_snapshot_walk.h"
#include "gm_store.h"
#include "gm_source.h"


struct gm_watcher_s {
    gm_watcher_conf_t   conf;
    char               *file_path;
    int                 stop_fd;
    pthread_t           tid;
    gm_store_t         *store;
    gm_compile_incr_t  *incr;          /* builds every snapshot */
    /* the last full compile's notes: a patched snapshot has the same */
    gm_reject_tap_t     compiled;
    gm_file_source_t   *fs;
    gm_kube_source_t   *ks;
    uint64_t            generation;
    gm_allocator_t      allocator;
    gm_status_seen_t   *status_seen;   /* the file source logs changes */
    gm_status_writer_t *writer;        /* the API source's, when on */
    int64_t             first_sync_ms;
    unsigned            dirty:1;       /* a change is not published yet */
    int64_t             published_at;  /* ms, the last snapshot */
    unsigned            published:1;
    unsigned            failed:1;      /* the last compile: out of memory */
};


/* a change that leaves this much of the heap free gives it back */
#define GM_WATCHER_TRIM_FREE  (32 * 1024 * 1024)


static void *gm_watcher_main(void *data);
static int gm_watcher_curl(gm_watcher_t *w);
static void gm_watcher_files(gm_watcher_t *w);
static void gm_watcher_kube(gm_watcher_t *w);
static int gm_watcher_timeout(gm_watcher_t *w, int synced);
static void gm_watcher_dirty(gm_watcher_t *w);
static void gm_watcher_flush(gm_watcher_t *w, int synced);
static int gm_watcher_wait(gm_watcher_t *w, int fd, int timeout_ms);
static void gm_watcher_publish(gm_watcher_t *w);
static size_t gm_watcher_heap_free(void);
static void gm_watcher_status(gm_watcher_t *w, const gm_snapshot_t *s);
static void gm_watcher_stats(gm_watcher_t *w, gm_snapshot_t *s,
    const gm_reject_list_t *compiled, int64_t start_us);
static int64_t gm_watcher_now_us(void);
static int64_t gm_watcher_now_ms(void);


gm_watcher_t *
gm_watcher_start(const gm_watcher_conf_t *conf)
{
    int            err;
    sigset_t       all, old;
    gm_watcher_t  *w;

    w = calloc(1, sizeof(gm_watcher_t));
    if (w == NULL) {
        return NULL;
    }

    w->conf = *conf;
    w->generation = conf->generation;

    if (conf->allocator) {
        w->allocator = *conf->allocator;
        w->conf.allocator = &w->allocator;
    }
    w->file_path = conf->file_path ? strdup(conf->file_path) : NULL;
    w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    w->store = gm_store_create();
    w->incr = w->store ? gm_compile_incr_create(w->store) : NULL;
    gm_reject_tap_init(&w->compiled, &w->conf.log);

    if ((conf->file_path && w->file_path == NULL) || w->stop_fd == -1
        || w->incr == NULL)
    {
        goto failed;
    }

    gm_store_set_operator(w->store, conf->operator_conf);

    if (conf->kube && gm_watcher_curl(w) != 0) {
        goto failed;
    }

    if (conf->kube && conf->status) {
        w->writer = gm_status_writer_start(conf->status);

        if (w->writer == NULL) {
            gm_log(&w->conf.log, GM_LOG_ERR, "status: the writer thread "
                   "cannot start: %s", strerror(errno));
        }
    }

    /* signals stay with the event loop */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&w->tid, NULL, gm_watcher_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (err == 0) {
        return w;
    }

    gm_status_writer_stop(w->writer);

    if (conf->kube) {
        curl_global_cleanup();
    }

    errno = err;

failed:

    err = errno;

    if (w->stop_fd != -1) {
        close(w->stop_fd);
    }

    gm_compile_incr_destroy(w->incr);
    gm_store_destroy(w->store);
    free(w->file_path);
    free(w);

    errno = err;

    return NULL;
}


void
gm_watcher_stop(gm_watcher_t *w)
{
    uint64_t  one;

    if (w == NULL) {
        return;
    }

    one = 1;

    if (write(w->stop_fd, &one, sizeof(one)) != sizeof(one)) {
        gm_log(&w->conf.log, GM_LOG_ERR, "cannot stop the watcher: %s",
               strerror(errno));
        return;
    }

    pthread_join(w->tid, NULL);

    /* a clean stop: the Lease is released before the client goes */
    gm_status_writer_stop(w->writer);

    if (w->conf.kube) {
        curl_global_cleanup();
    }

    gm_file_source_destroy(w->fs);
    gm_compile_incr_destroy(w->incr);
    gm_reject_tap_free(&w->compiled);
    gm_store_destroy(w->store);
    gm_status_seen_destroy(w->status_seen);
    close(w->stop_fd);
    free(w->file_path);
    free(w);
}


/*
 * libcurl is loaded when the Kubernetes source starts, in the source
 * process only; curl_global_init() is not thread-safe everywhere: both
 * are done here, before the threads start.
 */
static int
gm_watcher_curl(gm_watcher_t *w)
{
    char  err[512];

    if (gm_curl_load(err, sizeof(err)) != 0) {
        gm_log(&w->conf.log, GM_LOG_ERR, "%s", err);
        errno = ELIBACC;
        return -1;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        errno = ENOMEM;
        return -1;
    }

    return 0;
}


static void *
gm_watcher_main(void *data)
{
    gm_watcher_t  *w = data;

    if (w->conf.kube) {
        gm_watcher_kube(w);

    } else {
        gm_watcher_files(w);
    }

    return NULL;
}


static void
gm_watcher_files(gm_watcher_t *w)
{
    int       rc;
    unsigned  tries;

    /*
     * Until the source can be read (a ConfigMap not mounted yet, wrong
     * permissions) nothing is published: the worker answers 503, as
     * before any first sync, rather than serve an empty mesh.  It is
     * tried every second but said once a minute: after the first failure
     * it is tried again only once the path can be read, so that the
     * reason is not logged every second either.
     */
    for (tries = 0; ; tries++) {
        if (tries == 0 || gm_file_source_watchable(w->file_path)) {
            w->fs = gm_file_source_create(w->file_path, w->store,
                                          &w->conf.log);
            if (w->fs) {
                break;
            }
        }

        if (tries % GM_SOURCE_FILE_RETRY_LOG == 0) {
            gm_log(&w->conf.log, GM_LOG_ERR,
                   "file source \"%s\" cannot be watched, retrying every "
                   "%d ms (said again once a minute)", w->file_path,
                   GM_SOURCE_FILE_RETRY_MS);
        }

        if (gm_watcher_wait(w, -1, GM_SOURCE_FILE_RETRY_MS) == -1) {
            return;
        }
    }

    if (tries != 0) {
        gm_log(&w->conf.log, GM_LOG_NOTICE,
               "file source \"%s\" watched after %u retries",
               w->file_path, tries);
    }

    gm_file_source_scan(w->fs);
    gm_watcher_flush(w, 1);

    /* a change is published as the Kubernetes source's are (below) */
    for ( ;; ) {
        rc = gm_watcher_wait(w, gm_file_source_fd(w->fs),
                             gm_watcher_timeout(w, 1));

        if (rc == -1) {
            return;
        }

        /* after a failed compile, any event tries again */
        if (rc == 1 && gm_file_source_drain(w->fs)
            && (gm_file_source_scan(w->fs) || w->failed))
        {
            gm_watcher_dirty(w);
        }

        gm_watcher_flush(w, 1);
    }
}


/*
 * A change is published at once, with the events read with it, unless the
 * last snapshot is younger than interval_ms: then the changes coalesce
 * until it is that old (a rollout's burst of events makes a snapshot per
 * interval, each change is served within an interval and a compile).
 * None is published before every kind was listed once: half a mesh routes
 * wrong.  The file source publishes the same way, from its first scan.
 */
static void
gm_watcher_kube(gm_watcher_t *w)
{
    int                synced;
    gm_kube_source_t  *ks;

    ks = gm_kube_source_create(w->conf.kube, w->store, &w->conf.log);
    w->ks = ks;

    if (ks == NULL) {
        gm_log(&w->conf.log, GM_LOG_ERR,
               "kubernetes: the source cannot start, mesh state is empty");
        gm_watcher_wait(w, -1, -1);
        return;
    }

    w->dirty = 0;
    synced = 0;

    while (gm_kube_source_wait(ks, w->stop_fd,
                               gm_watcher_timeout(w, synced))
           == 0)
    {
        if (gm_kube_source_run(ks)) {
            gm_watcher_dirty(w);
        }

        synced = synced || gm_kube_source_synced(ks);
        gm_watcher_flush(w, synced);
    }

    w->ks = NULL;
    gm_kube_source_destroy(ks);
}


/* how long the source may wait before the next snapshot is due */
static int
gm_watcher_timeout(gm_watcher_t *w, int synced)
{
    int64_t  due, now;

    if (!synced || (w->published && !w->dirty)) {
        return -1;
    }

    if (!w->published) {
        return 0;
    }

    due = w->published_at + w->conf.interval_ms;
    now = gm_watcher_now_ms();

    return due > now ? (int) (due - now) : 0;
}


static void
gm_watcher_dirty(gm_watcher_t *w)
{
    w->dirty = 1;
}


/* publishes when a snapshot is due */
static void
gm_watcher_flush(gm_watcher_t *w, int synced)
{
    int64_t  now;

    if (!synced) {
        return;
    }

    now = gm_watcher_now_ms();

    if (w->published
        && (!w->dirty || now - w->published_at < w->conf.interval_ms))
    {
        return;
    }

    gm_watcher_publish(w);

    w->published = 1;
    w->published_at = gm_watcher_now_ms();
    w->dirty = 0;
}


/* -1: stop requested; 1: fd readable; 0: timeout */
static int
gm_watcher_wait(gm_watcher_t *w, int fd, int timeout_ms)
{
    int            n;
    struct pollfd  pfd[2];

    pfd[0].fd = w->stop_fd;
    pfd[0].events = POLLIN;
    pfd[1].fd = fd;
    pfd[1].events = POLLIN;

    for ( ;; ) {
        n = poll(pfd, fd == -1 ? 1 : 2, timeout_ms);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1) {
            gm_log(&w->conf.log, GM_LOG_ERR, "poll() failed: %s",
                   strerror(errno));
            return -1;
        }

        if (pfd[0].revents) {
            return -1;
        }

        return n > 0;
    }
}


static void
gm_watcher_publish(gm_watcher_t *w)
{
    int                 full;
    int64_t             start;
    gm_snapshot_t      *s;
    gm_reject_tap_t     tap;
    gm_compile_opts_t   opts;

    start = gm_watcher_now_us();
    opts.require_grants = w->conf.reference_grants;

    /* what the compiler says about bad objects goes to the status page */
    gm_reject_tap_init(&tap, &w->conf.log);
    s = gm_compile_incr_build(w->incr, &tap.log, w->conf.allocator, &opts,
                              &full);

    if (s == NULL) {
        gm_reject_tap_free(&tap);

        /* a full zone: the publisher logs it, with the sizes */
        if (!gm_allocator_exhausted(w->conf.allocator)) {
            gm_log(&w->conf.log, GM_LOG_ERR, "out of memory compiling the "
                   "mesh, the previous state stays");
        }

        w->conf.publish(w->conf.publish_data, NULL);
        w->failed = 1;
        return;
    }

    w->failed = 0;

    if (full) {
        gm_reject_tap_free(&w->compiled);
        w->compiled = tap;

    } else {
        gm_reject_tap_free(&tap);
    }

    gm_snapshot_set_generation(s, ++w->generation);
    gm_watcher_stats(w, s, &w->compiled.list, start);

    gm_log(&w->conf.log, GM_LOG_INFO,
           "snapshot %llu: %zu services, %zu frontends, %zu bytes, %lld ms%s",
           (unsigned long long) w->generation, gm_snapshot_nservices(s),
           gm_snapshot_nfrontends(s), gm_snapshot_size(s),
           (long long) (gm_watcher_now_us() - start) / 1000,
           full ? "" : ", patched");

    w->conf.publish(w->conf.publish_data, s);

    /*
     * The status after the hand-off, off the change's path (the writer
     * hashes the entries of the chunks the patch made, 0.1 ms at 10,000
     * routes, every chunk's after a full compile, 3-4 ms); s lives on,
     * the incremental compiler holds it until the next build.
     */
    gm_watcher_status(w, s);

    /*
     * The first sync parses every manifest and leaves most of that memory
     * freed behind: give it back once.  After that only when a change left
     * much of the heap free (a large manifest removed: the store's objects
     * are freed in the middle of the heap, where free() keeps them), not
     * after every change: the next compile would grow the heap again page
     * by page, and the event loop, freeing an old snapshot, would wait on
     * the arena lock meanwhile.
     */
    if (w->generation == w->conf.generation + 1
        || gm_watcher_heap_free() >= GM_WATCHER_TRIM_FREE)
    {
        malloc_trim(0);
    }
}


/* bytes free in malloc's arenas, all threads' (glibc counts them all) */
static size_t
gm_watcher_heap_free(void)
{
    struct mallinfo2  mi;

    mi = mallinfo2();

    return mi.fordblks;
}


/* the status writer's and the file source's log: s held by w->incr */
static void
gm_watcher_status(gm_watcher_t *w, const gm_snapshot_t *s)
{
    gm_status_list_t  list;

    gm_snapshot_status(s, &list);

    if (w->writer) {
        gm_status_writer_update(w->writer, &list);
    }

    /* the chunks the last log read are not read again */
    if (w->file_path) {
        if (w->status_seen == NULL) {
            w->status_seen = gm_status_seen_create();
        }

        if (w->status_seen) {
            gm_status_log_changes(w->status_seen, &list, &w->conf.log);
        }
    }
}


/* for metrics and the status page: the snapshot carries its own story */
static void
gm_watcher_stats(gm_watcher_t *w, gm_snapshot_t *s,
    const gm_reject_list_t *compiled, int64_t start_us)
{
    int                k;
    struct timespec    ts;
    gm_source_stats_t  st;

    memset(&st, 0, sizeof(gm_source_stats_t));

    clock_gettime(CLOCK_REALTIME, &ts);

    strcpy(st.source, w->conf.kube ? "kubernetes" : "file");
    /* Kubernetes: nothing is published before every kind was listed */
    st.synced = w->fs ? gm_file_source_synced(w->fs) : 1;

    if (w->ks) {
        gm_kube_source_counters(w->ks, &st.watch_restarts, &st.relists);
    }

    st.generation = w->generation;
    st.sync_time_ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    st.compile_us = (uint64_t) (gm_watcher_now_us() - start_us);
    st.snapshot_bytes = gm_snapshot_size(s);

    if (w->first_sync_ms == 0) {
        w->first_sync_ms = st.sync_time_ms;
    }

    st.first_sync_ms = w->first_sync_ms;

    for (k = 0; k < GM_KIND_MAX; k++) {
        st.objects[k] = gm_store_count(w->store, k);
    }

    if (gm_snapshot_attach_stats(s, &st, w->store, compiled) != 0) {
        gm_log(&w->conf.log, GM_LOG_ERR,
               "out of memory noting the stats of snapshot %llu",
               (unsigned long long) w->generation);
    }
}


static int64_t
gm_watcher_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int64_t
gm_watcher_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
