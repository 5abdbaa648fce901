/*
 * nginx-gamma: where each effective field came from (gm_effective_t's
 * origin and from, what the status dump shows): the level, the target
 * or scope, the consumer bit, and the policy's index among the sorted
 * contributors.
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
    "  ports: [{name: http, port: 80}]\n"                                    \
    "---\n"                                                                  \
    "apiVersion: gateway.networking.k8s.io/v1\n"                             \
    "kind: HTTPRoute\n"                                                      \
    "metadata: {name: rt, namespace: prod}\n"                                \
    "spec:\n"                                                                \
    "  parentRefs: [{group: \"\", kind: Service, name: svc}]\n"              \
    "  rules:\n"                                                             \
    "  - name: main\n"                                                       \
    "    backendRefs: [{name: svc, port: 80}]\n"                             \
    "    timeouts: {request: 5s}\n"                                          \
    "---\n"                                                                  \
    "apiVersion: policy.nginx-gamma.dev/v1alpha1\n"                          \
    "kind: TrafficPolicy\n"                                                  \
    "metadata: {name: zz-svc, namespace: prod}\n"                            \
    "spec:\n"                                                                \
    "  targetRefs: [{group: \"\", kind: Service, name: svc}]\n"              \
    "  default: {timeouts: {request: 2s}, retry: {attempts: 3}}\n"           \
    "  override: {timeouts: {backendRequest: 1s}}\n"                         \
    "---\n"                                                                  \
    "apiVersion: policy.nginx-gamma.dev/v1alpha1\n"                          \
    "kind: TrafficPolicy\n"                                                  \
    "metadata: {name: aa-rule, namespace: prod}\n"                           \
    "spec:\n"                                                                \
    "  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, "    \
    "name: rt, sectionName: main}]\n"                                        \
    "  default: {retry: {backoff: 10ms}}\n"                                  \
    "---\n"                                                                  \
    "apiVersion: policy.nginx-gamma.dev/v1alpha1\n"                          \
    "kind: TrafficPolicy\n"                                                  \
    "metadata: {name: mine, namespace: client}\n"                            \
    "spec:\n"                                                                \
    "  targetRefs: [{group: \"\", kind: Service, name: svc, "                \
    "namespace: prod}]\n"                                                    \
    "  default: {retry: {attempts: 7}}\n"


static fx_log_t    test_log;
static gm_log_t    test_logger;
static gm_arena_t *test_arena;


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


static void *
test_alloc(void *pool, size_t size)
{
    (void) pool;

    return gm_arena_calloc(test_arena, size);
}


/* the index of a field bit in origin[] and from[] */
static size_t
test_field(uint32_t bit)
{
    size_t  f;

    for (f = 0; f < GM_PF_COUNT; f++) {
        if (bit == (1u << f)) {
            return f;
        }
    }

    return 0;
}


static const gm_effective_t *
test_eff(gm_snapshot_t *s, const char *ns)
{
    gm_addr_t                 addr;
    gm_request_t              r;
    gm_matcher_t             *m;
    gm_table_kind_e           kind;
    const gm_frontend_t      *f;
    const gm_policy_set_t    *set;
    const gm_route_table_t   *t;

    addr = fx_addr("10.96.0.1");
    f = gm_snapshot_find_frontend(s, &addr, 80);
    t = f ? gm_frontend_route_table(f, ns, strlen(ns), &kind) : NULL;

    if (t == NULL) {
        return NULL;
    }

    m = gm_matcher_create(0, 0);
    r = fx_request("GET", "/", NULL, NULL);
    (void) gm_route_table_match_policy(t, &r, m, &set);
    gm_matcher_destroy(m);

    return gm_policy_set_effective(set, ns, strlen(ns));
}


