/*
 * nginx-gamma: the status writer's JSON: our entries of an object, and
 * their merge into the object read from the API server.  Entries of
 * other controllers are kept as read; ours are replaced as a whole, each
 * condition keeping its lastTransitionTime while its status stays.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_kube_lease.h"
#include "gm_kube_status_int.h"


static json_t *gm_status_entry_json(const gm_status_entry_t *e);
static json_t *gm_status_ref_json(const gm_parent_ref_t *ref);
static int gm_status_is_ours(json_t *entry);
static json_t *gm_status_find(json_t *old, json_t *entry, const char *key);
static void gm_status_times(json_t *entry, json_t *was, const char *now);


char *
gm_status_entries_json(const gm_status_entry_t *e, size_t n)
{
    char    *s;
    size_t   i;
    json_t  *a;

    a = json_array();
    if (a == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        if (json_array_append_new(a, gm_status_entry_json(&e[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }

    s = json_dumps(a, JSON_COMPACT);
    json_decref(a);

    return s;
}


static json_t *
gm_status_entry_json(const gm_status_entry_t *e)
{
    char                   buf[GM_STATUS_MESSAGE_MAX];
    size_t                 i;
    json_t                *conds, *c;
    gm_str_t               msg;
    const gm_condition_t  *cd;

    conds = json_array();
    if (conds == NULL) {
        return NULL;
    }

    for (i = 0; i < e->nconds; i++) {
        cd = &e->conds[i];
        gm_condition_message(e, cd, buf, &msg);
        c = json_pack("{s:s,s:s,s:s,s:s%,s:I}", "type", cd->type,
                      "status", cd->status ? "True" : "False",
                      "reason", cd->reason, "message", msg.data,
                      msg.len, "observedGeneration",
                      (json_int_t) e->generation);

        if (json_array_append_new(conds, c) != 0) {
            json_decref(conds);
            return NULL;
        }
    }

    return json_pack("{s:o,s:s,s:o}",
                     e->ancestors ? "ancestorRef" : "parentRef",
                     gm_status_ref_json(&e->ref),
                     "controllerName", GM_STATUS_CONTROLLER,
                     "conditions", conds);
}


static json_t *
gm_status_ref_json(const gm_parent_ref_t *ref)
{
    json_t  *r;

    r = json_pack("{s:s%,s:s%,s:s%,s:s%}",
                  "group", ref->gk->group.data ? ref->gk->group.data : "",
                  ref->gk->group.len, "kind", ref->gk->kind.data,
                  ref->gk->kind.len,
                  "namespace", ref->ns.data, ref->ns.len,
                  "name", ref->name.data, ref->name.len);
    if (r == NULL) {
        return NULL;
    }

    if (ref->section_name[0] != '\0') {
        json_object_set_new(r, "sectionName",
                            json_string(ref->section_name));
    }

    if (ref->port != 0) {
        json_object_set_new(r, "port", json_integer(ref->port));
    }

    return r;
}


int
gm_status_merge(json_t *obj, const char *field, const char *entries)
{
    int          changed;
    char         now[32];
    size_t       i;
    json_t      *status, *old, *list, *mine, *ours, *e;
    const char  *key;

    key = strcmp(field, "ancestors") == 0 ? "ancestorRef" : "parentRef";

    mine = json_loads(entries, 0, NULL);
    if (!json_is_array(mine)) {
        json_decref(mine);
        return -1;
    }

    status = json_object_get(obj, "status");
    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(obj, "status", status);
    }

    old = json_object_get(status, field);
    list = json_array();
    ours = json_array();

    /* the others' entries first, untouched, in their order */
    json_array_foreach(old, i, e) {
        json_array_append(gm_status_is_ours(e) ? ours : list, e);
    }

    /* metav1.Time: whole seconds */
    gm_kube_microtime(now, sizeof(now));
    strcpy(strchr(now, '.'), "Z");

    json_array_foreach(mine, i, e) {
        gm_status_times(e, gm_status_find(ours, e, key), now);
        json_array_append(list, e);
    }

    changed = !json_equal(ours, mine);

    if (changed) {
        json_object_set(status, field, list);
    }

    json_decref(ours);
    json_decref(list);
    json_decref(mine);

    return changed;
}


static int
gm_status_is_ours(json_t *entry)
{
    const char  *name;

    name = json_string_value(json_object_get(entry, "controllerName"));

    return name && strcmp(name, GM_STATUS_CONTROLLER) == 0;
}


/* our old entry for the same ref: namespace, name, sectionName, port */

static json_t *
gm_status_find(json_t *old, json_t *entry, const char *key)
{
    size_t       i, k;
    json_t      *e, *a, *b;
    const char  *fields[] = { "namespace", "name", "sectionName", "port",
                              "kind" };

    a = json_object_get(entry, key);

    json_array_foreach(old, i, e) {
        b = json_object_get(e, key);

        for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
            if (!json_equal(json_object_get(a, fields[k]),
                            json_object_get(b, fields[k]))
                && (json_object_get(a, fields[k]) != NULL
                    || json_object_get(b, fields[k]) != NULL))
            {
                break;
            }
        }

        if (k == sizeof(fields) / sizeof(fields[0])) {
            return e;
        }
    }

    return NULL;
}


/* lastTransitionTime: the old one while the status stays, else now */

static void
gm_status_times(json_t *entry, json_t *was, const char *now)
{
    size_t       i, k;
    json_t      *c, *o, *olds;
    const char  *t;

    olds = json_object_get(was, "conditions");

    json_array_foreach(json_object_get(entry, "conditions"), i, c) {
        t = NULL;

        json_array_foreach(olds, k, o) {
            if (json_equal(json_object_get(o, "type"),
                           json_object_get(c, "type"))
                && json_equal(json_object_get(o, "status"),
                              json_object_get(c, "status")))
            {
                t = json_string_value(json_object_get(o,
                                                      "lastTransitionTime"));
                break;
            }
        }

        json_object_set_new(c, "lastTransitionTime",
                            json_string(t ? t : now));
    }
}
