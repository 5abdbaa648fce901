/*
 * nginx-gamma: unit tests of gm_object_parse() and gm_manifest_parse().
 */


#define _GNU_SOURCE

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "tap.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"
#include "gm_parse_int.h"


#define TEST_MAX_LINES  16

#define ROUTE_HEAD                                                           \
    "apiVersion: gateway.networking.k8s.io/v1\n"                             \
    "kind: HTTPRoute\n"                                                      \
    "metadata: {name: r, namespace: ns}\n"


typedef struct {
    int     n;
    int     level[TEST_MAX_LINES];
    char    line[TEST_MAX_LINES][1024];
} test_log_t;


static test_log_t  test_lines;
static gm_log_t    test_logger = { NULL, &test_lines };
static json_t     *odd_values[9];


static void
test_log_handler(void *data, gm_log_level_e level, const char *msg)
{
    test_log_t  *l;

    l = data;

    if (l->n < TEST_MAX_LINES) {
        l->level[l->n] = level;
        snprintf(l->line[l->n], sizeof(l->line[0]), "%s", msg);
    }

    l->n++;
}


static void
test_log_reset(void)
{
    memset(&test_lines, 0, sizeof(test_lines));
    test_logger.handler = test_log_handler;
}


static void
test_collect(void *data, json_t *doc, size_t index)
{
    (void) index;

    json_array_append(data, doc);
}


static void
test_count(void *data, json_t *doc, size_t index)
{
    (void) doc;
    (void) index;

    (*(int *) data)++;
}


/* the documents of a manifest, or NULL when it fails */
static json_t *
test_load(const char *text)
{
    json_t  *docs;

    docs = json_array();

    if (gm_manifest_parse(text, strlen(text), "test.yaml", test_collect,
                          docs, &test_logger) != 0)
    {
        json_decref(docs);
        return NULL;
    }

    return docs;
}


/* the only document of text as an object; logs are reset first */
static gm_object_t *
test_parse(const char *text)
{
    json_t       *docs;
    gm_object_t  *obj;

    test_log_reset();

    docs = test_load(text);
    if (docs == NULL || json_array_size(docs) != 1) {
        json_decref(docs);
        return NULL;
    }

    obj = gm_object_parse(json_array_get(docs, 0), &test_logger, NULL);
    json_decref(docs);

    return obj;
}


static void
test_reject(const char *text, const char *expected, const char *what)
{
    gm_object_t  *obj;

    obj = test_parse(text);

    ok(obj == NULL, "%s: rejected", what);
    is_int(test_lines.n, 1, "%s: one log line", what);
    is_int(test_lines.level[0], GM_LOG_ERR, "%s: logged as an error", what);
    is_str(test_lines.line[0], expected, "%s: log line", what);

    gm_object_free(obj);
}


static void
test_route_reject(const char *spec, const char *expected, const char *what)
{
    char  *text, *line;

    if (asprintf(&text, ROUTE_HEAD "spec: %s\n", spec) < 0
        || asprintf(&line, "HTTPRoute ns/r rejected: %s", expected) < 0)
    {
        abort();
    }

    test_reject(text, line, what);

    free(text);
    free(line);
}


/* the route stays; its rule 0 is ignored with this reason */
static void
test_rule_ignored(const char *spec, const char *reason)
{
    char         *text, *line;
    gm_object_t  *obj;

    if (asprintf(&text, ROUTE_HEAD "spec: %s\n", spec) < 0
        || asprintf(&line, "HTTPRoute ns/r rule 0 ignored: %s", reason) < 0)
    {
        abort();
    }

    obj = test_parse(text);

    ok(obj != NULL, "%s: the route stays", reason);
    ok(obj && obj->body->httproute.rules[0].invalid,
       "%s: the rule is ignored", reason);
    is_int(test_lines.n, 1, "%s: one log line", reason);
    is_str(test_lines.line[0], line, "%s: log line", reason);

    gm_object_free(obj);
    free(text);
    free(line);
}


/*
 * A NUL is no valid path character.  The parsers refuse NUL in strings,
 * so only a direct call shows it (fuzz_values found it: strchr() matched
 * the NUL that ends the list of valid characters).
 */
static void
test_path_nul(void)
{
    gm_str_t        path;
    gm_parse_ctx_t  ctx;

    memset(&ctx, 0, sizeof(ctx));
    ctx.log = &test_logger;
    ctx.kind = GM_KIND_HTTPROUTE;
    strcpy(ctx.ns, "ns");
    strcpy(ctx.name, "r");

    path.data = "/a\0b";
    path.len = 4;

    test_log_reset();
    is_int(gm_path_value_check(&ctx, &path), -1, "a NUL in a path: refused");
    is_str(test_lines.n ? test_lines.line[0] : NULL,
           "HTTPRoute ns/r rejected: value: has an invalid character at "
           "offset 2", "a NUL in a path: log line");
}


static void
test_durations(void)
{
    test_rule_ignored("{rules: [{timeouts: {request: 1d}}]}",
                      "timeouts.request: \"1d\" is not a duration such as "
                      "\"1h30m\", \"10s\" or \"500ms\" (GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {request: \"1\"}}]}",
                      "timeouts.request: \"1\" is not a duration such as "
                      "\"1h30m\", \"10s\" or \"500ms\" (GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {request: 999999h}}]}",
                      "timeouts.request: \"999999h\" is not a duration "
                      "such as \"1h30m\", \"10s\" or \"500ms\" "
                      "(GEP-2257)");
    /* 20 digits: refused, not an overflow (fuzz_watch found it) */
    test_rule_ignored("{rules: [{timeouts: {request: "
                      "22222222222222222222s}}]}",
                      "timeouts.request: \"22222222222222222222s\" is not a "
                      "duration such as \"1h30m\", \"10s\" or \"500ms\" "
                      "(GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {request: 1h1m1s1ms1h}}]}",
                      "timeouts.request: \"1h1m1s1ms1h\" is not a duration "
                      "such as \"1h30m\", \"10s\" or \"500ms\" "
                      "(GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {backendRequest: 1.5s}}]}",
                      "timeouts.backendRequest: \"1.5s\" is not a duration "
                      "such as \"1h30m\", \"10s\" or \"500ms\" "
                      "(GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {request: 1s, "
                      "backendRequest: 1001ms}}]}",
                      "timeouts.backendRequest: must not be longer than "
                      "timeouts.request");
    test_rule_ignored("{rules: [{retry: {backoff: -1s}}]}",
                      "retry.backoff: \"-1s\" is not a duration such as "
                      "\"1h30m\", \"10s\" or \"500ms\" (GEP-2257)");
}


/* "[x, x, ...]" with %d in fmt replaced by the index */
static char *
test_list(const char *fmt, int n)
{
    int     i;
    char   *buf, *p;
    size_t  size;

    size = (strlen(fmt) + 16) * (n + 1) + 4;
    buf = malloc(size);
    p = buf;
    *p++ = '[';

    for (i = 0; i < n; i++) {
        p += sprintf(p, i ? ", " : "");
        p += sprintf(p, fmt, i);
    }

    strcpy(p, "]");

    return buf;
}


static char *
test_string(char c, size_t n)
{
    char  *s;

    s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';

    return s;
}


