/*
 * nginx-gamma: the policy merge (gm_compile_policy.c): TrafficPolicy
 * defaults and overrides, the rule's own fields and the operator's
 * nginx.conf lines, field by field, per target level, per side
 * (producer, consumer) and per client namespace; and the text form of the
 * values (gm_policy.c) the directives share with the parser.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"
#include "gm_policy.h"


#define MESH                                                                 \
    "apiVersion: v1\n"                                                       \
    "kind: Service\n"                                                        \
    "metadata: {name: svc, namespace: prod}\n"                               \
    "spec:\n"                                                                \
    "  clusterIP: 10.96.0.1\n"                                               \
    "  ports: [{name: http, port: 80}, {name: admin, port: 81}]\n"           \
    "---\n"                                                                  \
    "apiVersion: v1\n"                                                       \
    "kind: Service\n"                                                        \
    "metadata: {name: other, namespace: prod}\n"                             \
    "spec:\n"                                                                \
    "  clusterIP: 10.96.0.2\n"                                               \
    "  ports: [{name: http, port: 80}]\n"                                    \
    "---\n"

#define ROUTE(rule_fields)                                                   \
    "apiVersion: gateway.networking.k8s.io/v1\n"                             \
    "kind: HTTPRoute\n"                                                      \
    "metadata: {name: rt, namespace: prod}\n"                                \
    "spec:\n"                                                                \
    "  parentRefs: [{group: \"\", kind: Service, name: svc}]\n"              \
    "  rules:\n"                                                             \
    "  - name: main\n"                                                       \
    "    backendRefs: [{name: svc, port: 80}]\n"                             \
    rule_fields                                                              \
    "---\n"

#define POLICY(ns, name, ts, target, section)                                \
    "apiVersion: policy.nginx-gamma.dev/v1alpha1\n"                          \
    "kind: TrafficPolicy\n"                                                  \
    "metadata: {name: " name ", namespace: " ns ", creationTimestamp: "      \
    "\"2026-01-0" ts "T00:00:00Z\"}\n"                                       \
    "spec:\n"                                                                \
    "  targetRefs: [" target "]\n"                                           \
    section                                                                  \
    "---\n"

#define SVC_T     "{group: \"\", kind: Service, name: svc, namespace: prod}"
#define PORT_T    "{group: \"\", kind: Service, name: svc, namespace: prod, " \
                  "sectionName: http}"
#define ROUTE_T   "{group: gateway.networking.k8s.io, kind: HTTPRoute, "     \
                  "name: rt, namespace: prod}"
#define RULE_T    "{group: gateway.networking.k8s.io, kind: HTTPRoute, "     \
                  "name: rt, namespace: prod, sectionName: main}"


static fx_log_t  test_log;
static gm_log_t  test_logger;
static gm_arena_t  *test_arena;


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


static gm_store_t *
test_store(const char *yaml)
{
    gm_store_t  *store;

    store = gm_store_create();
    test_logger = fx_logger(&test_log);

    if (gm_manifest_parse(yaml, strlen(yaml), "t.yaml", test_put, store,
                          &test_logger) != 0)
    {
        printf("# manifest failed: %s\n", test_log.last);
    }

    return store;
}


static void *
test_alloc(void *pool, size_t size)
{
    (void) pool;

    /* the operator's lines live as long as the test */
    return gm_arena_calloc(test_arena, size);
}


/* "override * timeouts.request 5s" and the like */
static void
test_op(gm_operator_conf_t *oc, unsigned override, const char *scope,
    const char *field, const char *value)
{
    char                  err[GM_POLICY_ERROR_MAX];
    gm_operator_entry_t  *e;

    if (oc->entries == NULL) {
        oc->entries = test_alloc(NULL, 16 * sizeof(gm_operator_entry_t));
    }

    e = &oc->entries[oc->nentries++];
    memset(e, 0, sizeof(gm_operator_entry_t));
    gm_policy_values_init(&e->v);
    e->override = override;

    if (gm_operator_scope_parse(e, scope, strlen(scope), test_alloc, NULL,
                                err, sizeof(err)) != 0
        || gm_policy_value_parse(&e->v, gm_policy_field(field, strlen(field)),
                                 value, strlen(value), test_alloc, NULL, err,
                                 sizeof(err)) != 0)
    {
        printf("# bad operator line: %s\n", err);
    }
}


