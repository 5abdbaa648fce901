/*
 * nginx-gamma: GRPCRoute parsing (method matches to path tests, rejected
 * input), its precedence and GRPCRoute over HTTPRoute on one port.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"
#include "gm_route_status.h"


#define TEST_ROUTE_HEAD                                                      \
    "apiVersion: gateway.networking.k8s.io/v1\n"                             \
    "kind: GRPCRoute\n"                                                      \
    "metadata: {name: r, namespace: ns}\n"


typedef struct {
    gm_store_t     *store;
    gm_snapshot_t  *snap;
    gm_matcher_t   *matcher;
    fx_log_t        fl;
} env_t;


static fx_log_t  test_fl;
static gm_log_t  test_log;


static void
test_collect(void *data, json_t *doc, size_t index)
{
    (void) index;

    json_array_append(data, doc);
}


/* the only document of text, parsed; the log goes to test_fl */
static gm_object_t *
test_parse(const char *text)
{
    json_t       *docs;
    gm_object_t  *obj;

    memset(&test_fl, 0, sizeof(test_fl));
    test_log = fx_logger(&test_fl);
    docs = json_array();

    if (gm_manifest_parse(text, strlen(text), "t.yaml", test_collect, docs,
                          &test_log) != 0
        || json_array_size(docs) != 1)
    {
        json_decref(docs);
        return NULL;
    }

    obj = gm_object_parse(json_array_get(docs, 0), &test_log, NULL);
    json_decref(docs);

    return obj;
}


static gm_object_t *
test_route(const char *spec)
{
    char  text[4096];

    snprintf(text, sizeof(text), TEST_ROUTE_HEAD "spec: %s\n", spec);

    return test_parse(text);
}


/* the path test a one-rule, one-match route compiles to */
static void
test_mapping(const char *method, gm_match_type_e type, const char *path)
{
    char              spec[1024];
    gm_object_t      *obj;
    gm_http_match_t  *m;

    snprintf(spec, sizeof(spec), "{rules: [{matches: [{method: %s}]}]}",
             method);

    obj = test_route(spec);
    ok(obj != NULL, "%s: parsed", method);

    if (obj == NULL) {
        return;
    }

    m = &obj->body->httproute.rules[0].matches[0];
    ok(obj->body->meta.kind == GM_KIND_GRPCROUTE, "%s: a GRPCRoute", method);
    is_int(m->path_type, type, "%s: path type", method);
    is_str(m->path.data, path, "%s: path", method);

    gm_object_free(obj);
}


static void
test_mappings(void)
{
    test_mapping("{service: pkg.Svc, method: Get}", GM_MATCH_EXACT,
                 "/pkg.Svc/Get");
    test_mapping("{service: pkg.Svc}", GM_MATCH_PREFIX, "/pkg.Svc/");
    test_mapping("{method: Get}", GM_MATCH_REGEX, "/[^/]+/Get");
    test_mapping("{type: RegularExpression, service: 'pkg\\..*'}",
                 GM_MATCH_REGEX, "(?=/[^/]+/[^/]+$)/(?:pkg\\..*)/(?:[^/]+)");
    test_mapping("{type: RegularExpression, method: 'G.t'}", GM_MATCH_REGEX,
                 "(?=/[^/]+/[^/]+$)/(?:[^/]+)/(?:G.t)");
    test_mapping("{}", GM_MATCH_PREFIX, "/");
}


static void
test_reject(const char *spec, const char *line)
{
    gm_object_t  *obj;

    obj = test_route(spec);

    ok(obj == NULL, "rejected: %s", spec);
    is_str(test_fl.last, line, "log line of %s", spec);

    gm_object_free(obj);
}


static void
test_rejects(void)
{
    test_reject("{rules: [{matches: [{method: {type: Exact}}]}]}",
                "GRPCRoute ns/r rejected: spec.rules[0].matches[0].method: "
                "one or both of 'service' or 'method' must be specified");
    test_reject("{rules: [{matches: [{method: {service: 'a/b'}}]}]}",
                "GRPCRoute ns/r rejected: spec.rules[0].matches[0].method."
                "service: must be a fully qualified gRPC service name such "
                "as \"pkg.Service\"");
    test_reject("{rules: [{matches: [{method: {method: '1x'}}]}]}",
                "GRPCRoute ns/r rejected: spec.rules[0].matches[0].method."
                "method: must be a gRPC method name such as \"GetItem\"");
    test_reject("{rules: [{matches: [{method: {type: Prefix, "
                "service: a}}]}]}",
                "GRPCRoute ns/r rejected: spec.rules[0].matches[0].method."
                "type: unsupported value \"Prefix\"");
    test_reject("{rules: [{filters: [{type: URLRewrite, urlRewrite: "
                "{hostname: a.b}}]}]}",
                "GRPCRoute ns/r rejected: spec.rules[0].filters: filter 0: "
                "a GRPCRoute supports RequestHeaderModifier, "
                "ResponseHeaderModifier, RequestMirror and ExtensionRef "
                "only");
}


