/*
 * nginx-gamma: the Lease of the status writers (gm_kube_lease.h).
 *
 * Every retry period the candidate reads the Lease.  It writes itself as
 * holder when the Lease is absent (create), free (empty holder), its own,
 * or was not seen to change for the lease duration: the clock used is
 * ours, from when we last saw the record change, never the holder's
 * renewTime, so clocks need not agree.  Every write carries the
 * resourceVersion read: of two candidates only one wins (the other gets
 * 409).  A holder that could not renew for the renew deadline stops
 * being leader before its Lease can expire for the others.
 */

#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gm_kube_lease.h"


#define GM_LEASE_PATH_MAX   512


struct gm_kube_lease_s {
    gm_kube_lease_conf_t   conf;
    gm_kube_client_t      *client;
    const gm_log_t        *log;
    char                   identity[GM_LEASE_IDENTITY_MAX];
    char                   path[GM_LEASE_PATH_MAX];      /* the Lease */
    char                   collection[GM_LEASE_PATH_MAX];
    gm_kube_req_t         *req;
    char                  *observed;  /* the record last seen, as JSON */
    int64_t                observed_ms;
    int64_t                renewed_ms;   /* last successful write */
    int64_t                next_ms;
    char                  *rv;           /* of our last write */
    json_t                *spec;         /* of our last write */
    unsigned               leader:1;
    unsigned               released:1;
};


static void gm_kube_lease_identity_init(gm_kube_lease_t *l);
static void gm_kube_lease_got(void *data, gm_kube_result_t *res);
static void gm_kube_lease_decide(gm_kube_lease_t *l, json_t *obj);
static json_t *gm_kube_lease_spec(gm_kube_lease_t *l, json_t *old,
    const char *holder, unsigned duration_s);
static void gm_kube_lease_write(gm_kube_lease_t *l, const char *method,
    const char *path, json_t *obj);
static void gm_kube_lease_wrote(void *data, gm_kube_result_t *res);
static void gm_kube_lease_released(void *data, gm_kube_result_t *res);
static void gm_kube_lease_set(gm_kube_lease_t *l, int leader);
static void gm_kube_lease_check_deadline(gm_kube_lease_t *l);


gm_kube_lease_t *
gm_kube_lease_create(const gm_kube_lease_conf_t *conf,
    gm_kube_client_t *client, const gm_log_t *log)
{
    gm_kube_lease_t  *l;

    l = calloc(1, sizeof(gm_kube_lease_t));
    if (l == NULL) {
        return NULL;
    }

    l->conf = *conf;
    l->client = client;
    l->log = log;

    if (l->conf.duration_ms == 0) {
        l->conf.duration_ms = GM_LEASE_DURATION_MS;
    }

    if (l->conf.renew_deadline_ms == 0) {
        l->conf.renew_deadline_ms = GM_LEASE_RENEW_DEADLINE_MS;
    }

    if (l->conf.retry_period_ms == 0) {
        l->conf.retry_period_ms = GM_LEASE_RETRY_PERIOD_MS;
    }

    gm_kube_lease_identity_init(l);

    snprintf(l->collection, sizeof(l->collection),
             "/apis/coordination.k8s.io/v1/namespaces/%.63s/leases",
             conf->ns);
    snprintf(l->path, sizeof(l->path),
             "/apis/coordination.k8s.io/v1/namespaces/%.63s/leases/%.253s",
             conf->ns, conf->name);

    gm_log(log, GM_LOG_NOTICE, "status: candidate \"%s\" for Lease %s/%s",
           l->identity, conf->ns, conf->name);

    return l;
}


/* client-go uses hostname_<uuid>: one identity per process */

static void
gm_kube_lease_identity_init(gm_kube_lease_t *l)
{
    char      host[64];
    uint32_t  rnd;

    if (l->conf.identity) {
        snprintf(l->identity, sizeof(l->identity), "%s", l->conf.identity);
        return;
    }

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "nginx-gamma");
    }

    host[sizeof(host) - 1] = '\0';

    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd)) {
        rnd = (uint32_t) gm_kube_now_ms();
    }

    snprintf(l->identity, sizeof(l->identity), "%s_%d_%08x", host,
             (int) getpid(), (unsigned) rnd);
}