/* the settings a GET / from namespace ns to ip:port gets */
static const gm_effective_t *
test_eff(gm_snapshot_t *s, const char *ip, uint16_t port, const char *ns)
{
    gm_addr_t                 addr;
    gm_request_t              r;
    gm_matcher_t             *m;
    gm_table_kind_e           kind;
    const gm_frontend_t      *f;
    const gm_policy_set_t    *set;
    const gm_route_table_t   *t;

    addr = fx_addr(ip);
    f = gm_snapshot_find_frontend(s, &addr, port);
    if (f == NULL) {
        return NULL;
    }

    t = gm_frontend_route_table(f, ns, strlen(ns), &kind);

    if (t == NULL) {
        set = f->passthrough_policy;

    } else {
        m = gm_matcher_create(0, 0);
        r = fx_request("GET", "/", NULL, NULL);
        (void) gm_route_table_match_policy(t, &r, m, &set);
        gm_matcher_destroy(m);
    }

    return gm_policy_set_effective(set, ns, strlen(ns));
}


static gm_snapshot_t *
test_build(gm_store_t *store, const gm_operator_conf_t *oc)
{
    test_logger = fx_logger(&test_log);
    gm_store_set_operator(store, oc);

    return gm_snapshot_build(store, &test_logger);
}


/* one mesh, one request: the effective request timeout and contributors */
static void
test_case(const char *what, const char *yaml, const gm_operator_conf_t *oc,
    const char *ns, int64_t want_ms, const char *want_policies)
{
    gm_store_t            *store;
    gm_snapshot_t         *s;
    const gm_effective_t  *e;

    store = test_store(yaml);
    s = test_build(store, oc);
    e = s ? test_eff(s, "10.96.0.1", 80, ns) : NULL;

    ok(e != NULL, "%s: settings found", what);

    if (e != NULL) {
        is_int((e->v.set & GM_PF_TIMEOUT_REQUEST) ? e->v.timeout_request_ms
                                                  : -1,
               want_ms, "%s: timeouts.request", what);
        is_str(e->policies.data, want_policies, "%s: $gamma_policy", what);
    }

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_levels(void)
{
    gm_operator_conf_t  none, oc;

    memset(&none, 0, sizeof(none));

    test_case("no policy, no rule field", MESH ROUTE(""), &none, "prod", -1,
              "");

    test_case("policy default fills in",
              MESH ROUTE("")
              POLICY("prod", "p", "1", SVC_T,
                     "  default: {timeouts: {request: 3s}}\n"),
              &none, "prod", 3000, "prod/p");

    test_case("the rule's field beats a policy default",
              MESH ROUTE("    timeouts: {request: 2s}\n")
              POLICY("prod", "p", "1", SVC_T,
                     "  default: {timeouts: {request: 3s}}\n"),
              &none, "prod", 2000, "");

    test_case("a policy override beats the rule's field",
              MESH ROUTE("    timeouts: {request: 2s}\n")
              POLICY("prod", "p", "1", SVC_T,
                     "  override: {timeouts: {request: 4s}}\n"),
              &none, "prod", 4000, "prod/p");

    memset(&oc, 0, sizeof(oc));
    test_op(&oc, 1, "*", "timeouts.request", "9s");

    test_case("an nginx.conf override beats a policy override",
              MESH ROUTE("    timeouts: {request: 2s}\n")
              POLICY("prod", "p", "1", SVC_T,
                     "  override: {timeouts: {request: 4s}}\n"),
              &oc, "prod", 9000, "");

    memset(&oc, 0, sizeof(oc));
    test_op(&oc, 0, "*", "timeouts.request", "7s");

    test_case("an nginx.conf default where nothing says anything",
              MESH ROUTE(""), &oc, "prod", 7000, "");

    test_case("an nginx.conf default loses to a policy default",
              MESH ROUTE("")
              POLICY("prod", "p", "1", SVC_T,
                     "  default: {timeouts: {request: 3s}}\n"),
              &oc, "prod", 3000, "prod/p");

    test_case("an nginx.conf default loses to the rule",
              MESH ROUTE("    timeouts: {request: 2s}\n"), &oc, "prod", 2000,
              "");
}


static void
test_targets(void)
{
    gm_operator_conf_t  none, oc;

    memset(&none, 0, sizeof(none));

    test_case("defaults: the rule target beats the route and the Service",
              MESH ROUTE("")
              POLICY("prod", "s", "1", SVC_T,
                     "  default: {timeouts: {request: 1s}}\n")
              POLICY("prod", "r", "2", ROUTE_T,
                     "  default: {timeouts: {request: 2s}}\n")
              POLICY("prod", "x", "3", RULE_T,
                     "  default: {timeouts: {request: 3s}}\n"),
              &none, "prod", 3000, "prod/x");

    test_case("defaults: the Service port beats the Service",
              MESH ROUTE("")
              POLICY("prod", "s", "1", SVC_T,
                     "  default: {timeouts: {request: 1s}}\n")
              POLICY("prod", "sp", "2", PORT_T,
                     "  default: {timeouts: {request: 5s}}\n"),
              &none, "prod", 5000, "prod/sp");

    test_case("overrides: the Service beats the route and the rule",
              MESH ROUTE("")
              POLICY("prod", "s", "3", SVC_T,
                     "  override: {timeouts: {request: 1s}}\n")
              POLICY("prod", "r", "2", ROUTE_T,
                     "  override: {timeouts: {request: 2s}}\n")
              POLICY("prod", "x", "1", RULE_T,
                     "  override: {timeouts: {request: 3s}}\n"),
              &none, "prod", 1000, "prod/s");

    test_case("one target: the older policy wins",
              MESH ROUTE("")
              POLICY("prod", "young", "5", SVC_T,
                     "  default: {timeouts: {request: 1s}}\n")
              POLICY("prod", "old", "2", SVC_T,
                     "  default: {timeouts: {request: 2s}}\n"),
              &none, "prod", 2000, "prod/old");

    test_case("one target, one age: ns/name decides",
              MESH ROUTE("")
              POLICY("prod", "b", "2", SVC_T,
                     "  default: {timeouts: {request: 1s}}\n")
              POLICY("prod", "a", "2", SVC_T,
                     "  default: {timeouts: {request: 2s}}\n"),
              &none, "prod", 2000, "prod/a");

    test_case("a policy on another Service does not apply",
              MESH ROUTE("")
              POLICY("prod", "p", "1",
                     "{group: \"\", kind: Service, name: other}",
                     "  default: {timeouts: {request: 3s}}\n"),
              &none, "prod", -1, "");

    test_case("a policy on another port does not apply",
              MESH ROUTE("")
              POLICY("prod", "p", "1",
                     "{group: \"\", kind: Service, name: svc, "
                     "sectionName: admin}",
                     "  default: {timeouts: {request: 3s}}\n"),
              &none, "prod", -1, "");

    memset(&oc, 0, sizeof(oc));
    test_op(&oc, 1, "route:prod/rt/main", "timeouts.request", "11s");
    test_op(&oc, 1, "*", "timeouts.request", "1s");
    test_op(&oc, 1, "service:prod/svc:80", "timeouts.request", "8s");

    test_case("nginx.conf: the most specific scope, whatever the order",
              MESH ROUTE(""), &oc, "prod", 11000, "");

    memset(&oc, 0, sizeof(oc));
    test_op(&oc, 0, "namespace:prod", "timeouts.request", "6s");
    test_op(&oc, 0, "service:prod/svc", "timeouts.request", "5s");
    test_op(&oc, 0, "namespace:other", "timeouts.request", "4s");

    test_case("nginx.conf: service before namespace",
              MESH ROUTE(""), &oc, "prod", 5000, "");
}


static void
test_consumers(void)
{
    const char          *yaml;
    gm_operator_conf_t   none;

    memset(&none, 0, sizeof(none));

    yaml = MESH ROUTE("")
           POLICY("client", "c", "1", SVC_T,
                  "  default: {timeouts: {request: 2s}}\n");

    test_case("a consumer policy for its own namespace's clients", yaml,
              &none, "client", 2000, "client/c");
    test_case("a consumer policy not for others", yaml, &none, "prod", -1,
              "");
    test_case("a consumer policy not for a third namespace", yaml, &none,
              "third", -1, "");

    yaml = MESH ROUTE("")
           POLICY("client", "c", "1", SVC_T,
                  "  override: {timeouts: {request: 2s}}\n")
           POLICY("prod", "p", "2", SVC_T,
                  "  override: {timeouts: {request: 3s}}\n");

    test_case("overrides: the producer's before the consumer's", yaml,
              &none, "client", 3000, "prod/p");

    yaml = MESH ROUTE("")
           POLICY("client", "c", "2", SVC_T,
                  "  default: {timeouts: {request: 2s}}\n")
           POLICY("prod", "p", "1", SVC_T,
                  "  default: {timeouts: {request: 3s}}\n");

    test_case("defaults: the consumer's before the producer's", yaml,
              &none, "client", 2000, "client/c");
    test_case("defaults: others get the producer's", yaml, &none, "prod",
              3000, "prod/p");
}


static void
test_fields(void)
{
    gm_store_t            *store;
    gm_snapshot_t         *s;
    gm_operator_conf_t     oc;
    const gm_effective_t  *e;

    memset(&oc, 0, sizeof(oc));
    test_op(&oc, 0, "*", "timeouts.backendRequest", "900ms");
    test_op(&oc, 0, "*", "retry.attempts", "9");

    store = test_store(MESH ROUTE("    retry: {codes: [502]}\n")
                       POLICY("prod", "r", "1", ROUTE_T,
                              "  default:\n"
                              "    retry: {attempts: 2, codes: [500, 503]}\n")
                       POLICY("prod", "s", "2", SVC_T,
                              "  default: {timeouts: {request: 4s}}\n"));
    s = test_build(store, &oc);
    e = test_eff(s, "10.96.0.1", 80, "prod");

    ok(e != NULL, "fields: found");
    is_int(e->v.timeout_request_ms, 4000, "fields: request from s");
    is_int(e->v.timeout_backend_ms, 900, "fields: backend from nginx.conf");
    is_int(e->v.retry_attempts, 2, "fields: attempts from r");
    is_int(e->v.nretry_codes, 1, "fields: codes from the rule");
    is_int(e->v.retry_codes[0], 502, "fields: code 502");
    is_str(e->policies.data, "prod/r,prod/s", "fields: both, sorted");

    e = test_eff(s, "10.96.0.1", 81, "prod");
    ok(e != NULL && e->v.timeout_request_ms == 4000
       && e->v.retry_attempts == 2,
       "fields: port 81, the same route: the same settings");

    e = test_eff(s, "10.96.0.2", 80, "prod");
    ok(e != NULL && e->v.timeout_backend_ms == 900
       && !(e->v.set & GM_PF_TIMEOUT_REQUEST),
       "fields: passthrough of other: only nginx.conf");

    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_lifecycle(void)
{
    gm_store_t            *store;
    gm_snapshot_t         *s;
    const gm_effective_t  *e;

    /* the policy first, its route later */
    store = test_store(MESH POLICY("prod", "p", "1", ROUTE_T,
                                   "  default: {timeouts: {request: 3s}}\n"));
    s = test_build(store, NULL);
    ok(strstr(test_log.last, "TrafficPolicy prod/p: targetRef HTTPRoute "
              "prod/rt does not exist, not applied") != NULL,
       "later target: the miss is logged");
    e = test_eff(s, "10.96.0.1", 80, "prod");
    ok(e != NULL && !(e->v.set & GM_PF_TIMEOUT_REQUEST),
       "later target: nothing yet");
    gm_snapshot_unref(s);

    gm_manifest_parse(ROUTE(""), strlen(ROUTE("")), "t.yaml", test_put,
                      store, &test_logger);
    s = test_build(store, NULL);
    e = test_eff(s, "10.96.0.1", 80, "prod");
    ok(e != NULL && e->v.timeout_request_ms == 3000,
       "later target: applies once the route exists");
    gm_snapshot_unref(s);
    gm_store_destroy(store);

    /* a bad policy is rejected alone */
    store = test_store(MESH ROUTE("")
                       POLICY("prod", "bad", "1", SVC_T,
                              "  default: {timeouts: {request: 5x}}\n")
                       POLICY("prod", "good", "2", SVC_T,
                              "  default: {retry: {attempts: 1}}\n"));
    ok(test_log.nwarn > 0, "bad policy: rejection logged");
    is_int(gm_store_count(store, GM_KIND_TRAFFICPOLICY), 1,
           "bad policy: one left");
    s = test_build(store, NULL);
    e = test_eff(s, "10.96.0.1", 80, "prod");
    ok(e != NULL && e->v.retry_attempts == 1, "bad policy: good applies");
    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


static void
test_parse_errors(void)
{
    size_t        i;
    gm_store_t   *store;
    static const struct {
        const char  *spec;
        const char  *reason;
    } bad[] = {
        { "  default: {timeouts: {request: 1x}}\n",
          "spec.default.timeouts.request: must be a duration" },
        { "  default: {timeouts: {speed: 1s}}\n",
          "spec.default.timeouts.speed: unknown field" },
        { "  default: {retry: {attempts: -1}}\n",
          "spec.default.retry.attempts: must be an integer" },
        { "  override: {retry: {codes: [200]}}\n",
          "spec.override.retry.codes: must be status codes from 400" },
        { "  default: {rateLimit: {requests: 5, unit: Hour}}\n",
          "spec.default.rateLimit.unit: must be \"Second\" or \"Minute\"" },
        { "  default: {loadBalancer: {type: ConsistentHash}}\n",
          "ConsistentHash needs consistentHash.header" },
        { "  default: {timeouts: {request: 1s, backendRequest: 2s}}\n",
          "must not be longer than timeouts.request" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char  yaml[2048];

        snprintf(yaml, sizeof(yaml), POLICY("prod", "p", "1", SVC_T, "%s"),
                 bad[i].spec);
        store = test_store(yaml);
        ok(gm_store_count(store, GM_KIND_TRAFFICPOLICY) == 0
           && strstr(test_log.last, bad[i].reason) != NULL,
           "rejected: %s", bad[i].reason);
        if (strstr(test_log.last, bad[i].reason) == NULL) {
            printf("#   log: %s\n", test_log.last);
        }
        gm_store_destroy(store);
    }

    store = test_store(POLICY("prod", "p", "1",
                              "{group: apps, kind: Deployment, name: x}",
                              "  default: {retry: {attempts: 1}}\n"));
    ok(gm_store_count(store, GM_KIND_TRAFFICPOLICY) == 0
       && strstr(test_log.last, "unsupported target kind \"Deployment\"")
          != NULL, "rejected: an unsupported target kind");
    gm_store_destroy(store);
}


static void
test_text_form(void)
{
    char                 err[GM_POLICY_ERROR_MAX];
    gm_operator_entry_t  e;
    gm_policy_values_t   v;

    memset(&e, 0, sizeof(e));
    ok(gm_operator_scope_parse(&e, "service:prod/svc:8080", 21, test_alloc,
                               NULL, err, sizeof(err)) == 0
       && e.scope == GM_SCOPE_SERVICE_PORT && e.port == 8080
       && strcmp(e.name.data, "svc") == 0, "scope: service port");
    ok(gm_operator_scope_parse(&e, "route:a/b/c", 11, test_alloc, NULL, err,
                               sizeof(err)) == 0
       && e.scope == GM_SCOPE_RULE && strcmp(e.rule.data, "c") == 0,
       "scope: route rule");
    ok(gm_operator_scope_parse(&e, "svc:a/b", 7, test_alloc, NULL, err,
                               sizeof(err)) == -1, "scope: unknown prefix");
    ok(gm_operator_scope_parse(&e, "service:a", 9, test_alloc, NULL, err,
                               sizeof(err)) == -1, "scope: no name");
    ok(gm_operator_scope_parse(&e, "service:a/b:0", 13, test_alloc, NULL, err,
                               sizeof(err)) == -1, "scope: port 0");
    ok(gm_operator_scope_parse(&e, "namespace:A", 11, test_alloc, NULL, err,
                               sizeof(err)) == -1, "scope: uppercase ns");

    gm_policy_values_init(&v);
    ok(gm_policy_value_parse(&v, GM_PF_RETRY_CODES, "500,503", 7, test_alloc,
                             NULL, err, sizeof(err)) == 0
       && v.nretry_codes == 2 && v.retry_codes[1] == 503, "codes: list");
    ok(gm_policy_value_parse(&v, GM_PF_RETRY_CODES, "500,500", 7, test_alloc,
                             NULL, err, sizeof(err)) == -1, "codes: dup");
    ok(gm_policy_value_parse(&v, GM_PF_TIMEOUT_IDLE, "1h30m", 5, test_alloc,
                             NULL, err, sizeof(err)) == 0
       && v.timeout_idle_ms == 5400000, "duration: 1h30m");
    ok(gm_policy_value_parse(&v, GM_PF_LB_HEADER, "X-User", 6, test_alloc,
                             NULL, err, sizeof(err)) == 0
       && strcmp(v.lb_header.data, "x-user") == 0, "header: lowercased");
    is_int(gm_policy_field("retry.backoff", 13), GM_PF_RETRY_BACKOFF,
           "field: retry.backoff");
    is_int(gm_policy_field("retry.speed", 11), 0, "field: unknown");
}



/* the rateLimit buckets: one per policy and target, or operator line */
static void
test_rate_keys(void)
{
    uint64_t               k80, k81, kother;
    gm_store_t            *store;
    gm_snapshot_t         *s;
    gm_operator_conf_t     oc;
    const gm_effective_t  *e;

    store = test_store(MESH ROUTE("")
        POLICY("prod", "rl", "1", SVC_T ", {group: \"\", kind: Service, "
               "name: other, namespace: prod}",
               "  default: {rateLimit: {requests: 5}}\n"));
    s = test_build(store, NULL);

    e = test_eff(s, "10.96.0.1", 80, "prod");
    k80 = e ? e->rate_key : 0;
    e = test_eff(s, "10.96.0.1", 81, "prod");
    k81 = e ? e->rate_key : 0;
    e = test_eff(s, "10.96.0.2", 80, "prod");
    kother = e ? e->rate_key : 0;

    ok(k80 != 0, "rate key: a policy's rateLimit has a bucket");
    ok(k80 == k81, "rate key: the ports of the target Service share it");
    ok(kother != 0 && kother != k80, "rate key: another target, another");

    gm_snapshot_unref(s);

    /* a later snapshot finds the same buckets */
    s = test_build(store, NULL);
    e = test_eff(s, "10.96.0.1", 80, "prod");
    ok(e && e->rate_key == k80, "rate key: the same in the next snapshot");
    gm_snapshot_unref(s);
    gm_store_destroy(store);

    memset(&oc, 0, sizeof(oc));
    test_op(&oc, 0, "*", "rateLimit.requests", "3");
    store = test_store(MESH ROUTE(""));
    s = test_build(store, &oc);

    e = test_eff(s, "10.96.0.1", 80, "prod");
    k80 = e ? e->rate_key : 0;
    e = test_eff(s, "10.96.0.1", 81, "prod");
    k81 = e ? e->rate_key : 0;
    e = test_eff(s, "10.96.0.2", 80, "prod");
    kother = e ? e->rate_key : 0;

    ok(k80 != 0 && k80 == k81, "rate key: gamma_default * per Service");
    ok(kother != 0 && kother != k80, "rate key: ... each Service apart");

    e = test_eff(s, "10.96.0.1", 80, "prod");
    ok(e && e->v.rate_requests == 3, "rate key: requests from nginx.conf");

    gm_snapshot_unref(s);
    gm_store_destroy(store);

    store = test_store(MESH ROUTE(""));
    s = test_build(store, NULL);
    e = test_eff(s, "10.96.0.1", 80, "prod");
    ok(e && e->rate_key == 0, "rate key: none without a rateLimit");
    gm_snapshot_unref(s);
    gm_store_destroy(store);
}


/* the line parser of gamma_default and gamma_override */
static void
test_operator_line(void)
{
    char                  err[GM_POLICY_ERROR_MAX];
    gm_operator_entry_t   e;

#define LINE(sc, f, v)                                                       \
    gm_operator_line_parse(&e, 1, sc, strlen(sc), f, strlen(f), v,           \
                           strlen(v), test_alloc, NULL, err, sizeof(err))

    is_int(LINE("route:prod/rt/main", "retry.codes", "500,503"),
           GM_OPLINE_OK, "line: a good one");
    ok(e.override && e.scope == GM_SCOPE_RULE && e.v.nretry_codes == 2,
       "line: read");
    is_int(LINE("route:", "retry.codes", "500"), GM_OPLINE_SCOPE,
           "line: a bad scope");
    is_int(LINE("*", "retry.nope", "500"), GM_OPLINE_FIELD,
           "line: an unknown field");
    is_int(LINE("*", "timeouts.request", "5x"), GM_OPLINE_VALUE,
           "line: a bad value");
    is_int(LINE("*", "rateLimit.unit", "Hour"), GM_OPLINE_VALUE,
           "line: a bad enum");
    /* found by fuzz_operator: strchr() took a NUL for a token character */
    is_int(gm_operator_line_parse(&e, 0, "*", 1,
                                  "loadBalancer.consistentHash.header", 34,
                                  "x\0y", 3, test_alloc, NULL, err,
                                  sizeof(err)),
           GM_OPLINE_VALUE, "line: a NUL in a header name");

#undef LINE
}

int
main(void)
{
    test_arena = gm_arena_create(4096);

    test_levels();
    test_targets();
    test_consumers();
    test_fields();
    test_lifecycle();
    test_parse_errors();
    test_text_form();
    test_rate_keys();
    test_operator_line();

    gm_arena_destroy(test_arena);

    return done_testing();
}
