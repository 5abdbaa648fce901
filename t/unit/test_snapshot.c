/*
 * nginx-gamma: the snapshot compiler: frontends, route attachment, route
 * tables, backends, labels, reference counts and scale.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "fixture.h"
#include "gm_snapshot_int.h"


static gm_snapshot_t *
build(gm_store_t *store, fx_log_t *fl)
{
    gm_log_t  log;

    log = fx_logger(fl);

    return gm_snapshot_build(store, &log);
}


static const gm_frontend_t *
frontend(gm_snapshot_t *s, const char *ip, uint16_t port)
{
    gm_addr_t  addr;

    addr = fx_addr(ip);

    return gm_snapshot_find_frontend(s, &addr, port);
}


static const gm_route_table_t *
table(const gm_frontend_t *f, const char *ns, gm_table_kind_e *kind)
{
    return gm_frontend_route_table(f, ns, ns ? strlen(ns) : 0, kind);
}


/* the label of the rule a GET of path picks, or NULL */
static const char *
route_for(const gm_route_table_t *t, const char *path)
{
    gm_request_t      r;
    gm_matcher_t     *m;
    const gm_rule_t  *rule;

    m = gm_matcher_create(10000, 100);
    r = fx_request("GET", path, NULL, NULL);
    rule = gm_route_table_match(t, &r, m);
    gm_matcher_destroy(m);

    return rule ? rule->label.data : NULL;
}


static const gm_rule_t *
first_rule(const gm_frontend_t *f, const char *ns)
{
    gm_request_t             r;
    gm_matcher_t            *m;
    gm_table_kind_e          kind;
    const gm_rule_t         *rule;
    const gm_route_table_t  *t;

    t = table(f, ns, &kind);
    m = gm_matcher_create(0, 0);
    r = fx_request("GET", "/", NULL, NULL);
    rule = gm_route_table_match(t, &r, m);
    gm_matcher_destroy(m);

    return rule;
}


