/*
 * nginx-gamma: the status conditions the compiler computes per (route,
 * parentRef): Accepted, ResolvedRefs, PartiallyInvalid, their reasons and
 * messages, and the record that keeps an unchanged status from being
 * written twice.
 */

#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"
#include "gm_snapshot_int.h"


static gm_snapshot_t *
build(gm_store_t *store)
{
    fx_log_t  fl;
    gm_log_t  log;

    memset(&fl, 0, sizeof(fx_log_t));
    log = fx_logger(&fl);

    return gm_snapshot_build(store, &log);
}


static gm_store_t *
mesh(void)
{
    gm_store_t  *store;

    store = gm_store_create();
    gm_store_put(store, fx_service("shop", "web", "10.96.0.1", "http:80"));
    gm_store_put(store, fx_service("shop", "v1", "10.96.0.2", "http:80"));
    gm_store_put(store, fx_service("shop", "db", "None", "5432"));

    return store;
}


/* the entry of the last condition cond() found */
static const gm_status_entry_t  *cond_entry;


/* the condition of that type of the entry for route name, parent index */
static const gm_condition_t *
cond(gm_snapshot_t *s, const char *name, uint32_t index, const char *type)
{
    size_t                    i, k;
    gm_status_list_t          list;
    const gm_status_entry_t  *e;

    gm_snapshot_status(s, &list);

    for (i = 0; i < list.n; i++) {
        e = gm_status_at(&list, i);

        if (strcmp(e->name.data, name) != 0 || e->index != index) {
            continue;
        }

        for (k = 0; k < e->nconds; k++) {
            if (strcmp(e->conds[k].type, type) == 0) {
                cond_entry = e;
                return &e->conds[k];
            }
        }
    }

    return NULL;
}


/* the message of a condition cond() found, as its readers see it */
static const char *
msg(const gm_condition_t *c)
{
    static char  buf[GM_STATUS_MESSAGE_MAX];
    gm_str_t     m;

    gm_condition_message(cond_entry, c, buf, &m);

    return m.data;
}


static void
put(gm_store_t *store, const char *yaml)
{
    fx_log_t  fl;
    gm_log_t  log;

    memset(&fl, 0, sizeof(fx_log_t));
    log = fx_logger(&fl);
    fx_put_yaml(store, yaml, &log);
}


static gm_object_t *
route(gm_store_t *store, const char *name, const char *parent,
    const char *backend, uint16_t port)
{
    gm_object_t  *rt;

    rt = fx_route("shop", name, 1);
    rt->body->meta.generation = 7;
    fx_parent(rt, "shop", parent, 0, NULL);
    fx_rule(rt, NULL);
    fx_match(rt, GM_MATCH_PREFIX, "/");
    fx_backend(rt, "shop", backend, port, 1);
    gm_store_put(store, rt);

    return rt;
}


