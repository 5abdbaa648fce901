/*
 * nginx-gamma: the status writer's objects (gm_kube_status_int.h): per
 * object our entries as JSON and a hash of them, dirty when the hash
 * differs from what was last written.  A snapshot's update reads only the
 * chunks of its list the last update did not (gm_status_delta_t): the
 * others are the same entries.  An object whose entries are gone ([])
 * is forgotten once that is written, so routes that come and go leave
 * nothing behind.  The writer holds its lock around all of this.
 */

#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_hash.h"
#include "gm_kube_resource.h"
#include "gm_kube_status_int.h"


#define GM_STATUS_PATH_MAX  768


static uint64_t gm_status_put(void *data, const gm_status_entry_t *e,
    size_t n);
static int gm_status_gone(void *data, uint64_t key);
static int gm_status_clear(gm_status_table_t *t, gm_status_obj_t *o);
static void gm_status_sweep(gm_status_table_t *t);
static void gm_status_forget(gm_status_table_t *t, gm_status_obj_t *o);
static char *gm_status_path(const gm_status_entry_t *e);
static int gm_status_grow(gm_status_table_t *t);
static uint64_t gm_status_key_of(const gm_status_entry_t *e);


int
gm_status_table_init(gm_status_table_t *t)
{
    memset(t, 0, sizeof(gm_status_table_t));

    t->size = 64;
    t->objs = calloc(t->size, sizeof(gm_status_obj_t));
    t->delta = gm_status_delta_create();

    if (t->objs == NULL || t->delta == NULL) {
        gm_status_table_free(t);
        return -1;
    }

    return 0;
}


void
gm_status_table_free(gm_status_table_t *t)
{
    size_t  i;

    for (i = 0; t->objs && i < t->size; i++) {
        free(t->objs[i].path);
        free(t->objs[i].entries);
    }

    free(t->objs);
    gm_status_delta_destroy(t->delta);
    t->objs = NULL;
    t->delta = NULL;
}


/*
 * A new holder checks every object once.  The forgotten ones are not in
 * the table: their [] was written, or they were gone (a 404), so nothing
 * of ours is left on them.
 */

void
gm_status_table_lead(gm_status_table_t *t)
{
    size_t  i;

    t->ndirty = 0;

    for (i = 0; i < t->size; i++) {
        if (t->objs[i].key != 0 && t->objs[i].path != NULL) {
            t->objs[i].written = 0;
            t->objs[i].dirty = 1;
            t->objs[i].retry_ms = 0;
            t->ndirty++;
        }
    }
}


/*
 * The objects of the chunks the last update did not have are put; of
 * those it had and this one has not, the ones no chunk put now are gone.
 * After a whole walk every object not put is.
 */

