/*
 * nginx-gamma: an HTTPRoute parsed (gm_object_parse()): its parentRefs,
 * rules, matches, filters and backendRefs with their defaults, timeouts
 * and retries, and the names one route's fields share.
 */


#include <string.h>

#include "tap.h"
#include "tap_parse.h"


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


int
main(void)
{
    test_route();
    test_route_names_shared();

    return done_testing();
}