int
main(void)
{
    char                   err[GM_POLICY_ERROR_MAX];
    size_t                 f;
    uint8_t                o;
    gm_store_t            *store;
    gm_snapshot_t         *s;
    gm_operator_conf_t     oc;
    gm_operator_entry_t    ops[2];
    const gm_effective_t  *e;

    test_arena = gm_arena_create(4096);
    test_logger = fx_logger(&test_log);
    store = gm_store_create();

    if (gm_manifest_parse(MESH, strlen(MESH), "t.yaml", test_put, store,
                          &test_logger) != 0)
    {
        printf("# manifest failed: %s\n", test_log.last);
    }

    memset(ops, 0, sizeof(ops));
    ok(gm_operator_line_parse(&ops[0], 1, "namespace:prod", 14,
                              "rateLimit.requests", 18, "100", 3,
                              test_alloc, NULL, err, sizeof(err))
       == GM_OPLINE_OK
       && gm_operator_line_parse(&ops[1], 0, "*", 1, "timeouts.connect", 16,
                                 "3s", 2, test_alloc, NULL, err, sizeof(err))
          == GM_OPLINE_OK, "operator lines");
    oc.entries = ops;
    oc.nentries = 2;
    gm_store_set_operator(store, &oc);

    s = gm_snapshot_build(store, &test_logger);
    e = s ? test_eff(s, "other") : NULL;
    ok(e != NULL, "settings found");

    if (e != NULL) {
        is_str(e->policies.data, "prod/aa-rule,prod/zz-svc", "contributors");

        o = e->origin[test_field(GM_PF_RATE_REQUESTS)];
        ok(gm_origin_level(o) == GM_ORIGIN_OP_OVERRIDE
           && gm_origin_target(o) == GM_SCOPE_NAMESPACE,
           "rateLimit.requests: gamma_override, namespace scope");

        f = test_field(GM_PF_TIMEOUT_BACKEND);
        ok(gm_origin_level(e->origin[f]) == GM_ORIGIN_OVERRIDE
           && gm_origin_target(e->origin[f]) == 0 && e->from[f] == 1
           && !gm_origin_consumer(e->origin[f]),
           "timeouts.backendRequest: policy override at the Service, "
           "zz-svc (index 1)");

        f = test_field(GM_PF_TIMEOUT_REQUEST);
        ok(gm_origin_level(e->origin[f]) == GM_ORIGIN_RULE
           && e->v.timeout_request_ms == 5000,
           "timeouts.request: the rule's own");

        f = test_field(GM_PF_RETRY_BACKOFF);
        ok(gm_origin_level(e->origin[f]) == GM_ORIGIN_DEFAULT
           && gm_origin_target(e->origin[f]) == 3 && e->from[f] == 0,
           "retry.backoff: policy default at the rule, aa-rule (index 0)");

        f = test_field(GM_PF_RETRY_ATTEMPTS);
        ok(gm_origin_level(e->origin[f]) == GM_ORIGIN_DEFAULT
           && e->from[f] == 1 && e->v.retry_attempts == 3,
           "retry.attempts: the Service's default");

        o = e->origin[test_field(GM_PF_TIMEOUT_CONNECT)];
        ok(gm_origin_level(o) == GM_ORIGIN_OP_DEFAULT
           && gm_origin_target(o) == GM_SCOPE_ALL,
           "timeouts.connect: gamma_default *");

        ok(e->origin[test_field(GM_PF_LB_TYPE)] == 0, "unset: no origin");
    }

    e = s ? test_eff(s, "client") : NULL;
    ok(e != NULL, "the consumer's variant");

    if (e != NULL) {
        is_str(e->policies.data, "client/mine,prod/aa-rule,prod/zz-svc",
               "its contributors");
        f = test_field(GM_PF_RETRY_ATTEMPTS);
        ok(gm_origin_level(e->origin[f]) == GM_ORIGIN_DEFAULT
           && gm_origin_consumer(e->origin[f]) && e->from[f] == 0
           && e->v.retry_attempts == 7,
           "retry.attempts: the consumer policy (index 0)");
        f = test_field(GM_PF_TIMEOUT_BACKEND);
        ok(e->from[f] == 2, "zz-svc is index 2 here");
    }

    gm_snapshot_unref(s);
    gm_store_destroy(store);
    gm_arena_destroy(test_arena);

    return done_testing();
}
