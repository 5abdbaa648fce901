/*
 * nginx-gamma: compiling HTTPRoutes: a route attaches to the Service
 * ports its parentRefs name (as producer or consumer route), and its
 * rules, backends and filters are compiled once for all of them.
 */

#include <stdint.h>
#include <string.h>

#include "gm_compile_int.h"


static int gm_compile_attach_ref(gm_compile_ctx_t *ctx, gm_compile_route_t *cr,
    const gm_parent_ref_t *ref);
static int gm_compile_add_attach(gm_compile_ctx_t *ctx, gm_frontend_t *f,
    const gm_str_t *ns, gm_compile_route_t *cr);
static int gm_compile_route(gm_compile_ctx_t *ctx, gm_compile_route_t *cr);
static int gm_compile_rule_ext(gm_compile_ctx_t *ctx, gm_rule_t *rule,
    const gm_http_rule_t *hr);
static void gm_compile_retry_codes_check(gm_compile_ctx_t *ctx,
    const gm_rule_t *rule);
static int gm_compile_rule(gm_compile_ctx_t *ctx, gm_compile_route_t *cr,
    uint32_t index);
static int gm_compile_backend_filters(gm_compile_ctx_t *ctx, gm_rule_t *rule,
    size_t n, size_t i, const gm_filters_t *fs);
static int gm_compile_rule_backends(gm_compile_ctx_t *ctx, gm_rule_t *rule,
    const gm_http_rule_t *hr);
static int gm_compile_filters(gm_compile_ctx_t *ctx, const gm_rule_t *rule,
    const gm_http_rule_t *hr, const gm_filter_t *f, size_t n,
    const gm_filters_t **out);
static gm_backend_t *gm_compile_filter_backend(void *data, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port);


/* the CRD default of a route without rules: one rule, no backendRefs */
static const gm_http_rule_t  gm_compile_default_rule;


int
gm_compile_attach_routes(gm_compile_ctx_t *ctx)
{
    size_t           i, p;
    gm_httproute_t  *route;

    for (i = 0; i < ctx->nroutes; i++) {
        route = ctx->routes[i].route;

        for (p = 0; p < route->nparents; p++) {
            if (gm_compile_attach_ref(ctx, &ctx->routes[i], &route->parents[p])
                != 0)
            {
                return -1;
            }
        }
    }

    return 0;
}


/* group "" is the API's; "core" appears in the mesh docs (spec 1.1) */

int
gm_compile_is_service_parent(const gm_parent_ref_t *ref)
{
    return (ref->gk->group.len == 0
            || gm_str_eq_cstr(&ref->gk->group, "core"))
           && gm_str_eq_cstr(&ref->gk->kind, "Service");
}


static int
gm_compile_attach_ref(gm_compile_ctx_t *ctx, gm_compile_route_t *cr,
    const gm_parent_ref_t *ref)
{
    size_t                 i, n;
    const char            *reason;
    const gm_str_t        *ns;
    gm_compile_service_t  *cs;

    if (!gm_compile_is_service_parent(ref)) {
        return 0;
    }

    /* a subset compile: the other Services' tables stay as they were */
    if (ctx->subset != NULL
        && !gm_compile_subset_has(ctx->subset, &ref->ns, &ref->name))
    {
        return 0;
    }

    cs = gm_compile_find_service(ctx, &ref->ns, &ref->name);

    if (cs == NULL) {
        reason = "does not exist";

    } else if (cs->svc->headless) {
        reason = "is headless";

    } else if (cs->svc->type == GM_SERVICE_EXTERNAL_NAME) {
        reason = "is an ExternalName Service";

    } else {
        reason = NULL;
    }

    if (reason != NULL) {
        gm_log(ctx->log, GM_LOG_WARN,
               "%s %s/%s: parentRef Service %s/%s %s, not attached",
               gm_kind_name(cr->route->meta.kind), cr->route->meta.ns.data,
               cr->route->meta.name.data,
               ref->ns.data, ref->name.data, reason);
        return 0;
    }

    /* a Service in another namespace makes it a consumer route */
    ns = gm_str_eq(&cr->route->meta.ns, &ref->ns) ? NULL
                                                  : &cr->route->meta.ns;
    n = 0;

    for (i = 0; i < cs->svc->nports; i++) {
        if (gm_compile_port_applies(&cs->svc->ports[i], ref)) {
            if (gm_compile_add_attach(ctx, &cs->frontends[i], ns, cr) != 0) {
                return -1;
            }

            n++;
        }
    }

    if (n == 0) {
        gm_log(ctx->log, GM_LOG_WARN,
               "%s %s/%s: parentRef Service %s/%s has no port "
               "matching port %u sectionName \"%s\", not attached",
               gm_kind_name(cr->route->meta.kind), cr->route->meta.ns.data,
               cr->route->meta.name.data,
               ref->ns.data, ref->name.data,
               (unsigned) ref->port,
               ref->section_name);
        return 0;
    }

    return (cr->rules == NULL) ? gm_compile_route(ctx, cr) : 0;
}