static void
test_service(void)
{
    gm_object_t        *obj;
    gm_service_t       *svc;
    gm_service_port_t  *p;

    obj = test_parse(
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata:\n"
        "  name: web\n"
        "  namespace: shop\n"
        "  uid: 9b1d7f0e\n"
        "  resourceVersion: \"4810\"\n"
        "  creationTimestamp: \"2024-01-02T03:04:05Z\"\n"
        "spec:\n"
        "  type: ClusterIP\n"
        "  clusterIP: 10.96.12.34\n"
        "  clusterIPs: [10.96.12.34, \"fd00::1\"]\n"
        "  ports:\n"
        "  - name: http\n"
        "    port: 80\n"
        "    targetPort: 8080\n"
        "    appProtocol: http\n"
        "  - name: grpc\n"
        "    protocol: TCP\n"
        "    port: 9090\n"
        "    targetPort: grpc-port\n"
        "    appProtocol: kubernetes.io/h2c\n"
        "  - {name: dns, protocol: UDP, port: 9090, targetPort: \"53\"}\n");

    ok(obj != NULL, "service: parsed");
    if (obj == NULL) {
        return;
    }

    svc = &obj->body->service;

    is_int(svc->meta.kind, GM_KIND_SERVICE, "service: kind");
    is_str(svc->meta.ns.data, "shop", "service: namespace");
    is_str(svc->meta.name.data, "web", "service: name");
    is_str(svc->meta.resource_version, "4810", "service: rv");
    is_int(svc->meta.created, 1704164645, "service: creationTimestamp");
    is_int(svc->type, GM_SERVICE_CLUSTER_IP, "service: type");
    is_int(svc->headless, 0, "service: not headless");
    is_int(svc->ncluster_ips, 2, "service: two cluster IPs");
    is_int(svc->cluster_ips[0].family, AF_INET, "service: IPv4 first");
    is_int(svc->cluster_ips[0].addr[0], 10, "service: 10.x");
    is_int(svc->cluster_ips[1].family, AF_INET6, "service: IPv6 second");
    is_int(svc->nports, 3, "service: three ports");

    p = &svc->ports[0];
    is_str(p->name.data, "http", "service: port name");
    is_int(p->port, 80, "service: port");
    is_int(p->target_port, 8080, "service: numeric targetPort");
    is_str(p->target_port_name, "", "service: no named targetPort");
    is_int(p->protocol, GM_PROTOCOL_TCP,
           "service: protocol defaults to TCP");
    is_str(p->app_protocol, "http", "service: appProtocol");

    p = &svc->ports[1];
    is_int(p->target_port, 0, "service: named targetPort has no number");
    is_str(p->target_port_name, "grpc-port", "service: named targetPort");

    p = &svc->ports[2];
    is_int(p->target_port, 53, "service: quoted targetPort read as a number");
    is_int(p->protocol, GM_PROTOCOL_UDP,
           "service: UDP on a TCP port number");
    is_int(test_lines.n, 0, "service: nothing logged");

    gm_object_free(obj);

    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: h}\n"
                     "spec: {clusterIP: None, ports: [{port: 80}]}\n");
    ok(obj && obj->body->service.headless, "service: None is headless");
    ok(obj && obj->body->service.ncluster_ips == 0, "service: no IPs");
    ok(obj && strcmp(obj->body->meta.ns.data, "default") == 0,
       "service: namespace defaults to default");
    ok(obj && obj->body->meta.created == 0, "service: no timestamp is 0");
    ok(obj && obj->body->service.ports[0].name.len == 0
       && obj->body->service.ports[0].name.data != NULL,
       "service: unnamed port is an empty string");
    gm_object_free(obj);

    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: x, "
                     "creationTimestamp: \"2024-01-02T05:04:05.5+02:00\"}\n"
                     "spec: {type: ExternalName, externalName: a.b}\n");
    ok(obj && obj->body->service.type == GM_SERVICE_EXTERNAL_NAME,
       "service: ExternalName");
    ok(obj && obj->body->meta.created == 1704164645,
       "service: timestamp with fraction and offset");
    gm_object_free(obj);

    /* 32 bits of seconds: the times outside them keep their order */
    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: x, "
                     "creationTimestamp: \"1969-12-31T23:59:59Z\"}\n"
                     "spec: {type: ExternalName, externalName: a.b}\n");
    ok(obj && obj->body->meta.created == 0, "service: before 1970 is 0");
    gm_object_free(obj);

    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: x, "
                     "creationTimestamp: \"2106-02-07T06:28:16Z\"}\n"
                     "spec: {type: ExternalName, externalName: a.b}\n");
    ok(obj && obj->body->meta.created == UINT32_MAX,
       "service: after 2106-02-07T06:28:15Z is the last second");
    gm_object_free(obj);

    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: x, "
                     "creationTimestamp: \"2106-02-07T06:28:15Z\"}\n"
                     "spec: {type: ExternalName, externalName: a.b}\n");
    ok(obj && obj->body->meta.created == UINT32_MAX,
       "service: 2106-02-07T06:28:15Z is UINT32_MAX");
    gm_object_free(obj);
}


static void
test_service_reject(void)
{
    size_t       i;
    char         text[512], line[512];
    const char  *h;

    struct {
        const char  *body;
        const char  *line;
    } cases[] = {
        { "metadata: {name: s, namespace: Bad_Ns}\n",
          "Service Bad_Ns/s rejected: metadata.namespace: must be a "
          "lowercase RFC 1123 label" },
        { "metadata: {name: s, creationTimestamp: yesterday}\n",
          "Service default/s rejected: metadata.creationTimestamp: must be "
          "an RFC 3339 time" },
        { "metadata: {name: s}\nspec: {ports: [{port: 0}]}\n",
          "Service default/s rejected: spec.ports[0].port: must be between 1 "
          "and 65535" },
        { "metadata: {name: s}\nspec: {ports: [{port: 65536}]}\n",
          "Service default/s rejected: spec.ports[0].port: must be between 1 "
          "and 65535" },
        { "metadata: {name: s}\nspec: {ports: [{name: a}]}\n",
          "Service default/s rejected: spec.ports[0].port: is required" },
        { "metadata: {name: s}\nspec: {ports: [{name: a, port: 1}, "
          "{port: 2}]}\n",
          "Service default/s rejected: spec.ports[1].name: is required when "
          "the Service has several ports" },
        { "metadata: {name: s}\nspec: {ports: [{name: a, port: 1}, "
          "{name: a, port: 2}]}\n",
          "Service default/s rejected: spec.ports[1].name: duplicate port "
          "name" },
        { "metadata: {name: s}\nspec: {ports: [{name: a, port: 1}, "
          "{name: b, port: 1, protocol: TCP}]}\n",
          "Service default/s rejected: spec.ports[1].port: duplicate port "
          "and protocol" },
        { "metadata: {name: s}\nspec: {ports: [{port: 1, targetPort: "
          "\"99999\"}]}\n",
          "Service default/s rejected: spec.ports[0].targetPort: must be "
          "between 1 and 65535" },
        { "metadata: {name: s}\nspec: {ports: [{port: 1, targetPort: "
          "Bad_Port}]}\n",
          "Service default/s rejected: spec.ports[0].targetPort: must be an "
          "IANA service name" },
        { "metadata: {name: s}\nspec: {ports: [{port: 1, targetPort: "
          "[1]}]}\n",
          "Service default/s rejected: spec.ports[0].targetPort: must be an "
          "integer or a string" },
        { "metadata: {name: s}\nspec: {ports: [{port: 1, protocol: "
          "HTTP}]}\n",
          "Service default/s rejected: spec.ports[0].protocol: unsupported "
          "value \"HTTP\"" },
        { "metadata: {name: s}\nspec: {clusterIP: banana}\n",
          "Service default/s rejected: spec.clusterIP: must be a valid IP "
          "address" },
        { "metadata: {name: s}\nspec: {clusterIPs: [1.2.3.4, None]}\n",
          "Service default/s rejected: spec.clusterIPs[1]: \"None\" must be "
          "the only entry" },
        { "metadata: {name: s}\nspec: {type: Mesh}\n",
          "Service default/s rejected: spec.type: unsupported value "
          "\"Mesh\"" },
        { "metadata: {name: s}\nspec: [1]\n",
          "Service default/s rejected: spec: must be an object" },
        { "metadata: {name: s, uid: [1]}\n",
          "Service default/s rejected: metadata.uid: must be a string" },
        { "metadata: {name: \"a\\nb\"}\n",
          "Service default/a?b rejected: metadata.name: must be a lowercase "
          "RFC 1123 subdomain" },
    };

    h = "apiVersion: v1\nkind: Service\n";

    test_reject("apiVersion: v1\nkind: Service\nmetadata: {namespace: a}\n",
                "Service a/? rejected: metadata.name: is required",
                "service without a name");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", h, cases[i].body);
        test_reject(text, cases[i].line, cases[i].line);
    }

    /* a long name is cut in the log line */
    snprintf(text, sizeof(text), "%smetadata: {name: \"%0300d\"}\n", h, 0);
    snprintf(line, sizeof(line), "Service default/%068d... rejected: "
             "metadata.name: must be at most 253 characters", 0);
    test_reject(text, line, "long name cut in the log line");
}


