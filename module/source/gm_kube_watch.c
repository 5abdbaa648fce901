/*
 * nginx-gamma: one list+watch loop, modelled on client-go's reflector.
 *
 * LIST reads every page (limit/continue) before anything is applied, then
 * the scope is replaced: deletions that happened while no watch ran are
 * found there.  WATCH starts at the list's resourceVersion and resumes from
 * the last one seen (bookmarks count) after a clean end, a drop or a
 * stall.  A watch open but silent (no event, no bookmark) for the idle
 * timeout is replaced at once: a stalled connection is not an error of the
 * server's, and new ones may well work.  A 410, as a status or as an ERROR
 * event, means that version is gone: list again.  Errors back off
 * exponentially with jitter.
 */

#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_curl.h"
#include "gm_kube_apply.h"
#include "gm_kube_watch.h"


typedef enum {
    GM_KUBE_OP_LIST = 0,
    GM_KUBE_OP_WATCH
} gm_kube_op_e;

struct gm_kube_watch_s {
    gm_kube_env_t             *env;
    const gm_kube_resource_t  *res;
    char                      *ns;
    char                      *selector;      /* URL-encoded */
    unsigned                   version;       /* in res->versions */
    char                       path[512];
    char                       api_version[128];
    gm_kube_scope_t            scope;
    char                       rv[GM_KUBE_RV_MAX];   /* the last seen */
    char                      *cont;          /* the next page */
    json_t                    *items;         /* the pages read so far */
    gm_kube_req_t             *req;
    gm_kube_op_e               op;            /* in flight, or next */
    int64_t                    due_ms;
    unsigned                   failures;
    unsigned                   events;        /* of the current watch */
    unsigned                   synced:1;
    unsigned                   absent:1;
    unsigned                   expired:1;     /* the watch said 410 */
    unsigned                   broken:1;      /* bad or ERROR event */
};


static int gm_kube_watch_version(gm_kube_watch_t *w, unsigned version);
static void gm_kube_watch_start(gm_kube_watch_t *w);
static char *gm_kube_watch_list_query(gm_kube_watch_t *w);
static char *gm_kube_watch_watch_query(gm_kube_watch_t *w);
static void gm_kube_watch_list_done(void *data, gm_kube_result_t *res);
static int gm_kube_watch_page(gm_kube_watch_t *w, gm_kube_result_t *res);
static void gm_kube_watch_listed(gm_kube_watch_t *w);
static void gm_kube_watch_absent(gm_kube_watch_t *w);
static int gm_kube_watch_line(void *data, char *line, size_t len);
static void gm_kube_watch_done(void *data, gm_kube_result_t *res);
static void gm_kube_watch_http_error(gm_kube_watch_t *w,
    gm_kube_result_t *res);
static void gm_kube_watch_fail(gm_kube_watch_t *w, gm_kube_op_e op,
    int immediate);
static void gm_kube_watch_schedule(gm_kube_watch_t *w, gm_kube_op_e op,
    int64_t delay);
static int64_t gm_kube_watch_backoff(gm_kube_watch_t *w);
static uint64_t gm_kube_watch_random(gm_kube_watch_t *w);
static unsigned gm_kube_watch_idle_ms(gm_kube_watch_t *w);
static void gm_kube_watch_reset_list(gm_kube_watch_t *w);
static const char *gm_kube_status_message(gm_kube_result_t *res, char *buf,
    size_t size);


gm_kube_watch_t *
gm_kube_watch_create(gm_kube_env_t *env, const gm_kube_resource_t *res,
    const char *ns, const char *selector)
{
    gm_kube_watch_t  *w;

    w = calloc(1, sizeof(gm_kube_watch_t));
    if (w == NULL) {
        return NULL;
    }

    w->env = env;
    w->res = res;
    w->ns = ns ? strdup(ns) : NULL;
    w->selector = selector ? curl_easy_escape(NULL, selector, 0) : NULL;

    if ((ns && w->ns == NULL) || (selector && w->selector == NULL)
        || gm_kube_watch_version(w, 0) != 0)
    {
        gm_kube_watch_destroy(w);
        return NULL;
    }

    w->op = GM_KUBE_OP_LIST;

    return w;
}


void
gm_kube_watch_destroy(gm_kube_watch_t *w)
{
    if (w == NULL) {
        return;
    }

    if (w->req) {
        gm_kube_request_cancel(w->req);
    }

    gm_kube_watch_reset_list(w);
    curl_free(w->selector);
    free(w->ns);
    free(w);
}


void
gm_kube_watch_step(gm_kube_watch_t *w, int64_t now)
{
    if (w->req == NULL && now >= w->due_ms) {
        gm_kube_watch_start(w);
    }
}