/* port and sectionName narrow a parentRef; both set: both must match */

int
gm_compile_port_applies(const gm_service_port_t *sp, const gm_parent_ref_t *ref)
{
    if (ref->port != 0 && ref->port != sp->port) {
        return 0;
    }

    if (ref->section_name[0] != '\0'
        && !gm_str_eq_cstr(&sp->name, ref->section_name))
    {
        return 0;
    }

    return 1;
}


static int
gm_compile_add_attach(gm_compile_ctx_t *ctx, gm_frontend_t *f,
    const gm_str_t *ns, gm_compile_route_t *cr)
{
    gm_compile_attach_t  *a;

    if (gm_compile_reserve((void **) &ctx->attach, &ctx->attach_size,
                           ctx->nattach + 1, sizeof(gm_compile_attach_t))
        != 0)
    {
        return -1;
    }

    a = &ctx->attach[ctx->nattach++];
    a->frontend = f - ctx->frontends;
    a->ns = ns;
    a->route = cr;

    return 0;
}


/* rules and matches of a route, compiled once for all its frontends */

static int
gm_compile_route(gm_compile_ctx_t *ctx, gm_compile_route_t *cr)
{
    size_t                 n;
    uint32_t               r, nrules;
    const gm_http_rule_t  *hr;

    nrules = cr->route->nrules ? cr->route->nrules : 1;

    cr->rules = gm_arena_calloc(ctx->arena, nrules * sizeof(gm_rule_t));
    cr->names = gm_arena_alloc(ctx->arena, sizeof(gm_rule_route_t));
    if (cr->rules == NULL || cr->names == NULL
        || gm_compile_intern(ctx, &cr->ns, &cr->route->meta.ns) != 0
        || gm_compile_intern(ctx, &cr->name, &cr->route->meta.name) != 0)
    {
        return -1;
    }

    cr->names->ns = cr->ns;
    cr->names->name = cr->name;

    /* an invalid rule is never compiled, but is read */
    for (r = 0; r < nrules; r++) {
        cr->rules[r].route = cr->names;
        cr->rules[r].ext = &gm_rule_ext_none;
    }

    n = 0;

    for (r = 0; r < nrules; r++) {
        hr = gm_compile_http_rule(cr, r);

        if (!hr->invalid) {
            n += hr->nmatches ? hr->nmatches : 1;
        }
    }

    cr->entries = gm_arena_alloc(ctx->scratch,
                                 (n + 1) * sizeof(gm_compile_entry_t));
    if (cr->entries == NULL) {
        return -1;
    }

    for (r = 0; r < nrules; r++) {
        if (gm_compile_http_rule(cr, r)->invalid) {
            continue;
        }

        if (gm_compile_rule(ctx, cr, r) != 0
            || gm_compile_rule_entries(ctx, cr, r) != 0)
        {
            return -1;
        }
    }

    return 0;
}


const gm_http_rule_t *
gm_compile_http_rule(const gm_compile_route_t *cr, uint32_t index)
{
    if (cr->route->nrules == 0) {
        return &gm_compile_default_rule;
    }

    return &cr->route->rules[index];
}


/* timeouts, retry and sessionPersistence: out of line when set */