static void
test_endpointslice(void)
{
    gm_object_t         *obj;
    gm_endpointslice_t  *eps;

    obj = test_parse(
        "{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
        " \"metadata\":{\"name\":\"web-q8d2m\",\"namespace\":\"shop\","
        "  \"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
        " \"addressType\":\"IPv4\","
        " \"endpoints\":["
        "  {\"addresses\":[\"10.244.1.7\"],\"conditions\":{\"ready\":true,"
        "   \"serving\":true,\"terminating\":false}},"
        "  {\"addresses\":[\"10.244.2.9\"],\"conditions\":{\"ready\":false,"
        "   \"serving\":true,\"terminating\":true}},"
        "  {\"addresses\":[\"10.244.3.4\"],\"conditions\":{}},"
        "  {\"addresses\":[\"10.244.3.5\"]}],"
        " \"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080},"
        "  {\"name\":\"\",\"port\":null}]}");

    ok(obj != NULL, "endpointslice: parsed");
    if (obj == NULL) {
        return;
    }

    eps = &obj->body->endpointslice;

    is_str(eps->service_name.data, "web", "endpointslice: service name");
    is_int(eps->family, AF_INET, "endpointslice: IPv4");
    is_int(eps->nports, 2, "endpointslice: ports");
    is_str(eps->ports[0].name.data, "http", "endpointslice: port name");
    is_int(eps->ports[0].port, 8080, "endpointslice: port");
    is_int(eps->ports[1].port, 0, "endpointslice: null port is 0");
    is_int(eps->nendpoints, 4, "endpointslice: endpoints");
    is_int(eps->endpoints[0].naddrs, 1, "endpointslice: addresses");
    is_int(eps->endpoints[0].addrs[0].addr[3], 7, "endpointslice: address");
    ok(eps->endpoints[0].ready && eps->endpoints[0].serving
       && !eps->endpoints[0].terminating, "endpointslice: ready");
    ok(!eps->endpoints[1].ready && eps->endpoints[1].serving
       && eps->endpoints[1].terminating, "endpointslice: terminating");
    ok(eps->endpoints[2].ready && eps->endpoints[2].serving
       && !eps->endpoints[2].terminating,
       "endpointslice: empty conditions read as ready");
    ok(eps->endpoints[3].ready, "endpointslice: no conditions is ready");

    gm_object_free(obj);

    obj = test_parse("kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\n"
                     "metadata: {name: a, labels: "
                     "{kubernetes.io/service-name: b}}\n"
                     "addressType: IPv6\nendpoints: [{addresses: ['fd00::7']}]"
                     "\n");
    ok(obj && obj->body->endpointslice.family == AF_INET6,
       "endpointslice: IPv6");
    gm_object_free(obj);
}


static void
test_endpointslice_reject(void)
{
    size_t       i;
    char         text[512];
    const char  *h;

    struct {
        const char  *body;
        const char  *line;
    } cases[] = {
        { "addressType: FQDN\n",
          "EndpointSlice n/a rejected: addressType: FQDN is not supported" },
        { "endpoints: []\n",
          "EndpointSlice n/a rejected: addressType: is required" },
        { "addressType: IPv4\nendpoints: [{addresses: ['fd00::1']}]\n",
          "EndpointSlice n/a rejected: endpoints[0].addresses[0]: must be an "
          "IPv4 address" },
        { "addressType: IPv4\nendpoints: [{addresses: []}]\n",
          "EndpointSlice n/a rejected: endpoints[0].addresses: must have at "
          "least 1 item" },
        { "addressType: IPv4\nendpoints: [{addresses: [1.1.1.1], "
          "conditions: {ready: \"yes\"}}]\n",
          "EndpointSlice n/a rejected: endpoints[0].conditions.ready: must "
          "be a boolean" },
        { "addressType: IPv4\nports: [{port: -1}]\n",
          "EndpointSlice n/a rejected: ports[0].port: must be between 1 and "
          "65535" },
    };

    h = "kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\n"
        "metadata: {name: a, namespace: n, labels: "
        "{kubernetes.io/service-name: b}}\n";

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", h, cases[i].body);
        test_reject(text, cases[i].line, cases[i].line);
    }

    test_reject("kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\n"
                "metadata: {name: a, namespace: n, labels: {app: b}}\n"
                "addressType: IPv4\n",
                "EndpointSlice n/a rejected: "
                "metadata.labels.kubernetes.io/service-name: is required",
                "endpointslice without its service label");
}


