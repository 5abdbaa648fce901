/*
 * nginx-gamma: the status writer's thread (gm_kube_status.h).
 *
 * The watcher hands it the entries of every snapshot; it keeps, per
 * object, our entries as JSON and a hash of them, and marks an object
 * dirty when the hash differs from what it last wrote.  While it holds
 * the Lease it takes one dirty object at a time: it reads the object,
 * merges our entries into its status (gm_kube_status_json.c) and, only
 * when that changes something, writes it to /status with the
 * resourceVersion it read.  A 409 reads again.  A new holder checks every
 * object once (reads, and writes only what is stale).
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

#include "gm_hash.h"
#include "gm_kube_resource.h"
#include "gm_kube_status_int.h"


#define GM_STATUS_PATH_MAX  768


typedef struct {
    uint64_t    key;                  /* 0: a free slot */
    uint64_t    hash;                 /* of the entries */
    uint64_t    written;              /* hash last written or found */
    uint64_t    batch;                /* the last update it was in */
    int64_t     generation;
    int64_t     retry_ms;
    char       *path;                 /* the object's */
    char       *entries;              /* JSON array of ours */
    unsigned    ancestors:1;
    unsigned    dirty:1;
} gm_status_obj_t;

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
    gm_status_obj_t          *objs;    /* open addressing */
    size_t                    size;
    size_t                    n;
    size_t                    ndirty;
    uint64_t                  batch;
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
static gm_status_obj_t *gm_status_slot(gm_status_writer_t *sw,
    uint64_t key);
static int gm_status_grow(gm_status_writer_t *sw);
static void gm_status_put(gm_status_writer_t *sw, const gm_status_entry_t *e,
    size_t n);
static char *gm_status_path(const gm_status_entry_t *e);
static void gm_status_sweep(gm_status_writer_t *sw);
static void gm_status_next(gm_status_writer_t *sw);
static void gm_status_read(gm_status_writer_t *sw);
static void gm_status_got(void *data, gm_kube_result_t *res);
static void gm_status_wrote(void *data, gm_kube_result_t *res);
static void gm_status_done(gm_status_writer_t *sw, int ok);
static uint64_t gm_status_key_of(const gm_status_entry_t *e);


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
    sw->size = 64;
    sw->objs = calloc(sw->size, sizeof(gm_status_obj_t));

    if (sw->lease_ns == NULL || sw->lease_name == NULL || sw->efd == -1
        || sw->objs == NULL)
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

    free(sw->objs);
    free(sw->lease_ns);
    free(sw->lease_name);
    free(sw);

    return NULL;
}


void
gm_status_writer_stop(gm_status_writer_t *sw)
{
    size_t  i;

    if (sw == NULL) {
        return;
    }

    pthread_mutex_lock(&sw->lock);
    sw->stop = 1;
    pthread_mutex_unlock(&sw->lock);

    gm_status_wake(sw);
    pthread_join(sw->tid, NULL);

    for (i = 0; i < sw->size; i++) {
        free(sw->objs[i].path);
        free(sw->objs[i].entries);
    }

    pthread_mutex_destroy(&sw->lock);
    close(sw->efd);
    free(sw->objs);
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
            ndirty = sw->ndirty;
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
    size_t               i;
    gm_status_writer_t  *sw = data;

    pthread_mutex_lock(&sw->lock);

    sw->leader = leader;

    if (leader) {
        sw->ndirty = 0;

        for (i = 0; i < sw->size; i++) {
            if (sw->objs[i].key != 0 && sw->objs[i].path != NULL) {
                sw->objs[i].written = 0;
                sw->objs[i].dirty = 1;
                sw->objs[i].retry_ms = 0;
                sw->ndirty++;
            }
        }
    }

    pthread_mutex_unlock(&sw->lock);

    if (leader) {
        gm_status_xmesh_reset(sw->xmesh);
    }
}


void
gm_status_writer_update(gm_status_writer_t *sw, const gm_status_list_t *list)
{
    size_t  i, n;

    pthread_mutex_lock(&sw->lock);

    sw->batch++;

    for (i = 0; i < list->n; i += n) {
        n = gm_status_object_len(list, i);
        gm_status_put(sw, gm_status_at(list, i), n);
    }

    gm_status_sweep(sw);

    n = sw->ndirty;

    pthread_mutex_unlock(&sw->lock);

    if (n) {
        gm_status_wake(sw);
    }
}


static uint64_t
gm_status_key_of(const gm_status_entry_t *e)
{
    uint64_t  h;

    h = gm_fnv64_add_str(GM_FNV64_BASIS, e->kind);
    h = gm_fnv64_add(h, e->ns.data, e->ns.len);
    h = gm_fnv64_byte(h, '/');
    h = gm_fnv64_add(h, e->name.data, e->name.len);

    return gm_fnv64_nonzero(h);
}


