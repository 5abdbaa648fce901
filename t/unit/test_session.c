/*
 * nginx-gamma: session persistence: SipHash-2-4 against the reference
 * vectors, the token's text form, the MAC's inputs, and sessionPersistence
 * parsed (a rule's, an XBackendTrafficPolicy's, the older API's field
 * names), validated, compiled and merged (the rule's beats the policy's).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_filter.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"
#include "gm_session.h"
#include "gm_snapshot.h"


#define MESH                                                                 \
    "apiVersion: v1\n"                                                       \
    "kind: Service\n"                                                        \
    "metadata: {name: svc, namespace: prod}\n"                               \
    "spec:\n"                                                                \
    "  clusterIP: 10.96.0.1\n"                                               \
    "  ports: [{name: http, port: 80}, {name: admin, port: 81}]\n"           \
    "---\n"

#define ROUTE(match, rule_fields)                                            \
    "apiVersion: gateway.networking.k8s.io/v1\n"                             \
    "kind: HTTPRoute\n"                                                      \
    "metadata: {name: rt, namespace: prod}\n"                                \
    "spec:\n"                                                                \
    "  parentRefs: [{group: \"\", kind: Service, name: svc, port: 80}]\n"    \
    "  rules:\n"                                                             \
    "  - name: main\n"                                                       \
    "    matches: " match "\n"                                               \
    "    backendRefs: [{name: svc, port: 80}]\n"                             \
    rule_fields                                                              \
    "---\n"

#define XBTP(name, ts, sp)                                                   \
    "apiVersion: gateway.networking.x-k8s.io/v1alpha1\n"                     \
    "kind: XBackendTrafficPolicy\n"                                          \
    "metadata: {name: " name ", namespace: prod, creationTimestamp: "        \
    "\"2026-01-0" ts "T00:00:00Z\"}\n"                                       \
    "spec:\n"                                                                \
    "  targetRefs: [{group: \"\", kind: Service, name: svc}]\n"              \
    "  sessionPersistence: " sp "\n"                                         \
    "---\n"


static fx_log_t  test_log;
static gm_log_t  test_logger;


static void
test_put(void *data, json_t *doc, size_t index)
{
    gm_object_t  *obj;

    (void) index;

    obj = gm_object_parse(doc, &test_logger, NULL);

    if (obj != NULL) {
        gm_store_put(data, obj);
    }
}


static gm_snapshot_t *
test_build(const char *yaml, gm_store_t **store)
{
    *store = gm_store_create();
    test_logger = fx_logger(&test_log);

    if (gm_manifest_parse(yaml, strlen(yaml), "t.yaml", test_put, *store,
                          &test_logger) != 0)
    {
        printf("# manifest failed: %s\n", test_log.last);
    }

    return gm_snapshot_build(*store, &test_logger);
}


/* the rule a GET of path on svc:port matches, and the backend it uses */
static const gm_rule_t *
test_rule(gm_snapshot_t *s, uint16_t port, const char *path,
    const gm_backend_t **b)
{
    gm_addr_t                 addr;
    gm_request_t              r;
    gm_matcher_t             *m;
    gm_table_kind_e           kind;
    const gm_rule_t          *rule;
    const gm_frontend_t      *f;
    const gm_policy_set_t    *set;
    const gm_route_table_t   *t;

    *b = NULL;
    addr = fx_addr("10.96.0.1");
    f = gm_snapshot_find_frontend(s, &addr, port);
    if (f == NULL) {
        return NULL;
    }

    t = gm_frontend_route_table(f, "prod", 4, &kind);

    if (t == NULL) {
        *b = f->passthrough;
        return NULL;
    }

    m = gm_matcher_create(0, 0);
    r = fx_request("GET", path, NULL, NULL);
    rule = gm_route_table_match_policy(t, &r, m, &set);
    gm_matcher_destroy(m);

    if (rule != NULL && rule->nbackends) {
        *b = rule->backends[0].backend;
    }

    return rule;
}


static void
test_siphash(void)
{
    size_t   i;
    uint8_t  key[16], msg[64];

    for (i = 0; i < 16; i++) {
        key[i] = (uint8_t) i;
    }

    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t) i;
    }

    /* the reference implementation's vectors.h, SipHash-2-4 64-bit */
    ok(gm_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL, "siphash: empty");
    ok(gm_siphash(key, msg, 1) == 0x74f839c593dc67fdULL, "siphash: 1 byte");
    ok(gm_siphash(key, msg, 8) == 0x93f5f5799a932462ULL, "siphash: 8 bytes");
    ok(gm_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL,
       "siphash: 15 bytes");
    ok(gm_siphash(key, msg, 63) == 0x958a324ceb064572ULL,
       "siphash: 63 bytes");
}


