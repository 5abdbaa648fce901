/*
 * nginx-gamma: the object store.
 */

#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"


typedef struct {
    int     n;
    size_t  len;                      /* sum of the name lengths */
} count_t;


static void
count_cb(void *data, gm_object_t *obj)
{
    count_t  *c;

    c = data;
    c->n++;
    c->len += obj->body->meta.name.len;
}


static void
test_put_get(void)
{
    gm_store_t   *store;
    gm_object_t  *a, *b, *got;

    store = gm_store_create();
    ok(store != NULL, "store created");
    is_int(gm_store_version(store), 0, "a new store has version 0");

    a = fx_service("default", "web", "10.96.0.1", "80");
    b = fx_route("default", "web", 0);

    is_int(gm_store_put(store, a), 0, "put a Service");
    is_int(gm_store_put(store, b), 0, "put an HTTPRoute of the same name");

    got = gm_store_get(store, GM_KIND_SERVICE, "default", "web");
    ok(got == a, "get finds the Service");

    got = gm_store_get(store, GM_KIND_HTTPROUTE, "default", "web");
    ok(got == b, "the same name of another kind is another object");

    ok(gm_store_get(store, GM_KIND_SERVICE, "other", "web") == NULL,
       "another namespace is another key");
    ok(gm_store_get(store, GM_KIND_SERVICE, "default", "we") == NULL,
       "a prefix of the name is another key");
    ok(gm_store_get(store, GM_KIND_ENDPOINTSLICE, "default", "web") == NULL,
       "nothing of a kind never put");

    is_int(gm_store_count(store, GM_KIND_SERVICE), 1, "one Service");
    is_int(gm_store_count(store, GM_KIND_HTTPROUTE), 1, "one HTTPRoute");
    is_int(gm_store_version(store), 2, "two puts, version 2");

    gm_store_destroy(store);
}


static void
test_replace_delete(void)
{
    gm_store_t   *store;
    gm_object_t  *a, *a2, *got;

    store = gm_store_create();

    a = fx_service("default", "web", "10.96.0.1", "80");
    a2 = fx_service("default", "web", "10.96.0.2", "8080");

    gm_store_put(store, a);
    is_int(gm_store_put(store, a2), 0, "put with an existing key");

    got = gm_store_get(store, GM_KIND_SERVICE, "default", "web");
    ok(got == a2, "the new object replaced the old (freed: see ASan)");
    is_int(got->body->service.ports[0].port, 8080, "it is the new one");
    is_int(gm_store_count(store, GM_KIND_SERVICE), 1, "still one Service");
    is_int(gm_store_version(store), 2, "replace bumps the version");

    is_int(gm_store_delete(store, GM_KIND_SERVICE, "default", "nope"), 0,
           "deleting a missing key returns 0");
    is_int(gm_store_version(store), 2, "a no-op delete keeps the version");

    is_int(gm_store_delete(store, GM_KIND_SERVICE, "default", "web"), 1,
           "delete returns 1");
    ok(gm_store_get(store, GM_KIND_SERVICE, "default", "web") == NULL,
       "deleted");
    is_int(gm_store_count(store, GM_KIND_SERVICE), 0, "no Services left");
    is_int(gm_store_version(store), 3, "delete bumps the version");

    gm_store_destroy(store);
}


static void
test_many(void)
{
    int          i, found, n;
    char         name[64];
    count_t      c;
    gm_store_t  *store;

    store = gm_store_create();
    n = 5000;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "slice-%d", i);
        gm_store_put(store, fx_slice("ns", name, "svc", "8080",
                                     "10.1.0.1"));
    }

    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "svc-%d", i);
        gm_store_put(store, fx_service("ns", name, "10.96.0.1", "80"));
    }

    is_int(gm_store_count(store, GM_KIND_ENDPOINTSLICE), n,
           "%d slices after growing the table", n);

    found = 0;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "slice-%d", i);
        found += gm_store_get(store, GM_KIND_ENDPOINTSLICE, "ns", name)
                 != NULL;
    }

    is_int(found, n, "every slice is found");

    for (i = 0; i < n; i += 2) {
        snprintf(name, sizeof(name), "slice-%d", i);
        gm_store_delete(store, GM_KIND_ENDPOINTSLICE, "ns", name);
    }

    is_int(gm_store_count(store, GM_KIND_ENDPOINTSLICE), n / 2,
           "half deleted");

    memset(&c, 0, sizeof(count_t));
    gm_store_foreach(store, GM_KIND_ENDPOINTSLICE, count_cb, &c);
    is_int(c.n, n / 2, "foreach visits every slice once");

    memset(&c, 0, sizeof(count_t));
    gm_store_foreach(store, GM_KIND_SERVICE, count_cb, &c);
    is_int(c.n, 100, "foreach of Services visits Services only");

    memset(&c, 0, sizeof(count_t));
    gm_store_foreach(store, GM_KIND_HTTPROUTE, count_cb, &c);
    is_int(c.n, 0, "foreach of an empty kind visits nothing");

    is_int(gm_store_version(store), n + 100 + n / 2,
           "one version per put and delete");

    gm_store_destroy(store);
}


int
main(void)
{
    test_put_get();
    test_replace_delete();
    test_many();

    return done_testing();
}
