/*
 * nginx-gamma: the status writer's thread (gm_kube_status.h).
 *
 * The watcher hands it the entries of every snapshot; it keeps, per
 * object, our entries as JSON and a hash of them, and marks an object
 * dirty when the hash differs from what it last wrote
 * (gm_kube_status_table.c).  While it holds the Lease it takes one dirty
 * object at a time: it reads the object, merges our entries into its
 * status (gm_kube_status_json.c) and, only when that changes something,
 * writes it to /status with the resourceVersion it read.  A 409 reads
 * again.  A new holder checks every object once (reads, and writes only
 * what is stale).
 */

#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gm_kube_status_int.h"


/* the object being written: copies, the lock is not held meanwhile */
typedef struct {
    uint64_t        key;
    uint64_t        hash;
    int64_t         generation;
    char           *path;
    char           *entries;
    unsigned        ancestors:1;
    unsigned        conflicts;
    gm_kube_req_t  *req;
} gm_status_job_t;

struct gm_status_writer_s {
    gm_status_writer_conf_t   conf;
    char                     *lease_ns;
    char                     *lease_name;
    pthread_t                 tid;
    int                       efd;     /* wakes the thread */
    pthread_mutex_t           lock;
    /* under lock */
    gm_status_table_t         table;
    unsigned                  stop:1;
    unsigned                  leader:1;
    /* the thread's */
    gm_kube_client_t         *client;
    gm_kube_lease_t          *lease;
    gm_status_xmesh_t        *xmesh;
    gm_status_job_t           job;
};


static void *gm_status_main(void *data);
static void gm_status_loop(gm_status_writer_t *sw);
static void gm_status_release(gm_status_writer_t *sw);
static void gm_status_leader(void *data, int leader);
static void gm_status_wake(gm_status_writer_t *sw);
static void gm_status_next(gm_status_writer_t *sw);
static void gm_status_read(gm_status_writer_t *sw);
static void gm_status_got(void *data, gm_kube_result_t *res);
static void gm_status_wrote(void *data, gm_kube_result_t *res);
static void gm_status_done(gm_status_writer_t *sw, int ok);


gm_status_writer_t *
gm_status_writer_start(const gm_status_writer_conf_t *conf)
{
    sigset_t             all, old;
    gm_status_writer_t  *sw;

    sw = calloc(1, sizeof(gm_status_writer_t));
    if (sw == NULL) {
        return NULL;
    }

    sw->conf = *conf;
    sw->lease_ns = strdup(conf->lease_ns);
    sw->lease_name = strdup(conf->lease_name);
    sw->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    if (sw->lease_ns == NULL || sw->lease_name == NULL || sw->efd == -1
        || gm_status_table_init(&sw->table) != 0)
    {
        goto failed;
    }

    pthread_mutex_init(&sw->lock, NULL);

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    errno = pthread_create(&sw->tid, NULL, gm_status_main, sw);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (errno == 0) {
        return sw;
    }

    pthread_mutex_destroy(&sw->lock);

failed:

    if (sw->efd != -1) {
        close(sw->efd);
    }

    gm_status_table_free(&sw->table);
    free(sw->lease_ns);
    free(sw->lease_name);
    free(sw);

    return NULL;
}


void
gm_status_writer_stop(gm_status_writer_t *sw)
{
    if (sw == NULL) {
        return;
    }

    pthread_mutex_lock(&sw->lock);
    sw->stop = 1;
    pthread_mutex_unlock(&sw->lock);

    gm_status_wake(sw);
    pthread_join(sw->tid, NULL);

    pthread_mutex_destroy(&sw->lock);
    close(sw->efd);
    gm_status_table_free(&sw->table);
    free(sw->lease_ns);
    free(sw->lease_name);
    free(sw);
}


static void
gm_status_wake(gm_status_writer_t *sw)
{
    uint64_t  one;

    one = 1;

    if (write(sw->efd, &one, sizeof(one)) != sizeof(one)) {
        /* the counter is not zero: the thread wakes anyway */
    }
}


