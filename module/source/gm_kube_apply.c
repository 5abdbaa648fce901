/*
 * nginx-gamma: what the API server says, applied to the store.
 *
 * Objects go through gm_object_parse(): an invalid one is rejected alone
 * and an earlier good version of it keeps serving.  An object whose
 * resourceVersion did not change is not parsed again, so a relist that
 * finds nothing new changes nothing.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_kube_apply.h"
#include "gm_object_parse.h"
#include "gm_reject.h"


#define GM_KUBE_KEY_MAX  320          /* "<namespace>/<name>" */


typedef struct {
    const gm_kube_scope_t  *scope;
    char                  **keep;     /* sorted keys of the list */
    size_t                  nkeep;
    char                  **gone;     /* keys to delete */
    size_t                  ngone;
    size_t                  cap;
    int                     failed;
} gm_kube_sweep_t;


static int gm_kube_upsert(const gm_kube_scope_t *s, json_t *obj);
static int gm_kube_delete(const gm_kube_scope_t *s, json_t *obj);
static int gm_kube_object_id(const gm_kube_scope_t *s, json_t *obj,
    const char **ns, const char **name);
static char *gm_kube_key(json_t *obj);
static int gm_kube_key_cmp(const void *one, const void *two);
static void gm_kube_sweep_collect(void *data, gm_object_t *obj);
static int gm_kube_sweep(gm_kube_sweep_t *sw);
static gm_kube_event_e gm_kube_error_event(const gm_kube_scope_t *s,
    json_t *status);
static void gm_kube_copy_rv(json_t *obj, char *rv);


int
gm_kube_apply_list(const gm_kube_scope_t *s, json_t *items)
{
    int              changed;
    size_t           i, n;
    json_t          *item;
    gm_kube_sweep_t  sw;

    memset(&sw, 0, sizeof(sw));
    sw.scope = s;
    changed = 0;

    n = json_array_size(items);
    sw.keep = calloc(n ? n : 1, sizeof(char *));

    if (sw.keep == NULL) {
        gm_log(s->log, GM_LOG_ERR, "kubernetes: %s: out of memory", s->path);
        return 0;
    }

    json_array_foreach(items, i, item) {
        changed |= gm_kube_upsert(s, item);

        sw.keep[sw.nkeep] = gm_kube_key(item);

        if (sw.keep[sw.nkeep] != NULL) {
            sw.nkeep++;
        }
    }

    qsort(sw.keep, sw.nkeep, sizeof(char *), gm_kube_key_cmp);

    /* what the store holds in this scope and the list no longer does */
    gm_store_foreach(s->store, s->res->kind, gm_kube_sweep_collect, &sw);

    changed |= gm_kube_sweep(&sw);

    for (i = 0; i < sw.nkeep; i++) {
        free(sw.keep[i]);
    }

    free(sw.keep);

    return changed;
}


gm_kube_event_e
gm_kube_apply_event(const gm_kube_scope_t *s, const char *line, size_t len,
    char *rv, int *changed)
{
    json_t          *ev, *obj;
    const char      *type;
    json_error_t     err;
    gm_kube_event_e  rc;

    rv[0] = '\0';
    *changed = 0;

    ev = json_loadb(line, len, 0, &err);
    if (ev == NULL) {
        gm_log(s->log, GM_LOG_ERR, "kubernetes: %s: malformed watch event: "
               "%s, column %d", s->path, err.text, err.column);
        return GM_KUBE_EVENT_MALFORMED;
    }

    type = json_string_value(json_object_get(ev, "type"));
    obj = json_object_get(ev, "object");
    rc = GM_KUBE_EVENT_OK;

    if (type == NULL || !json_is_object(obj)) {
        gm_log(s->log, GM_LOG_ERR, "kubernetes: %s: malformed watch event: "
               "no \"type\" or \"object\"", s->path);
        rc = GM_KUBE_EVENT_MALFORMED;

    } else if (strcmp(type, "ERROR") == 0) {
        rc = gm_kube_error_event(s, obj);

    } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
        *changed = gm_kube_upsert(s, obj);
        gm_kube_copy_rv(obj, rv);

    } else if (strcmp(type, "DELETED") == 0) {
        *changed = gm_kube_delete(s, obj);
        gm_kube_copy_rv(obj, rv);

    } else if (strcmp(type, "BOOKMARK") == 0) {
        gm_kube_copy_rv(obj, rv);

    } else {
        gm_log(s->log, GM_LOG_WARN, "kubernetes: %s: watch event of unknown "
               "type \"%.32s\" ignored", s->path, type);
    }

    json_decref(ev);

    return rc;
}


static int
gm_kube_upsert(const gm_kube_scope_t *s, json_t *obj)
{
    int              ignored, changed;
    const char      *ns, *name, *rv;
    gm_object_t     *o, *old;
    gm_reject_tap_t  tap;

    if (gm_kube_object_id(s, obj, &ns, &name) != 0) {
        return 0;
    }

    rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                           "resourceVersion"));

    old = gm_store_get(s->store, s->res->kind, ns, name);

    if (old && rv && rv[0]
        && strcmp(old->body->meta.resource_version, rv) == 0)
    {
        return 0;
    }

    /* built-in list items carry no kind: it comes from the request */
    if (json_object_get(obj, "kind") == NULL) {
        json_object_set_new(obj, "kind",
                            json_string(gm_kind_name(s->res->kind)));
    }

    if (json_object_get(obj, "apiVersion") == NULL) {
        json_object_set_new(obj, "apiVersion", json_string(s->api_version));
    }

    /* the reasons it logs are kept next to the object for the status */
    gm_reject_tap_init(&tap, s->log);
    o = gm_object_parse(obj, &tap.log, &ignored);

    if (o == NULL) {
        /* rejected and logged: its last good version, if any, stays */
        changed = gm_reject_tap_note(&tap, s->store);
        gm_reject_tap_free(&tap);
        return changed;
    }

    gm_store_put(s->store, o);
    gm_reject_tap_note(&tap, s->store);
    gm_reject_tap_free(&tap);

    return 1;
}


