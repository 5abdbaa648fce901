/*
 * nginx-gamma: parsing a GRPCRoute (gateway.networking.k8s.io/v1).  It
 * becomes a gm_httproute_t of kind GM_KIND_GRPCROUTE: parentRefs and
 * backendRefs are those of an HTTPRoute, and a method match becomes the
 * path test GEP-1016 describes, so that the compiler and the matcher
 * serve both kinds:
 *
 *   Exact, service and method     Exact path "/service/method"
 *   Exact, service only           PathPrefix "/service/"
 *   Exact, method only            "/[^/]+/method"
 *   RegularExpression             "/(?:service)/(?:method)", a missing
 *                                 one "[^/]+", each matching its whole
 *                                 part of a two-part path
 *
 * Of the service and method as written, what they count for in
 * precedence (spec 1.18) is kept.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gm_parse_int.h"


/* a regex that only a "/service/method" path can match */
#define GM_GRPC_TWO_PARTS     "(?=/[^/]+/[^/]+$)"
#define GM_GRPC_ANY_PART      "[^/]+"


static int gm_grpc_rules_parse(gm_parse_ctx_t *ctx, json_t *spec,
    gm_httproute_t *route);
static int gm_grpc_rule_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_http_rule_t *rule);
static int gm_grpc_matches_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_http_rule_t *rule);
static int gm_grpc_match_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_http_match_t *m);
static int gm_grpc_method_parse(gm_parse_ctx_t *ctx, json_t *method,
    gm_http_match_t *m);
static int gm_grpc_method_path(gm_parse_ctx_t *ctx, int regex,
    gm_http_match_t *m, const gm_str_t *s, const gm_str_t *me);
static int gm_grpc_exact_check(gm_parse_ctx_t *ctx, const gm_str_t *s,
    const gm_str_t *me);
static uint16_t gm_grpc_chars(int regex, const gm_str_t *name);
static int gm_grpc_service_valid(const gm_str_t *s);
static int gm_grpc_ident_valid(const char *s, size_t len);
static int gm_grpc_filters_check(gm_parse_ctx_t *ctx, const char *where,
    gm_filter_t *f, size_t n);


static const char *const  gm_grpc_match_types[] = {
    "Exact", "RegularExpression", NULL
};


int
gm_grpcroute_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body)
{
    return gm_route_spec_parse(ctx, json, body, gm_grpc_rules_parse);
}