static int
gm_compile_rule_ext(gm_compile_ctx_t *ctx, gm_rule_t *rule,
    const gm_http_rule_t *hr)
{
    uint16_t                  *codes;
    gm_rule_ext_t             *rx;
    const gm_http_rule_ext_t  *ext;

    ext = gm_http_rule_ext(hr);

    rule->has_retry = ext->has_retry;

    if (ext->timeout_request_ms == GM_DURATION_UNSET
        && ext->timeout_backend_ms == GM_DURATION_UNSET
        && ext->retry_backoff_ms == GM_DURATION_UNSET
        && ext->retry_attempts == 0 && ext->nretry_codes == 0
        && ext->session == NULL)
    {
        rule->ext = &gm_rule_ext_none;
        return 0;
    }

    rx = gm_arena_calloc(ctx->arena, sizeof(gm_rule_ext_t));
    if (rx == NULL) {
        return -1;
    }

    rule->ext = rx;
    rx->session_path = "";
    rx->timeout_request_ms = ext->timeout_request_ms;
    rx->timeout_backend_ms = ext->timeout_backend_ms;
    rx->retry_attempts = ext->retry_attempts;
    rx->retry_backoff_ms = ext->retry_backoff_ms;

    if (ext->nretry_codes != 0) {
        codes = gm_arena_alloc(ctx->arena,
                               ext->nretry_codes * sizeof(uint16_t));
        if (codes == NULL) {
            return -1;
        }

        memcpy(codes, ext->retry_codes, ext->nretry_codes * sizeof(uint16_t));
        rx->retry_codes = codes;
        rx->nretry_codes = ext->nretry_codes;

        gm_compile_retry_codes_check(ctx, rule);
    }

    return gm_compile_rule_session(ctx, rx, hr);
}


/* nginx's upstream can retry on these statuses only */
static void
gm_compile_retry_codes_check(gm_compile_ctx_t *ctx, const gm_rule_t *rule)
{
    size_t  i;

    for (i = 0; i < rule->ext->nretry_codes; i++) {
        switch (rule->ext->retry_codes[i]) {
        case 403: case 404: case 429: case 500: case 502: case 503: case 504:
            break;

        default:
            gm_log(ctx->log, GM_LOG_WARN,
                   "HTTPRoute %s/%s rule %u: retry code %u is not retried "
                   "(nginx retries on 403, 404, 429, 500, 502, 503 and 504)",
                   rule->route->ns.data, rule->route->name.data,
                   (unsigned) rule->rule_index,
                   (unsigned) rule->ext->retry_codes[i]);
        }
    }
}


#if (GM_MAX_RULES > 255 || GM_MAX_BACKEND_REFS > 255)
#error "gm_rule_t.rule_index and .nbackends are 8-bit"
#endif


/* label: "ns/name/rulename", or "ns/name/rule<index>" when unnamed */

static int
gm_compile_rule(gm_compile_ctx_t *ctx, gm_compile_route_t *cr, uint32_t index)
{
    int                    rc;
    gm_rule_t             *rule;
    gm_rule_ext_t         *rx;
    const gm_http_rule_t  *hr;
    const gm_filters_t    *filters;

    rule = &cr->rules[index];
    hr = gm_compile_http_rule(cr, index);

    rule->rule_index = index;
    rule->no_backends = (hr->nbackends == 0);
    rule->grpc = (cr->route->meta.kind == GM_KIND_GRPCROUTE);

    if (gm_compile_rule_ext(ctx, rule, hr) != 0) {
        return -1;
    }

    if (gm_http_rule_ext(hr)->name.len != 0) {
        rule->named = 1;
        rc = gm_compile_sprintf(ctx->arena, &rule->label, "%s/%s/%s",
                                cr->ns.data, cr->name.data,
                                gm_http_rule_ext(hr)->name.data);

    } else {
        rc = gm_compile_sprintf(ctx->arena, &rule->label, "%s/%s/rule%u",
                                cr->ns.data, cr->name.data, (unsigned) index);
    }

    if (rc != 0
        || gm_compile_filters(ctx, rule, hr, hr->filters, hr->nfilters,
                              &filters) != 0)
    {
        return -1;
    }

    if (filters != NULL) {
        rx = gm_compile_rule_own_ext(ctx, rule);
        if (rx == NULL) {
            return -1;
        }

        rx->filters = filters;
        rule->has_filters = 1;
    }

    return gm_compile_rule_backends(ctx, rule, hr);
}


/* the rule's ext, its own (a copy of gm_rule_ext_none if it had none) */