static void
test_bad_regex(void)
{
    gm_object_t  *obj;

    obj = test_route("{rules: [{matches: [{method: {type: RegularExpression,"
                     " service: 'a(('}}]}, {}]}");

    ok(obj != NULL, "a bad regex keeps the route");
    ok(obj && obj->body->httproute.rules[0].invalid,
       "a bad regex invalidates its rule");
    ok(obj && !obj->body->httproute.rules[1].invalid,
       "the other rule stays");

    gm_object_free(obj);
}


static void
env_put(env_t *e, const char *text)
{
    gm_object_t  *obj;

    obj = test_parse(text);
    ok(obj != NULL, "object parsed");

    if (obj != NULL) {
        gm_store_put(e->store, obj);
    }
}


static void
env_build(env_t *e)
{
    gm_log_t  log;

    log = fx_logger(&e->fl);
    e->snap = gm_snapshot_build(e->store, &log);
}


static const char *
go(env_t *e, uint16_t port, const char *path, const char **headers)
{
    gm_addr_t                ip;
    gm_request_t             r;
    gm_table_kind_e          kind;
    const gm_rule_t         *rule;
    const gm_frontend_t     *f;
    const gm_route_table_t  *t;

    ip = fx_addr("10.96.0.1");
    f = gm_snapshot_find_frontend(e->snap, &ip, port);
    t = f ? gm_frontend_route_table(f, "ns", 2, &kind) : NULL;

    r = fx_request("POST", path, NULL, headers);
    rule = gm_route_table_match(t, &r, e->matcher);

    return rule ? rule->label.data : NULL;
}


/* each route's status entry is of its own kind (written to its resource) */
static void
test_status_kinds(gm_snapshot_t *snap)
{
    size_t                    i;
    const char               *grpc, *http;
    gm_status_list_t          list;
    const gm_status_entry_t  *e;

    grpc = NULL;
    http = NULL;
    gm_snapshot_status(snap, &list);

    for (i = 0; i < list.n; i++) {
        e = gm_status_at(&list, i);

        if (strcmp(e->name.data, "r") == 0) {
            grpc = e->kind;

        } else if (strcmp(e->name.data, "web") == 0) {
            http = e->kind;
        }
    }

    is_str(grpc, "GRPCRoute", "the GRPCRoute's status entry is a GRPCRoute's");
    is_str(http, "HTTPRoute", "the HTTPRoute's status entry is an HTTPRoute's");
}