/* no rules at all: the compiler's default rule, which has no backend */
static int
gm_grpc_rules_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_httproute_t *route)
{
    size_t   i, n, old;
    json_t  *rules, *item;

    if (gm_get_array(ctx, spec, "rules", GM_MAX_RULES, &rules) != 0) {
        return -1;
    }

    n = json_array_size(rules);
    if (n == 0) {
        return 0;
    }

    route->rules = gm_alloc(ctx, n, sizeof(gm_http_rule_t));
    if (route->rules == NULL) {
        return -1;
    }

    route->nrules = n;

    json_array_foreach(rules, i, item) {
        old = gm_path_push(ctx, "rules[%zu]", i);

        ctx->rule = &route->rules[i];
        ctx->rule_index = i;

        if (gm_check_object(ctx, item) != 0
            || gm_grpc_rule_parse(ctx, item, &route->rules[i]) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    ctx->rule = NULL;

    return gm_rules_check(ctx, route);
}


static int
gm_grpc_rule_parse(gm_parse_ctx_t *ctx, json_t *item, gm_http_rule_t *rule)
{
    size_t  i;
    char    where[GM_FIELD_NAME_MAX];

    if (gm_rule_name_parse(ctx, item, rule) != 0
        || gm_grpc_matches_parse(ctx, item, rule) != 0
        || gm_filters_parse(ctx, item, &rule->filters, &rule->nfilters) != 0
        || gm_grpc_filters_check(ctx, "filters", rule->filters,
                                 rule->nfilters) != 0
        || gm_backend_refs_parse(ctx, item, rule) != 0
        || gm_rule_session_parse(ctx, item, rule) != 0)
    {
        return -1;
    }

    for (i = 0; i < rule->nbackends; i++) {
        snprintf(where, sizeof(where), "backendRefs[%zu].filters", i);

        if (gm_grpc_filters_check(ctx, where, rule->backends[i].filters,
                                  rule->backends[i].nfilters) != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
gm_grpc_matches_parse(gm_parse_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    size_t            i, n, old;
    json_t           *arr, *item;
    gm_http_match_t  *m;

    if (gm_get_array(ctx, json, "matches", GM_MAX_MATCHES, &arr) != 0) {
        return -1;
    }

    n = json_array_size(arr);

    m = gm_alloc(ctx, n ? n : 1, sizeof(gm_http_match_t));
    if (m == NULL) {
        return -1;
    }

    rule->matches = m;
    rule->nmatches = n ? n : 1;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "matches[%zu]", i);

        if (gm_grpc_match_parse(ctx, item, &m[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    /* no matches: every gRPC request */
    return (n == 0) ? gm_grpc_match_parse(ctx, NULL, m) : 0;
}


/* item NULL gives the match of everything */
static int
gm_grpc_match_parse(gm_parse_ctx_t *ctx, json_t *item, gm_http_match_t *m)
{
    size_t   old;
    json_t  *method;

    m->path_type = GM_MATCH_PREFIX;

    if (gm_str_set(ctx, &m->path, "/") != 0) {
        return -1;
    }

    if (item == NULL) {
        return 0;
    }

    if (gm_check_object(ctx, item) != 0
        || gm_get_object(ctx, item, "method", &method) != 0)
    {
        return -1;
    }

    if (method != NULL) {
        old = gm_path_push(ctx, "method");

        if (gm_grpc_method_parse(ctx, method, m) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return gm_kv_matches_parse(ctx, item, "headers", GM_MAX_HEADER_VALUE,
                               &m->headers, &m->nheaders);
}


static int
gm_grpc_method_parse(gm_parse_ctx_t *ctx, json_t *method, gm_http_match_t *m)
{
    int          rc, type;
    gm_str_t     service, name;
    const char  *s;

    if (gm_check_object(ctx, method) != 0) {
        return -1;
    }

    rc = gm_get_enum(ctx, method, "type", gm_grpc_match_types, &type);
    if (rc < 0) {
        return -1;
    }

    /* read in place: only the path made of them is kept */
    s = "";
    service.len = 0;
    name.len = 0;

    if (gm_get_cstr(ctx, method, "service", 0, GM_MAX_PATH_VALUE, &s,
                    &service.len) < 0)
    {
        return -1;
    }

    service.data = (char *) s;
    s = "";

    if (gm_get_cstr(ctx, method, "method", 0, GM_MAX_PATH_VALUE, &s,
                    &name.len) < 0)
    {
        return -1;
    }

    name.data = (char *) s;

    if (service.len == 0 && name.len == 0) {
        if (rc == 0) {
            return 0;
        }

        return gm_reject(ctx, NULL, "one or both of 'service' or 'method' "
                         "must be specified");
    }

    if (type == 0 && gm_grpc_exact_check(ctx, &service, &name) != 0) {
        return -1;
    }

    if (type == 1) {
        if (service.len) {
            gm_regex_check(ctx, "service", &service);
        }

        if (name.len) {
            gm_regex_check(ctx, "method", &name);
        }
    }

    m->grpc_service_chars = gm_grpc_chars(type == 1, &service);
    m->grpc_method_chars = gm_grpc_chars(type == 1, &name);

    return gm_grpc_method_path(ctx, type == 1, m, &service, &name);
}


/*
 * What a service (or method) name counts for (spec 1.18): an Exact
 * one its length; a RegularExpression one 1, so that it ranks below any
 * Exact name and above none
 */
static uint16_t
gm_grpc_chars(int regex, const gm_str_t *name)
{
    if (name->len == 0) {
        return 0;
    }

    /* at most GM_MAX_PATH_VALUE */
    return regex ? 1 : (uint16_t) name->len;
}


static int
gm_grpc_method_path(gm_parse_ctx_t *ctx, int regex, gm_http_match_t *m,
    const gm_str_t *s, const gm_str_t *me)
{
    int      n;
    char    *p;
    size_t   size;

    size = sizeof(GM_GRPC_TWO_PARTS) + 2 * sizeof(GM_GRPC_ANY_PART)
           + s->len + me->len + 16;
    p = gm_alloc(ctx, 1, size);
    if (p == NULL) {
        return -1;
    }

    if (regex) {
        m->path_type = GM_MATCH_REGEX;
        n = snprintf(p, size, GM_GRPC_TWO_PARTS "/(?:%.*s)/(?:%.*s)",
                     (int) (s->len ? s->len : sizeof(GM_GRPC_ANY_PART) - 1),
                     s->len ? s->data : GM_GRPC_ANY_PART,
                     (int) (me->len ? me->len : sizeof(GM_GRPC_ANY_PART) - 1),
                     me->len ? me->data : GM_GRPC_ANY_PART);

    } else if (s->len && me->len) {
        m->path_type = GM_MATCH_EXACT;
        n = snprintf(p, size, "/%.*s/%.*s", (int) s->len, s->data,
                     (int) me->len, me->data);

    } else if (s->len) {
        m->path_type = GM_MATCH_PREFIX;
        n = snprintf(p, size, "/%.*s/", (int) s->len, s->data);

    } else {
        m->path_type = GM_MATCH_REGEX;
        n = snprintf(p, size, "/" GM_GRPC_ANY_PART "/%.*s", (int) me->len,
                     me->data);
    }

    m->path.data = p;
    m->path.len = (size_t) n;

    return 0;
}


/* the CRD's patterns for Exact (spec 2.3) */
static int
gm_grpc_exact_check(gm_parse_ctx_t *ctx, const gm_str_t *s,
    const gm_str_t *me)
{
    if (s->len && !gm_grpc_service_valid(s)) {
        return gm_reject(ctx, "service", "must be a fully qualified gRPC "
                         "service name such as \"pkg.Service\"");
    }

    if (me->len && !gm_grpc_ident_valid(me->data, me->len)) {
        return gm_reject(ctx, "method", "must be a gRPC method name such as "
                         "\"GetItem\"");
    }

    return 0;
}


/* ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$ */
static int
gm_grpc_service_valid(const gm_str_t *s)
{
    size_t       n;
    const char  *p, *end, *dot;

    p = s->data;
    end = p + s->len;

    if (p < end && *p == '.') {
        p++;
    }

    for ( ;; ) {
        dot = memchr(p, '.', end - p);
        n = (dot ? dot : end) - p;

        if (!gm_grpc_ident_valid(p, n)) {
            return 0;
        }

        if (dot == NULL) {
            return 1;
        }

        p = dot + 1;
    }
}


/* [A-Za-z_][A-Za-z_0-9]*: the service pattern's (?i) allows both cases */
static int
gm_grpc_ident_valid(const char *s, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (i > 0 && c >= '0' && c <= '9'))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/* GRPCRouteFilterType's enum (spec 2.3) */
static int
gm_grpc_filters_check(gm_parse_ctx_t *ctx, const char *where, gm_filter_t *f,
    size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        switch (f[i].type) {

        case GM_FILTER_REQUEST_HEADER_MODIFIER:
        case GM_FILTER_RESPONSE_HEADER_MODIFIER:
        case GM_FILTER_REQUEST_MIRROR:
        case GM_FILTER_EXTENSION_REF:
            break;

        default:
            return gm_reject(ctx, where, "filter %zu: a GRPCRoute supports "
                             "RequestHeaderModifier, ResponseHeaderModifier, "
                             "RequestMirror and ExtensionRef only", i);
        }
    }

    return 0;
}