gm_rule_ext_t *
gm_compile_rule_own_ext(gm_compile_ctx_t *ctx, gm_rule_t *rule)
{
    gm_rule_ext_t  *rx;

    if (rule->ext == &gm_rule_ext_none) {
        rx = gm_arena_alloc(ctx->arena, sizeof(gm_rule_ext_t));
        if (rx == NULL) {
            return NULL;
        }

        *rx = gm_rule_ext_none;
        rule->ext = rx;
    }

    /* else made by gm_compile_rule_ext(), for this rule of this compile */
    return (gm_rule_ext_t *) rule->ext;
}


/*
 * Every ref becomes a backend of the rule.  Invalid and unresolved ones
 * stay, so that their share of requests fails.
 */

static int
gm_compile_rule_backends(gm_compile_ctx_t *ctx, gm_rule_t *rule,
    const gm_http_rule_t *hr)
{
    size_t                  i, n;
    gm_backend_t           *b;
    const gm_filters_t     *fs;
    gm_weighted_backend_t  *wb;

    /*
     * Weight-0 backends stay: the weights never choose them, but a session
     * persisted to one of their endpoints keeps it (spec 1.14: persistence
     * beats weights, weight 0 included).
     */
    n = hr->nbackends;

    if (n == 0) {
        return 0;
    }

    rule->backends = gm_arena_calloc(ctx->arena,
                                     n * sizeof(gm_weighted_backend_t));
    if (rule->backends == NULL) {
        return -1;
    }

    for (i = 0; i < hr->nbackends; i++) {
        b = gm_compile_ref_backend(ctx, rule, &hr->backends[i]);
        if (b == NULL) {
            return -1;
        }

        wb = &rule->backends[rule->nbackends++];
        wb->backend = b;
        wb->weight = hr->backends[i].weight;
        rule->total_weight += wb->weight;

        if (gm_compile_filters(ctx, rule, hr, hr->backends[i].filters,
                               hr->backends[i].nfilters, &fs)
            != 0
            || (fs != NULL
                && gm_compile_backend_filters(ctx, rule, n, i, fs) != 0))
        {
            return -1;
        }
    }

    return 0;
}


/* backend i's filters, in an array of n the rule's ext gets on first use */

static int
gm_compile_backend_filters(gm_compile_ctx_t *ctx, gm_rule_t *rule, size_t n,
    size_t i, const gm_filters_t *fs)
{
    gm_rule_ext_t  *rx;

    rx = gm_compile_rule_own_ext(ctx, rule);
    if (rx == NULL) {
        return -1;
    }

    if (rx->backend_filters == NULL) {
        rx->backend_filters = gm_arena_calloc(ctx->arena,
                                              n * sizeof(gm_filters_t *));
        if (rx->backend_filters == NULL) {
            return -1;
        }
    }

    rx->backend_filters[i] = fs;
    rule->has_backend_filters = 1;

    return 0;
}


/* filters compile into the snapshot; mirrors resolve like backendRefs */

static int
gm_compile_filters(gm_compile_ctx_t *ctx, const gm_rule_t *rule,
    const gm_http_rule_t *hr, const gm_filter_t *f, size_t n,
    const gm_filters_t **out)
{
    gm_filter_compile_ctx_t  fctx;

    fctx.arena = ctx->arena;
    fctx.log = ctx->log;
    fctx.label = rule->label.data;
    fctx.rule = hr;
    fctx.backend = gm_compile_filter_backend;
    fctx.data = ctx;
    ctx->filter_rule = rule;

    return gm_filters_compile(&fctx, f, n, out);
}


static gm_backend_t *
gm_compile_filter_backend(void *data, const gm_str_t *ns, const gm_str_t *name,
    uint16_t port)
{
    gm_compile_ctx_t *ctx = data;

    if (ctx->filter_rule != NULL
        && !gm_compile_ref_permitted(ctx, ctx->filter_rule->grpc
                                          ? GM_KIND_GRPCROUTE
                                          : GM_KIND_HTTPROUTE,
                                     &ctx->filter_rule->route->ns, ns, name))
    {
        return gm_compile_refused_backend(ctx, ctx->filter_rule, ns, name,
                                          port);
    }

    return gm_compile_backend(ctx, ns, name, port);
}