static void *
gm_status_main(void *data)
{
    gm_status_writer_t      *sw = data;
    gm_kube_client_conf_t    cc;
    gm_kube_lease_conf_t     lc;

    memset(&cc, 0, sizeof(gm_kube_client_conf_t));
    cc.url = sw->conf.kube->url;
    cc.ca_file = sw->conf.kube->ca_file;
    cc.token_file = sw->conf.kube->token_file;
    cc.stall_timeout_ms = 10000;

    lc = sw->conf.lease;
    lc.ns = sw->lease_ns;
    lc.name = sw->lease_name;
    lc.change = gm_status_leader;
    lc.data = sw;

    sw->client = gm_kube_client_create(&cc, &sw->conf.log);
    sw->lease = sw->client ? gm_kube_lease_create(&lc, sw->client,
                                                  &sw->conf.log)
                           : NULL;
    sw->xmesh = sw->client ? gm_status_xmesh_create(sw->client,
                                                    &sw->conf.log)
                           : NULL;

    if (sw->lease && sw->xmesh) {
        gm_status_loop(sw);
        gm_status_release(sw);

    } else {
        gm_log(&sw->conf.log, GM_LOG_ERR, "status: the writer cannot start: "
               "out of memory");
    }

    if (sw->job.req) {
        gm_kube_request_cancel(sw->job.req);
    }

    free(sw->job.path);
    free(sw->job.entries);
    gm_status_xmesh_destroy(sw->xmesh);
    gm_kube_lease_destroy(sw->lease);
    gm_kube_client_destroy(sw->client);

    return NULL;
}


static void
gm_status_loop(gm_status_writer_t *sw)
{
    int       timeout, busy;
    size_t    ndirty;
    uint64_t  v;

    for ( ;; ) {
        timeout = gm_kube_lease_run(sw->lease);
        busy = 0;

        if (gm_kube_lease_leader(sw->lease)) {
            busy = gm_status_xmesh_run(sw->xmesh);

            if (sw->job.path == NULL) {
                gm_status_next(sw);
            }

            pthread_mutex_lock(&sw->lock);
            ndirty = sw->table.ndirty;
            pthread_mutex_unlock(&sw->lock);

            busy |= (ndirty != 0);
        }

        /* the holder with work waiting for its retry time: look soon */
        if (busy && timeout > 200) {
            timeout = 200;
        }

        (void) gm_kube_client_wait(sw->client, sw->efd, timeout);

        if (read(sw->efd, &v, sizeof(v)) != sizeof(v)) {
            /* nothing to read: the wait ended for the network */
        }

        pthread_mutex_lock(&sw->lock);
        v = sw->stop;
        pthread_mutex_unlock(&sw->lock);

        if (v) {
            return;
        }

        gm_kube_client_run(sw->client);
    }
}


/* a clean stop gives the Lease up, waiting a little for the answer */

static void
gm_status_release(gm_status_writer_t *sw)
{
    int      fd;
    int64_t  deadline;

    if (sw->job.req) {
        gm_kube_request_cancel(sw->job.req);
        sw->job.req = NULL;
    }

    if (!gm_kube_lease_release(sw->lease)) {
        return;
    }

    fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    deadline = gm_kube_now_ms() + 2000;

    while (fd != -1 && gm_kube_lease_busy(sw->lease)
           && gm_kube_now_ms() < deadline)
    {
        (void) gm_kube_client_wait(sw->client, fd, 100);
        gm_kube_client_run(sw->client);
    }

    if (fd != -1) {
        close(fd);
    }
}


/* a new holder checks every object once; a former one stops */

static void
gm_status_leader(void *data, int leader)
{
    gm_status_writer_t  *sw = data;

    pthread_mutex_lock(&sw->lock);

    sw->leader = leader;

    if (leader) {
        gm_status_table_lead(&sw->table);
    }

    pthread_mutex_unlock(&sw->lock);

    if (leader) {
        gm_status_xmesh_reset(sw->xmesh);
    }
}


void
gm_status_writer_update(gm_status_writer_t *sw, const gm_status_list_t *list)
{
    size_t  n;

    pthread_mutex_lock(&sw->lock);

    sw->table.now_ms = gm_kube_now_ms();
    gm_status_table_update(&sw->table, list);

    if (!sw->leader) {
        gm_status_table_expire(&sw->table, GM_STATUS_FORGET_MS);
    }

    n = sw->table.ndirty;

    pthread_mutex_unlock(&sw->lock);

    if (n) {
        gm_status_wake(sw);
    }
}


/* takes the next dirty object whose retry time has come */

