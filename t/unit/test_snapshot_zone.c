/*
 * nginx-gamma: a snapshot built with another block allocator, as the nginx
 * glue builds it into its shared memory zone: everything it holds comes
 * from that allocator (so it routes after the store that built it is
 * gone: ASan reports any pointer left into the store), all of it goes
 * back when it is released, and a build the allocator cannot satisfy
 * fails cleanly at any point.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_snapshot_int.h"


typedef struct {
    size_t   allocs;
    size_t   frees;
    size_t   fail_after;              /* 0: never fails */
} counting_t;


static void *
counting_alloc(void *data, size_t size)
{
    counting_t  *c = data;

    if (c->fail_after && c->allocs >= c->fail_after) {
        return NULL;
    }

    c->allocs++;

    return malloc(size);
}


static void
counting_free(void *data, void *p)
{
    counting_t  *c = data;

    c->frees++;
    free(p);
}


static gm_store_t *
mesh(void)
{
    gm_object_t  *rt;
    gm_store_t   *store;

    store = gm_store_create();

    gm_store_put(store, fx_service("shop", "web", "10.96.0.10", "http:80"));
    gm_store_put(store, fx_service("shop", "web-v2", "10.96.0.11",
                                   "http:80"));
    gm_store_put(store, fx_slice("shop", "web-1", "web", "http:8080",
                                 "10.1.0.1;10.1.0.2"));
    gm_store_put(store, fx_slice("shop", "web-v2-1", "web-v2", "http:8080",
                                 "10.1.0.3"));

    rt = fx_route("shop", "canary", 1);
    fx_parent(rt, "shop", "web", 0, NULL);
    fx_rule(rt, "regex");
    fx_match(rt, GM_MATCH_REGEX, "/v[0-9]+/items");
    fx_header(rt, GM_MATCH_REGEX, "x-env", "can.*");
    fx_backend(rt, "shop", "web-v2", 80, 1);
    fx_rule(rt, NULL);
    fx_match(rt, GM_MATCH_PREFIX, "/");
    fx_backend(rt, "shop", "web", 80, 1);
    gm_store_put(store, rt);

    return store;
}


static gm_snapshot_t *
build(gm_store_t *store, counting_t *c)
{
    fx_log_t        fl;
    gm_log_t        log;
    gm_allocator_t  al;

    log = fx_logger(&fl);
    al.alloc = counting_alloc;
    al.free = counting_free;
    al.data = c;
    al.exhausted = NULL;

    return gm_snapshot_build_in(store, &log, &al);
}


static void
test_self_contained(void)
{
    gm_addr_t                addr;
    counting_t               c;
    gm_request_t             r;
    gm_store_t              *store;
    gm_matcher_t            *m;
    gm_snapshot_t           *s;
    const gm_rule_t         *rule;
    gm_table_kind_e          kind;
    const gm_frontend_t     *f;
    gm_weighted_backend_t   *wb;
    const gm_route_table_t  *t;
    const char              *canary[] = { "x-env", "canary", NULL };

    memset(&c, 0, sizeof(counting_t));

    store = mesh();
    s = build(store, &c);
    ok(s != NULL, "built with the counting allocator");
    ok(c.allocs > 0, "%zu blocks from it", c.allocs);

    /* the store goes: what the snapshot still needs, it holds itself */
    gm_store_destroy(store);

    addr = fx_addr("10.96.0.10");
    f = gm_snapshot_find_frontend(s, &addr, 80);
    ok(f != NULL, "the frontend is found");
    is_str(f ? f->passthrough->label.data : NULL, "shop/web:80", "its label");

    t = f ? gm_frontend_route_table(f, NULL, 0, &kind) : NULL;
    ok(t != NULL && kind == GM_TABLE_PRODUCER, "the producer table");

    m = gm_matcher_create(10000, 100);
    r = fx_request("GET", "/v2/items", NULL, canary);
    rule = gm_route_table_match(t, &r, m);
    is_str(rule ? rule->label.data : NULL, "shop/canary/regex",
           "the regex rule matches (its code is in the snapshot)");

    wb = rule ? gm_rule_pick_backend(rule, 12345) : NULL;
    is_str(wb ? wb->backend->label.data : NULL, "shop/web-v2:80",
           "its backend");
    is_str(wb && wb->backend->nendpoints
           ? wb->backend->endpoints[0].text : NULL,
           "10.1.0.3:8080", "its endpoint");

    r = fx_request("GET", "/v2/items", NULL, NULL);
    rule = gm_route_table_match(t, &r, m);
    is_str(rule ? rule->label.data : NULL, "shop/canary/rule1",
           "without the header: the prefix rule");
    gm_matcher_destroy(m);

    gm_snapshot_unref(s);
    is_int(c.frees, c.allocs, "every block went back to the allocator");
}


static void
test_exhausted(void)
{
    size_t          n, total, failed;
    counting_t      c;
    gm_store_t     *store;
    gm_snapshot_t  *s;

    store = mesh();

    memset(&c, 0, sizeof(counting_t));
    s = build(store, &c);
    total = c.allocs;
    gm_snapshot_unref(s);

    failed = 0;

    for (n = 1; n <= total; n++) {
        memset(&c, 0, sizeof(counting_t));
        c.fail_after = n;

        s = build(store, &c);

        if (s == NULL) {
            failed++;

        } else {
            gm_snapshot_unref(s);
        }

        if (c.frees != c.allocs) {
            break;
        }
    }

    ok(n > total, "every failed build gave back what it had (%zu of %zu)",
       n - 1, total);
    is_int(failed, total - 1, "a build fails whenever a block is refused");

    gm_store_destroy(store);
}


int
main(void)
{
    test_self_contained();
    test_exhausted();

    return done_testing();
}