int64_t
gm_kube_watch_due(gm_kube_watch_t *w)
{
    return w->req ? -1 : w->due_ms;
}


int
gm_kube_watch_synced(gm_kube_watch_t *w)
{
    return w->synced;
}


static int
gm_kube_watch_version(gm_kube_watch_t *w, unsigned version)
{
    w->version = version;

    if (gm_kube_resource_path(w->res, version, w->ns, w->path,
                              sizeof(w->path)) < 0
        || gm_kube_resource_api_version(w->res, version, w->api_version,
                                        sizeof(w->api_version)) < 0)
    {
        return -1;
    }

    w->scope.store = w->env->store;
    w->scope.log = &w->env->limit.log;
    w->scope.res = w->res;
    w->scope.api_version = w->api_version;
    w->scope.ns = w->ns;
    w->scope.path = w->path;

    return 0;
}


static void
gm_kube_watch_start(gm_kube_watch_t *w)
{
    char  *q;

    if (w->op == GM_KUBE_OP_LIST) {
        q = gm_kube_watch_list_query(w);
        w->req = q ? gm_kube_request(w->env->client, q, NULL,
                                     gm_kube_watch_list_done, w)
                   : NULL;

    } else {
        w->events = 0;
        w->expired = 0;
        w->broken = 0;

        q = gm_kube_watch_watch_query(w);
        w->req = q ? gm_kube_request(w->env->client, q,
                                     gm_kube_watch_line,
                                     gm_kube_watch_done, w)
                   : NULL;

        if (w->req) {
            gm_kube_request_stall_timeout(w->req, gm_kube_watch_idle_ms(w));
        }
    }

    free(q);

    if (w->req == NULL) {
        gm_kube_watch_fail(w, w->op, 0);
    }
}


static char *
gm_kube_watch_list_query(gm_kube_watch_t *w)
{
    int    n;
    char  *q, *cont;

    cont = w->cont ? curl_easy_escape(NULL, w->cont, 0) : NULL;

    if (w->cont && cont == NULL) {
        return NULL;
    }

    n = asprintf(&q, "%s?limit=%u%s%s%s%s", w->path,
                 w->env->conf->page_size,
                 cont ? "&continue=" : "", cont ? cont : "",
                 w->selector ? "&labelSelector=" : "",
                 w->selector ? w->selector : "");

    curl_free(cont);

    return n == -1 ? NULL : q;
}


static char *
gm_kube_watch_watch_query(gm_kube_watch_t *w)
{
    int       n;
    char     *q, *rv;
    unsigned  t;

    rv = curl_easy_escape(NULL, w->rv, 0);
    if (rv == NULL) {
        return NULL;
    }

    /* spread the reconnections of many watches, as client-go does */
    t = w->env->conf->watch_timeout_s;
    t += gm_kube_watch_random(w) % t;

    n = asprintf(&q, "%s?watch=1&allowWatchBookmarks=true"
                 "&resourceVersion=%s&timeoutSeconds=%u%s%s", w->path, rv, t,
                 w->selector ? "&labelSelector=" : "",
                 w->selector ? w->selector : "");

    curl_free(rv);

    return n == -1 ? NULL : q;
}


static void
gm_kube_watch_list_done(void *data, gm_kube_result_t *res)
{
    gm_kube_watch_t  *w = data;

    w->req = NULL;

    if (res->code != 0) {
        gm_log(w->env->log, GM_LOG_ERR, "kubernetes: %s: list failed: %s",
               w->path, res->error);
        gm_kube_watch_fail(w, GM_KUBE_OP_LIST, 0);
        return;
    }

    if (res->status != 200) {
        gm_kube_watch_http_error(w, res);
        return;
    }

    if (gm_kube_watch_page(w, res) != 0) {
        gm_kube_watch_fail(w, GM_KUBE_OP_LIST, 0);
        return;
    }

    if (w->cont) {
        gm_kube_watch_schedule(w, GM_KUBE_OP_LIST, 0);
        return;
    }

    gm_kube_watch_listed(w);
}


