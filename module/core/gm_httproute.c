/*
 * nginx-gamma: parsing an HTTPRoute (gateway.networking.k8s.io v1 and
 * v1beta1): parentRefs, hostnames, rules, backendRefs, timeouts and
 * retries.  Matches are read by gm_httproute_match.c, filters by
 * gm_httproute_filter.c.  What the API server accepts but we cannot serve
 * invalidates the rule alone; the route's other rules keep working.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gm_parse_int.h"


static int gm_parent_ref_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_parent_ref_t *p);
static int gm_parent_ref_unique(gm_parse_ctx_t *ctx, gm_parent_ref_t *refs,
    size_t i);
static int gm_rules_parse(gm_parse_ctx_t *ctx, json_t *spec,
    gm_httproute_t *route);
static int gm_rule_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_http_rule_t *rule);
static int gm_rule_redirect_check(gm_parse_ctx_t *ctx, gm_http_rule_t *rule);
static int gm_backend_ref_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_backend_ref_t *b);
static const gm_group_kind_t *gm_group_kind(gm_parse_ctx_t *ctx,
    const gm_str_t *group, const gm_str_t *kind);
static int gm_group_kind_eq(const gm_group_kind_t *a,
    const gm_group_kind_t *b);
static int gm_get_rule_duration(gm_parse_ctx_t *ctx, json_t *obj,
    const char *where, const char *key, int64_t *ms);
static int gm_timeouts_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_http_rule_t *rule);
static int gm_retry_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_http_rule_t *rule);
static int gm_retry_codes_parse(gm_parse_ctx_t *ctx, json_t *retry,
    gm_http_rule_ext_t *ext);


/* what gm_http_rule_ext() gives a rule that sets none of it */
static const gm_http_rule_ext_t  gm_http_rule_ext_unset = {
    .name = { 0, (char *) "" },
    .timeout_request_ms = GM_DURATION_UNSET,
    .timeout_backend_ms = GM_DURATION_UNSET,
    .retry_backoff_ms = GM_DURATION_UNSET
};

const gm_group_kind_t  gm_group_kind_service = {
    { 0, (char *) "" }, { 7, (char *) "Service" }
};

const gm_group_kind_t  gm_group_kind_gateway = {
    { sizeof(GM_GATEWAY_GROUP) - 1, (char *) GM_GATEWAY_GROUP },
    { 7, (char *) "Gateway" }
};


int
gm_httproute_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body)
{
    return gm_route_spec_parse(ctx, json, body, gm_rules_parse);
}


const gm_http_rule_ext_t *
gm_http_rule_ext(const gm_http_rule_t *rule)
{
    return rule->ext ? rule->ext : &gm_http_rule_ext_unset;
}


/* the rule's out-of-line part, made when the first of its fields is set */
/* a rule's name is out of line: most rules have none */
int
gm_rule_name_parse(gm_parse_ctx_t *ctx, json_t *item, gm_http_rule_t *rule)
{
    gm_str_t             name;
    gm_http_rule_ext_t  *ext;

    if (gm_get_name(ctx, item, "name", GM_NAME_SUBDOMAIN, 0, &name) < 0) {
        return -1;
    }

    if (name.len == 0) {
        return 0;
    }

    ext = gm_rule_ext_get(ctx, rule);
    if (ext == NULL) {
        return -1;
    }

    ext->name = name;

    return 0;
}


gm_http_rule_ext_t *
gm_rule_ext_get(gm_parse_ctx_t *ctx, gm_http_rule_t *rule)
{
    if (rule->ext == NULL) {
        rule->ext = gm_alloc(ctx, 1, sizeof(gm_http_rule_ext_t));

        if (rule->ext != NULL) {
            *rule->ext = gm_http_rule_ext_unset;
        }
    }

    return rule->ext;
}


/*
 * An xRoute's spec (HTTPRoute, GRPCRoute): parentRefs, hostnames and the
 * rules, which rules() of the kind parses.
 */