static void
test_route(void)
{
    gm_object_t               *obj;
    gm_http_rule_t            *r;
    gm_httproute_t            *route;
    gm_http_match_t           *m;
    gm_parent_ref_t           *p;
    gm_backend_ref_t          *b;
    const gm_filter_t         *f;
    const gm_http_rule_ext_t  *ext;

    obj = test_parse(
        "apiVersion: gateway.networking.k8s.io/v1beta1\n"
        "kind: HTTPRoute\n"
        "metadata:\n"
        "  name: smiley-route\n"
        "  namespace: faces\n"
        "spec:\n"
        "  parentRefs:\n"
        "  - name: gw\n"
        "  - {group: \"\", kind: Service, name: smiley, port: 80}\n"
        "  - {group: \"\", kind: Service, name: smiley, namespace: other,\n"
        "     sectionName: http}\n"
        "  hostnames: [\"*.example.com\"]\n"
        "  rules:\n"
        "  - backendRefs: [{name: smiley, port: 80}]\n"
        "  - name: canary\n"
        "    matches:\n"
        "    - path: {type: Exact, value: /api}\n"
        "      method: GET\n"
        "      headers:\n"
        "      - {name: X-Canary, value: \"1\"}\n"
        "      - {name: x-canary, value: \"2\"}\n"
        "      - {type: RegularExpression, name: X-Re, value: \"^a+$\"}\n"
        "      queryParams:\n"
        "      - {name: q, value: a}\n"
        "      - {name: Q, value: b}\n"
        "      - {name: q, value: c}\n"
        "    - headers: [{name: a, value: b}]\n"
        "    filters:\n"
        "    - type: RequestHeaderModifier\n"
        "      requestHeaderModifier: {set: [{name: x-a, value: b}]}\n"
        "    backendRefs:\n"
        "    - name: smiley2\n"
        "      namespace: faces2\n"
        "      port: 8080\n"
        "      weight: 0\n"
        "      filters:\n"
        "      - type: ResponseHeaderModifier\n"
        "        responseHeaderModifier: {remove: [x-b]}\n"
        "    - {group: example.com, kind: Thing, name: t}\n"
        "    timeouts: {request: 1h30m, backendRequest: 500ms}\n"
        "    retry: {codes: [500, 503], attempts: 2, backoff: 1s}\n"
        "  - timeouts: {request: 0s, backendRequest: 10s}\n"
        "    matches: [{path: {type: PathPrefix, value: \"/p%20q\"}}]\n"
        "    filters:\n"
        "    - type: URLRewrite\n"
        "      urlRewrite: {path: {type: ReplacePrefixMatch,\n"
        "                          replacePrefixMatch: /}}\n"
        "    - {type: RequestMirror, requestMirror: {backendRef: {name: m,\n"
        "       port: 1}, fraction: {numerator: 1}}}\n"
        "    - {type: RequestMirror, requestMirror: {backendRef: {name: m,\n"
        "       port: 2}, percent: 50}}\n");

    ok(obj != NULL, "route: parsed");
    if (obj == NULL) {
        return;
    }

    route = &obj->body->httproute;
    is_int(test_lines.n, 0, "route: nothing logged");
    is_str(route->meta.ns.data, "faces", "route: namespace");
    is_int(route->nparents, 3, "route: parentRefs");

    p = &route->parents[0];
    is_str(p->gk->group.data, "gateway.networking.k8s.io",
           "route: group default");
    is_str(p->gk->kind.data, "Gateway", "route: kind default");
    ok(p->gk == &gm_group_kind_gateway,
       "route: a Gateway's group and kind are the shared pair");
    is_str(p->ns.data, "faces", "route: parent namespace default");
    is_str(p->section_name, "", "route: no sectionName");
    is_int(p->port, 0, "route: no port");

    p = &route->parents[1];
    is_str(p->gk->group.data, "", "route: core group");
    is_str(p->gk->kind.data, "Service", "route: Service parent");
    is_int(p->port, 80, "route: parent port");

    p = &route->parents[2];
    is_str(p->ns.data, "other", "route: parent namespace");
    is_str(p->section_name, "http", "route: sectionName");

    is_int(route->nrules, 3, "route: rules");

    r = &route->rules[0];
    is_int(r->nmatches, 1, "route: default match");
    is_int(r->matches[0].path_type, GM_MATCH_PREFIX, "route: PathPrefix");
    is_str(r->matches[0].path.data, "/", "route: /");
    is_str(gm_http_method_name(r->matches[0].method), "", "route: no method");
    ext = gm_http_rule_ext(r);
    ok(r->ext == NULL, "route: nothing out of line when nothing is set");
    is_int(ext->timeout_request_ms, GM_DURATION_UNSET, "route: no timeout");
    is_int(ext->retry_backoff_ms, GM_DURATION_UNSET, "route: no backoff");
    is_int(ext->has_retry, 0, "route: no retry");
    is_str(ext->name.data, "", "route: unnamed rule");

    b = &r->backends[0];
    is_str(b->gk->group.data, "", "route: backend group default");
    is_str(b->gk->kind.data, "Service", "route: backend kind default");
    ok(b->gk == &gm_group_kind_service,
       "route: a Service's group and kind are the shared pair");
    is_str(b->ns.data, "faces", "route: backend namespace default");
    is_int(b->weight, 1, "route: weight default");
    is_int(b->port, 80, "route: backend port");

    r = &route->rules[1];
    is_str(gm_http_rule_ext(r)->name.data, "canary", "route: rule name");
    is_int(r->nmatches, 2, "route: two matches");

    m = &r->matches[0];
    is_int(m->path_type, GM_MATCH_EXACT, "route: Exact");
    is_str(m->path.data, "/api", "route: path");
    is_str(gm_http_method_name(m->method), "GET", "route: method");
    is_int(m->nheaders, 2, "route: duplicate header dropped");
    is_str(m->headers[0].name.data, "x-canary", "route: header lowercased");
    is_str(m->headers[0].value.data, "1", "route: first header wins");
    is_int(m->headers[0].type, GM_MATCH_EXACT, "route: header Exact");
    is_int(m->headers[1].type, GM_MATCH_REGEX, "route: header regex");
    is_int(m->nquery, 2, "route: duplicate query dropped");
    is_str(m->query[0].value.data, "a", "route: first query wins");
    is_str(m->query[1].name.data, "Q", "route: query is case-sensitive");

    m = &r->matches[1];
    is_int(m->path_type, GM_MATCH_PREFIX, "route: match path default");
    is_str(m->path.data, "/", "route: match path value default");

    is_int(r->nfilters, 1, "route: rule filter");
    is_int(r->filters[0].type, GM_FILTER_REQUEST_HEADER_MODIFIER,
           "route: filter type");
    is_int(r->filters[0].u.header.nset, 1, "route: filter typed: set");
    is_str(r->filters[0].u.header.set[0].name.data, "x-a",
           "route: filter typed: set name");
    is_str(r->filters[0].u.header.set[0].value.data, "b",
           "route: filter typed: set value");
    is_int(r->filters[0].u.header.nadd + r->filters[0].u.header.nremove, 0,
           "route: filter typed: no add, no remove");

    b = &r->backends[0];
    is_str(b->ns.data, "faces2", "route: backend namespace");
    is_int(b->weight, 0, "route: weight 0");
    is_int(b->nfilters, 1, "route: backend filter");
    is_int(b->filters[0].type, GM_FILTER_RESPONSE_HEADER_MODIFIER,
           "route: backend filter type");
    is_int(b->filters[0].u.header.nremove, 1, "route: remove typed");
    is_str(b->filters[0].u.header.remove[0].name.data, "x-b",
           "route: remove name");
    is_str(b->filters[0].u.header.remove[0].value.data, "",
           "route: remove has no value");

    b = &r->backends[1];
    is_str(b->gk->group.data, "example.com", "route: other group");
    ok(b->gk != &gm_group_kind_service, "route: another pair is its own");
    is_int(b->port, 0, "route: no port needed for other kinds");

    ext = gm_http_rule_ext(r);
    is_int(ext->timeout_request_ms, 5400000, "route: request timeout");
    is_int(ext->timeout_backend_ms, 500, "route: backend timeout");
    is_int(ext->has_retry, 1, "route: retry");
    is_int(ext->retry_attempts, 2, "route: attempts");
    is_int(ext->retry_backoff_ms, 1000, "route: backoff");
    is_int(ext->nretry_codes, 2, "route: retry codes");
    is_int(ext->retry_codes[1], 503, "route: retry code");

    r = &route->rules[2];
    is_str(r->matches[0].path.data, "/p%20q", "route: escapes in paths");
    ext = gm_http_rule_ext(r);
    is_int(ext->timeout_request_ms, 0, "route: 0s disables");
    is_int(ext->timeout_backend_ms, 10000, "route: backendRequest past 0s");
    is_int(r->nfilters, 3, "route: RequestMirror may repeat");
    is_int(r->invalid, 0, "route: rule valid");

    f = &r->filters[0];
    is_int(f->u.rewrite.path.type, GM_PATH_PREFIX, "route: rewrite typed");
    is_str(f->u.rewrite.path.value.data, "/", "route: rewrite value");
    is_str(f->u.rewrite.hostname.data, "", "route: rewrite no hostname");

    f = &r->filters[1];
    is_str(f->u.mirror.backend.gk->kind.data, "Service",
           "route: mirror kind default");
    is_str(f->u.mirror.backend.ns.data, "faces",
           "route: mirror namespace default");
    is_str(f->u.mirror.backend.name.data, "m", "route: mirror name");
    is_int(f->u.mirror.backend.port, 1, "route: mirror port");
    is_int(f->u.mirror.numerator, 1, "route: fraction numerator");
    is_int(f->u.mirror.denominator, 100, "route: fraction denominator 100");

    f = &r->filters[2];
    is_int(f->u.mirror.numerator, 50, "route: percent numerator");
    is_int(f->u.mirror.denominator, 100, "route: percent out of 100");

    gm_object_free(obj);
}


/* equal names of one object are one copy; a shared copy is never written */
static void
test_route_names_shared(void)
{
    gm_object_t         *obj;
    gm_httproute_t      *route;
    gm_http_rule_t      *r;
    gm_parent_ref_t     *p;
    gm_kv_match_t       *h;

    obj = test_parse(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: ns-1}\n"
        "spec:\n"
        "  parentRefs:\n"
        "  - {group: \"\", kind: Service, name: x-a, port: 80}\n"
        "  rules:\n"
        "  - matches:\n"
        "    - headers:\n"
        "      - {name: X-A, value: \"1\"}\n"
        "      queryParams:\n"
        "      - {name: x-a, value: \"2\"}\n"
        "    backendRefs:\n"
        "    - {name: x-a, namespace: ns-1, port: 80}\n"
        "    - {name: x-b, namespace: ns-2, port: 80}\n"
        "    - {name: x-b, namespace: ns-2, port: 81}\n");

    ok(obj != NULL, "shared names: parsed");
    if (obj == NULL) {
        return;
    }

    route = &obj->body->httproute;
    p = &route->parents[0];
    r = &route->rules[0];
    h = &r->matches[0].headers[0];

    is_str(p->name.data, "x-a", "shared names: parent");
    ok(r->backends[0].name.data == p->name.data,
       "shared names: a backend named as the parent is its copy");
    ok(r->backends[0].ns.data == route->meta.ns.data,
       "shared names: a namespace written out is the route's copy");
    ok(r->backends[2].name.data == r->backends[1].name.data
       && r->backends[2].ns.data == r->backends[1].ns.data,
       "shared names: backends of one Service share theirs");
    is_str(r->backends[1].ns.data, "ns-2", "shared names: other namespace");
    is_str(p->gk->kind.data, "Service", "shared names: kind written out");
    is_str(h->name.data, "x-a", "shared names: header name lowercased");
    is_str(r->matches[0].query[0].name.data, "x-a",
           "shared names: query name as written");
    is_str(p->name.data, "x-a", "shared names: parent name unchanged");

    gm_object_free(obj);
}


