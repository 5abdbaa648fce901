/*
 * nginx-gamma: the status writer's table forgets an object once its []
 * is written (gm_status_table_done(), gm_kube_status_table.c): a route
 * deleted leaves nothing behind, one back is new, a write that ends after
 * the object changed keeps it, and routes that come and go under names
 * never used again keep the table at the live number; a process that is
 * not the holder forgets a [] after the grace (gm_status_table_expire()).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_kube_status_int.h"
#include "gm_route_status.h"
#include "gm_snapshot_int.h"


#define LIVE    10
#define CYCLES  1500
#define GRACE   600000


static gm_log_t  test_logger;


static void
quiet(void *data, gm_log_level_e level, const char *msg)
{
    (void) data;
    (void) level;
    (void) msg;
}


static void
put_route(gm_store_t *store, const char *name)
{
    char  yaml[512];

    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: %s, namespace: a, generation: 1}\n"
             "spec:\n"
             "  parentRefs: [{group: \"\", kind: Service, name: svc}]\n"
             "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n", name);
    fx_put_yaml(store, yaml, &test_logger);
}


/* a new snapshot of the store into t (*s is let go) */

static void
update(gm_compile_incr_t *ci, gm_snapshot_t **s, gm_status_table_t *t)
{
    int               full;
    gm_snapshot_t    *prev;
    gm_status_list_t  list;

    prev = *s;
    *s = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    gm_snapshot_unref(prev);

    gm_snapshot_status(*s, &list);
    gm_status_table_update(t, &list);
}


static gm_status_obj_t *
find(gm_status_table_t *t, const char *name)
{
    size_t       i;
    const char  *p;

    for (i = 0; i < t->size; i++) {
        p = t->objs[i].key ? strrchr(t->objs[i].path, '/') : NULL;

        if (p && strcmp(p + 1, name) == 0) {
            return &t->objs[i];
        }
    }

    return NULL;
}


/* every dirty object's write ends, as the writer's thread would */

static void
write_all(gm_status_table_t *t, int ok)
{
    size_t    i, n;
    uint64_t  keys[64], hashes[64];

    n = 0;

    for (i = 0; i < t->size && n < 64; i++) {
        if (t->objs[i].key != 0 && t->objs[i].dirty) {
            keys[n] = t->objs[i].key;
            hashes[n++] = t->objs[i].hash;
        }
    }

    for (i = 0; i < n; i++) {
        gm_status_table_done(t, keys[i], hashes[i], ok, 7);
    }
}


/* every object found by a probe from its home, n and ndirty right */

static int
table_valid(gm_status_table_t *t)
{
    size_t  i, n, ndirty;

    n = 0;
    ndirty = 0;

    for (i = 0; i < t->size; i++) {
        if (t->objs[i].key == 0) {
            continue;
        }

        if (gm_status_table_slot(t, t->objs[i].key) != &t->objs[i]) {
            return 0;
        }

        n++;
        ndirty += t->objs[i].dirty;
    }

    return n == t->n && ndirty == t->ndirty;
}


static void
test_forget(gm_store_t *store, gm_compile_incr_t *ci, gm_snapshot_t **s,
    gm_status_table_t *t)
{
    char              name[16];
    uint64_t          key, hash;
    gm_status_obj_t  *o;

    for (key = 0; key < LIVE; key++) {
        snprintf(name, sizeof(name), "r%d", (int) key);
        put_route(store, name);
    }

    update(ci, s, t);
    ok(t->n == LIVE && t->ndirty == LIVE, "%d routes: %zu objects, %zu "
       "dirty", LIVE, t->n, t->ndirty);
    write_all(t, 1);
    ok(t->n == LIVE && t->ndirty == 0, "written: all kept, none dirty");

    gm_store_delete(store, GM_KIND_HTTPROUTE, "a", "r3");
    update(ci, s, t);
    o = find(t, "r3");
    ok(o && o->dirty && o->hash == 1 && strcmp(o->entries, "[]") == 0
       && t->ndirty == 1 && t->n == LIVE, "r3 deleted: [] dirty, still "
       "there");

    write_all(t, 0);
    o = find(t, "r3");
    ok(o && o->dirty && o->retry_ms == 7 && t->n == LIVE, "its write "
       "failed: kept, dirty, to retry");

    write_all(t, 1);
    ok(find(t, "r3") == NULL && t->n == LIVE - 1 && t->ndirty == 0
       && table_valid(t), "its [] written (or a 404): forgotten, %zu "
       "objects", t->n);

    gm_status_table_lead(t);
    ok(t->ndirty == LIVE - 1 && find(t, "r3") == NULL, "a new holder "
       "checks the %zu others, not r3", t->ndirty);
    write_all(t, 1);

    put_route(store, "r3");
    update(ci, s, t);
    o = find(t, "r3");
    ok(o && o->dirty && o->written == 0 && o->hash != 1
       && strcmp(o->entries, "[]") != 0 && t->n == LIVE && t->ndirty == 1,
       "r3 back: new, dirty with its entries");
    write_all(t, 1);

    /* the [] of r5 in flight while r5 comes back: the write keeps it */
    gm_store_delete(store, GM_KIND_HTTPROUTE, "a", "r5");
    update(ci, s, t);
    o = find(t, "r5");
    key = o ? o->key : 0;
    put_route(store, "r5");
    update(ci, s, t);
    gm_status_table_done(t, key, 1, 1, 0);
    o = find(t, "r5");
    ok(o && o->dirty && o->hash != 1 && o->written == 1 && t->n == LIVE,
       "r5 back while its [] was written: kept, its entries dirty");
    write_all(t, 1);

    /* r6's entries in flight while it is deleted: its [] is written next */
    o = find(t, "r6");
    key = o ? o->key : 0;
    hash = o ? o->hash : 0;
    gm_store_delete(store, GM_KIND_HTTPROUTE, "a", "r6");
    update(ci, s, t);
    gm_status_table_done(t, key, hash, 1, 0);
    o = find(t, "r6");
    ok(o && o->dirty && o->hash == 1 && t->n == LIVE, "r6 deleted while "
       "its entries were written: kept, its [] dirty");
    write_all(t, 1);
    ok(find(t, "r6") == NULL && t->n == LIVE - 1 && table_valid(t),
       "then its [] written: forgotten");

    put_route(store, "r6");
    update(ci, s, t);
    write_all(t, 1);
}


