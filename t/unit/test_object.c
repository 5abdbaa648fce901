/*
 * nginx-gamma: what gm_object_parse() does for every kind: the one block
 * it returns an object in, the documents it ignores, and odd JSON types
 * in place of every node of good objects (parsed without a crash).
 */


#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "tap_parse.h"


static json_t  *odd_values[9];


/* p is inside obj's one block (or is the shared empty string) */
static int
test_in_block(const gm_object_t *obj, const void *p)
{
    const char  *start, *end;

    start = (const char *) obj;
    end = start + sizeof(gm_object_t) + gm_object_body_size(obj)
          + obj->size;

    return (const char *) p >= start && (const char *) p < end;
}


static int
test_str_in_block(const gm_object_t *obj, const gm_str_t *s)
{
    return s->len == 0 || test_in_block(obj, s->data + s->len);
}


/*
 * The store keeps what gm_object_parse() returns: one allocation holding
 * the object, its kind's body and everything it points to, filled to the
 * byte (structures from its start, strings packed from its end, no
 * arena, no slack).
 */
static void
test_one_block(void)
{
    size_t             i, j, end;
    gm_object_t       *obj;
    gm_http_rule_t    *r;
    gm_httproute_t    *route;
    gm_backend_ref_t  *b;

    obj = test_parse(ROUTE_HEAD
        "spec:\n"
        "  parentRefs: [{kind: Service, name: s, port: 80}]\n"
        "  rules:\n"
        "  - matches:\n"
        "    - path: {type: Exact, value: /a}\n"
        "      headers: [{name: X-A, value: b}]\n"
        "    backendRefs: [{name: s, port: 80, weight: 3}]\n"
        "  - backendRefs:\n"
        "    - {name: s, port: 80}\n"
        "    - {name: t, namespace: other, port: 81}\n");

    ok(obj != NULL, "one block: parsed");
    if (obj == NULL) {
        return;
    }

    route = &obj->body->httproute;

    ok(gm_object_arena(obj) == NULL, "one block: no arena");
    ok((void *) obj->body == (void *) (obj + 1), "one block: the body next");
    is_int(gm_object_body_size(obj), sizeof(gm_httproute_t),
           "one block: the body of an HTTPRoute, not the union");
    ok(test_str_in_block(obj, &route->meta.ns)
       && test_str_in_block(obj, &route->meta.name)
       && test_in_block(obj, route->parents)
       && test_str_in_block(obj, &route->parents[0].name)
       && test_in_block(obj, route->rules),
       "one block: metadata, parentRefs and rules inside");

    end = 0;

    for (i = 0; i < route->nrules; i++) {
        r = &route->rules[i];

        if (i == 1) {
            /* no matches: the default one, shared by all such rules */
            ok(!test_in_block(obj, r->matches) && r->nmatches == 1
               && r->matches[0].path_type == GM_MATCH_PREFIX
               && strcmp(r->matches[0].path.data, "/") == 0
               && test_in_block(obj, r->backends),
               "one block: rule 1's backendRefs inside, its match the "
               "shared PathPrefix /");

        } else {
            ok(test_in_block(obj, r->matches)
               && test_str_in_block(obj, &r->matches[0].path)
               && test_in_block(obj, r->backends),
               "one block: rule %zu's matches and backendRefs inside", i);
        }

        for (j = 0; j < r->nbackends; j++) {
            b = &r->backends[j];
            ok(test_str_in_block(obj, &b->name)
               && test_str_in_block(obj, &b->ns),
               "one block: rule %zu backendRef %zu's names inside", i, j);

            if (b->ns.data + b->ns.len + 1 - (char *) obj > (long) end) {
                end = b->ns.data + b->ns.len + 1 - (char *) obj;
            }
        }
    }

    /* strings fill the block from its end: the first copied ends it */
    is_int(route->meta.name.data + route->meta.name.len + 1 - (char *) obj,
           sizeof(gm_object_t) + gm_object_body_size(obj) + obj->size,
           "one block: filled to the byte");
    ok(end <= sizeof(gm_object_t) + gm_object_body_size(obj) + obj->size,
       "one block: the names inside");

    gm_object_free(obj);
}