static void
test_route_reject_all(void)
{
    size_t        i;
    char         *a, *b, spec[8192];
    gm_object_t  *obj;

    struct {
        const char  *spec;
        const char  *line;
    } cases[] = {
        { "{rules: [{matches: [{path: {type: Exact, value: foo}}]}]}",
          "spec.rules[0].matches[0].path.value: must start with \"/\"" },
        { "{rules: [{matches: [{path: {value: /a//b}}]}]}",
          "spec.rules[0].matches[0].path.value: must not contain \"//\"" },
        { "{rules: [{matches: [{path: {value: /a/../b}}]}]}",
          "spec.rules[0].matches[0].path.value: must not contain \"/../\"" },
        { "{rules: [{matches: [{path: {value: /a%2Fb}}]}]}",
          "spec.rules[0].matches[0].path.value: must not contain \"%2F\"" },
        { "{rules: [{matches: [{path: {value: /a/..}}]}]}",
          "spec.rules[0].matches[0].path.value: must not end with \"/.\" or "
          "\"/..\"" },
        { "{rules: [{matches: [{path: {value: \"/a b\"}}]}]}",
          "spec.rules[0].matches[0].path.value: has an invalid character at "
          "offset 2" },
        { "{rules: [{matches: [{path: {value: \"/a%zz\"}}]}]}",
          "spec.rules[0].matches[0].path.value: has an invalid character at "
          "offset 2" },
        { "{rules: [{matches: [{path: {type: Prefix}}]}]}",
          "spec.rules[0].matches[0].path.type: unsupported value "
          "\"Prefix\"" },
        { "{rules: [{matches: [{method: FETCH}]}]}",
          "spec.rules[0].matches[0].method: unsupported value \"FETCH\"" },
        { "{rules: []}", "spec.rules: must have at least 1 item" },
        { "{rules: 5}", "spec.rules: must be an array" },
        { "{rules: [5]}", "spec.rules[0]: must be an object" },
        { "{rules: [{matches: [{path: []}]}]}",
          "spec.rules[0].matches[0].path: must be an object" },
        { "{rules: [{matches: [{headers: [{name: \"a b\", value: c}]}]}]}",
          "spec.rules[0].matches[0].headers[0].name: must be a valid HTTP "
          "header name" },
        { "{rules: [{matches: [{headers: [{name: a}]}]}]}",
          "spec.rules[0].matches[0].headers[0].value: is required" },
        { "{rules: [{matches: [{headers: [{name: a, value: \"\"}]}]}]}",
          "spec.rules[0].matches[0].headers[0].value: must not be empty" },
        { "{rules: [{matches: [{headers: [{value: a}]}]}]}",
          "spec.rules[0].matches[0].headers[0].name: is required" },
        { "{rules: [{matches: [{headers: [{name: a, value: b, "
          "type: Prefix}]}]}]}",
          "spec.rules[0].matches[0].headers[0].type: unsupported value "
          "\"Prefix\"" },
        { "{rules: [{matches: [{queryParams: [{name: \":q\", value: b}]}]}]}",
          "spec.rules[0].matches[0].queryParams[0].name: must be a valid "
          "HTTP header name" },
        { "{parentRefs: [{namespace: a}]}",
          "spec.parentRefs[0].name: is required" },
        { "{parentRefs: [{name: a, namespace: Bad}]}",
          "spec.parentRefs[0].namespace: must be a lowercase RFC 1123 "
          "label" },
        { "{parentRefs: [{name: a, group: Core}]}",
          "spec.parentRefs[0].group: must be empty or a lowercase RFC 1123 "
          "subdomain" },
        { "{parentRefs: [{name: a, kind: 1Service}]}",
          "spec.parentRefs[0].kind: must start with a letter and hold only "
          "letters, digits and '-'" },
        { "{parentRefs: [{name: a, sectionName: Http}]}",
          "spec.parentRefs[0].sectionName: must be a lowercase RFC 1123 "
          "subdomain" },
        { "{parentRefs: [{name: a, port: 0}]}",
          "spec.parentRefs[0].port: must be between 1 and 65535" },
        { "{parentRefs: [{name: a, port: 80}, {name: a}]}",
          "spec.parentRefs[1]: sectionName or port must be specified when "
          "parentRefs includes 2 or more references to the same parent" },
        { "{parentRefs: [{name: a, port: 80}, {name: a, port: 80}]}",
          "spec.parentRefs[1]: sectionName or port must be unique when "
          "parentRefs includes 2 or more references to the same parent" },
        { "{hostnames: [1.2.3.4]}",
          "spec.hostnames[0]: must not be an IP address" },
        { "{hostnames: [Foo.com]}",
          "spec.hostnames[0]: must be a lowercase RFC 1123 hostname, "
          "optionally prefixed by \"*.\"" },
        { "{rules: [{backendRefs: [{name: a}]}]}",
          "spec.rules[0].backendRefs[0].port: is required for a Service "
          "reference" },
        { "{rules: [{backendRefs: [{port: 1}]}]}",
          "spec.rules[0].backendRefs[0].name: is required" },
        { "{rules: [{backendRefs: [{name: a, port: 1, weight: -1}]}]}",
          "spec.rules[0].backendRefs[0].weight: must be between 0 and "
          "1000000" },
        { "{rules: [{backendRefs: [{name: a, port: 1, weight: 1000001}]}]}",
          "spec.rules[0].backendRefs[0].weight: must be between 0 and "
          "1000000" },
        { "{rules: [{backendRefs: [{name: a, port: 1, weight: \"5\"}]}]}",
          "spec.rules[0].backendRefs[0].weight: must be an integer" },
        { "{rules: [{backendRefs: [{name: a, port: 1, weight: 1.5}]}]}",
          "spec.rules[0].backendRefs[0].weight: must be an integer" },
        { "{rules: [{filters: [{type: RequestHeaderModifier}]}]}",
          "spec.rules[0].filters[0].requestHeaderModifier: must be set when "
          "type is RequestHeaderModifier" },
        { "{rules: [{filters: [{type: CORS, cors: {}, urlRewrite: {}}]}]}",
          "spec.rules[0].filters[0].urlRewrite: must be unset when type is "
          "CORS" },
        { "{rules: [{filters: [{type: Rewrite}]}]}",
          "spec.rules[0].filters[0].type: unsupported value \"Rewrite\"" },
        { "{rules: [{filters: [{requestRedirect: {}}]}]}",
          "spec.rules[0].filters[0].type: is required" },
        { "{rules: [{filters: [{type: RequestRedirect, requestRedirect: {}}],"
          " backendRefs: [{name: a, port: 1}]}]}",
          "spec.rules[0]: RequestRedirect filter must not be used together "
          "with backendRefs" },
        { "{rules: [{filters: [{type: RequestRedirect, requestRedirect: "
          "{statusCode: 304}}]}]}",
          "spec.rules[0].filters[0].requestRedirect.statusCode: unsupported "
          "value 304" },
        { "{rules: [{filters: [{type: RequestRedirect, requestRedirect: "
          "{scheme: ftp}}]}]}",
          "spec.rules[0].filters[0].requestRedirect.scheme: unsupported "
          "value \"ftp\"" },
        { "{rules: [{matches: [{path: {type: Exact, value: /a}}], "
          "filters: [{type: URLRewrite, urlRewrite: {path: {type: "
          "ReplacePrefixMatch, replacePrefixMatch: /b}}}]}]}",
          "spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch: "
          "URLRewrite with replacePrefixMatch needs exactly one PathPrefix "
          "match in the rule" },
        { "{rules: [{filters: [{type: URLRewrite, urlRewrite: {path: {type: "
          "ReplaceFullPath, replacePrefixMatch: /b}}}]}]}",
          "spec.rules[0].filters[0].urlRewrite.path: the value set must be "
          "the one of type (replaceFullPath or replacePrefixMatch)" },
        { "{rules: [{filters: [{type: RequestHeaderModifier, "
          "requestHeaderModifier: {set: [{name: a}]}}]}]}",
          "spec.rules[0].filters[0].requestHeaderModifier.set[0].value: is "
          "required" },
        { "{rules: [{filters: [{type: RequestMirror, requestMirror: {}}]}]}",
          "spec.rules[0].filters[0].requestMirror.backendRef: is required" },
        { "{rules: [{filters: [{type: RequestMirror, requestMirror: "
          "{backendRef: {name: a, port: 1}, percent: 5, fraction: "
          "{numerator: 1}}}]}]}",
          "spec.rules[0].filters[0].requestMirror: only one of percent or "
          "fraction may be specified" },
        { "{rules: [{filters: [{type: RequestMirror, requestMirror: "
          "{backendRef: {name: a, port: 1}, fraction: {numerator: 3, "
          "denominator: 2}}}]}]}",
          "spec.rules[0].filters[0].requestMirror.fraction.numerator: must "
          "be less than or equal to denominator" },
        { "{rules: [{filters: [{type: CORS, cors: {allowMethods: [GET, "
          "\"*\"]}}]}]}",
          "spec.rules[0].filters[0].cors.allowMethods: cannot contain \"*\" "
          "alongside other values" },
        { "{rules: [{filters: [{type: CORS, cors: {maxAge: 0}}]}]}",
          "spec.rules[0].filters[0].cors.maxAge: must be between 1 and "
          "2147483647" },
        { "{rules: [{retry: {codes: [399]}}]}",
          "spec.rules[0].retry.codes[0]: must be between 400 and 599" },
        { "{rules: [{retry: {codes: [500, 600]}}]}",
          "spec.rules[0].retry.codes[1]: must be between 400 and 599" },
        { "{rules: [{retry: {codes: [500, 500]}}]}",
          "spec.rules[0].retry.codes[1]: duplicate value 500" },
        { "{rules: [{retry: {attempts: 0}}]}",
          "spec.rules[0].retry.attempts: must be between 1 and "
          "4294967295" },
        { "{rules: [{name: Rule}]}",
          "spec.rules[0].name: must be a lowercase RFC 1123 subdomain" },
        { "{rules: [{name: a}, {name: b}, {name: a}]}",
          "spec.rules[2].name: must be unique within the route" },
        { "{rules: [{backendRefs: [{name: a, port: 99999999999999}]}]}",
          "spec.rules[0].backendRefs[0].port: must be between 1 and 65535" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_route_reject(cases[i].spec, cases[i].line, cases[i].line);
    }

    test_reject(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: smiley-route, namespace: faces}\n"
        "spec:\n"
        "  rules:\n"
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /ok}\n"
        "    - path: {type: PathPrefix, value: smiley}\n",
        "HTTPRoute faces/smiley-route rejected: "
        "spec.rules[0].matches[1].path.value: must start with \"/\"",
        "the example of the brief");

    /* the list limits */

    a = test_list("{name: p%d}", 33);
    snprintf(spec, sizeof(spec), "{parentRefs: %s}", a);
    test_route_reject(spec, "spec.parentRefs: must have at most 32 items",
                      "33 parentRefs");
    free(a);

    a = test_list("h%d.example.com", 17);
    snprintf(spec, sizeof(spec), "{hostnames: %s}", a);
    test_route_reject(spec, "spec.hostnames: must have at most 16 items",
                      "17 hostnames");
    free(a);

    a = test_list("{name: r%d}", 17);
    snprintf(spec, sizeof(spec), "{rules: %s}", a);
    test_route_reject(spec, "spec.rules: must have at most 16 items",
                      "17 rules");
    free(a);

    a = test_list("{method: GET}", 65);
    snprintf(spec, sizeof(spec), "{rules: [{matches: %s}]}", a);
    test_route_reject(spec, "spec.rules[0].matches: must have at most 64 "
                      "items", "65 matches");
    free(a);

    a = test_list("{method: GET}", 43);
    snprintf(spec, sizeof(spec), "{rules: [{matches: %s}, {matches: %s}, "
             "{matches: %s}]}", a, a, a);
    test_route_reject(spec, "spec.rules: must have at most 128 matches in "
                      "total", "129 matches in all");
    free(a);

    a = test_list("{method: GET}", 42);
    snprintf(spec, sizeof(spec), ROUTE_HEAD "spec: {rules: [{matches: %s}, "
             "{matches: %s}, {matches: %s}, {}, {}]}\n", a, a, a);
    obj = test_parse(spec);
    ok(obj != NULL, "128 matches in all are fine");
    gm_object_free(obj);
    free(a);

    a = test_list("{name: h%d, value: v}", 17);
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{headers: %s}]}]}", a);
    test_route_reject(spec, "spec.rules[0].matches[0].headers: must have at "
                      "most 16 items", "17 headers");
    free(a);

    a = test_list("{name: q%d, value: v}", 17);
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{queryParams: %s}]}]}",
             a);
    test_route_reject(spec, "spec.rules[0].matches[0].queryParams: must "
                      "have at most 16 items", "17 query params");
    free(a);

    a = test_list("{name: b%d, port: 80}", 17);
    snprintf(spec, sizeof(spec), "{rules: [{backendRefs: %s}]}", a);
    test_route_reject(spec, "spec.rules[0].backendRefs: must have at most 16 "
                      "items", "17 backendRefs");
    free(a);

    a = test_list("{type: RequestMirror, requestMirror: {backendRef: "
                  "{name: m%d, port: 1}}}", 17);
    snprintf(spec, sizeof(spec), "{rules: [{filters: %s}]}", a);
    test_route_reject(spec, "spec.rules[0].filters: must have at most 16 "
                      "items", "17 filters");
    free(a);

    b = test_string('a', 4097);
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{headers: [{name: h, "
             "value: %s}]}]}]}", b);
    test_route_reject(spec, "spec.rules[0].matches[0].headers[0].value: must "
                      "be at most 4096 characters", "header value 4097");
    b[4096] = '\0';
    snprintf(spec, sizeof(spec), ROUTE_HEAD "spec: {rules: [{matches: "
             "[{headers: [{name: h, value: %s}]}]}]}\n", b);
    obj = test_parse(spec);
    ok(obj != NULL, "header value of 4096 is fine");
    gm_object_free(obj);
    b[1025] = '\0';
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{queryParams: [{name: "
             "h, value: %s}]}]}]}", b);
    test_route_reject(spec, "spec.rules[0].matches[0].queryParams[0].value: "
                      "must be at most 1024 characters", "query value 1025");
    b[1024] = '/';
    b[1025] = '\0';
    b[0] = '/';
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{path: {value: %s}}]}]}",
             b);
    test_route_reject(spec, "spec.rules[0].matches[0].path.value: must be at "
                      "most 1024 characters", "path value 1025");
    b[254] = '\0';
    b[0] = 'a';
    snprintf(spec, sizeof(spec), "{parentRefs: [{name: %s}]}", b);
    test_route_reject(spec, "spec.parentRefs[0].name: must be at most 253 "
                      "characters", "parentRef name 254");
    b[64] = '\0';
    snprintf(spec, sizeof(spec), "{parentRefs: [{name: a, namespace: %s}]}",
             b);
    test_route_reject(spec, "spec.parentRefs[0].namespace: must be at most "
                      "63 characters", "namespace 64");
    free(b);
}