/* keeps the page's items; sets w->cont when more pages follow */
static int
gm_kube_watch_page(gm_kube_watch_t *w, gm_kube_result_t *res)
{
    int            rc;
    json_t        *root, *items, *meta;
    const char    *cont, *rv;
    json_error_t   err;

    root = json_loadb(res->body, res->body_len, 0, &err);
    if (root == NULL) {
        gm_log(w->env->log, GM_LOG_ERR, "kubernetes: %s: malformed list: "
               "%s, line %d", w->path, err.text, err.line);
        return -1;
    }

    items = json_object_get(root, "items");
    meta = json_object_get(root, "metadata");
    cont = json_string_value(json_object_get(meta, "continue"));
    rv = json_string_value(json_object_get(meta, "resourceVersion"));

    rc = -1;

    if ((items != NULL && !json_is_array(items) && !json_is_null(items))
        || rv == NULL || rv[0] == '\0' || strlen(rv) >= GM_KUBE_RV_MAX)
    {
        gm_log(w->env->log, GM_LOG_ERR, "kubernetes: %s: malformed list: "
               "no \"items\" or \"metadata.resourceVersion\"", w->path);
        goto done;
    }

    if (w->items == NULL && (w->items = json_array()) == NULL) {
        goto done;
    }

    if (json_is_array(items) && json_array_extend(w->items, items) != 0) {
        goto done;
    }

    free(w->cont);
    w->cont = (cont && cont[0]) ? strdup(cont) : NULL;

    /* every page carries the list's version: the watch starts there */
    strcpy(w->rv, rv);
    rc = 0;

done:

    json_decref(root);

    return rc;
}


static void
gm_kube_watch_listed(gm_kube_watch_t *w)
{
    if (w->absent) {
        gm_log(w->env->log, GM_LOG_NOTICE, "kubernetes: %s is served now",
               w->path);
    }

    w->env->changed |= gm_kube_apply_list(&w->scope, w->items);
    gm_log_limit_flush(&w->env->limit);

    gm_log(w->env->log, GM_LOG_INFO, "kubernetes: %s: %zu objects at "
           "resourceVersion %s", w->path, json_array_size(w->items), w->rv);

    gm_kube_watch_reset_list(w);

    w->synced = 1;
    w->absent = 0;
    w->failures = 0;

    gm_kube_watch_schedule(w, GM_KUBE_OP_WATCH, 0);
}


/* an optional CRD is not installed: it is empty, and asked again slowly */
static void
gm_kube_watch_absent(gm_kube_watch_t *w)
{
    json_t  *none;

    if (w->version + 1 < GM_KUBE_MAX_VERSIONS
        && w->res->versions[w->version + 1] != NULL)
    {
        gm_kube_watch_version(w, w->version + 1);
        gm_kube_watch_schedule(w, GM_KUBE_OP_LIST, 0);
        return;
    }

    gm_kube_watch_version(w, 0);

    if (!w->absent) {
        gm_log(w->env->log, GM_LOG_WARN, "kubernetes: %s.%s are not served "
               "(HTTP 404: is the CRD installed?), asking again every %u ms; "
               "the rest of the mesh works", w->res->plural, w->res->group,
               w->env->conf->backoff_max_ms);
    }

    none = json_array();

    if (none != NULL) {
        w->env->changed |= gm_kube_apply_list(&w->scope, none);
        json_decref(none);
    }

    gm_kube_watch_reset_list(w);

    w->absent = 1;
    w->synced = 1;

    gm_kube_watch_schedule(w, GM_KUBE_OP_LIST, w->env->conf->backoff_max_ms);
}


static int
gm_kube_watch_line(void *data, char *line, size_t len)
{
    gm_kube_watch_t  *w = data;

    int              changed;
    char             rv[GM_KUBE_RV_MAX];
    gm_kube_event_e  rc;

    rc = gm_kube_apply_event(&w->scope, line, len, rv, &changed);

    w->env->changed |= changed;

    switch (rc) {

    case GM_KUBE_EVENT_OK:
        if (rv[0]) {
            strcpy(w->rv, rv);
        }

        w->events++;
        w->failures = 0;
        return 0;

    case GM_KUBE_EVENT_EXPIRED:
        w->expired = 1;
        return 1;

    default:
        w->broken = 1;
        return 1;
    }
}


static void
gm_kube_watch_done(void *data, gm_kube_result_t *res)
{
    gm_kube_watch_t  *w = data;

    w->req = NULL;

    if (w->expired) {
        gm_kube_watch_fail(w, GM_KUBE_OP_LIST, 1);
        return;
    }

    if (res->stalled && res->status == 200 && !w->broken) {
        gm_log(w->env->log, GM_LOG_WARN, "kubernetes: %s: watch interrupted "
               "(%s), resuming from resourceVersion %s at once: it was "
               "open but silent, no event and no bookmark", w->path,
               res->error, w->rv);

        gm_kube_watch_schedule(w, GM_KUBE_OP_WATCH, 0);
        return;
    }

    if (w->broken || res->code != 0) {
        gm_log(w->env->log, GM_LOG_WARN, "kubernetes: %s: watch %s%s%s, "
               "resuming from resourceVersion %s", w->path,
               w->broken ? "restarted after a bad event" : "interrupted (",
               w->broken ? "" : res->error, w->broken ? "" : ")", w->rv);

        gm_kube_watch_fail(w, GM_KUBE_OP_WATCH, 0);
        return;
    }

    if (res->status != 200) {
        gm_kube_watch_http_error(w, res);
        return;
    }

    if (w->events == 0 && res->duration_ms < 1000) {
        gm_log(w->env->log, GM_LOG_WARN, "kubernetes: %s: the watch ended "
               "at once", w->path);
        gm_kube_watch_fail(w, GM_KUBE_OP_WATCH, 0);
        return;
    }

    /* the server's timeoutSeconds: carry on from where it ended */
    gm_kube_watch_schedule(w, GM_KUBE_OP_WATCH, 0);
}