/* under lock: a changed object gets its new entries and is dirty */

static void
gm_status_put(gm_status_writer_t *sw, const gm_status_entry_t *e, size_t n)
{
    char             *entries, *path;
    uint64_t          key, hash;
    gm_status_obj_t  *o;

    if ((sw->n + 1) * 2 > sw->size && gm_status_grow(sw) != 0) {
        return;
    }

    key = gm_status_key_of(e);
    hash = gm_status_hash(e, n);
    o = gm_status_slot(sw, key);

    o->batch = sw->batch;

    if (o->key != 0 && o->hash == hash && o->path != NULL) {
        return;
    }

    entries = gm_status_entries_json(e, n);
    path = o->path ? o->path : gm_status_path(e);

    if (entries == NULL || path == NULL) {
        free(entries);
        return;
    }

    if (o->key == 0) {
        o->key = key;
        sw->n++;
    }

    free(o->entries);
    o->entries = entries;
    o->path = path;
    o->hash = hash;
    o->generation = e->generation;
    o->ancestors = e->ancestors;
    o->retry_ms = 0;

    if (!o->dirty && o->written != hash) {
        o->dirty = 1;
        sw->ndirty++;
    }
}


/* under lock: an object without entries now gets ours removed */

static void
gm_status_sweep(gm_status_writer_t *sw)
{
    size_t            i;
    char             *none;
    gm_status_obj_t  *o;

    for (i = 0; i < sw->size; i++) {
        o = &sw->objs[i];

        if (o->key == 0 || o->path == NULL || o->batch == sw->batch
            || o->hash == 1)
        {
            continue;
        }

        none = strdup("[]");
        if (none == NULL) {
            continue;
        }

        free(o->entries);
        o->entries = none;
        o->hash = 1;                   /* the hash of no entries */

        if (!o->dirty) {
            o->dirty = 1;
            sw->ndirty++;
        }
    }
}


static char *
gm_status_path(const gm_status_entry_t *e)
{
    int                        k, len;
    char                       buf[GM_STATUS_PATH_MAX], *p;
    const gm_kube_resource_t  *res;

    res = NULL;

    for (k = 0; k < GM_KIND_MAX; k++) {
        if (strcmp(gm_kind_name((gm_kind_e) k), e->kind) == 0) {
            res = gm_kube_resource((gm_kind_e) k);
            break;
        }
    }

    if (res == NULL) {
        return NULL;
    }

    len = gm_kube_resource_path(res, 0, e->ns.data, buf, sizeof(buf));
    if (len < 0 || (size_t) len + e->name.len + 2 > sizeof(buf)) {
        return NULL;
    }

    if (asprintf(&p, "%s/%s", buf, e->name.data) == -1) {
        return NULL;
    }

    return p;
}


static gm_status_obj_t *
gm_status_slot(gm_status_writer_t *sw, uint64_t key)
{
    size_t  i;

    i = key & (sw->size - 1);

    while (sw->objs[i].key != 0 && sw->objs[i].key != key) {
        i = (i + 1) & (sw->size - 1);
    }

    return &sw->objs[i];
}


static int
gm_status_grow(gm_status_writer_t *sw)
{
    size_t            i, j, size;
    gm_status_obj_t  *objs;

    size = sw->size * 2;

    objs = calloc(size, sizeof(gm_status_obj_t));
    if (objs == NULL) {
        return -1;
    }

    for (i = 0; i < sw->size; i++) {
        if (sw->objs[i].key == 0) {
            continue;
        }

        j = sw->objs[i].key & (size - 1);

        while (objs[j].key != 0) {
            j = (j + 1) & (size - 1);
        }

        objs[j] = sw->objs[i];
    }

    free(sw->objs);
    sw->objs = objs;
    sw->size = size;

    return 0;
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

    for (i = 0; sw->ndirty && i < sw->size; i++) {
        o = &sw->objs[i];

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
    gm_status_obj_t  *o;

    pthread_mutex_lock(&sw->lock);

    o = gm_status_slot(sw, sw->job.key);

    if (o->key == sw->job.key && o->dirty) {
        if (ok) {
            o->written = sw->job.hash;
        }

        if (o->hash == o->written) {
            o->dirty = 0;
            sw->ndirty--;

        } else if (!ok) {
            o->retry_ms = gm_kube_now_ms() + GM_STATUS_RETRY_MS;
        }
    }

    pthread_mutex_unlock(&sw->lock);

    free(sw->job.path);
    free(sw->job.entries);
    sw->job.path = NULL;
    sw->job.entries = NULL;
}
