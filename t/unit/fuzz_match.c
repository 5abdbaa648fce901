/*
 * nginx-gamma: libFuzzer target for the request matcher over a fixed
 * snapshot: every kind of path, header, query and method match, a
 * producer and a consumer table, regexes under the worker's limits.
 *
 * Input, '\n'-separated: method, path, query string, client namespace,
 * then "name:value" header lines.  Every byte may be anything (NUL too):
 * nginx hands the matcher a decoded path.
 */


#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <strings.h>

#include "gm_manifest.h"
#include "gm_match.h"
#include "gm_object_parse.h"


#define FUZZ_MAX_HEADERS  16


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct {
    gm_str_t   name;
    gm_str_t   value;
} fuzz_header_t;

typedef struct {
    fuzz_header_t  h[FUZZ_MAX_HEADERS];
    size_t         n;
} fuzz_headers_t;


static const char  fuzz_mesh[] =
    "apiVersion: v1\nkind: Service\n"
    "metadata: {name: svc, namespace: prod}\n"
    "spec: {clusterIP: 10.96.0.1, ports: [{name: http, port: 80}]}\n"
    "---\n"
    "apiVersion: v1\nkind: Service\n"
    "metadata: {name: svc-v2, namespace: prod}\n"
    "spec: {clusterIP: 10.96.0.2, ports: [{name: http, port: 80}]}\n"
    "---\n"
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: svc-1, namespace: prod,\n"
    "  labels: {kubernetes.io/service-name: svc}}\n"
    "addressType: IPv4\nports: [{name: http, port: 8080}]\n"
    "endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}]\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: producer, namespace: prod}\n"
    "spec:\n"
    "  parentRefs: [{group: '', kind: Service, name: svc}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: Exact, value: /exact}}]\n"
    "    backendRefs: [{name: svc, port: 80}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /api/v1}},\n"
    "              {path: {type: PathPrefix, value: /api/}, method: POST}]\n"
    "    backendRefs: [{name: svc, port: 80, weight: 3},\n"
    "                  {name: svc-v2, port: 80, weight: 1}]\n"
    "  - matches: [{path: {type: RegularExpression,\n"
    "                      value: '/re/(a+)+b[0-9]{2,}$'}}]\n"
    "    backendRefs: [{name: svc-v2, port: 80}]\n"
    "  - matches: [{headers: [{name: x-env, value: canary},\n"
    "                         {type: RegularExpression, name: x-id,\n"
    "                          value: '^[a-f0-9]{8}(-[a-f0-9]{4})*$'}]}]\n"
    "    backendRefs: [{name: svc-v2, port: 80}]\n"
    "  - matches: [{queryParams: [{name: v, value: '2'},\n"
    "                             {type: RegularExpression, name: q,\n"
    "                              value: '.*x.*y'}]}]\n"
    "    backendRefs: [{name: svc-v2, port: 80}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /}, method: GET}]\n"
    "    backendRefs: [{name: svc, port: 80}]\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: consumer, namespace: client}\n"
    "spec:\n"
    "  parentRefs: [{group: '', kind: Service, name: svc, namespace: prod}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: PathPrefix, value: /c}}]\n"
    "    backendRefs: [{name: svc-v2, namespace: prod, port: 80}]\n";


static gm_snapshot_t  *fuzz_snap;
static gm_matcher_t   *fuzz_matcher;


static void
fuzz_log_handler(void *data, gm_log_level_e level, const char *msg)
{
    (void) data;
    (void) level;
    (void) msg;
}


static gm_store_t  *fuzz_store;


static void
fuzz_put(void *data, json_t *doc, size_t index)
{
    int           ignored;
    gm_object_t  *obj;

    (void) index;

    obj = gm_object_parse(doc, data, &ignored);
    if (obj != NULL) {
        gm_store_put(fuzz_store, obj);
    }
}


static const gm_rule_t *fuzz_run(const char *buf, size_t size);


/* 0 when request text finds rule index of route (NULL: no rule) */
static int
fuzz_label(const char *text, const char *route, unsigned index)
{
    char              want[64];
    const gm_rule_t  *rule;

    rule = fuzz_run(text, strlen(text));

    if (route == NULL) {
        return rule != NULL;
    }

    snprintf(want, sizeof(want), "%s/rule%u", route, index);

    return rule == NULL || strcmp(rule->label.data, want) != 0;
}