static int
gm_kube_delete(const gm_kube_scope_t *s, json_t *obj)
{
    const char  *ns, *name;

    if (gm_kube_object_id(s, obj, &ns, &name) != 0) {
        return 0;
    }

    return gm_store_delete(s->store, s->res->kind, ns, name);
}


static int
gm_kube_object_id(const gm_kube_scope_t *s, json_t *obj, const char **ns,
    const char **name)
{
    json_t      *meta;
    const char  *kind;

    kind = json_string_value(json_object_get(obj, "kind"));

    if (kind && strcmp(kind, gm_kind_name(s->res->kind)) != 0) {
        gm_log(s->log, GM_LOG_ERR, "kubernetes: %s: object of kind "
               "\"%.64s\" ignored", s->path, kind);
        return -1;
    }

    meta = json_object_get(obj, "metadata");
    *name = json_string_value(json_object_get(meta, "name"));
    *ns = json_string_value(json_object_get(meta, "namespace"));

    if (*name == NULL || *ns == NULL) {
        gm_log(s->log, GM_LOG_ERR, "kubernetes: %s: %s without a name or "
               "namespace ignored", s->path, gm_kind_name(s->res->kind));
        return -1;
    }

    return 0;
}


static char *
gm_kube_key(json_t *obj)
{
    char        *key;
    json_t      *meta;
    const char  *ns, *name;

    meta = json_object_get(obj, "metadata");
    name = json_string_value(json_object_get(meta, "name"));
    ns = json_string_value(json_object_get(meta, "namespace"));

    if (name == NULL || ns == NULL) {
        return NULL;
    }

    key = malloc(strlen(ns) + strlen(name) + 2);
    if (key != NULL) {
        sprintf(key, "%s/%s", ns, name);
    }

    return key;
}


static int
gm_kube_key_cmp(const void *one, const void *two)
{
    return strcmp(*(char *const *) one, *(char *const *) two);
}


static void
gm_kube_sweep_collect(void *data, gm_object_t *obj)
{
    gm_kube_sweep_t  *sw = data;

    char        key[GM_KUBE_KEY_MAX], *p, **gone;
    gm_meta_t  *meta;

    meta = &obj->body->meta;

    if (sw->scope->ns && strcmp(sw->scope->ns, meta->ns.data) != 0) {
        return;
    }

    snprintf(key, sizeof(key), "%s/%s", meta->ns.data, meta->name.data);
    p = key;

    if (sw->nkeep && bsearch(&p, sw->keep, sw->nkeep, sizeof(char *),
                             gm_kube_key_cmp))
    {
        return;
    }

    if (sw->ngone == sw->cap) {
        sw->cap = sw->cap ? sw->cap * 2 : 16;
        gone = realloc(sw->gone, sw->cap * sizeof(char *));

        if (gone == NULL) {
            sw->failed = 1;
            return;
        }

        sw->gone = gone;
    }

    p = strdup(key);

    if (p == NULL) {
        sw->failed = 1;
        return;
    }

    sw->gone[sw->ngone++] = p;
}


static int
gm_kube_sweep(gm_kube_sweep_t *sw)
{
    int      changed;
    char    *slash;
    size_t   i;

    changed = 0;

    if (sw->failed) {
        gm_log(sw->scope->log, GM_LOG_ERR, "kubernetes: %s: out of memory, "
               "deleted objects stay until the next list", sw->scope->path);
    }

    for (i = 0; i < sw->ngone; i++) {
        slash = strchr(sw->gone[i], '/');
        *slash = '\0';

        changed |= gm_store_delete(sw->scope->store, sw->scope->res->kind,
                                   sw->gone[i], slash + 1);

        gm_log(sw->scope->log, GM_LOG_INFO, "kubernetes: %s %s/%s is gone",
               gm_kind_name(sw->scope->res->kind), sw->gone[i], slash + 1);

        free(sw->gone[i]);
    }

    free(sw->gone);

    return changed;
}


static gm_kube_event_e
gm_kube_error_event(const gm_kube_scope_t *s, json_t *status)
{
    json_int_t   code;
    const char  *reason, *message;

    code = json_integer_value(json_object_get(status, "code"));
    reason = json_string_value(json_object_get(status, "reason"));
    message = json_string_value(json_object_get(status, "message"));

    reason = reason ? reason : "";
    message = message ? message : "";

    if (code == 410 || strcmp(reason, "Expired") == 0
        || strcmp(reason, "Gone") == 0
        || strstr(message, "too old resource version") != NULL)
    {
        gm_log(s->log, GM_LOG_INFO, "kubernetes: %s: watch expired (%.200s), "
               "listing again", s->path, message);
        return GM_KUBE_EVENT_EXPIRED;
    }

    gm_log(s->log, GM_LOG_ERR, "kubernetes: %s: watch error %lld %.64s: "
           "%.300s", s->path, (long long) code, reason, message);

    return GM_KUBE_EVENT_ERROR;
}


static void
gm_kube_copy_rv(json_t *obj, char *rv)
{
    const char  *v;

    v = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                          "resourceVersion"));

    if (v && strlen(v) < GM_KUBE_RV_MAX) {
        strcpy(rv, v);
    }
}