static void
test_tokens(void)
{
    char      tok[GM_SESSION_TOKEN_LEN + 1], name[GM_SESSION_NAME_LEN + 1];
    uint8_t   key[16], key2[16];
    uint32_t  issued;
    uint64_t  mac, scope;

    memset(key, 7, sizeof(key));
    memset(key2, 8, sizeof(key2));

    gm_session_token_format(tok, 0x6b118d9a, 0x0123456789abcdefULL);
    tok[GM_SESSION_TOKEN_LEN] = '\0';
    is_str(tok, "6b118d9a.0123456789abcdef", "token: the text form");

    ok(gm_session_token_parse(tok, strlen(tok), &issued, &mac) == 0
       && issued == 0x6b118d9a && mac == 0x0123456789abcdefULL,
       "token: read back");
    ok(gm_session_token_parse(tok, strlen(tok) - 1, &issued, &mac) != 0,
       "token: too short");
    ok(gm_session_token_parse("6B118D9A.0123456789ABCDEF", 25, &issued,
                              &mac) != 0,
       "token: uppercase is not ours");
    ok(gm_session_token_parse("6b118d9a-0123456789abcdef", 25, &issued,
                              &mac) != 0,
       "token: no dot");
    ok(gm_session_token_parse("127.0.0.1:8080", 14, &issued, &mac) != 0,
       "token: an address is no token");

    scope = gm_session_scope(key, "prod/rt/main", 12);
    mac = gm_session_mac(key, scope, 100, "10.0.0.1:80", 11);

    ok(mac == gm_session_mac(key, scope, 100, "10.0.0.1:80", 11),
       "mac: the same inputs, the same");
    ok(mac != gm_session_mac(key, scope, 100, "10.0.0.2:80", 11),
       "mac: another endpoint");
    ok(mac != gm_session_mac(key, scope, 101, "10.0.0.1:80", 11),
       "mac: another second");
    ok(mac != gm_session_mac(key, gm_session_scope(key, "prod/rt/rule1", 13),
                             100, "10.0.0.1:80", 11),
       "mac: another rule");
    ok(mac != gm_session_mac(key2, gm_session_scope(key2, "prod/rt/main", 12),
                             100, "10.0.0.1:80", 11),
       "mac: another instance's key");

    ok(!gm_session_expired(100, 5000, 0), "expiry: none without a timeout");
    ok(!gm_session_expired(100, 109, 10000), "expiry: within");
    ok(gm_session_expired(100, 110, 10000), "expiry: at the timeout");
    ok(gm_session_expired(100, 99, 10000), "expiry: from the future");

    gm_session_default_name(name, "prod/rt/main", 12);
    name[GM_SESSION_NAME_LEN] = '\0';
    ok(strncmp(name, "gamma-session-", 14) == 0 && strlen(name) == 22,
       "name: generated, %s", name);

    {
        char  other[GM_SESSION_NAME_LEN + 1];

        gm_session_default_name(other, "prod/rt/rule1", 13);
        other[GM_SESSION_NAME_LEN] = '\0';
        ok(strcmp(name, other) != 0, "name: one per rule");
    }
}