void
gm_status_table_update(gm_status_table_t *t, const gm_status_list_t *list)
{
    gm_status_walk_t  walk;

    t->batch++;

    walk.object = gm_status_put;
    walk.gone = gm_status_gone;
    walk.data = t;

    if (gm_status_delta_walk(t->delta, list, &walk)) {
        gm_status_sweep(t);
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


/* a changed object gets its new entries and is dirty; 0: out of memory */

static uint64_t
gm_status_put(void *data, const gm_status_entry_t *e, size_t n)
{
    char               *entries, *path;
    uint64_t            key, hash;
    gm_status_obj_t    *o;
    gm_status_table_t  *t = data;

    if ((t->n + 1) * 2 > t->size && gm_status_grow(t) != 0) {
        return 0;
    }

    key = gm_status_key_of(e);
    hash = gm_status_hash(e, n);
    o = gm_status_table_slot(t, key);

    o->batch = t->batch;

    if (o->key != 0 && o->hash == hash && o->path != NULL) {
        return key;
    }

    entries = gm_status_entries_json(e, n);
    path = o->path ? o->path : gm_status_path(e);

    if (entries == NULL || path == NULL) {
        free(entries);
        return 0;
    }

    if (o->key == 0) {
        o->key = key;
        t->n++;
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
        t->ndirty++;
    }

    return key;
}


/* an object of a chunk gone: gone too unless put in this update */

static int
gm_status_gone(void *data, uint64_t key)
{
    gm_status_obj_t    *o;
    gm_status_table_t  *t = data;

    o = gm_status_table_slot(t, key);

    return (o->key == key) ? gm_status_clear(t, o) : 0;
}


/* every object not put in this update */

static void
gm_status_sweep(gm_status_table_t *t)
{
    size_t  i;

    for (i = 0; i < t->size; i++) {
        if (t->objs[i].key != 0 && gm_status_clear(t, &t->objs[i]) != 0) {
            /* tried again by the next update's whole walk */
            gm_status_delta_reset(t->delta);
        }
    }
}


/* an object without entries now gets ours removed; -1: out of memory */

static int
gm_status_clear(gm_status_table_t *t, gm_status_obj_t *o)
{
    char  *none;

    if (o->path == NULL || o->batch == t->batch || o->hash == 1) {
        return 0;
    }

    none = strdup("[]");
    if (none == NULL) {
        return -1;
    }

    free(o->entries);
    o->entries = none;
    o->hash = 1;                       /* the hash of no entries */
    o->cleared_ms = t->now_ms;

    if (!o->dirty) {
        o->dirty = 1;
        t->ndirty++;
    }

    return 0;
}


/*
 * An object is forgotten when the write of its [] ends, not when it is
 * swept (the [] is still to write then).  The writer's thread has one
 * job at a time and this is its end, so no write in flight is of an
 * object forgotten; the job holds copies of the path and entries and
 * finds its object by key (gm_kube_status.c): one back under that key
 * meanwhile has other entries than the job's [] and stays dirty.  A 404
 * of an object that still has entries (the watcher has not seen the
 * deletion yet) keeps it, clean, as before: its [] comes with the next
 * snapshot, and that 404 forgets it.
 */

void
gm_status_table_done(gm_status_table_t *t, uint64_t key, uint64_t hash,
    int ok, int64_t retry_ms)
{
    gm_status_obj_t  *o;

    o = gm_status_table_slot(t, key);

    if (o->key != key || !o->dirty) {
        return;
    }

    if (ok) {
        o->written = hash;
    }

    if (o->hash != o->written) {
        if (!ok) {
            o->retry_ms = retry_ms;
        }

        return;
    }

    o->dirty = 0;
    t->ndirty--;

    if (o->hash == 1) {
        gm_status_forget(t, o);        /* nothing of ours is left on it */
    }
}


/*
 * A slot freed by the backward shift takes a later object: the same slot
 * is looked at again.  One that wraps from the table's start to a slot
 * already passed waits for the next pass.
 */

void
gm_status_table_expire(gm_status_table_t *t, int64_t grace_ms)
{
    size_t            i;
    gm_status_obj_t  *o;

    if (t->now_ms - t->expired_ms < grace_ms / 2) {
        return;
    }

    t->expired_ms = t->now_ms;

    for (i = 0; i < t->size; /* void */) {
        o = &t->objs[i];

        if (o->key == 0 || o->path == NULL || o->hash != 1
            || t->now_ms - o->cleared_ms < grace_ms)
        {
            i++;
            continue;
        }

        if (o->dirty) {
            o->dirty = 0;
            t->ndirty--;
        }

        gm_status_forget(t, o);
    }
}


/*
 * A clean object leaves; backward shift (as gm_snapshot.c): no tombstone,
 * a probe stays plain.
 */

static void
gm_status_forget(gm_status_table_t *t, gm_status_obj_t *o)
{
    size_t  i, j, k, mask;

    free(o->path);
    free(o->entries);
    t->n--;

    mask = t->size - 1;
    i = (size_t) (o - t->objs);
    j = i;

    for ( ;; ) {
        j = (j + 1) & mask;

        if (t->objs[j].key == 0) {
            break;
        }

        k = t->objs[j].key & mask;

        /* j's home is cyclically in (i, j]: it stays */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }

        t->objs[i] = t->objs[j];
        i = j;
    }

    memset(&t->objs[i], 0, sizeof(gm_status_obj_t));
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


gm_status_obj_t *
gm_status_table_slot(gm_status_table_t *t, uint64_t key)
{
    size_t  i;

    i = key & (t->size - 1);

    while (t->objs[i].key != 0 && t->objs[i].key != key) {
        i = (i + 1) & (t->size - 1);
    }

    return &t->objs[i];
}


static int
gm_status_grow(gm_status_table_t *t)
{
    size_t            i, j, size;
    gm_status_obj_t  *objs;

    size = t->size * 2;

    objs = calloc(size, sizeof(gm_status_obj_t));
    if (objs == NULL) {
        return -1;
    }

    for (i = 0; i < t->size; i++) {
        if (t->objs[i].key == 0) {
            continue;
        }

        j = t->objs[i].key & (size - 1);

        while (objs[j].key != 0) {
            j = (j + 1) & (size - 1);
        }

        objs[j] = t->objs[i];
    }

    free(t->objs);
    t->objs = objs;
    t->size = size;

    return 0;
}