static void
test_valid(void)
{
    gm_store_t               *store;
    gm_snapshot_t            *s;
    gm_status_list_t          list;
    const gm_condition_t     *c;
    const gm_status_entry_t  *e;

    store = mesh();
    route(store, "ok", "web", "v1", 80);
    s = build(store);

    gm_snapshot_status(s, &list);
    is_int(list.n, 1, "valid: one entry");
    e = gm_status_at(&list, 0);
    is_int(e->generation, 7, "valid: observedGeneration");
    is_int(e->nconds, 2, "valid: two conditions");
    is_str(e->ref.name.data, "web", "valid: parentRef echoed");

    c = cond(s, "ok", 0, "Accepted");
    ok(c && c->status, "valid: Accepted=True");
    is_str(c ? c->reason : NULL, "Accepted", "valid: reason Accepted");
    is_str(c ? msg(c) : NULL, "Route accepted for Service shop/web",
           "valid: Accepted message");
    ok(c && c->message == NULL, "valid: made from the parentRef, not kept");

    c = cond(s, "ok", 0, "ResolvedRefs");
    ok(c && c->status, "valid: ResolvedRefs=True");
    is_str(c ? msg(c) : NULL, "All references resolved",
           "valid: ResolvedRefs message");
    ok(cond(s, "ok", 0, "PartiallyInvalid") == NULL,
       "valid: no PartiallyInvalid");

    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* the entries of accepted, resolved routes share one condition array */
    store = mesh();
    route(store, "one", "web", "v1", 80);
    route(store, "two", "web", "v1", 80);
    route(store, "bad", "web", "gone", 80);
    s = build(store);

    ok(cond(s, "one", 0, "Accepted") != NULL
       && cond(s, "one", 0, "Accepted") == cond(s, "two", 0, "Accepted"),
       "valid: two accepted routes share their conditions");
    ok(cond(s, "bad", 0, "Accepted") != NULL
       && cond(s, "bad", 0, "Accepted") != cond(s, "one", 0, "Accepted"),
       "valid: a route with an unresolved ref has its own");
    c = cond(s, "two", 0, "ResolvedRefs");
    is_str(c ? msg(c) : NULL, "All references resolved",
           "valid: the shared ResolvedRefs message");
    c = cond(s, "bad", 0, "ResolvedRefs");
    ok(c && !c->status, "valid: the unresolved one's ResolvedRefs=False");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_parents(void)
{
    gm_store_t            *store;
    gm_snapshot_t         *s;
    gm_object_t           *rt;
    const gm_condition_t  *c;
    static gm_group_kind_t  gateway = {
        { 0, (char *) "" }, { 7, (char *) "Gateway" }
    };

    store = mesh();
    route(store, "nosvc", "missing", "v1", 80);
    route(store, "headless", "db", "v1", 80);
    rt = route(store, "noport", "web", "v1", 80);
    rt->body->httproute.parents[0].port = 81;
    rt = route(store, "gw", "web", "v1", 80);
    rt->body->httproute.parents[0].gk = &gateway;
    s = build(store);

    c = cond(s, "nosvc", 0, "Accepted");
    ok(c && !c->status, "missing Service: Accepted=False");
    is_str(c ? c->reason : NULL, "NoMatchingParent",
           "missing Service: NoMatchingParent");
    is_str(c ? msg(c) : NULL, "Service shop/missing does not exist",
           "missing Service: message");

    c = cond(s, "headless", 0, "Accepted");
    is_str(c ? c->reason : NULL, "NoMatchingParent",
           "headless Service: NoMatchingParent");
    ok(c && strstr(msg(c), "headless") != NULL,
       "headless Service: message says why");

    c = cond(s, "noport", 0, "Accepted");
    is_str(c ? c->reason : NULL, "NoMatchingParent",
           "port not on the Service: NoMatchingParent");
    ok(c && strstr(msg(c), "port 81") != NULL,
       "port not on the Service: message names the port");

    ok(cond(s, "gw", 0, "Accepted") == NULL,
       "a Gateway parentRef gets no entry of ours");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_backends(void)
{
    gm_store_t            *store;
    gm_snapshot_t         *s;
    gm_object_t           *rt, *svc;
    const gm_condition_t  *c;
    static gm_group_kind_t  pod = {
        { 0, (char *) "" }, { 3, (char *) "Pod" }
    };

    store = mesh();
    route(store, "nobackend", "web", "gone", 80);
    route(store, "badport", "web", "v1", 9999);
    rt = route(store, "kind", "web", "v1", 80);
    rt->body->httproute.rules[0].backends[0].gk = &pod;
    svc = fx_service("shop", "tls", "10.96.0.9", "https:443");
    svc->body->service.ports[0].app_protocol = "https";
    gm_store_put(store, svc);
    route(store, "proto", "web", "tls", 443);
    s = build(store);

    c = cond(s, "nobackend", 0, "Accepted");
    ok(c && c->status, "missing backend: still Accepted=True");
    c = cond(s, "nobackend", 0, "ResolvedRefs");
    ok(c && !c->status, "missing backend: ResolvedRefs=False");
    is_str(c ? c->reason : NULL, "BackendNotFound",
           "missing backend: BackendNotFound");
    is_str(c ? msg(c) : NULL,
           "rule 0 backendRef Service shop/gone port 80: no such Service",
           "missing backend: message");

    c = cond(s, "badport", 0, "ResolvedRefs");
    is_str(c ? c->reason : NULL, "BackendNotFound",
           "backend port not on the Service: BackendNotFound");

    c = cond(s, "kind", 0, "ResolvedRefs");
    is_str(c ? c->reason : NULL, "InvalidKind", "kind Pod: InvalidKind");

    c = cond(s, "proto", 0, "ResolvedRefs");
    is_str(c ? c->reason : NULL, "UnsupportedProtocol",
           "appProtocol https: UnsupportedProtocol");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_rules(void)
{
    gm_store_t            *store;
    gm_snapshot_t         *s;
    gm_object_t           *rt;
    gm_http_rule_t        *r;
    const gm_condition_t  *c;

    store = mesh();

    rt = route(store, "partial", "web", "v1", 80);
    r = fx_rule(rt, "bad");
    fx_match(rt, GM_MATCH_PREFIX, "/x");
    r = &rt->body->httproute.rules[1];
    r->invalid = 1;
    fx_rule_ext(rt, r)->reason = "filter ExtensionRef is not supported";

    rt = route(store, "none", "web", "v1", 80);
    r = &rt->body->httproute.rules[0];
    r->invalid = 1;
    fx_rule_ext(rt, r)->reason = "filter ExtensionRef is not supported";
    s = build(store);

    c = cond(s, "partial", 0, "Accepted");
    ok(c && c->status, "one rule dropped: Accepted=True");
    c = cond(s, "partial", 0, "PartiallyInvalid");
    ok(c && c->status, "one rule dropped: PartiallyInvalid=True");
    is_str(c ? c->reason : NULL, "UnsupportedValue",
           "PartiallyInvalid reason");
    is_str(c ? msg(c) : NULL,
           "Dropped Rule 1 (bad): filter ExtensionRef is not supported",
           "PartiallyInvalid message starts with Dropped Rule");

    c = cond(s, "none", 0, "Accepted");
    ok(c && !c->status, "no valid rule: Accepted=False");
    is_str(c ? c->reason : NULL, "UnsupportedValue",
           "no valid rule: UnsupportedValue");
    ok(c && strncmp(msg(c), "Dropped Rule 0", 14) == 0,
       "no valid rule: message names the rule");
    ok(cond(s, "none", 0, "PartiallyInvalid") == NULL,
       "no valid rule: no PartiallyInvalid");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_seen(void)
{
    gm_store_t        *store;
    gm_snapshot_t     *s, *s2;
    gm_status_list_t   list, list2;
    gm_status_seen_t  *seen;

    store = mesh();
    route(store, "a", "web", "v1", 80);
    route(store, "b", "web", "gone", 80);
    s = build(store);
    gm_snapshot_status(s, &list);
    seen = gm_status_seen_create();

    is_int(list.n, 2, "seen: two entries");
    is_int(gm_status_object_len(&list, 0), 1, "seen: one per object");
    ok(gm_status_seen_changed(seen, gm_status_at(&list, 0), 1),
       "seen: new object is a change");
    gm_status_seen_set(seen, gm_status_at(&list, 0), 1);
    gm_status_seen_set(seen, gm_status_at(&list, 1), 1);
    ok(!gm_status_seen_changed(seen, gm_status_at(&list, 0), 1),
       "seen: recorded object is no change");

    /* rebuilt without changes: nothing to write */
    s2 = build(store);
    gm_snapshot_status(s2, &list2);
    ok(!gm_status_seen_changed(seen, gm_status_at(&list2, 0), 1)
       && !gm_status_seen_changed(seen, gm_status_at(&list2, 1), 1),
       "seen: a rebuild of the same objects changes nothing");
    gm_snapshot_unref(s2);

    /* the missing backend appears: b's ResolvedRefs changes */
    gm_store_put(store, fx_service("shop", "gone", "10.96.0.7", "http:80"));
    s2 = build(store);
    gm_snapshot_status(s2, &list2);
    ok(!gm_status_seen_changed(seen, gm_status_at(&list2, 0), 1),
       "seen: a is unchanged");
    ok(gm_status_seen_changed(seen, gm_status_at(&list2, 1), 1),
       "seen: b changed when its backend appeared");

    gm_status_seen_clear(seen);
    ok(gm_status_seen_changed(seen, gm_status_at(&list2, 0), 1),
       "seen: cleared, everything is checked again");

    gm_status_seen_destroy(seen);
    gm_snapshot_unref(s2);
    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


/*
 * An HTTPRoute and a GRPCRoute on one Service port (spec 1.7): the
 * GRPCRoute applies there, the HTTPRoute's parentRef is Accepted=False,
 * Conflicted; its parentRef to a port no GRPCRoute takes stays accepted,
 * and so does one that names two ports of which one is free.
 */

static void
test_conflict(void)
{
    gm_store_t            *store;
    gm_snapshot_t         *s;
    const gm_condition_t  *c;

    store = mesh();
    gm_store_put(store, fx_service("shop", "two", "10.96.0.3",
                                   "http:80,admin:81"));
    put(store,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: web, namespace: shop, generation: 3}\n"
        "spec:\n"
        "  parentRefs:\n"
        "  - {group: \"\", kind: Service, name: web}\n"
        "  - {group: \"\", kind: Service, name: v1}\n"
        "  - {group: \"\", kind: Service, name: two}\n"
        "  rules: [{backendRefs: [{name: v1, port: 80}]}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: GRPCRoute\n"
        "metadata: {name: rpc, namespace: shop}\n"
        "spec:\n"
        "  parentRefs:\n"
        "  - {group: \"\", kind: Service, name: web}\n"
        "  - {group: \"\", kind: Service, name: two, port: 81}\n"
        "  rules: [{backendRefs: [{name: v1, port: 80}]}]\n");
    s = build(store);

    c = cond(s, "web", 0, "Accepted");
    ok(c && !c->status, "conflict: the HTTPRoute's parentRef Accepted=False");
    is_str(c ? c->reason : NULL, "Conflicted", "conflict: reason Conflicted");
    is_str(c ? msg(c) : NULL,
           "GRPCRoute shop/rpc is bound to Service shop/web too: a Service "
           "port takes routes of one kind, GRPCRoute first",
           "conflict: the message names the GRPCRoute");
    c = cond(s, "web", 0, "ResolvedRefs");
    ok(c && c->status, "conflict: its references still resolve");

    c = cond(s, "web", 1, "Accepted");
    ok(c && c->status, "conflict: a port no GRPCRoute takes: accepted");
    c = cond(s, "web", 2, "Accepted");
    ok(c && c->status, "conflict: one of two ports free: accepted");

    c = cond(s, "rpc", 0, "Accepted");
    ok(c && c->status, "conflict: the GRPCRoute is accepted");
    c = cond(s, "rpc", 1, "Accepted");
    ok(c && c->status, "conflict: the GRPCRoute on port 81 too");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


int
main(void)
{
    test_valid();
    test_parents();
    test_backends();
    test_rules();
    test_seen();
    test_conflict();

    return done_testing();
}