static void
gm_status_next(gm_status_writer_t *sw)
{
    size_t            i;
    int64_t           now;
    gm_status_obj_t  *o;

    now = gm_kube_now_ms();

    pthread_mutex_lock(&sw->lock);

    for (i = 0; sw->table.ndirty && i < sw->table.size; i++) {
        o = &sw->table.objs[i];

        if (o->key == 0 || !o->dirty || o->retry_ms > now) {
            continue;
        }

        sw->job.key = o->key;
        sw->job.hash = o->hash;
        sw->job.generation = o->generation;
        sw->job.ancestors = o->ancestors;
        sw->job.path = strdup(o->path);
        sw->job.entries = strdup(o->entries);
        sw->job.conflicts = 0;
        break;
    }

    pthread_mutex_unlock(&sw->lock);

    if (sw->job.path == NULL || sw->job.entries == NULL) {
        free(sw->job.path);
        free(sw->job.entries);
        sw->job.path = NULL;
        sw->job.entries = NULL;
        return;
    }

    gm_status_read(sw);
}


/* read through /status too: the writer's role needs no other right */

static void
gm_status_read(gm_status_writer_t *sw)
{
    char  *path;

    if (asprintf(&path, "%s/status", sw->job.path) == -1) {
        gm_status_done(sw, 0);
        return;
    }

    sw->job.req = gm_kube_request(sw->client, path, NULL, gm_status_got, sw);
    free(path);

    if (sw->job.req == NULL) {
        gm_status_done(sw, 0);
    }
}


static void
gm_status_got(void *data, gm_kube_result_t *res)
{
    int                  rc;
    char                *body, *path;
    json_t              *obj;
    json_int_t           gen;
    gm_status_writer_t  *sw = data;

    sw->job.req = NULL;

    if (res->code == 0 && res->status == 404) {
        gm_status_done(sw, 1);          /* gone: nothing to report */
        return;
    }

    if (res->code != 0 || res->status != 200 || !gm_kube_lease_leader(
                                                     sw->lease))
    {
        gm_status_done(sw, 0);
        return;
    }

    obj = json_loadb(res->body, res->body_len, 0, NULL);
    gen = json_integer_value(json_object_get(json_object_get(obj,
                                                             "metadata"),
                                             "generation"));

    /* the spec moved on: the watcher brings the conditions of the new one */
    if (gen != (json_int_t) sw->job.generation && sw->job.generation != 0) {
        json_decref(obj);
        gm_status_done(sw, 0);
        return;
    }

    rc = json_is_object(obj)
         ? gm_status_merge(obj, sw->job.ancestors ? "ancestors" : "parents",
                           sw->job.entries)
         : -1;

    if (rc != 1) {
        json_decref(obj);
        gm_status_done(sw, rc == 0);
        return;
    }

    body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (body == NULL || asprintf(&path, "%s/status", sw->job.path) == -1) {
        free(body);
        gm_status_done(sw, 0);
        return;
    }

    sw->job.req = gm_kube_request_body(sw->client, "PUT", path, body,
                                       gm_status_wrote, sw);
    free(path);
    free(body);

    if (sw->job.req == NULL) {
        gm_status_done(sw, 0);
    }
}


static void
gm_status_wrote(void *data, gm_kube_result_t *res)
{
    gm_status_writer_t  *sw = data;

    sw->job.req = NULL;

    if (res->code == 0 && res->status == 409
        && ++sw->job.conflicts < GM_STATUS_CONFLICTS)
    {
        gm_status_read(sw);            /* someone wrote first: read again */
        return;
    }

    if (res->code != 0 || res->status != 200) {
        gm_log(&sw->conf.log, GM_LOG_WARN, "status: writing %s/status "
               "failed: %s %ld", sw->job.path,
               res->code ? res->error : "HTTP", res->status);
        gm_status_done(sw, 0);
        return;
    }

    gm_log(&sw->conf.log, GM_LOG_INFO, "status: wrote %s/status",
           sw->job.path);

    gm_status_done(sw, 1);
}


/* ok: the object says what we computed (written, or it already did) */

static void
gm_status_done(gm_status_writer_t *sw, int ok)
{
    pthread_mutex_lock(&sw->lock);

    gm_status_table_done(&sw->table, sw->job.key, sw->job.hash, ok,
                         gm_kube_now_ms() + GM_STATUS_RETRY_MS);

    pthread_mutex_unlock(&sw->lock);

    free(sw->job.path);
    free(sw->job.entries);
    sw->job.path = NULL;
    sw->job.entries = NULL;
}