void
gm_kube_lease_destroy(gm_kube_lease_t *l)
{
    if (l == NULL) {
        return;
    }

    if (l->req) {
        gm_kube_request_cancel(l->req);
    }

    json_decref(l->spec);
    free(l->observed);
    free(l->rv);
    free(l);
}


int
gm_kube_lease_leader(const gm_kube_lease_t *l)
{
    return l->leader;
}


const char *
gm_kube_lease_identity(const gm_kube_lease_t *l)
{
    return l->identity;
}


int
gm_kube_lease_busy(const gm_kube_lease_t *l)
{
    return l->req != NULL;
}


int
gm_kube_lease_run(gm_kube_lease_t *l)
{
    int64_t  now;

    gm_kube_lease_check_deadline(l);

    now = gm_kube_now_ms();

    if (l->req == NULL && !l->released && now >= l->next_ms) {
        l->next_ms = now + l->conf.retry_period_ms;
        l->req = gm_kube_request(l->client, l->path, NULL,
                                 gm_kube_lease_got, l);
    }

    return (int) (l->next_ms > now ? l->next_ms - now : 0);
}


static void
gm_kube_lease_check_deadline(gm_kube_lease_t *l)
{
    if (l->leader
        && gm_kube_now_ms() - l->renewed_ms
           > (int64_t) l->conf.renew_deadline_ms)
    {
        gm_log(l->log, GM_LOG_WARN, "status: Lease %s/%s not renewed for "
               "%u ms, \"%s\" stops writing", l->conf.ns, l->conf.name,
               l->conf.renew_deadline_ms, l->identity);
        gm_kube_lease_set(l, 0);
    }
}


static void
gm_kube_lease_got(void *data, gm_kube_result_t *res)
{
    json_t           *obj, *lease;
    gm_kube_lease_t  *l = data;

    l->req = NULL;

    if (res->code == 0 && res->status == 404) {
        lease = json_pack("{s:s,s:s,s:{s:s,s:s}}",
                          "apiVersion", "coordination.k8s.io/v1",
                          "kind", "Lease", "metadata",
                          "name", l->conf.name, "namespace", l->conf.ns);
        if (lease == NULL) {
            return;
        }

        json_object_set_new(lease, "spec",
                            gm_kube_lease_spec(l, NULL, l->identity,
                                               l->conf.duration_ms / 1000));
        gm_kube_lease_write(l, "POST", l->collection, lease);
        json_decref(lease);
        return;
    }

    if (res->code != 0 || res->status != 200) {
        gm_log(l->log, GM_LOG_WARN, "status: reading Lease %s/%s failed: "
               "%s %ld", l->conf.ns, l->conf.name,
               res->code ? res->error : "HTTP", res->status);
        return;
    }

    obj = json_loadb(res->body, res->body_len, 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return;
    }

    gm_kube_lease_decide(l, obj);
    json_decref(obj);
}


static void
gm_kube_lease_decide(gm_kube_lease_t *l, json_t *obj)
{
    char        *record;
    int64_t      now;
    json_t      *spec;
    const char  *holder;

    now = gm_kube_now_ms();
    spec = json_object_get(obj, "spec");
    holder = json_string_value(json_object_get(spec, "holderIdentity"));
    holder = holder ? holder : "";

    record = json_dumps(spec ? spec : json_null(), JSON_SORT_KEYS);

    if (record && (l->observed == NULL || strcmp(record, l->observed) != 0))
    {
        free(l->observed);
        l->observed = record;
        l->observed_ms = now;

    } else {
        free(record);
    }

    if (holder[0] != '\0' && strcmp(holder, l->identity) != 0
        && now - l->observed_ms < (int64_t) l->conf.duration_ms)
    {
        if (l->leader) {
            gm_log(l->log, GM_LOG_NOTICE, "status: \"%s\" holds Lease "
                   "%s/%s now", holder, l->conf.ns, l->conf.name);
            gm_kube_lease_set(l, 0);
        }

        return;
    }

    json_object_set_new(obj, "spec",
                        gm_kube_lease_spec(l, spec, l->identity,
                                           l->conf.duration_ms / 1000));
    gm_kube_lease_write(l, "PUT", l->path, obj);
}


/* the record with us (or nobody) as holder; transitions count changes */