static void
test_precedence(void)
{
    env_t        e;
    const char  *canary[] = { "x-env", "canary", NULL };

    memset(&e, 0, sizeof(env_t));
    e.store = gm_store_create();
    e.matcher = gm_matcher_create(10000, 1000);

    gm_store_put(e.store, fx_service("ns", "svc", "10.96.0.1",
                                     "grpc:7070,http:80"));

    env_put(&e, TEST_ROUTE_HEAD
            "spec:\n"
            "  parentRefs: [{group: '', kind: Service, name: svc, "
            "port: 7070}]\n"
            "  rules:\n"
            "  - {name: method, matches: [{method: {method: Get}}]}\n"
            "  - {name: service, matches: [{method: {service: pkg.Svc}}]}\n"
            "  - name: canary\n"
            "    matches:\n"
            "    - method: {service: pkg.Svc}\n"
            "      headers: [{name: X-Env, value: canary}]\n"
            "  - {name: exact, matches: [{method: {service: pkg.Svc, "
            "method: Get}}]}\n"
            "  - name: regex\n"
            "    matches: [{method: {type: RegularExpression, "
            "service: 'pkg\\.S.*'}}]\n");

    env_put(&e, "apiVersion: gateway.networking.k8s.io/v1\n"
            "kind: HTTPRoute\n"
            "metadata: {name: web, namespace: ns}\n"
            "spec:\n"
            "  parentRefs: [{group: '', kind: Service, name: svc}]\n"
            "  rules: [{name: all}]\n");

    env_build(&e);

    is_str(go(&e, 7070, "/pkg.Svc/Get", NULL), "ns/r/exact",
           "service and method beat service only");
    is_str(go(&e, 7070, "/pkg.Svc/Put", NULL), "ns/r/service",
           "the longer service: Exact pkg.Svc over the regex");
    is_str(go(&e, 7070, "/pkg.Svc/Put", canary), "ns/r/canary",
           "a header match wins a tie");
    is_str(go(&e, 7070, "/other.Svc/Get", NULL), "ns/r/method",
           "method only");
    is_str(go(&e, 7070, "/pkg.Sx/Put", NULL), "ns/r/regex",
           "a regex service");
    ok(go(&e, 7070, "/pkg.Sx/a/Put", NULL) == NULL,
       "a regex does not match across a '/'");
    ok(go(&e, 7070, "/PKG.Svc/Put", NULL) == NULL, "case-sensitive");
    is_str(go(&e, 80, "/pkg.Svc/Get", NULL), "ns/web/all",
           "the HTTPRoute applies where no GRPCRoute is bound");
    ok(strstr(e.fl.last, "HTTPRoute ns/web: Conflicted: GRPCRoute ns/r is "
              "bound to Service ns/svc:7070 too") != NULL,
       "the HTTPRoute is Conflicted on the GRPCRoute's port");
    test_status_kinds(e.snap);

    gm_snapshot_unref(e.snap);
    gm_matcher_destroy(e.matcher);
    gm_store_destroy(e.store);
}


/* the reason of the ResolvedRefs condition of route r's first parentRef */
static const char *
resolved_refs(gm_snapshot_t *snap)
{
    size_t                    i, k;
    gm_status_list_t          list;
    const gm_status_entry_t  *e;

    gm_snapshot_status(snap, &list);

    for (i = 0; i < list.n; i++) {
        e = gm_status_at(&list, i);

        if (strcmp(e->name.data, "r") != 0) {
            continue;
        }

        for (k = 0; k < e->nconds; k++) {
            if (strcmp(e->conds[k].type, "ResolvedRefs") == 0) {
                return e->conds[k].reason;
            }
        }
    }

    return NULL;
}


/* with ReferenceGrants required, a grant must name GRPCRoute as "from" */
static void
test_grant(const char *from_kind, const char *want)
{
    char               grant[512];
    env_t              e;
    gm_log_t           log;
    gm_compile_opts_t  opts;

    memset(&e, 0, sizeof(env_t));
    memset(&opts, 0, sizeof(opts));
    opts.require_grants = 1;
    e.store = gm_store_create();

    gm_store_put(e.store, fx_service("ns", "svc", "10.96.0.1", "grpc:7070"));
    gm_store_put(e.store, fx_service("other", "far", "10.96.0.2",
                                     "grpc:7070"));

    env_put(&e, TEST_ROUTE_HEAD
            "spec:\n"
            "  parentRefs: [{group: '', kind: Service, name: svc}]\n"
            "  rules:\n"
            "  - backendRefs: [{name: far, namespace: other, port: 7070}]\n");

    snprintf(grant, sizeof(grant),
             "apiVersion: gateway.networking.k8s.io/v1beta1\n"
             "kind: ReferenceGrant\n"
             "metadata: {name: g, namespace: other}\n"
             "spec:\n"
             "  from: [{group: gateway.networking.k8s.io, kind: %s, "
             "namespace: ns}]\n"
             "  to: [{group: '', kind: Service}]\n", from_kind);
    env_put(&e, grant);

    log = fx_logger(&e.fl);
    e.snap = gm_snapshot_build_opts(e.store, &log, NULL, &opts);
    ok(e.snap != NULL, "built with ReferenceGrants required");

    if (e.snap != NULL) {
        is_str(resolved_refs(e.snap), want, from_kind);
        gm_snapshot_unref(e.snap);
    }

    gm_store_destroy(e.store);
}


int
main(void)
{
    test_mappings();
    test_rejects();
    test_bad_regex();
    test_precedence();
    test_grant("GRPCRoute", "ResolvedRefs");
    test_grant("HTTPRoute", "RefNotPermitted");

    return done_testing();
}