int
gm_route_spec_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body, gm_rules_parse_pt rules)
{
    json_t          *spec;
    gm_httproute_t  *route;

    route = &body->httproute;

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    (void) gm_path_push(ctx, "spec");

    if (gm_parent_refs_parse(ctx, spec, route) != 0
        || gm_hostnames_check(ctx, spec) != 0
        || rules(ctx, spec, route) != 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    /* the route is valid: now its invalid rules are worth a line */
    gm_rules_report(ctx, route);

    return 0;
}


int
gm_parent_refs_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_httproute_t *route)
{
    size_t   i, n, old;
    json_t  *refs, *item;

    if (gm_get_array(ctx, spec, "parentRefs", GM_MAX_PARENT_REFS, &refs) != 0)
    {
        return -1;
    }

    n = json_array_size(refs);
    if (n == 0) {
        return 0;
    }

    route->parents = gm_alloc(ctx, n, sizeof(gm_parent_ref_t));
    if (route->parents == NULL) {
        return -1;
    }

    route->nparents = n;

    json_array_foreach(refs, i, item) {
        old = gm_path_push(ctx, "parentRefs[%zu]", i);

        if (gm_parent_ref_parse(ctx, item, &route->parents[i]) != 0
            || gm_parent_ref_unique(ctx, route->parents, i) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_parent_ref_parse(gm_parse_ctx_t *ctx, json_t *item, gm_parent_ref_t *p)
{
    gm_str_t  group, kind, section;

    if (gm_check_object(ctx, item) != 0
        || gm_get_name_def(ctx, item, "group", GM_NAME_GROUP,
                           GM_GATEWAY_GROUP, &group) != 0
        || gm_get_name_def(ctx, item, "kind", GM_NAME_KIND, "Gateway",
                           &kind) != 0
        || gm_get_ns(ctx, item, &p->ns) != 0
        || gm_get_name(ctx, item, "name", GM_NAME_OBJECT, GM_REQUIRED,
                       &p->name) < 0
        || gm_get_name(ctx, item, "sectionName", GM_NAME_SUBDOMAIN, 0,
                       &section) < 0)
    {
        return -1;
    }

    p->section_name = section.data;
    p->gk = gm_group_kind(ctx, &group, &kind);
    if (p->gk == NULL) {
        return -1;
    }

    if (gm_get_port(ctx, item, "port", &p->port) < 0) {
        return -1;
    }

    return 0;
}


/* the CEL rule of the experimental channel, the laxer of the two */
static int
gm_parent_ref_unique(gm_parse_ctx_t *ctx, gm_parent_ref_t *refs, size_t i)
{
    size_t            j;
    gm_parent_ref_t  *a, *b;

    a = &refs[i];

    for (j = 0; j < i; j++) {
        b = &refs[j];

        if (!gm_group_kind_eq(a->gk, b->gk)
            || !gm_str_eq(&a->ns, &b->ns) || !gm_str_eq(&a->name, &b->name))
        {
            continue;
        }

        if ((a->section_name[0] == '\0' && a->port == 0)
            || (b->section_name[0] == '\0' && b->port == 0))
        {
            return gm_reject(ctx, NULL, "sectionName or port must be "
                             "specified when parentRefs includes 2 or more "
                             "references to the same parent");
        }

        if (strcmp(a->section_name, b->section_name) == 0
            && a->port == b->port)
        {
            return gm_reject(ctx, NULL, "sectionName or port must be unique "
                             "when parentRefs includes 2 or more references "
                             "to the same parent");
        }
    }

    return 0;
}


/* hostnames mean nothing in a mesh (GEP-1294) but are still validated */
int
gm_hostnames_check(gm_parse_ctx_t *ctx, json_t *spec)
{
    char         field[GM_FIELD_NAME_MAX];
    size_t       i, len;
    json_t      *hosts, *v;
    gm_addr_t    addr;
    const char  *s;

    if (gm_get_array(ctx, spec, "hostnames", GM_MAX_HOSTNAMES, &hosts) != 0) {
        return -1;
    }

    json_array_foreach(hosts, i, v) {
        snprintf(field, sizeof(field), "hostnames[%zu]", i);

        if (gm_check_string(ctx, field, v, 0, SIZE_MAX, &s, &len) != 0
            || gm_check_name(ctx, field, s, len, GM_NAME_HOSTNAME) != 0)
        {
            return -1;
        }

        if (gm_addr_parse(&addr, s) == 0) {
            return gm_reject(ctx, field, "must not be an IP address");
        }
    }

    return 0;
}


static int
gm_rules_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_httproute_t *route)
{
    size_t   i, n, old;
    json_t  *rules, *item;

    if (gm_get_array(ctx, spec, "rules", GM_MAX_RULES, &rules) != 0) {
        return -1;
    }

    if (rules != NULL && json_array_size(rules) == 0) {
        return gm_reject(ctx, "rules", "must have at least 1 item");
    }

    /* no rules: the CRD default, one rule with the default match */
    n = rules ? json_array_size(rules) : 1;

    route->rules = gm_alloc(ctx, n, sizeof(gm_http_rule_t));
    if (route->rules == NULL) {
        return -1;
    }

    route->nrules = n;

    for (i = 0; i < n; i++) {
        old = gm_path_push(ctx, "rules[%zu]", i);
        item = json_array_get(rules, i);

        ctx->rule = &route->rules[i];
        ctx->rule_index = i;

        if ((rules != NULL && gm_check_object(ctx, item) != 0)
            || gm_rule_parse(ctx, item, &route->rules[i]) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    ctx->rule = NULL;

    return gm_rules_check(ctx, route);
}


static int
gm_rule_parse(gm_parse_ctx_t *ctx, json_t *item, gm_http_rule_t *rule)
{
    if (gm_rule_name_parse(ctx, item, rule) != 0
        || gm_matches_parse(ctx, item, rule) != 0
        || gm_filters_parse(ctx, item, &rule->filters, &rule->nfilters) != 0
        || gm_backend_refs_parse(ctx, item, rule) != 0
        || gm_timeouts_parse(ctx, item, rule) != 0
        || gm_retry_parse(ctx, item, rule) != 0
        || gm_rule_session_parse(ctx, item, rule) != 0
        || gm_rule_redirect_check(ctx, rule) != 0)
    {
        return -1;
    }

    return 0;
}


int
gm_rules_check(gm_parse_ctx_t *ctx, gm_httproute_t *route)
{
    char             field[GM_FIELD_NAME_MAX];
    size_t           i, j, total;
    const gm_str_t  *a;

    total = 0;

    for (i = 0; i < route->nrules; i++) {
        total += route->rules[i].nmatches;
        a = &gm_http_rule_ext(&route->rules[i])->name;

        for (j = 0; j < i; j++) {
            if (a->len
                && gm_str_eq(a, &gm_http_rule_ext(&route->rules[j])->name))
            {
                snprintf(field, sizeof(field), "rules[%zu].name", i);
                return gm_reject(ctx, field,
                                 "must be unique within the route");
            }
        }
    }

    if (total > GM_MAX_MATCHES_TOTAL) {
        return gm_reject(ctx, "rules", "must have at most %d matches in "
                         "total", GM_MAX_MATCHES_TOTAL);
    }

    return 0;
}


static int
gm_rule_redirect_check(gm_parse_ctx_t *ctx, gm_http_rule_t *rule)
{
    size_t  i;

    if (rule->nbackends == 0) {
        return 0;
    }

    for (i = 0; i < rule->nfilters; i++) {
        if (rule->filters[i].type == GM_FILTER_REQUEST_REDIRECT) {
            return gm_reject(ctx, NULL, "RequestRedirect filter must not be "
                             "used together with backendRefs");
        }
    }

    return 0;
}


int
gm_backend_refs_parse(gm_parse_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    size_t   i, n, old;
    json_t  *arr, *item;

    if (gm_get_array(ctx, json, "backendRefs", GM_MAX_BACKEND_REFS, &arr)
        != 0)
    {
        return -1;
    }

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    rule->backends = gm_alloc(ctx, n, sizeof(gm_backend_ref_t));
    if (rule->backends == NULL) {
        return -1;
    }

    rule->nbackends = n;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "backendRefs[%zu]", i);

        if (gm_backend_ref_parse(ctx, item, &rule->backends[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_backend_ref_parse(gm_parse_ctx_t *ctx, json_t *item, gm_backend_ref_t *b)
{
    int      rc;
    int64_t  weight;

    if (gm_object_ref_parse(ctx, item, b) != 0) {
        return -1;
    }

    rc = gm_get_int(ctx, item, "weight", 0, GM_MAX_WEIGHT, &weight);
    if (rc < 0) {
        return -1;
    }

    b->weight = rc ? (uint32_t) weight : 1;

    return gm_filters_parse(ctx, item, &b->filters, &b->nfilters);
}


/* a BackendObjectReference: of backendRefs and of RequestMirror */
int
gm_object_ref_parse(gm_parse_ctx_t *ctx, json_t *item, gm_backend_ref_t *b)
{
    int       rc;
    gm_str_t  group, kind;

    if (gm_check_object(ctx, item) != 0
        || gm_get_name_def(ctx, item, "group", GM_NAME_GROUP, "", &group)
           != 0
        || gm_get_name_def(ctx, item, "kind", GM_NAME_KIND, "Service",
                           &kind) != 0
        || gm_get_name(ctx, item, "name", GM_NAME_OBJECT, GM_REQUIRED,
                       &b->name) < 0
        || gm_get_ns(ctx, item, &b->ns) != 0)
    {
        return -1;
    }

    b->gk = gm_group_kind(ctx, &group, &kind);
    if (b->gk == NULL) {
        return -1;
    }

    rc = gm_get_port(ctx, item, "port", &b->port);
    if (rc < 0) {
        return -1;
    }

    if (rc == 0 && b->gk == &gm_group_kind_service) {
        return gm_reject(ctx, "port", "is required for a Service reference");
    }

    return 0;
}


/* the static pair when it is one, else the object's copy */
static const gm_group_kind_t *
gm_group_kind(gm_parse_ctx_t *ctx, const gm_str_t *group,
    const gm_str_t *kind)
{
    gm_group_kind_t        *gk;
    const gm_group_kind_t  *known;

    /* group "" may have no data: compared by length first */
    known = &gm_group_kind_service;

    if (group->len == 0 && gm_str_eq(kind, &known->kind)) {
        return known;
    }

    known = &gm_group_kind_gateway;

    if (group->len != 0 && gm_str_eq(group, &known->group)
        && gm_str_eq(kind, &known->kind))
    {
        return known;
    }

    gk = gm_alloc(ctx, 1, sizeof(gm_group_kind_t));
    if (gk == NULL) {
        return NULL;
    }

    gk->group = *group;
    gk->kind = *kind;

    return gk;
}


static int
gm_group_kind_eq(const gm_group_kind_t *a, const gm_group_kind_t *b)
{
    return a == b
           || (a->group.len == b->group.len && a->kind.len == b->kind.len
               && (a->group.len == 0
                   || memcmp(a->group.data, b->group.data, a->group.len) == 0)
               && memcmp(a->kind.data, b->kind.data, a->kind.len) == 0);
}


/*
 * A duration the rule cannot use disables that rule alone (the issue asks
 * for rule-level rejection): the route's other rules keep working.
 */
static int
gm_get_rule_duration(gm_parse_ctx_t *ctx, json_t *obj, const char *where,
    const char *key, int64_t *ms)
{
    int          rc;
    size_t       len;
    int64_t      n;
    const char  *s;

    rc = gm_get_cstr(ctx, obj, key, 0, SIZE_MAX, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    n = gm_duration_parse(s, len);
    if (n < 0) {
        gm_rule_invalid(ctx, "%s.%s: \"%.32s\" is not a duration such as "
                        "\"1h30m\", \"10s\" or \"500ms\" (GEP-2257)",
                        where, key, s);
        return 0;
    }

    *ms = n;

    return 1;
}


static int
gm_timeouts_parse(gm_parse_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    size_t               old;
    json_t              *t;
    int64_t              request, backend;
    gm_http_rule_ext_t  *ext;

    if (gm_get_object(ctx, json, "timeouts", &t) != 0) {
        return -1;
    }

    if (t == NULL) {
        return 0;
    }

    old = gm_path_push(ctx, "timeouts");
    request = GM_DURATION_UNSET;
    backend = GM_DURATION_UNSET;

    if (gm_get_rule_duration(ctx, t, "timeouts", "request", &request) < 0
        || gm_get_rule_duration(ctx, t, "timeouts", "backendRequest",
                                &backend) < 0)
    {
        return -1;
    }

    if (request > 0 && backend > request) {
        gm_rule_invalid(ctx, "timeouts.backendRequest: must not be longer "
                        "than timeouts.request");
    }

    if (request != GM_DURATION_UNSET || backend != GM_DURATION_UNSET) {
        ext = gm_rule_ext_get(ctx, rule);
        if (ext == NULL) {
            return -1;
        }

        ext->timeout_request_ms = request;
        ext->timeout_backend_ms = backend;
    }

    gm_path_pop(ctx, old);

    return 0;
}


/* attempts stays 0 when unset: how many is then up to the proxy */
static int
gm_retry_parse(gm_parse_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    int                  rc;
    size_t               old;
    json_t              *retry;
    int64_t              attempts;
    gm_http_rule_ext_t  *ext;

    if (gm_get_object(ctx, json, "retry", &retry) != 0) {
        return -1;
    }

    if (retry == NULL) {
        return 0;
    }

    ext = gm_rule_ext_get(ctx, rule);
    if (ext == NULL) {
        return -1;
    }

    ext->has_retry = 1;
    old = gm_path_push(ctx, "retry");

    rc = gm_get_int(ctx, retry, "attempts", 1, UINT32_MAX, &attempts);
    if (rc < 0) {
        return -1;
    }

    ext->retry_attempts = rc ? (uint32_t) attempts : 0;

    if (gm_get_rule_duration(ctx, retry, "retry", "backoff",
                             &ext->retry_backoff_ms) < 0
        || gm_retry_codes_parse(ctx, retry, ext) != 0)
    {
        return -1;
    }

    gm_path_pop(ctx, old);

    return 0;
}


static int
gm_retry_codes_parse(gm_parse_ctx_t *ctx, json_t *retry,
    gm_http_rule_ext_t *ext)
{
    char      field[GM_FIELD_NAME_MAX];
    size_t    i, j, n;
    json_t   *codes, *v;
    int64_t   code;

    if (gm_get_array(ctx, retry, "codes", GM_MAX_RETRY_CODES, &codes) != 0) {
        return -1;
    }

    n = json_array_size(codes);
    if (n == 0) {
        return 0;
    }

    ext->retry_codes = gm_alloc(ctx, n, sizeof(uint16_t));
    if (ext->retry_codes == NULL) {
        return -1;
    }

    json_array_foreach(codes, i, v) {
        snprintf(field, sizeof(field), "codes[%zu]", i);

        if (gm_check_int(ctx, field, v, GM_RETRY_CODE_MIN, GM_RETRY_CODE_MAX,
                         &code) != 0) {
            return -1;
        }

        for (j = 0; j < i; j++) {
            if (ext->retry_codes[j] == code) {
                return gm_reject(ctx, field, "duplicate value %d",
                                 (int) code);
            }
        }

        ext->retry_codes[i] = (uint16_t) code;
    }

    ext->nretry_codes = n;

    return 0;
}


/* sessionPersistence, into the rule's out-of-line part when set */
int
gm_rule_session_parse(gm_parse_ctx_t *ctx, json_t *item, gm_http_rule_t *rule)
{
    gm_session_t        *session;
    gm_http_rule_ext_t  *ext;

    if (gm_session_parse(ctx, item, &session) != 0) {
        return -1;
    }

    if (session == NULL) {
        return 0;
    }

    ext = gm_rule_ext_get(ctx, rule);
    if (ext == NULL) {
        return -1;
    }

    ext->session = session;

    return 0;
}