static void
fuzz_init(void)
{
    gm_log_t  log;

    log.handler = fuzz_log_handler;
    log.data = NULL;

    fuzz_store = gm_store_create();

    if (fuzz_store == NULL
        || gm_manifest_parse(fuzz_mesh, sizeof(fuzz_mesh) - 1, "mesh",
                             fuzz_put, &log, &log) != 0
        || (fuzz_snap = gm_snapshot_build(fuzz_store, &log)) == NULL
        || gm_snapshot_nfrontends(fuzz_snap) != 2)
    {
        abort();
    }

    /* the default regex budget per request (GM_REGEX_BUDGET) */
    fuzz_matcher = gm_matcher_create(100000, 1000);
    if (fuzz_matcher == NULL) {
        abort();
    }

    /* the snapshot is the one meant: known requests find their rules */
    if (fuzz_label("GET\n/exact\n\nprod", "prod/producer", 0) != 0
        || fuzz_label("POST\n/api/v1x\n\nprod", "prod/producer", 1) != 0
        || fuzz_label("PUT\n/x\n\nprod\nx-env:canary\nx-id:0123abcd",
                      "prod/producer", 3) != 0
        || fuzz_label("GET\n/c/d\n\nclient", "client/consumer", 0) != 0
        || fuzz_label("PUT\n/api/v2\n\nprod", NULL, 0) != 0)
    {
        abort();
    }
}


static int
fuzz_header(void *ctx, const gm_str_t *lname, gm_str_t *value)
{
    size_t           i;
    fuzz_headers_t  *hs = ctx;

    for (i = 0; i < hs->n; i++) {
        if (hs->h[i].name.len == lname->len
            && strncasecmp(hs->h[i].name.data, lname->data, lname->len) == 0)
        {
            *value = hs->h[i].value;
            return 1;
        }
    }

    return 0;
}


/* the next '\n'-terminated field; the last one runs to the end */
static gm_str_t
fuzz_field(const char **p, const char *end)
{
    gm_str_t     s;
    const char  *nl;

    nl = memchr(*p, '\n', end - *p);

    s.data = (char *) *p;
    s.len = (nl ? nl : end) - *p;
    *p = nl ? nl + 1 : end;

    return s;
}


static const gm_rule_t *
fuzz_run(const char *buf, size_t size)
{
    const char            *p, *end, *colon;
    gm_str_t               ns, line;
    gm_addr_t              ip;
    gm_request_t           r;
    fuzz_headers_t         hs;
    gm_table_kind_e        kind;
    const gm_rule_t       *rule;
    const gm_frontend_t   *f;
    const gm_route_table_t  *t;

    p = buf;
    end = buf + size;

    memset(&r, 0, sizeof(r));
    r.method = fuzz_field(&p, end);
    r.path = fuzz_field(&p, end);
    r.args = fuzz_field(&p, end);
    ns = fuzz_field(&p, end);
    r.header = fuzz_header;
    r.ctx = &hs;

    for (hs.n = 0; p < end && hs.n < FUZZ_MAX_HEADERS; hs.n++) {
        line = fuzz_field(&p, end);
        colon = memchr(line.data, ':', line.len);

        hs.h[hs.n].name.data = line.data;
        hs.h[hs.n].name.len = colon ? (size_t) (colon - line.data) : line.len;
        hs.h[hs.n].value.data = colon ? (char *) colon + 1 : line.data;
        hs.h[hs.n].value.len = colon ? line.len - (colon + 1 - line.data) : 0;
    }

    memset(&ip, 0, sizeof(ip));
    ip.family = AF_INET;
    memcpy(ip.addr, "\x0a\x60\x00\x01", 4);       /* 10.96.0.1 */

    f = gm_snapshot_find_frontend(fuzz_snap, &ip, 80);
    if (f == NULL) {
        abort();
    }

    t = gm_frontend_route_table(f, ns.data, ns.len, &kind);

    rule = gm_route_table_match(t, &r, fuzz_matcher);

    if (rule != NULL && rule->label.data == NULL) {
        abort();
    }

    if (rule != NULL) {
        (void) gm_rule_pick_backend(rule, (uint32_t) size * 2654435761u);
    }

    return rule;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char  *buf;

    if (fuzz_snap == NULL) {
        fuzz_init();
    }

    /* a copy of exactly size bytes, so that reads past it are caught */
    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);
    (void) fuzz_run(buf, size);
    free(buf);

    return 0;
}