static void
test_compiled(void)
{
    gm_store_t          *store;
    gm_snapshot_t       *s;
    const gm_rule_t     *rule;
    const gm_backend_t  *b;
    const gm_session_t  *sp;

    /* the rule's own, with the spec's field names */
    s = test_build(MESH ROUTE("[{path: {type: PathPrefix, value: /app/}}]",
                              "    sessionPersistence:\n"
                              "      type: Cookie\n"
                              "      absoluteTimeout: 1h\n"
                              "      cookie: {name: sid, path: /x, "
                              "lifetimeType: Permanent}\n")
                   XBTP("sp", "1", "{type: Header, header: {name: X-Sid}}"),
                   &store);
    rule = s ? test_rule(s, 80, "/app/1", &b) : NULL;
    ok(rule != NULL && rule->ext->session != NULL, "rule: compiled");

    if (rule != NULL && rule->ext->session != NULL) {
        sp = rule->ext->session;
        ok(sp->type == GM_SESSION_COOKIE && sp->permanent
           && sp->absolute_ms == 3600000, "rule: type, lifetime, timeout");
        is_str(sp->name.data, "sid", "rule: cookie.name");
        is_str(sp->path.data, "/x", "rule: cookie.path");
        is_int((int64_t) sp->policy.len, 0, "rule: nobody's policy");
        is_str(rule->ext->session_path, "/app", "rule: its default Path");
        ok(b != NULL && b->ext->session != NULL, "policy: on the backend");
        ok(gm_session_effective(rule, b) == rule->ext->session,
           "merge: the rule's beats the policy's");
    }

    if (b != NULL && b->ext->session != NULL) {
        sp = b->ext->session;
        ok(sp->type == GM_SESSION_HEADER, "policy: Header");
        is_str(sp->name.data, "X-Sid", "policy: header.name as written");
        is_str(sp->lname.data, "x-sid", "policy: and lowercase");
        is_str(sp->policy.data, "prod/sp", "policy: who set it");
    }

    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* no rule field: the policy's; other paths: "/" */
    s = test_build(MESH ROUTE("[{path: {type: PathPrefix, value: /a}}, "
                              "{path: {type: Exact, value: /b}}]", "")
                   XBTP("sp", "1", "{}"), &store);
    rule = s ? test_rule(s, 80, "/a", &b) : NULL;
    ok(rule != NULL && rule->ext->session == NULL, "no rule field");
    ok(rule != NULL && b != NULL && b->ext->session != NULL
       && gm_session_effective(rule, b) == b->ext->session,
       "merge: then the policy's");
    ok(rule != NULL && rule->ext->session_path_len == 0,
       "two paths: the default Path is /");

    if (b != NULL && b->ext->session != NULL) {
        sp = b->ext->session;
        ok(sp->type == GM_SESSION_COOKIE && !sp->permanent
           && sp->name.len == 0 && sp->absolute_ms == 0,
           "policy {}: a Session cookie, its name generated");
    }

    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* the cookie Path of a rule whose session is its backend's */
    s = test_build(MESH ROUTE("[{path: {type: PathPrefix, value: /a/}}]", "")
                   XBTP("sp", "1", "{}"), &store);
    rule = s ? test_rule(s, 80, "/a/1", &b) : NULL;
    ok(rule != NULL && rule->has_session && rule->ext->session == NULL
       && rule->ext != &gm_rule_ext_none, "backend's session: an ext");
    is_str(rule ? rule->ext->session_path : "", "/a",
           "backend's session: the rule's default Path");
    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* no session anywhere: no Path kept, no ext made */
    s = test_build(MESH ROUTE("[{path: {type: PathPrefix, value: /a}}]", ""),
                   &store);
    rule = s ? test_rule(s, 80, "/a", &b) : NULL;
    ok(rule != NULL && !rule->has_session && rule->ext == &gm_rule_ext_none
       && rule->ext->session_path_len == 0 && !rule->has_filters
       && rule->ext->filters == NULL, "no session, no filters: no ext");
    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* the ext out of line holds the rule's filters too */
    s = test_build(MESH ROUTE("[{path: {type: PathPrefix, value: /a}}]",
                              "    filters: [{type: RequestHeaderModifier, "
                              "requestHeaderModifier: {set: [{name: x-a, "
                              "value: b}]}}]\n"), &store);
    rule = s ? test_rule(s, 80, "/a", &b) : NULL;
    ok(rule != NULL && rule->has_filters && rule->ext != &gm_rule_ext_none
       && rule->ext->filters != NULL && rule->ext->filters->nfilters == 1
       && rule->ext->session_path_len == 0, "filters: in the rule's ext");
    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* a backendRef's filters: out of line too, by the backend's index */
    s = test_build(MESH
                   "apiVersion: gateway.networking.k8s.io/v1\n"
                   "kind: HTTPRoute\n"
                   "metadata: {name: rt, namespace: prod}\n"
                   "spec:\n"
                   "  parentRefs: [{group: \"\", kind: Service, name: svc, "
                   "port: 80}]\n"
                   "  rules:\n"
                   "  - backendRefs:\n"
                   "    - {name: svc, port: 80}\n"
                   "    - name: svc\n"
                   "      port: 81\n"
                   "      filters: [{type: RequestHeaderModifier, "
                   "requestHeaderModifier: {add: [{name: x-b, value: c}]}}]\n",
                   &store);
    rule = s ? test_rule(s, 80, "/", &b) : NULL;
    ok(rule != NULL && rule->has_backend_filters && !rule->has_filters
       && rule->nbackends == 2 && gm_rule_backend_filters(rule, 0) == NULL
       && gm_rule_backend_filters(rule, 1) != NULL
       && gm_rule_backend_filters(rule, 1)->nfilters == 1,
       "backendRef filters: in the rule's ext, by index");
    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* passthrough (the admin port has no route): the policy's */
    s = test_build(MESH ROUTE("[{path: {type: PathPrefix, value: /a}}, "
                              "{path: {type: Exact, value: /b}}]", "")
                   XBTP("sp", "1", "{}"), &store);
    (void) test_rule(s, 81, "/", &b);
    ok(b != NULL && b->ext->session != NULL, "passthrough: the policy's");
    ok(gm_session_effective(NULL, NULL) == NULL, "merge: nothing");

    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* the older API: sessionName, cookieConfig; two policies: the older */
    s = test_build(MESH XBTP("young", "5", "{sessionName: young}")
                   XBTP("old", "2", "{sessionName: old, absoluteTimeout: "
                        "10m, cookieConfig: {lifetimeType: Permanent}}"),
                   &store);
    (void) (s ? test_rule(s, 80, "/", &b) : NULL);
    ok(b != NULL && b->ext->session != NULL, "legacy: compiled");

    if (b != NULL && b->ext->session != NULL) {
        is_str(b->ext->session->name.data, "old", "conflict: the older wins");
        ok(b->ext->session->permanent && b->ext->session->absolute_ms == 600000,
           "legacy: cookieConfig.lifetimeType");
    }

    ok(strstr(test_log.last, "conflicted") != NULL,
       "conflict: logged: %s", test_log.last);

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


/* one policy, rejected with this reason */
static void
test_reject(const char *sp, const char *want)
{
    char            yaml[2048];
    gm_store_t     *store;
    gm_snapshot_t  *s;

    snprintf(yaml, sizeof(yaml), "%s"
             "apiVersion: gateway.networking.x-k8s.io/v1alpha1\n"
             "kind: XBackendTrafficPolicy\n"
             "metadata: {name: bad, namespace: prod}\n"
             "spec:\n"
             "  targetRefs: [{group: \"\", kind: Service, name: svc}]\n"
             "  sessionPersistence: %s\n", MESH, sp);

    s = test_build(yaml, &store);
    ok(strstr(test_log.last, "XBackendTrafficPolicy prod/bad rejected")
       != NULL && strstr(test_log.last, want) != NULL,
       "reject %s: %s", sp, test_log.last);
    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_rejects(void)
{
    gm_store_t     *store;
    gm_snapshot_t  *s;

    test_reject("{cookie: {lifetimeType: Permanent}}",
                "spec.sessionPersistence.absoluteTimeout: is required with "
                "lifetimeType Permanent");
    test_reject("{type: Header}",
                "spec.sessionPersistence.header: is required with type "
                "Header");
    test_reject("{type: Header, header: {name: x}, cookie: {name: y}}",
                "spec.sessionPersistence.cookie: is only allowed with type "
                "Cookie");
    test_reject("{header: {name: x}}",
                "spec.sessionPersistence.header: is only allowed with type "
                "Header");
    test_reject("{type: Sticky}",
                "spec.sessionPersistence.type: unsupported value "
                "\"Sticky\"");
    test_reject("{cookie: {name: \"a b\"}}",
                "spec.sessionPersistence.cookie.name");
    test_reject("{cookie: {path: \"/a;Domain=evil\"}}",
                "spec.sessionPersistence.cookie.path: must start with");
    test_reject("{cookie: {path: x}}",
                "spec.sessionPersistence.cookie.path: must start with");
    test_reject("{absoluteTimeout: 500ms}",
                "spec.sessionPersistence.absoluteTimeout: must be a "
                "duration from 1s");
    test_reject("{cookie: {lifetimeType: Forever}}",
                "spec.sessionPersistence.cookie.lifetimeType: unsupported");
    test_reject("{sessionName: a, cookie: {name: b}}",
                "spec.sessionPersistence.cookie.name: differs from "
                "sessionName");
    test_reject("[]", "spec.sessionPersistence: must be an object");

    /* a route's rule field: the route is rejected, naming the rule */
    s = test_build(MESH ROUTE("[{path: {type: PathPrefix, value: /}}]",
                              "    sessionPersistence: {type: Header}\n"),
                   &store);
    ok(strstr(test_log.last, "HTTPRoute prod/rt rejected: spec.rules[0]."
                             "sessionPersistence.header: is required")
       != NULL, "route: %s", test_log.last);
    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* and a GRPCRoute's */
    s = test_build(MESH
                   "apiVersion: gateway.networking.k8s.io/v1\n"
                   "kind: GRPCRoute\n"
                   "metadata: {name: g, namespace: prod}\n"
                   "spec:\n"
                   "  parentRefs: [{group: \"\", kind: Service, name: svc}]\n"
                   "  rules:\n"
                   "  - backendRefs: [{name: svc, port: 80}]\n"
                   "    sessionPersistence: {type: Header, header: "
                   "{name: \"x y\"}}\n", &store);
    ok(strstr(test_log.last, "GRPCRoute prod/g rejected: spec.rules[0]."
                             "sessionPersistence.header.name")
       != NULL, "grpc route: %s", test_log.last);
    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


int
main(void)
{
    test_siphash();
    test_tokens();
    test_compiled();
    test_rejects();

    return done_testing();
}