static void
test_frontends(void)
{
    fx_log_t             fl;
    gm_store_t          *store;
    gm_object_t         *ext;
    gm_snapshot_t       *s;
    const gm_frontend_t *f, *f6;

    store = gm_store_create();

    gm_store_put(store, fx_service("default", "web",
                                   "10.96.0.10,fd00::10", "http:80,81"));
    gm_store_put(store, fx_service("default", "db", "None", "5432"));

    ext = fx_service("default", "ext", "10.96.0.11", "80");
    ext->body->service.type = GM_SERVICE_EXTERNAL_NAME;
    gm_store_put(store, ext);

    s = build(store, &fl);
    ok(s != NULL, "snapshot built");
    is_int(fl.nwarn, 0, "no warnings");
    is_int(gm_snapshot_nservices(s), 3, "three Services");
    is_int(gm_snapshot_nfrontends(s), 2, "two frontends: web's two ports");

    f = frontend(s, "10.96.0.10", 80);
    ok(f != NULL, "IPv4 ClusterIP:80 is a frontend");
    is_str(f ? f->passthrough->label.data : NULL, "default/web:80",
           "its label");
    is_str(f ? f->passthrough->name.data : NULL, "web", "its Service name");
    is_int(f ? f->port : 0, 80, "its port");

    f6 = frontend(s, "fd00::10", 80);
    ok(f6 == f, "the IPv6 ClusterIP gives the same frontend");
    ok(frontend(s, "10.96.0.10", 81) != NULL, "the second port too");
    ok(frontend(s, "10.96.0.10", 81) != f, "another frontend");
    ok(frontend(s, "10.96.0.10", 82) == NULL, "wrong port: no frontend");
    ok(frontend(s, "10.96.0.99", 80) == NULL, "unknown IP: no frontend");
    ok(frontend(s, "10.96.0.11", 80) == NULL, "ExternalName: no frontend");
    ok(frontend(s, "::ffff:10.96.0.10", 80) == NULL,
       "a v4-mapped IPv6 address is another address");

    f = frontend(s, "10.96.0.10", 80);
    ok(f && f->producer == NULL && f->nconsumers == 0, "no routes bound");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_producer_consumer(void)
{
    fx_log_t                 fl;
    gm_store_t              *store;
    gm_object_t             *rt;
    gm_snapshot_t           *s;
    gm_table_kind_e          kind;
    const gm_frontend_t     *f;
    const gm_route_table_t  *t;

    store = gm_store_create();
    gm_store_put(store, fx_service("prod", "web", "10.96.1.1", "http:80"));

    rt = fx_route("prod", "producer", 1);
    fx_parent(rt, "prod", "web", 0, NULL);
    fx_rule(rt, NULL);
    fx_backend(rt, "prod", "web", 80, 1);
    gm_store_put(store, rt);

    rt = fx_route("client", "consumer", 1);
    fx_parent(rt, "prod", "web", 0, NULL);
    fx_rule(rt, "only");
    fx_match(rt, GM_MATCH_PREFIX, "/only");
    fx_backend(rt, "prod", "web", 80, 1);
    gm_store_put(store, rt);

    rt = fx_route("zeta", "consumer", 1);
    fx_parent(rt, "prod", "web", 0, NULL);
    gm_store_put(store, rt);

    rt = fx_route("alpha", "consumer", 1);
    fx_parent(rt, "prod", "web", 0, NULL);
    gm_store_put(store, rt);

    s = build(store, &fl);
    f = frontend(s, "10.96.1.1", 80);
    ok(f != NULL, "frontend");
    is_int(f->nconsumers, 3, "three consumer namespaces");

    t = table(f, "client", &kind);
    is_int(kind, GM_TABLE_CONSUMER, "client namespace: consumer table");
    is_str(route_for(t, "/only/x"), "client/consumer/only",
           "the consumer route matches");
    is_str(route_for(t, "/other"), NULL,
           "no fallback to the producer route: 404");

    t = table(f, "elsewhere", &kind);
    is_int(kind, GM_TABLE_PRODUCER, "another namespace: producer table");
    is_str(route_for(t, "/other"), "prod/producer/rule0",
           "the producer route matches");

    t = table(f, "prod", &kind);
    is_int(kind, GM_TABLE_PRODUCER, "the Service's namespace: producer");

    t = table(f, NULL, &kind);
    is_int(kind, GM_TABLE_PRODUCER, "no client namespace: producer");

    t = table(f, "alpha", &kind);
    is_int(kind, GM_TABLE_CONSUMER, "consumer tables found by bsearch (a)");
    t = table(f, "zeta", &kind);
    is_int(kind, GM_TABLE_CONSUMER, "consumer tables found by bsearch (z)");
    t = table(f, "alph", &kind);
    is_int(kind, GM_TABLE_PRODUCER, "a namespace prefix is not a match");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_ports(void)
{
    fx_log_t                 fl;
    gm_store_t              *store;
    gm_object_t             *rt;
    gm_parent_ref_t         *ref;
    gm_snapshot_t           *s;
    gm_table_kind_e          kind;
    const gm_route_table_t  *t;
    static gm_group_kind_t   core = {
        { 4, (char *) "core" }, { 7, (char *) "Service" }
    };

    store = gm_store_create();
    gm_store_put(store, fx_service("ns", "svc", "10.96.2.1",
                                   "http:80,admin:9000,metrics:9100,"
                                   "grpc:9090"));
    gm_store_put(store, fx_service("ns", "all", "10.96.2.2",
                                   "http:80,admin:9000"));

    rt = fx_route("ns", "by-port", 1);
    fx_parent(rt, "ns", "svc", 80, NULL);
    gm_store_put(store, rt);

    rt = fx_route("ns", "by-section", 2);
    fx_parent(rt, "ns", "svc", 0, "admin");
    gm_store_put(store, rt);

    rt = fx_route("ns", "by-both", 3);
    fx_parent(rt, "ns", "svc", 9090, "grpc");
    gm_store_put(store, rt);

    rt = fx_route("ns", "mismatch", 4);
    fx_parent(rt, "ns", "svc", 80, "admin");
    gm_store_put(store, rt);

    rt = fx_route("ns", "all-ports", 5);
    ref = fx_parent(rt, "ns", "all", 0, NULL);
    ref->gk = &core;
    gm_store_put(store, rt);

    s = build(store, &fl);
    is_int(fl.nwarn, 1, "one warning: port and sectionName disagree");
    ok(strstr(fl.last, "ns/mismatch") != NULL, "it names the route");

    t = table(frontend(s, "10.96.2.1", 80), "x", &kind);
    is_str(route_for(t, "/"), "ns/by-port/rule0", "port 80: by-port only");

    t = table(frontend(s, "10.96.2.1", 9000), "x", &kind);
    is_str(route_for(t, "/"), "ns/by-section/rule0",
           "sectionName admin: port 9000");

    t = table(frontend(s, "10.96.2.1", 9090), "x", &kind);
    is_str(route_for(t, "/"), "ns/by-both/rule0",
           "port and sectionName both match: 9090");

    t = table(frontend(s, "10.96.2.1", 9100), "x", &kind);
    ok(t == NULL && kind == GM_TABLE_NONE,
       "a port without routes: GM_TABLE_NONE (passthrough)");

    t = table(frontend(s, "10.96.2.2", 80), "x", &kind);
    is_str(route_for(t, "/"), "ns/all-ports/rule0",
           "no narrowing: every port (group core tolerated)");
    t = table(frontend(s, "10.96.2.2", 9000), "x", &kind);
    is_str(route_for(t, "/"), "ns/all-ports/rule0", "... the second too");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_bad_parents(void)
{
    fx_log_t          fl;
    gm_store_t       *store;
    gm_object_t      *rt, *ext;
    gm_parent_ref_t  *ref;
    gm_snapshot_t    *s;
    gm_table_kind_e   kind;

    store = gm_store_create();
    gm_store_put(store, fx_service("ns", "headless", "None", "80"));
    gm_store_put(store, fx_service("ns", "web", "10.96.3.1", "80"));

    ext = fx_service("ns", "ext", NULL, "80");
    ext->body->service.type = GM_SERVICE_EXTERNAL_NAME;
    gm_store_put(store, ext);

    rt = fx_route("ns", "to-missing", 1);
    fx_parent(rt, "ns", "missing", 0, NULL);
    gm_store_put(store, rt);

    rt = fx_route("ns", "to-headless", 1);
    fx_parent(rt, "ns", "headless", 0, NULL);
    gm_store_put(store, rt);

    rt = fx_route("ns", "to-ext", 1);
    fx_parent(rt, "ns", "ext", 0, NULL);
    gm_store_put(store, rt);

    rt = fx_route("ns", "to-gateway", 1);
    ref = fx_parent(rt, "ns", "web", 0, NULL);
    ref->gk = &gm_group_kind_gateway;
    gm_store_put(store, rt);

    s = build(store, &fl);
    is_int(fl.nwarn, 3, "missing, headless, ExternalName: three warnings");
    ok(table(frontend(s, "10.96.3.1", 80), "x", &kind) == NULL
       && kind == GM_TABLE_NONE,
       "a Gateway parentRef does not bind to the Service");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_merge_ties(void)
{
    fx_log_t                 fl;
    gm_store_t              *store;
    gm_object_t             *rt;
    gm_snapshot_t           *s;
    gm_table_kind_e          kind;
    const gm_route_table_t  *t;

    store = gm_store_create();
    gm_store_put(store, fx_service("ns", "svc", "10.96.4.1", "80"));

    /* identical matches: the oldest route, then "ns/name", then rules */
    rt = fx_route("ns", "b-newer", 200);
    fx_parent(rt, "ns", "svc", 0, NULL);
    fx_rule(rt, NULL);
    fx_match(rt, GM_MATCH_PREFIX, "/api");
    gm_store_put(store, rt);

    rt = fx_route("ns", "c-older", 100);
    fx_parent(rt, "ns", "svc", 0, NULL);
    fx_rule(rt, "first");
    fx_match(rt, GM_MATCH_PREFIX, "/x");
    fx_rule(rt, "second");
    fx_match(rt, GM_MATCH_PREFIX, "/api");
    fx_rule(rt, "third");
    fx_match(rt, GM_MATCH_PREFIX, "/api");
    gm_store_put(store, rt);

    rt = fx_route("ns", "a-older", 100);
    fx_parent(rt, "ns", "svc", 0, NULL);
    fx_rule(rt, NULL);
    fx_match(rt, GM_MATCH_PREFIX, "/x");
    gm_store_put(store, rt);

    s = build(store, &fl);
    t = table(frontend(s, "10.96.4.1", 80), "ns", &kind);
    is_int(kind, GM_TABLE_PRODUCER, "producer table");
    is_str(route_for(t, "/api"), "ns/c-older/second",
           "the older route wins a tie, its first rule");
    is_str(route_for(t, "/x"), "ns/a-older/rule0",
           "same creationTimestamp: ns/name decides");

    gm_snapshot_unref(s);

    gm_store_delete(store, GM_KIND_HTTPROUTE, "ns", "c-older");
    s = build(store, &fl);
    t = table(frontend(s, "10.96.4.1", 80), "ns", &kind);
    is_str(route_for(t, "/api"), "ns/b-newer/rule0",
           "rebuilt without it: the newer route");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_invalid_rules(void)
{
    fx_log_t                 fl;
    gm_store_t              *store;
    gm_object_t             *rt;
    gm_http_rule_t          *rule;
    gm_snapshot_t           *s;
    gm_table_kind_e          kind;
    const gm_route_table_t  *t;

    store = gm_store_create();
    gm_store_put(store, fx_service("ns", "svc", "10.96.5.1", "80"));
    gm_store_put(store, fx_service("ns", "svc2", "10.96.5.2", "80"));

    rt = fx_route("ns", "broken", 1);
    fx_parent(rt, "ns", "svc", 0, NULL);
    rule = fx_rule(rt, NULL);
    rule->invalid = 1;
    gm_store_put(store, rt);

    rt = fx_route("ns", "bad-regex", 1);
    fx_parent(rt, "ns", "svc2", 0, NULL);
    fx_rule(rt, NULL);
    fx_match(rt, GM_MATCH_REGEX, "/(unclosed");
    fx_match(rt, GM_MATCH_PREFIX, "/ok");
    fx_rule(rt, NULL);
    fx_match(rt, GM_MATCH_PREFIX, "/h");
    fx_header(rt, GM_MATCH_REGEX, "x-a", "[z-a]");
    gm_store_put(store, rt);

    s = build(store, &fl);
    t = table(frontend(s, "10.96.5.1", 80), "ns", &kind);
    ok(t != NULL && kind == GM_TABLE_PRODUCER,
       "a route whose rules are all invalid still makes the table");
    is_str(route_for(t, "/"), NULL, "and nothing matches: 404");

    is_int(fl.nwarn, 2, "two regexes that do not compile are logged");
    ok(strstr(fl.last, "ns/bad-regex") != NULL, "naming the route");
    t = table(frontend(s, "10.96.5.2", 80), "ns", &kind);
    is_str(route_for(t, "/(unclosed"), NULL, "the broken match is out");
    is_str(route_for(t, "/ok"), "ns/bad-regex/rule0",
           "the other match of the rule stays");
    is_str(route_for(t, "/h"), NULL, "the broken header match is out");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_backends(void)
{
    fx_log_t                      fl;
    gm_store_t                   *store;
    gm_object_t                  *rt, *ext;
    gm_backend_ref_t             *ref;
    gm_snapshot_t                *s;
    const gm_rule_t              *rule;
    const gm_backend_t           *b;
    const gm_frontend_t          *f;
    const gm_weighted_backend_t  *wb;
    static gm_group_kind_t        configmap = {
        { 0, (char *) "" }, { 9, (char *) "ConfigMap" }
    };

    store = gm_store_create();
    gm_store_put(store, fx_service("ns", "front", "10.96.6.1", "80"));

    /* port 80 is "http" -> 8080 on the endpoints; 81 is unnamed */
    gm_store_put(store, fx_service("ns", "app", "10.96.6.2",
                                   "http:80>8080,metrics:81>9100"));
    gm_store_put(store, fx_slice("ns", "app-a", "app", "http:8080,metrics:9100",
                                 "10.1.0.2;10.1.0.1,10.1.0.3;!10.1.0.9"));
    gm_store_put(store, fx_slice("ns", "app-b", "app", "http:8080",
                                 "10.1.0.1;fd00::1"));
    gm_store_put(store, fx_slice("ns", "other", "other-svc", "http:8080",
                                 "10.1.9.9"));
    gm_store_put(store, fx_slice("other-ns", "app", "app", "http:8080",
                                 "10.1.8.8"));

    /* no ports in the slice: the numeric targetPort */
    gm_store_put(store, fx_service("ns", "bare", "10.96.6.3", "80>7070"));
    gm_store_put(store, fx_slice("ns", "bare-1", "bare", NULL, "10.2.0.1"));

    gm_store_put(store, fx_service("ns", "idle", "10.96.6.4", "80"));
    gm_store_put(store, fx_slice("ns", "idle-1", "idle", "80",
                                 "!10.3.0.1"));

    ext = fx_service("ns", "ext", NULL, "80");
    ext->body->service.type = GM_SERVICE_EXTERNAL_NAME;
    gm_store_put(store, ext);

    rt = fx_route("ns", "r", 1);
    fx_parent(rt, "ns", "front", 0, NULL);
    fx_rule(rt, NULL);
    fx_backend(rt, "ns", "app", 80, 3);
    fx_backend(rt, "ns", "missing", 80, 1);
    fx_backend(rt, "ns", "app", 82, 1);
    fx_backend(rt, "ns", "idle", 80, 1);
    fx_backend(rt, "ns", "ext", 80, 1);
    ref = fx_backend(rt, "ns", "app", 80, 1);
    ref->gk = &configmap;
    fx_backend(rt, "ns", "bare", 80, 1);
    fx_backend(rt, "ns", "app", 80, 0);
    fx_rule(rt, "second");
    fx_match(rt, GM_MATCH_PREFIX, "/second");
    fx_backend(rt, "ns", "app", 80, 1);
    gm_store_put(store, rt);

    s = build(store, &fl);
    f = frontend(s, "10.96.6.1", 80);
    rule = first_rule(f, "ns");
    ok(rule != NULL, "the rule");
    is_int(rule->nbackends, 8, "the weight-0 ref is kept, for sessions");
    is_int(rule->backends[7].weight, 0, "with its weight 0");
    is_int(rule->total_weight, 9, "total weight");
    ok(!rule->no_backends, "it has backendRefs");

    wb = &rule->backends[0];
    b = wb->backend;
    is_int(wb->weight, 3, "weight kept");
    is_str(wb->backend->label.data, "ns/app:80", "service label");
    is_int(b->status, GM_BACKEND_OK, "app:80 resolved");
    is_int(b->nendpoints, 4, "ready endpoints, de-duplicated");
    is_str(b->endpoints[0].text, "10.1.0.1:8080",
           "through the port name to targetPort 8080 (sorted)");
    is_str(b->endpoints[1].text, "10.1.0.2:8080", "second");
    is_str(b->endpoints[2].text, "10.1.0.3:8080",
           "every address of an endpoint");
    is_str(b->endpoints[3].text, "[fd00::1]:8080", "IPv6 text");
    is_int(ntohs(b->endpoints[0].u.sin.sin_port), 8080, "sockaddr port");
    is_int(b->endpoints[0].socklen, sizeof(struct sockaddr_in),
           "sockaddr length");
    is_int(b->endpoints[3].u.sa.sa_family, AF_INET6, "IPv6 sockaddr");

    is_int(rule->backends[1].backend->status, GM_BACKEND_NOT_FOUND,
           "missing Service: NOT_FOUND");
    is_int(rule->backends[2].backend->status, GM_BACKEND_NOT_FOUND,
           "no such Service port: NOT_FOUND");
    is_int(rule->backends[3].backend->status, GM_BACKEND_NO_ENDPOINTS,
           "only unready endpoints: NO_ENDPOINTS");
    is_int(rule->backends[4].backend->status, GM_BACKEND_INVALID,
           "ExternalName: INVALID");
    is_int(rule->backends[5].backend->status, GM_BACKEND_INVALID,
           "kind ConfigMap: INVALID");
    ok(rule->backends[5].backend != b, "... and not the Service app");

    b = rule->backends[6].backend;
    is_int(b->nendpoints, 1, "slice without ports");
    is_str(b->endpoints[0].text, "10.2.0.1:7070", "uses targetPort");

    f = frontend(s, "10.96.6.2", 81);
    is_str(f->passthrough->endpoints[0].text, "10.1.0.1:9100",
           "the frontend's passthrough: its own port's endpoints");
    ok(frontend(s, "10.96.6.2", 80)->passthrough == rule->backends[0].backend,
       "rules and frontends share one backend (one cursor)");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_weights_labels(void)
{
    fx_log_t              fl;
    gm_str_t              name;
    gm_store_t           *store;
    gm_object_t          *rt;
    gm_snapshot_t        *s;
    const gm_rule_t      *rule;
    gm_request_t          r;
    gm_matcher_t         *m;
    gm_table_kind_e       kind;
    const gm_frontend_t  *f;

    store = gm_store_create();
    gm_store_put(store, fx_service("ns", "svc", "10.96.7.1", "80"));

    rt = fx_route("ns", "w", 1);
    fx_parent(rt, "ns", "svc", 0, NULL);
    fx_rule(rt, "zero");
    fx_match(rt, GM_MATCH_EXACT, "/zero");
    fx_backend(rt, "ns", "svc", 80, 0);
    fx_backend(rt, "ns", "missing", 80, 0);
    fx_rule(rt, NULL);
    fx_match(rt, GM_MATCH_EXACT, "/none");
    gm_store_put(store, rt);

    s = build(store, &fl);
    is_int(fl.nwarn, 1, "a weight-0 missing backend is reported too");
    f = frontend(s, "10.96.7.1", 80);
    m = gm_matcher_create(0, 0);

    r = fx_request("GET", "/zero", NULL, NULL);
    rule = gm_route_table_match(table(f, "ns", &kind), &r, m);
    ok(rule != NULL, "all weights 0: the rule still matches");
    is_int(rule->nbackends, 2, "both kept, for sessions");
    is_int(rule->total_weight, 0, "total weight 0 (the glue answers 500)");
    ok(!rule->no_backends, "but it had backendRefs");
    ok(gm_rule_pick_backend(rule, 12345) == NULL, "nothing to pick");
    is_str(rule->label.data, "ns/w/zero", "a named rule's label");
    gm_rule_name(rule, &name);
    is_str(name.data, "zero", "rule name");
    is_int(name.len, 4, "rule name: its length");

    r = fx_request("GET", "/none", NULL, NULL);
    rule = gm_route_table_match(table(f, "ns", &kind), &r, m);
    ok(rule && rule->no_backends, "no backendRefs: no_backends");
    is_str(rule->label.data, "ns/w/rule1", "an unnamed rule's label");
    is_int(rule->rule_index, 1, "rule index");
    gm_rule_name(rule, &name);
    is_int(name.len, 0, "an unnamed rule: its name empty");
    is_str(rule->route->ns.data, "ns", "route namespace");
    is_str(rule->route->name.data, "w", "route name");
    is_int(rule->ext->timeout_request_ms, GM_DURATION_UNSET,
           "timeouts copied");
    ok(rule->ext == &gm_rule_ext_none, "no timeouts, retry, session: "
       "the static none");

    gm_matcher_destroy(m);
    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_refcount(void)
{
    fx_log_t          fl;
    gm_store_t       *store;
    gm_object_t      *rt;
    gm_snapshot_t    *s;
    gm_table_kind_e   kind;

    store = gm_store_create();
    gm_store_put(store, fx_service("ns", "svc", "10.96.8.1", "80"));

    rt = fx_route("ns", "re", 1);
    fx_parent(rt, "ns", "svc", 0, NULL);
    fx_match(rt, GM_MATCH_REGEX, "/v[0-9]+/.*");
    fx_rule(rt, NULL);
    fx_match(rt, GM_MATCH_PREFIX, "/h");
    fx_header(rt, GM_MATCH_REGEX, "x-a", "a+");
    fx_query(rt, GM_MATCH_REGEX, "q", "[0-9]+");
    gm_store_put(store, rt);

    s = build(store, &fl);
    gm_snapshot_set_generation(s, 42);
    is_int(gm_snapshot_generation(s), 42, "generation");
    ok(gm_snapshot_size(s) > 0, "size %zu bytes", gm_snapshot_size(s));

    gm_snapshot_ref(s);
    gm_snapshot_unref(s);
    ok(frontend(s, "10.96.8.1", 80) != NULL, "alive after ref + unref");

    /* the store may change under a live snapshot: nothing is shared */
    gm_store_destroy(store);
    is_str(route_for(table(frontend(s, "10.96.8.1", 80), "ns", &kind),
                     "/v2/x"),
           "ns/re/rule0", "the snapshot outlives the store's objects");

    gm_snapshot_unref(s);
    ok(1, "the last unref frees everything (ASan checks for leaks)");

    gm_snapshot_unref(NULL);
    ok(1, "unref NULL is a no-op");
}


static void
test_conflicts(void)
{
    fx_log_t                 fl;
    gm_store_t              *store;
    gm_object_t             *svc, *rt;
    gm_snapshot_t           *s;
    gm_table_kind_e          kind;
    const gm_rule_t         *rule;
    const gm_route_table_t  *t;

    store = gm_store_create();

    svc = fx_service("ns", "newer", "10.96.9.1", "80");
    fx_created(svc, 200);
    gm_store_put(store, svc);
    svc = fx_service("ns", "older", "10.96.9.1", "80");
    fx_created(svc, 100);
    gm_store_put(store, svc);

    svc = fx_service("ns", "b", "10.96.9.2", "80");
    gm_store_put(store, svc);
    svc = fx_service("ns", "a", "10.96.9.2", "80");
    gm_store_put(store, svc);

    gm_store_put(store, fx_service("ns", "web", "10.96.9.3", "http:80"));

    rt = fx_route("ns", "twice", 1);
    fx_parent(rt, "ns", "web", 80, NULL);
    fx_parent(rt, "ns", "web", 0, "http");
    fx_rule(rt, NULL);
    fx_backend(rt, "ns", "gone", 80, 1);
    fx_backend(rt, "ns", "gone", 80, 1);
    gm_store_put(store, rt);

    s = build(store, &fl);

    is_str(frontend(s, "10.96.9.1", 80)->passthrough->name.data, "older",
           "a ClusterIP:port claimed twice: the older Service keeps it");
    is_str(frontend(s, "10.96.9.2", 80)->passthrough->name.data, "a",
           "same age: the first by ns/name");
    is_int(fl.nwarn, 4, "both conflicts and both missing refs are logged");

    t = table(frontend(s, "10.96.9.3", 80), "ns", &kind);
    is_int(t->nentries, 1, "a route bound twice to a port is merged once");

    rule = first_rule(frontend(s, "10.96.9.3", 80), "ns");
    ok(rule->backends[0].backend == rule->backends[1].backend,
       "a missing backend is shared too");
    is_int(rule->backends[0].backend->status, GM_BACKEND_NOT_FOUND,
           "NOT_FOUND");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}


static void
test_scale(void)
{
    int                  i, n, found, routed;
    char                 name[64], ip[64], eps[128];
    double               t0, t1;
    fx_log_t             fl;
    gm_store_t          *store;
    gm_object_t         *rt;
    gm_snapshot_t       *s;
    gm_table_kind_e      kind;
    const gm_frontend_t *f;

    n = 10000;
    store = gm_store_create();

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "svc-%d", i);
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", 96 + i / 65536,
                 (i / 256) % 256, i % 256);
        gm_store_put(store, fx_service("ns-" "scale", name, ip,
                                       "http:80>8080"));

        snprintf(eps, sizeof(eps), "10.200.%d.%d;10.201.%d.%d;!10.202.0.1",
                 (i / 256) % 256, i % 256, (i / 256) % 256, i % 256);
        snprintf(name, sizeof(name), "svc-%d-abcde", i);
        snprintf(ip, sizeof(ip), "svc-%d", i);
        gm_store_put(store, fx_slice("ns-scale", name, ip, "http:8080",
                                     eps));

        snprintf(name, sizeof(name), "route-%d", i);
        rt = fx_route("ns-scale", name, i);
        fx_parent(rt, "ns-scale", ip, 0, NULL);
        fx_rule(rt, NULL);
        fx_match(rt, GM_MATCH_PREFIX, "/api");
        fx_header(rt, GM_MATCH_EXACT, "x-version", "v2");
        fx_backend(rt, "ns-scale", ip, 80, 1);
        fx_rule(rt, NULL);
        fx_backend(rt, "ns-scale", ip, 80, 1);
        gm_store_put(store, rt);
    }

    t0 = now_ms();
    s = build(store, &fl);
    t1 = now_ms();

    printf("# 10k Services + 10k HTTPRoutes + 10k EndpointSlices: "
           "compiled in %.1f ms, snapshot %zu bytes\n", t1 - t0,
           gm_snapshot_size(s));

    ok(s != NULL, "10k snapshot built");
    ok(t1 - t0 < 5000, "in less than 5 s (%.1f ms)", t1 - t0);
    is_int(gm_snapshot_nfrontends(s), n, "10k frontends");
    is_int(fl.nwarn, 0, "no warnings");

    found = 0;
    routed = 0;

    for (i = 0; i < n; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", 96 + i / 65536,
                 (i / 256) % 256, i % 256);
        f = frontend(s, ip, 80);

        if (f == NULL) {
            continue;
        }

        snprintf(name, sizeof(name), "svc-%d", i);
        found += strcmp(f->passthrough->name.data, name) == 0;
        routed += table(f, "client", &kind) != NULL
                  && f->passthrough->nendpoints == 2;
    }

    is_int(found, n, "every ClusterIP finds its Service");
    is_int(routed, n, "every frontend has its table and endpoints");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


int
main(void)
{
    test_frontends();
    test_producer_consumer();
    test_ports();
    test_bad_parents();
    test_merge_ties();
    test_invalid_rules();
    test_backends();
    test_weights_labels();
    test_refcount();
    test_conflicts();
    test_scale();

    return done_testing();
}