static void
test_ignored(void)
{
    int           ignored;
    size_t        i;
    json_t       *j;
    gm_object_t  *obj;

    struct {
        const char  *json;
        const char  *what;
    } cases[] = {
        { "{\"kind\":\"Secret\",\"apiVersion\":\"v1\"}", "Secret" },
        { "{\"kind\":\"HTTPRoute\",\"apiVersion\":"
          "\"gateway.networking.k8s.io/v1alpha2\"}", "HTTPRoute v1alpha2" },
        { "{\"kind\":\"Service\",\"apiVersion\":\"apps/v1\"}",
          "Service of another group" },
        { "{\"kind\":\"Service\"}", "no apiVersion" },
        { "{\"kind\":5,\"apiVersion\":\"v1\"}", "kind not a string" },
        { "[1, 2]", "not an object" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_log_reset();
        j = json_loads(cases[i].json, 0, NULL);
        ignored = 0;
        obj = gm_object_parse(j, &test_logger, &ignored);
        ok(obj == NULL && ignored == 1 && test_lines.n == 0, "%s is ignored",
           cases[i].what);
        json_decref(j);
    }

    test_log_reset();
    ignored = 1;
    j = json_loads("{\"kind\":\"Service\",\"apiVersion\":\"v1\"}", 0, NULL);
    obj = gm_object_parse(j, &test_logger, &ignored);
    ok(obj == NULL && ignored == 0 && test_lines.n == 1,
       "an invalid object is not ignored");
    json_decref(j);

    obj = gm_object_parse(NULL, NULL, NULL);
    ok(obj == NULL, "NULL json, NULL log, NULL ignored");

    is_str(gm_kind_name(GM_KIND_ENDPOINTSLICE), "EndpointSlice", "kind name");
    is_str(gm_kind_name(GM_KIND_MAX), "Unknown", "unknown kind name");
}


/* replaces every node of a good route in turn with odd values */
static void
test_mutate(json_t *root, json_t *node, size_t *runs)
{
    size_t        i, k;
    json_t       *child, *saved;
    const char   *key;
    gm_object_t  *obj;
    void         *tmp;

    json_object_foreach_safe(node, tmp, key, child) {
        saved = json_incref(child);

        for (k = 0; k < sizeof(odd_values) / sizeof(odd_values[0]); k++) {
            json_object_set(node, key, odd_values[k]);
            obj = gm_object_parse(root, &test_logger, NULL);
            gm_object_free(obj);
            (*runs)++;
        }

        json_object_set_new(node, key, saved);
        test_mutate(root, json_object_get(node, key), runs);
    }

    json_array_foreach(node, i, child) {
        saved = json_incref(child);

        for (k = 0; k < sizeof(odd_values) / sizeof(odd_values[0]); k++) {
            json_array_set(node, i, odd_values[k]);
            obj = gm_object_parse(root, &test_logger, NULL);
            gm_object_free(obj);
            (*runs)++;
        }

        json_array_set_new(node, i, saved);
        test_mutate(root, json_array_get(node, i), runs);
    }
}


static void
test_odd_types(void)
{
    size_t   runs, i;
    json_t  *docs, *doc;

    odd_values[0] = json_null();
    odd_values[1] = json_integer(-1);
    odd_values[2] = json_integer(INT64_MAX);
    odd_values[3] = json_real(1e300);
    odd_values[4] = json_string("");
    odd_values[5] = json_string("x\xc3\xa9");
    odd_values[6] = json_array();
    odd_values[7] = json_object();
    odd_values[8] = json_true();

    docs = test_load(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: n, creationTimestamp: "
        "\"2024-01-02T03:04:05Z\"}\n"
        "spec:\n"
        "  parentRefs: [{group: \"\", kind: Service, name: s, port: 80}]\n"
        "  hostnames: [a.b]\n"
        "  rules:\n"
        "  - name: x\n"
        "    matches:\n"
        "    - path: {type: RegularExpression, value: \"/a.*\"}\n"
        "      headers: [{name: h, value: v, type: Exact}]\n"
        "      queryParams: [{name: q, value: v}]\n"
        "      method: GET\n"
        "    filters:\n"
        "    - type: RequestHeaderModifier\n"
        "      requestHeaderModifier: {set: [{name: a, value: b}],\n"
        "                              add: [{name: c, value: d}],\n"
        "                              remove: [e]}\n"
        "    - {type: URLRewrite, urlRewrite: {hostname: h.example,\n"
        "       path: {type: ReplaceFullPath, replaceFullPath: /x}}}\n"
        "    - {type: RequestMirror, requestMirror: {backendRef: {name: m,\n"
        "       port: 1}, fraction: {numerator: 1, denominator: 2}}}\n"
        "    - {type: CORS, cors: {allowOrigins: [\"*\"], maxAge: 3,\n"
        "       allowCredentials: true, allowMethods: [GET],\n"
        "       allowHeaders: [x], exposeHeaders: [y]}}\n"
        "    backendRefs:\n"
        "    - {name: b, port: 80, weight: 3, filters: [{type: "
        "RequestRedirect,\n"
        "       requestRedirect: {scheme: https, port: 443, statusCode: 301,"
        "\n"
        "       hostname: x.y}}]}\n"
        "    timeouts: {request: 10s, backendRequest: 1s}\n"
        "    retry: {codes: [503], attempts: 1, backoff: 100ms}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata: {name: s}\n"
        "spec: {type: ClusterIP, clusterIPs: [1.2.3.4], ports: [{name: a,\n"
        "       port: 1, targetPort: b, protocol: UDP, appProtocol: c}]}\n"
        "---\n"
        "apiVersion: discovery.k8s.io/v1\n"
        "kind: EndpointSlice\n"
        "metadata: {name: s, labels: {kubernetes.io/service-name: s}}\n"
        "addressType: IPv4\n"
        "ports: [{name: a, port: 1}]\n"
        "endpoints: [{addresses: [1.2.3.4], conditions: {ready: true}}]\n");

    ok(docs != NULL && json_array_size(docs) == 3, "odd types: documents");

    test_logger.handler = NULL;
    runs = 0;

    json_array_foreach(docs, i, doc) {
        gm_object_free(gm_object_parse(doc, &test_logger, NULL));
        test_mutate(doc, doc, &runs);
    }

    ok(runs > 1000, "odd types: %zu mutations parsed without a crash", runs);

    for (i = 0; i < sizeof(odd_values) / sizeof(odd_values[0]); i++) {
        json_decref(odd_values[i]);
    }

    json_decref(docs);
}


int
main(void)
{
    test_one_block();
    test_ignored();
    test_odd_types();

    return done_testing();
}