static json_t *
gm_kube_lease_spec(gm_kube_lease_t *l, json_t *old, const char *holder,
    unsigned duration_s)
{
    char        now[32];
    json_t      *spec, *acquire;
    json_int_t   transitions;
    const char  *was;

    gm_kube_microtime(now, sizeof(now));

    was = json_string_value(json_object_get(old, "holderIdentity"));
    transitions = json_integer_value(json_object_get(old,
                                                     "leaseTransitions"));
    acquire = json_object_get(old, "acquireTime");

    if (was == NULL || strcmp(was, holder) != 0) {
        transitions += (old != NULL && holder[0] != '\0');
        acquire = NULL;
    }

    spec = json_pack("{s:s,s:i,s:s,s:I}", "holderIdentity", holder,
                     "leaseDurationSeconds", (int) duration_s,
                     "renewTime", now, "leaseTransitions",
                     (json_int_t) transitions);

    if (spec != NULL) {
        json_object_set_new(spec, "acquireTime",
                            acquire ? json_incref(acquire)
                                    : json_string(now));
    }

    (void) l;

    return spec;
}


static void
gm_kube_lease_write(gm_kube_lease_t *l, const char *method, const char *path,
    json_t *obj)
{
    char  *body;

    body = json_dumps(obj, JSON_COMPACT);
    if (body == NULL) {
        return;
    }

    l->req = gm_kube_request_body(l->client, method, path, body,
                                  gm_kube_lease_wrote, l);
    free(body);
}


static void
gm_kube_lease_wrote(void *data, gm_kube_result_t *res)
{
    json_t           *obj;
    const char       *rv;
    gm_kube_lease_t  *l = data;

    l->req = NULL;

    if (res->code != 0 || (res->status != 200 && res->status != 201)) {
        /* 409: another candidate wrote first; we read again next period */
        if (res->status != 409) {
            gm_log(l->log, GM_LOG_WARN, "status: writing Lease %s/%s "
                   "failed: %s %ld", l->conf.ns, l->conf.name,
                   res->code ? res->error : "HTTP", res->status);
        }

        return;
    }

    obj = json_loadb(res->body, res->body_len, 0, NULL);
    rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                           "resourceVersion"));
    free(l->rv);
    l->rv = rv ? strdup(rv) : NULL;
    json_decref(l->spec);
    l->spec = json_incref(json_object_get(obj, "spec"));
    json_decref(obj);

    l->renewed_ms = gm_kube_now_ms();

    if (!l->leader) {
        gm_log(l->log, GM_LOG_NOTICE, "status: \"%s\" holds Lease %s/%s, "
               "writing status", l->identity, l->conf.ns, l->conf.name);
        gm_kube_lease_set(l, 1);
    }
}


static void
gm_kube_lease_set(gm_kube_lease_t *l, int leader)
{
    l->leader = leader;

    if (l->conf.change) {
        l->conf.change(l->conf.data, leader);
    }
}


/* as client-go's ReleaseOnCancel: no holder, a one-second duration */

int
gm_kube_lease_release(gm_kube_lease_t *l)
{
    char    *body;
    json_t  *obj, *spec;

    l->released = 1;

    if (l->req) {
        gm_kube_request_cancel(l->req);
        l->req = NULL;
    }

    if (!l->leader || l->rv == NULL) {
        return 0;
    }

    spec = gm_kube_lease_spec(l, l->spec, "", 1);
    obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:o}",
                    "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
                    "metadata", "name", l->conf.name, "namespace", l->conf.ns,
                    "resourceVersion", l->rv, "spec", spec);
    if (obj == NULL) {
        return 0;
    }

    body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (body == NULL) {
        return 0;
    }

    l->req = gm_kube_request_body(l->client, "PUT", l->path, body,
                                  gm_kube_lease_released, l);
    free(body);

    gm_kube_lease_set(l, 0);

    return l->req != NULL;
}


static void
gm_kube_lease_released(void *data, gm_kube_result_t *res)
{
    gm_kube_lease_t  *l = data;

    l->req = NULL;

    gm_log(l->log, res->code == 0 && res->status == 200 ? GM_LOG_NOTICE
                                                         : GM_LOG_WARN,
           "status: \"%s\" released Lease %s/%s: %s %ld", l->identity,
           l->conf.ns, l->conf.name, res->code ? res->error : "HTTP",
           res->status);
}


void
gm_kube_microtime(char *buf, size_t size)
{
    struct tm        tm;
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
}