/* not the holder: nothing is written, a [] goes after the grace */

static void
test_expire(gm_store_t *store, gm_compile_incr_t *ci, gm_snapshot_t **s,
    gm_status_table_t *t)
{
    gm_status_obj_t  *o;

    t->now_ms = 1000;
    gm_store_delete(store, GM_KIND_HTTPROUTE, "a", "r1");
    gm_store_delete(store, GM_KIND_HTTPROUTE, "a", "r2");
    update(ci, s, t);
    ok(t->n == LIVE && t->ndirty == 2, "r1 and r2 deleted, not written: "
       "%zu objects, %zu dirty", t->n, t->ndirty);

    t->now_ms = 1000 + GRACE - 1;
    gm_status_table_expire(t, GRACE);
    ok(find(t, "r1") && find(t, "r2") && t->n == LIVE, "within the grace: "
       "both kept");

    t->now_ms = 1000 + GRACE;
    gm_status_table_expire(t, GRACE);
    ok(find(t, "r1") && find(t, "r2"), "due, but half a grace has not "
       "passed since the last pass: kept");

    t->now_ms = 1000 + GRACE - 1 + GRACE / 2;
    gm_status_table_expire(t, GRACE);
    ok(find(t, "r1") == NULL && find(t, "r2") == NULL && t->n == LIVE - 2
       && t->ndirty == 0 && table_valid(t), "after it: both forgotten, the "
       "%zu others kept, every one found", t->n);

    put_route(store, "r1");
    put_route(store, "r2");
    update(ci, s, t);
    o = find(t, "r1");
    ok(o && o->dirty && o->hash != 1 && o->written == 0 && t->n == LIVE,
       "r1 back: new, with its entries");

    t->now_ms = 1000 + 4 * GRACE;
    gm_status_table_expire(t, GRACE);
    ok(t->n == LIVE, "an object with entries is never forgotten");
    write_all(t, 1);
}


/* routes with names never used again, 3 a cycle, created and deleted */

static void
test_cycles(gm_store_t *store, gm_compile_incr_t *ci, gm_snapshot_t **s,
    gm_status_table_t *t)
{
    int     i, j, valid, there;
    char    name[16];
    size_t  most, size;

    most = 0;
    valid = 1;
    size = t->size;

    for (i = 0; i < CYCLES; i++) {
        for (j = 0; j < 3; j++) {
            snprintf(name, sizeof(name), "u%d", 3 * i + j);
            put_route(store, name);
        }

        update(ci, s, t);
        most = (t->n > most) ? t->n : most;
        write_all(t, 1);

        for (j = 0; j < 3; j++) {
            snprintf(name, sizeof(name), "u%d", 3 * i + j);
            gm_store_delete(store, GM_KIND_HTTPROUTE, "a", name);
        }

        update(ci, s, t);
        write_all(t, 1);
        valid &= table_valid(t) && t->n == LIVE;
    }

    ok(valid, "%d cycles: after each, %d objects, every one found",
       CYCLES, LIVE);
    ok(most == LIVE + 3, "at most the live ones (%zu)", most);
    ok(t->size == size, "the table did not grow (%zu slots)", t->size);

    there = 1;

    for (i = 0; i < LIVE; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        there &= (find(t, name) != NULL);
    }

    ok(there, "the %d routes of before are all there", LIVE);
}


int
main(void)
{
    gm_store_t         *store;
    gm_snapshot_t      *s;
    gm_status_table_t   t;
    gm_compile_incr_t  *ci;

    test_logger.handler = quiet;
    test_logger.data = NULL;

    store = gm_store_create();
    ci = gm_compile_incr_create(store);
    s = NULL;

    if (gm_status_table_init(&t) != 0) {
        return 1;
    }

    fx_put_yaml(store, "apiVersion: v1\nkind: Service\n"
                "metadata: {name: svc, namespace: a}\n"
                "spec: {clusterIP: 10.0.0.1, ports: [{name: http, "
                "port: 80}]}\n", &test_logger);

    test_forget(store, ci, &s, &t);
    test_expire(store, ci, &s, &t);
    test_cycles(store, ci, &s, &t);

    gm_snapshot_unref(s);
    gm_status_table_free(&t);
    gm_compile_incr_destroy(ci);
    gm_store_destroy(store);

    return done_testing();
}