static void
gm_kube_watch_http_error(gm_kube_watch_t *w, gm_kube_result_t *res)
{
    char         buf[512];
    int64_t      delay;
    const char  *msg, *what;

    msg = gm_kube_status_message(res, buf, sizeof(buf));
    what = (w->op == GM_KUBE_OP_LIST) ? "list" : "watch";

    if (res->status == 404 && w->res->optional) {
        gm_kube_watch_absent(w);
        return;
    }

    if (res->status == 410) {
        gm_log(w->env->log, GM_LOG_INFO, "kubernetes: %s: %s expired (%s), "
               "listing again", w->path, what, msg);
        gm_kube_watch_fail(w, GM_KUBE_OP_LIST, 1);
        return;
    }

    gm_log(w->env->log, GM_LOG_ERR, "kubernetes: %s: %s failed: HTTP %ld: "
           "%s%s", w->path, what, res->status, msg,
           res->status == 401 ? " (the token file is read again)" : "");

    if (res->status == 401) {
        gm_kube_client_token_expire(w->env->client);
    }

    if (res->status == 429 && res->retry_after_s > 0) {
        delay = (int64_t) res->retry_after_s * 1000;
        w->failures++;
        gm_kube_watch_schedule(w, w->op, delay < w->env->conf->backoff_max_ms
                                         ? delay
                                         : w->env->conf->backoff_max_ms);
        return;
    }

    gm_kube_watch_fail(w, w->op, 0);
}


static void
gm_kube_watch_fail(gm_kube_watch_t *w, gm_kube_op_e op, int immediate)
{
    w->failures++;

    if (op == GM_KUBE_OP_LIST) {
        w->env->relists++;
        gm_kube_watch_reset_list(w);

    } else {
        w->env->watch_restarts++;
    }

    gm_kube_watch_schedule(w, op, (immediate && w->failures == 1)
                                  ? 0 : gm_kube_watch_backoff(w));
}


static void
gm_kube_watch_schedule(gm_kube_watch_t *w, gm_kube_op_e op, int64_t delay)
{
    w->op = op;
    w->due_ms = gm_kube_now_ms() + delay;

    if (delay > 0) {
        gm_log(w->env->log, GM_LOG_INFO, "kubernetes: %s: %s again in %lld "
               "ms", w->path, op == GM_KUBE_OP_LIST ? "list" : "watch",
               (long long) delay);
    }
}


/* doubles from the initial delay up to the cap; "equal jitter" */
static int64_t
gm_kube_watch_backoff(gm_kube_watch_t *w)
{
    int64_t   d, max;
    unsigned  i;

    d = w->env->conf->backoff_initial_ms;
    max = w->env->conf->backoff_max_ms;

    for (i = 1; i < w->failures && d < max; i++) {
        d *= 2;
    }

    d = d < max ? d : max;

    return d / 2 + (int64_t) (gm_kube_watch_random(w) % (d / 2 + 1));
}


static uint64_t
gm_kube_watch_random(gm_kube_watch_t *w)
{
    uint64_t  x;

    x = w->env->rnd;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->env->rnd = x;

    return x;
}


/* a watch may be silent for the idle timeout, and no request longer */
static unsigned
gm_kube_watch_idle_ms(gm_kube_watch_t *w)
{
    const gm_kube_conf_t  *conf = w->env->conf;

    return conf->watch_idle_timeout_ms < conf->stall_timeout_ms
           ? conf->watch_idle_timeout_ms : conf->stall_timeout_ms;
}


static void
gm_kube_watch_reset_list(gm_kube_watch_t *w)
{
    if (w->items) {
        json_decref(w->items);
        w->items = NULL;
    }

    free(w->cont);
    w->cont = NULL;
}


/* the message of the Status object an error came with */
static const char *
gm_kube_status_message(gm_kube_result_t *res, char *buf, size_t size)
{
    json_t      *root;
    const char  *msg;

    root = json_loadb(res->body, res->body_len, 0, NULL);
    msg = json_string_value(json_object_get(root, "message"));

    snprintf(buf, size, "%s", msg ? msg
                              : (res->body_len ? "(no Status message)"
                                               : "(no body)"));
    json_decref(root);

    return buf;
}