static void
test_route_rule_invalid(void)
{
    gm_object_t     *obj;
    gm_httproute_t  *route;

    obj = test_parse(
        ROUTE_HEAD
        "spec:\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /ok}}]\n"
        "  - matches: [{path: {type: RegularExpression, value: \"/(a\"}}]\n"
        "  - matches: [{headers: [{type: RegularExpression, name: h,\n"
        "                          value: \"[z-a]\"}]}]\n"
        "  - filters: [{type: ExtensionRef, extensionRef: {group: x.io,\n"
        "                                                  kind: K,\n"
        "                                                  name: n}}]\n"
        "  - backendRefs:\n"
        "    - name: a\n"
        "      port: 1\n"
        "      filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP,"
        "\n"
        "                 backendRef: {name: auth, port: 80}}}]\n"
        "  - filters:\n"
        "    - type: RequestHeaderModifier\n"
        "      requestHeaderModifier: {set: [{name: X-A, value: b}],\n"
        "                              remove: [x-a]}\n");

    ok(obj != NULL, "rule-level problems keep the route");
    if (obj == NULL) {
        return;
    }

    route = &obj->body->httproute;

    is_int(route->rules[0].invalid, 0, "rule 0 valid");
    is_int(route->rules[1].invalid, 1, "rule 1: bad path regex");
    is_int(route->rules[2].invalid, 1, "rule 2: bad header regex");
    is_int(route->rules[3].invalid, 1, "rule 3: ExtensionRef");
    is_int(route->rules[4].invalid, 1, "rule 4: ExternalAuth on a backend");
    is_int(route->rules[5].invalid, 1, "rule 5: two actions on one header");
    is_int(test_lines.n, 5, "one line per invalid rule");
    is_int(test_lines.level[0], GM_LOG_WARN, "logged as a warning");
    is_str(test_lines.line[0], "HTTPRoute ns/r rule 1 ignored: "
           "spec.rules[1].matches[0].path.value: invalid regular expression "
           "at offset 3: missing closing parenthesis", "path regex line");
    is_str(test_lines.line[1], "HTTPRoute ns/r rule 2 ignored: "
           "spec.rules[2].matches[0].headers[0].value: invalid regular "
           "expression at offset 3: range out of order in character class",
           "header regex line");
    is_str(test_lines.line[2], "HTTPRoute ns/r rule 3 ignored: filter "
           "ExtensionRef is not supported", "ExtensionRef line");
    is_str(test_lines.line[3], "HTTPRoute ns/r rule 4 ignored: filter "
           "ExternalAuth is not supported", "ExternalAuth line");
    is_str(test_lines.line[4], "HTTPRoute ns/r rule 5 ignored: "
           "spec.rules[5].filters[0].requestHeaderModifier: more than one "
           "action for the same header name", "header actions line");

    gm_object_free(obj);

    /* a rejected route logs its rejection only, not its bad rules */
    test_route_reject("{rules: [{matches: [{path: {type: RegularExpression, "
                      "value: \"(\"}}]}, {name: X}]}",
                      "spec.rules[1].name: must be a lowercase RFC 1123 "
                      "subdomain", "bad regex then bad rule name");

    obj = test_parse(ROUTE_HEAD "spec: {rules: [{matches: [{queryParams: "
                     "[{type: RegularExpression, name: q, value: \"a{2,1}\"}"
                     ", {type: RegularExpression, name: q, value: \"(\"}]}"
                     "]}]}\n");
    ok(obj && obj->body->httproute.rules[0].invalid == 1,
       "bad query regex marks the rule");
    ok(obj && obj->body->httproute.rules[0].matches[0].nquery == 1,
       "duplicate query dropped before its regex is checked");
    is_int(test_lines.n, 1, "one line for the rule");
    gm_object_free(obj);
}


/* the CEL rules of a filter list cost the rule, the other rules stay */
static void
test_route_filter_cel(void)
{
    gm_object_t     *obj;
    gm_httproute_t  *route;

    obj = test_parse(
        ROUTE_HEAD
        "spec:\n"
        "  rules:\n"
        "  - filters: [{type: RequestRedirect, requestRedirect: {}},\n"
        "              {type: URLRewrite, urlRewrite: {}}]\n"
        "  - filters: [{type: CORS, cors: {}}, {type: CORS, cors: {}}]\n"
        "  - backendRefs:\n"
        "    - name: a\n"
        "      port: 1\n"
        "      filters: [{type: URLRewrite, urlRewrite: {}},\n"
        "                {type: RequestRedirect, requestRedirect: {}}]\n"
        "  - filters: [{type: RequestMirror, requestMirror: {backendRef: "
        "{name: m, port: 80}}},\n"
        "              {type: RequestMirror, requestMirror: {backendRef: "
        "{name: n, port: 80}}}]\n");

    ok(obj != NULL, "filter CEL violations keep the route");
    if (obj == NULL) {
        return;
    }

    route = &obj->body->httproute;

    is_int(route->rules[0].invalid, 1, "rule 0: redirect and rewrite");
    is_int(route->rules[1].invalid, 1, "rule 1: CORS twice");
    is_int(route->rules[2].invalid, 1, "rule 2: backendRef filters");
    is_int(route->rules[3].invalid, 0, "rule 3: two mirrors are fine");
    is_int(test_lines.n, 3, "one line per invalid rule");
    is_str(test_lines.line[0], "HTTPRoute ns/r rule 0 ignored: "
           "spec.rules[0].filters: may specify either RequestRedirect or "
           "URLRewrite, but not both", "redirect and rewrite line");
    is_str(test_lines.line[1], "HTTPRoute ns/r rule 1 ignored: "
           "spec.rules[1].filters: CORS filter cannot be repeated",
           "CORS twice line");
    is_str(test_lines.line[2], "HTTPRoute ns/r rule 2 ignored: "
           "spec.rules[2].backendRefs[0].filters: may specify either "
           "RequestRedirect or URLRewrite, but not both",
           "backendRef filters line");

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


static void
test_addr(void)
{
    gm_addr_t  a;

    ok(gm_addr_parse(&a, "192.168.1.2") == 0 && a.family == AF_INET
       && a.addr[3] == 2, "addr: IPv4");
    ok(gm_addr_parse(&a, "::1") == 0 && a.family == AF_INET6
       && a.addr[15] == 1, "addr: IPv6");
    ok(gm_addr_parse(&a, "1.2.3") != 0, "addr: short IPv4");
    ok(gm_addr_parse(&a, "01.2.3.4") != 0, "addr: leading zero");
    ok(gm_addr_parse(&a, "fe80::1%eth0") != 0, "addr: zone");
    ok(gm_addr_parse(&a, "") != 0, "addr: empty");
    ok(gm_addr_parse(&a, NULL) != 0, "addr: NULL");
}


static void
test_manifest_yaml(void)
{
    json_t  *docs, *d;

    test_log_reset();
    docs = test_load(
        "# leading comment\n"
        "---\n"
        "---\n"
        "# only a comment\n"
        "---\n"
        "a: 1\n"
        "b: \"1\"\n"
        "c: true\n"
        "d: 'true'\n"
        "e: ~\n"
        "f: 0x1F\n"
        "g: 0o17\n"
        "h: 1.5\n"
        "i: yes\n"
        "j: 1e3\n"
        "k: .inf\n"
        "l: 99999999999999999999\n"
        "m: -7\n"
        "n:\n"
        "o: !!str 5\n"
        "p: 012\n"
        "q: \"\"\n"
        "r: False\n"
        "s: +12\n"
        "t: 1_000\n"
        "...\n"
        "--- {x: [1, {y: z}]}\n"
        "--- just text\n"
        "--- [{a: 1}, {b: 2}]\n");

    ok(docs != NULL, "yaml: parsed");
    if (docs == NULL) {
        return;
    }

    is_int(json_array_size(docs), 4, "yaml: empty docs and scalars skipped, "
           "top-level sequence expanded");

    d = json_array_get(docs, 0);
    ok(json_integer_value(json_object_get(d, "a")) == 1, "yaml: int");
    ok(json_is_string(json_object_get(d, "b")), "yaml: quoted int is text");
    ok(json_is_true(json_object_get(d, "c")), "yaml: true");
    ok(json_is_string(json_object_get(d, "d")), "yaml: quoted bool is text");
    ok(json_is_null(json_object_get(d, "e")), "yaml: ~ is null");
    ok(json_integer_value(json_object_get(d, "f")) == 31, "yaml: hex");
    ok(json_integer_value(json_object_get(d, "g")) == 15, "yaml: octal");
    ok(json_real_value(json_object_get(d, "h")) == 1.5, "yaml: float");
    is_str(json_string_value(json_object_get(d, "i")), "yes",
           "yaml: yes is text in YAML 1.2");
    ok(json_real_value(json_object_get(d, "j")) == 1000, "yaml: exponent");
    is_str(json_string_value(json_object_get(d, "k")), ".inf",
           "yaml: .inf stays text");
    ok(json_is_real(json_object_get(d, "l")), "yaml: huge int is a real");
    ok(json_integer_value(json_object_get(d, "m")) == -7, "yaml: negative");
    ok(json_is_null(json_object_get(d, "n")), "yaml: empty is null");
    is_str(json_string_value(json_object_get(d, "o")), "5", "yaml: !!str");
    ok(json_integer_value(json_object_get(d, "p")) == 12,
       "yaml: leading zero is decimal");
    is_str(json_string_value(json_object_get(d, "q")), "", "yaml: \"\"");
    ok(json_is_false(json_object_get(d, "r")), "yaml: False");
    ok(json_integer_value(json_object_get(d, "s")) == 12, "yaml: +12");
    ok(json_is_string(json_object_get(d, "t")), "yaml: 1_000 is text");

    d = json_array_get(docs, 1);
    is_str(json_string_value(json_object_get(json_array_get(json_object_get(
           d, "x"), 1), "y")), "z", "yaml: flow style nests");

    d = json_array_get(docs, 3);
    ok(json_integer_value(json_object_get(d, "b")) == 2,
       "yaml: sequence items are documents");

    is_int(test_lines.n, 0, "yaml: nothing logged");
    json_decref(docs);
}


static void
test_manifest_anchors(void)
{
    char    *text, *p;
    int      i, j;
    json_t  *docs, *d;

    test_log_reset();
    docs = test_load(
        "base: &b {x: 1, y: 2}\n"
        "copy: *b\n"
        "merged:\n"
        "  <<: *b\n"
        "  y: 3\n"
        "many:\n"
        "  z: 4\n"
        "  <<: [*b, {w: 5, x: 9}]\n"
        "list: &l [1, 2]\n"
        "again: *l\n"
        "key: &k name\n"
        "*k : value\n");

    ok(docs != NULL && json_array_size(docs) == 1, "anchors: parsed");
    if (docs == NULL) {
        return;
    }

    d = json_array_get(docs, 0);
    ok(json_integer_value(json_object_get(json_object_get(d, "copy"), "y"))
       == 2, "anchors: alias");
    ok(json_integer_value(json_object_get(json_object_get(d, "merged"), "y"))
       == 3, "anchors: explicit key beats merge");
    ok(json_integer_value(json_object_get(json_object_get(d, "merged"), "x"))
       == 1, "anchors: merged key");
    ok(json_integer_value(json_object_get(json_object_get(d, "many"), "x"))
       == 1, "anchors: first merge source wins");
    ok(json_integer_value(json_object_get(json_object_get(d, "many"), "w"))
       == 5, "anchors: second merge source");
    ok(json_object_get(json_object_get(d, "many"), "<<") == NULL,
       "anchors: no \"<<\" key left");
    is_int(json_array_size(json_object_get(d, "again")), 2,
           "anchors: sequence alias");
    is_str(json_string_value(json_object_get(d, "name")), "value",
           "anchors: alias as a key");
    json_decref(docs);

    /* billion laughs: 9 levels of 10 aliases each */
    text = malloc(4096);
    p = text + sprintf(text, "a0: &a0 [x]\n");

    for (i = 1; i < 10; i++) {
        p += sprintf(p, "a%d: &a%d [", i, i);
        for (j = 0; j < 10; j++) {
            p += sprintf(p, "%s*a%d", j ? ", " : "", i - 1);
        }
        p += sprintf(p, "]\n");
    }

    test_log_reset();
    docs = test_load(text);
    ok(docs == NULL, "anchors: billion laughs rejected");
    is_int(test_lines.n, 1, "anchors: one line");
    ok(strstr(test_lines.line[0], "aliases expand to too many nodes") != NULL,
       "anchors: the reason");
    json_decref(docs);
    free(text);

    test_log_reset();
    docs = test_load("a: &a [1, *a]\n");
    ok(docs == NULL, "anchors: recursive alias rejected");
    is_str(test_lines.line[0], "manifest test.yaml: line 1, column 11: "
           "unknown or unfinished anchor \"a\"",
           "anchors: recursive alias line");

    test_log_reset();
    docs = test_load("a: *nope\n");
    ok(docs == NULL && test_lines.n == 1, "anchors: unknown anchor rejected");

    test_log_reset();
    docs = test_load("a: {<<: 5}\n");
    ok(docs == NULL && test_lines.n == 1,
       "anchors: merge of a scalar rejected");
}


static void
test_manifest_errors(void)
{
    int          called, i;
    char         deep[256];
    json_t      *docs;
    const char  *bad;

    called = 0;
    test_log_reset();

    /* the first document is fine: still nothing may be handed out */
    bad = "a: 1\n---\nb: [1,\nc: 2\n  d: ]\n";
    i = gm_manifest_parse(bad, strlen(bad), "/etc/mesh/bad.yaml", test_count,
                          &called, &test_logger);
    is_int(i, -1, "broken yaml: -1");
    is_int(called, 0, "broken yaml: no document handed out");
    is_int(test_lines.n, 1, "broken yaml: one line");
    is_int(test_lines.level[0], GM_LOG_ERR, "broken yaml: an error");
    is_str(test_lines.line[0], "manifest /etc/mesh/bad.yaml: line 5, column 4: "
           "did not find expected ',' or ']' while parsing a flow sequence",
           "broken yaml: file, line and reason");

    test_log_reset();
    docs = test_load("a: 1\na: 2\n");
    ok(docs == NULL, "duplicate key rejected");
    is_str(test_lines.line[0], "manifest test.yaml: line 2, column 4: "
           "duplicate mapping key \"a\"", "duplicate key line");

    test_log_reset();
    docs = test_load("? [a]\n: b\n");
    ok(docs == NULL && test_lines.n == 1, "complex key rejected");

    test_log_reset();
    docs = test_load("a: \"x\\0y\"\n");
    ok(docs == NULL && test_lines.n == 1, "NUL in a scalar rejected");

    /* a mapping and 63 sequences: 64 levels */
    strcpy(deep, "a: ");
    memset(deep + 3, '[', 63);
    memset(deep + 66, ']', 63);
    deep[129] = '\0';

    test_log_reset();
    docs = test_load(deep);
    ok(docs != NULL, "yaml: 64 levels are fine");
    json_decref(docs);

    strcpy(deep, "a: ");
    memset(deep + 3, '[', 64);
    memset(deep + 67, ']', 64);
    deep[131] = '\0';

    test_log_reset();
    docs = test_load(deep);
    ok(docs == NULL, "yaml: 65 levels rejected");
    is_str(test_lines.line[0], "manifest test.yaml: line 1, column 67: nested "
           "deeper than 64 levels", "yaml: depth line");

    test_log_reset();
    docs = test_load(deep + 3);
    ok(docs != NULL, "json: jansson has its own, larger depth limit");
    json_decref(docs);

    test_log_reset();
    docs = test_load("{\"kind\": \"Service\",\n \"x\": }\n");
    ok(docs == NULL, "broken json rejected");
    is_int(test_lines.n, 1, "broken json: one line");
    is_str(test_lines.line[0], "manifest test.yaml: line 2, column 7: "
           "unexpected token near '}'", "broken json: line");

    test_log_reset();
    docs = test_load("{\"a\": 1}\n\n {\"b\": 2, \"b\": 3}\n");
    ok(docs == NULL, "json: duplicate key rejected");
    is_str(test_lines.line[0], "manifest test.yaml: line 3, column 13: "
           "duplicate object key near '\"b\"'",
           "json: line of the second document");

    test_log_reset();
    called = 0;
    ok(gm_manifest_parse("", 0, "empty", test_count, &called, &test_logger) == 0
       && test_lines.n == 0 && called == 0,
       "empty file: no documents, no error");
    ok(gm_manifest_parse(NULL, 0, "null", test_count, &called, &test_logger)
       == 0 && called == 0, "NULL buffer: an empty file");
    ok(gm_manifest_parse("\x01\x02", 2, NULL, test_count, &called, &test_logger)
       == -1 && test_lines.n == 1 && called == 0, "binary: rejected");
}


static void
test_manifest_json(void)
{
    json_t  *docs;

    test_log_reset();
    docs = test_load("\xef\xbb\xbf {\"a\": 1} {\"b\": [1]}\n[{\"c\": 1}, "
                     "{\"d\": 1}, 5]");
    ok(docs != NULL, "json: concatenated values");
    is_int(json_array_size(docs), 4, "json: arrays expanded, scalars skipped");
    ok(json_object_get(json_array_get(docs, 3), "d") != NULL,
       "json: order kept");
    json_decref(docs);

    test_log_reset();
    docs = test_load("{a: [1, 2], b: 'c'}\n");
    ok(docs == NULL && test_lines.n == 1,
       "json: '{' means JSON, not YAML flow");
}


static void
test_manifest_list(void)
{
    int            ignored;
    size_t         i;
    json_t        *docs;
    gm_object_t   *obj;

    test_log_reset();
    docs = test_load(
        "apiVersion: v1\n"
        "kind: List\n"
        "items:\n"
        "- apiVersion: v1\n"
        "  kind: Service\n"
        "  metadata: {name: a}\n"
        "- apiVersion: v1\n"
        "  kind: ServiceList\n"
        "  items:\n"
        "  - metadata: {name: b}\n"
        "  - metadata: {name: c}\n"
        "    kind: Secret\n"
        "---\n"
        "{\"kind\": \"EndpointSliceList\", \"apiVersion\": "
        "\"discovery.k8s.io/v1\", \"metadata\": {\"resourceVersion\": \"5\"},"
        " \"items\": [{\"metadata\": {\"name\": \"s\", \"labels\": "
        "{\"kubernetes.io/service-name\": \"b\"}}, \"addressType\": "
        "\"IPv4\"}]}\n");

    ok(docs != NULL, "list: parsed");
    is_int(json_array_size(docs), 4, "list: items expanded");

    for (i = 0; i < 4; i++) {
        obj = gm_object_parse(json_array_get(docs, i), &test_logger, &ignored);

        if (i == 2) {
            ok(obj == NULL && ignored, "list: item kind kept");

        } else {
            ok(obj != NULL, "list: item %zu parsed", i);
        }

        if (i == 1) {
            ok(obj && strcmp(obj->body->meta.name.data, "b") == 0
               && obj->body->meta.kind == GM_KIND_SERVICE,
               "list: kind taken from ServiceList");
        }

        if (i == 3) {
            ok(obj && obj->body->meta.kind == GM_KIND_ENDPOINTSLICE,
               "list: kind taken from EndpointSliceList");
        }

        gm_object_free(obj);
    }

    is_int(test_lines.n, 0, "list: nothing logged");
    json_decref(docs);
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


int
main(void)
{
    test_service();
    test_service_reject();
    test_endpointslice();
    test_endpointslice_reject();
    test_route();
    test_route_names_shared();
    test_one_block();
    test_route_reject_all();
    test_route_rule_invalid();
    test_route_filter_cel();
    test_ignored();
    test_addr();
    test_manifest_yaml();
    test_manifest_anchors();
    test_manifest_errors();
    test_manifest_json();
    test_manifest_list();
    test_odd_types();

    test_durations();
    test_path_nul();

    return done_testing();
}
