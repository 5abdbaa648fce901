/*
 * nginx-gamma: the status of routes, computed by the compiler once the
 * Services are indexed: per parentRef to a Service, Accepted (or
 * NoMatchingParent, UnsupportedValue), ResolvedRefs (or BackendNotFound,
 * InvalidKind, UnsupportedProtocol, RefNotPermitted) and PartiallyInvalid
 * when some rules were dropped.  Other kinds (policies) add entries through
 * gm_compile_status_add() from their own stage.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"
#include "gm_route_status.h"


/* a message: printed into buf, or (len 0) fixed, a static string */
typedef struct {
    char        buf[GM_STATUS_MESSAGE_MAX];
    size_t      len;
    const char *fixed;
} gm_status_msg_t;

/* the GRPCRoute bound to each frontend, if any: the port's kind */
typedef struct {
    const gm_compile_route_t  **grpc;       /* by frontend index, or NULL */
} gm_status_kinds_t;

/* an entry's conditions while they are computed */
typedef struct {
    size_t           n;
    gm_condition_t   conds[GM_STATUS_MAX_CONDITIONS];
} gm_status_conds_t;


static int gm_compile_status_chunks(gm_compile_ctx_t *ctx);
static int gm_status_kinds(gm_compile_ctx_t *ctx, gm_status_kinds_t *k);
static int gm_status_route(gm_compile_ctx_t *ctx,
    const gm_status_kinds_t *k, const gm_compile_route_t *cr);
static const char *gm_status_parent(gm_compile_ctx_t *ctx,
    const gm_status_kinds_t *k, const gm_httproute_t *route,
    const gm_parent_ref_t *ref, gm_status_msg_t *msg);
static const char *gm_status_conflict(gm_compile_ctx_t *ctx,
    const gm_status_kinds_t *k, const gm_compile_service_t *cs,
    const gm_parent_ref_t *ref, gm_status_msg_t *msg);
static const char *gm_status_rules(const gm_httproute_t *route,
    gm_status_msg_t *msg, int *partial);
static const char *gm_status_refs(gm_compile_ctx_t *ctx,
    const gm_httproute_t *route, gm_status_msg_t *msg);
static const char *gm_status_ref(gm_compile_ctx_t *ctx,
    const gm_httproute_t *route, const gm_backend_ref_t *ref,
    const char **why);
static void gm_status_printf(gm_status_msg_t *msg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int gm_status_cond(gm_compile_ctx_t *ctx, gm_status_conds_t *cs,
    const char *type, unsigned status, const char *reason,
    const gm_status_msg_t *msg);
static int gm_status_set_conds(gm_compile_ctx_t *ctx, gm_status_entry_t *e,
    const gm_status_conds_t *cs);
static int gm_status_conds_shared(const gm_status_conds_t *cs);
static int gm_status_copy_ref(gm_compile_ctx_t *ctx, gm_parent_ref_t *dst,
    const gm_parent_ref_t *src);
static int gm_status_cmp(const void *one, const void *two);


/* the message of an accepted route, made by its readers: one per route */
static const char  gm_status_accepted[] = "Route accepted";
static const char  gm_status_resolved[] = "All references resolved";


/*
 * The conditions of a route accepted with all its references resolved,
 * most entries' (memory, issue 12: 64 bytes an entry at 10,000 routes):
 * such an entry points at this array rather than a copy of its own.  The
 * snapshot may point at the module's static data as it does for the
 * kinds' names and the static group/kind pairs.
 */
static const gm_condition_t  gm_status_conds_ok[] = {
    { "Accepted", "Accepted", NULL, 0, 1 },
    { "ResolvedRefs", "ResolvedRefs", gm_status_resolved,
      sizeof(gm_status_resolved) - 1, 1 },
};


/* appProtocols a plain HTTP/1.1 upstream cannot speak (TLS to backends) */
static const char *const  gm_status_tls_protocols[] = {
    "https", "tls", "kubernetes.io/wss", NULL
};


int
gm_compile_status(gm_compile_ctx_t *ctx)
{
    size_t             i, n;
    gm_status_kinds_t  k;

    if (gm_status_kinds(ctx, &k) != 0) {
        return -1;
    }

    /* one allocation in the snapshot: entries for every parentRef */
    n = 0;

    for (i = 0; i < ctx->nroutes; i++) {
        n += ctx->routes[i].route->nparents;
    }

    if (n != 0) {
        ctx->status = gm_arena_alloc(ctx->arena,
                                     n * sizeof(gm_status_entry_t));
        if (ctx->status == NULL) {
            return -1;
        }

        ctx->status_size = n;
    }

    for (i = 0; i < ctx->nroutes; i++) {
        if (gm_status_route(ctx, &k, &ctx->routes[i]) != 0) {
            return -1;
        }
    }

    if (ctx->nstatus > 1) {
        qsort(ctx->status, ctx->nstatus, sizeof(gm_status_entry_t),
              gm_status_cmp);
    }

    return gm_compile_status_chunks(ctx);
}


/* the directory of the sorted entries: chunks of the one array */

static int
gm_compile_status_chunks(gm_compile_ctx_t *ctx)
{
    size_t              n;
    gm_status_chunk_t  *chunks;

    n = gm_status_chunks(ctx->status, ctx->nstatus, NULL, 0);
    chunks = NULL;

    if (n != 0) {
        chunks = gm_arena_alloc(ctx->arena, n * sizeof(gm_status_chunk_t));
        if (chunks == NULL) {
            return -1;
        }

        (void) gm_status_chunks(ctx->status, ctx->nstatus, chunks, 0);
    }

    ctx->snap->status = chunks;
    ctx->snap->nstatus_chunks = n;
    ctx->snap->nstatus = ctx->nstatus;

    return 0;
}


/*
 * The frontends a GRPCRoute is bound to: HTTPRoutes are not applied there
 * (spec 1.7, gm_compile_kind_conflict()), and their parentRef says so.
 * A subset compile attaches the routes of its own Services only: a route
 * compiled there has no such conflict elsewhere (the conflict is a note of
 * the full compile, and a route it noted is never patched).
 */

static int
gm_status_kinds(gm_compile_ctx_t *ctx, gm_status_kinds_t *k)
{
    size_t  i;

    k->grpc = NULL;

    for (i = 0; i < ctx->nattach; i++) {
        if (ctx->attach[i].route->route->meta.kind != GM_KIND_GRPCROUTE) {
            continue;
        }

        if (k->grpc == NULL) {
            k->grpc = gm_arena_calloc(ctx->scratch, ctx->nfrontends
                                      * sizeof(gm_compile_route_t *));
            if (k->grpc == NULL) {
                return -1;
            }
        }

        if (k->grpc[ctx->attach[i].frontend] == NULL) {
            k->grpc[ctx->attach[i].frontend] = ctx->attach[i].route;
        }
    }

    return 0;
}


/* a new entry of kind for the object meta; NULL: out of memory */

int
gm_compile_status_cmp(const void *one, const void *two)
{
    return gm_status_cmp(one, two);
}


gm_status_entry_t *
gm_compile_status_add(gm_compile_ctx_t *ctx, const char *kind,
    const gm_meta_t *meta, uint32_t index, const gm_parent_ref_t *ref)
{
    size_t              size;
    gm_str_t            rv;
    gm_status_entry_t  *e, *n;

    if (ctx->nstatus == ctx->status_size) {
        size = ctx->status_size ? ctx->status_size * 2 : 16;
        n = gm_arena_alloc(ctx->arena, size * sizeof(gm_status_entry_t));
        if (n == NULL) {
            return NULL;
        }

        if (ctx->nstatus) {
            memcpy(n, ctx->status, ctx->nstatus * sizeof(gm_status_entry_t));
        }

        ctx->status = n;
        ctx->status_size = size;
    }

    e = &ctx->status[ctx->nstatus];
    memset(e, 0, sizeof(gm_status_entry_t));

    e->kind = kind;
    e->generation = meta->generation;
    e->index = index;

    if (gm_compile_intern(ctx, &e->ns, &meta->ns) != 0
        || gm_compile_intern(ctx, &e->name, &meta->name) != 0
        || gm_arena_strdup(ctx->arena, &rv, meta->resource_version,
                           strlen(meta->resource_version)) != 0
        || gm_status_copy_ref(ctx, &e->ref, ref) != 0)
    {
        return NULL;
    }

    e->resource_version = rv.data;

    ctx->nstatus++;

    return e;
}


/* one more condition: the entry's array is copied with it */

int
gm_compile_status_cond(gm_compile_ctx_t *ctx, gm_status_entry_t *e,
    const char *type, unsigned status, const char *reason,
    const char *message)
{
    gm_status_msg_t    msg;
    gm_status_conds_t  cs;

    if (e->nconds == GM_STATUS_MAX_CONDITIONS) {
        return 0;
    }

    cs.n = e->nconds;

    if (cs.n != 0) {
        memcpy(cs.conds, e->conds, cs.n * sizeof(gm_condition_t));
    }

    msg.len = 0;
    msg.fixed = NULL;
    gm_status_printf(&msg, "%s", message);

    if (gm_status_cond(ctx, &cs, type, status, reason, &msg) != 0) {
        return -1;
    }

    return gm_status_set_conds(ctx, e, &cs);
}


static int
gm_status_route(gm_compile_ctx_t *ctx, const gm_status_kinds_t *k,
    const gm_compile_route_t *cr)
{
    int                     partial;
    size_t                  p;
    const char             *parent, *rules, *refs;
    gm_status_msg_t         pmsg, rmsg, fmsg;
    gm_status_conds_t       cs;
    gm_status_entry_t      *e;
    const gm_httproute_t   *route;
    const gm_parent_ref_t  *ref;

    route = cr->route;
    rmsg.len = 0;
    rmsg.fixed = NULL;
    fmsg.len = 0;
    fmsg.fixed = NULL;
    rules = gm_status_rules(route, &rmsg, &partial);
    refs = gm_status_refs(ctx, route, &fmsg);

    for (p = 0; p < route->nparents; p++) {
        ref = &route->parents[p];

        if (!gm_compile_is_service_parent(ref)) {
            continue;               /* a Gateway's: not ours to report */
        }

        e = gm_compile_status_add(ctx, gm_kind_name(route->meta.kind),
                                  &route->meta, p, ref);
        if (e == NULL) {
            return -1;
        }

        pmsg.len = 0;
        pmsg.fixed = NULL;
        cs.n = 0;
        parent = gm_status_parent(ctx, k, route, ref, &pmsg);

        if (parent == NULL && rules != NULL) {
            parent = rules;
            pmsg = rmsg;
        }

        if (gm_status_cond(ctx, &cs, "Accepted", parent == NULL,
                           parent ? parent : "Accepted", &pmsg) != 0
            || gm_status_cond(ctx, &cs, "ResolvedRefs", refs == NULL,
                              refs ? refs : "ResolvedRefs", &fmsg) != 0)
        {
            return -1;
        }

        if (partial && parent == NULL
            && gm_status_cond(ctx, &cs, "PartiallyInvalid", 1,
                              "UnsupportedValue", &rmsg) != 0)
        {
            return -1;
        }

        if (gm_status_set_conds(ctx, e, &cs) != 0) {
            return -1;
        }
    }

    return 0;
}


/* NULL: the parentRef names a Service port routes can bind to */

static const char *
gm_status_parent(gm_compile_ctx_t *ctx, const gm_status_kinds_t *k,
    const gm_httproute_t *route, const gm_parent_ref_t *ref,
    gm_status_msg_t *msg)
{
    size_t                 i;
    gm_compile_service_t  *cs;

    cs = gm_compile_find_service(ctx, &ref->ns, &ref->name);

    if (cs == NULL) {
        gm_status_printf(msg, "Service %s/%s does not exist",
                         ref->ns.data, ref->name.data);
        return "NoMatchingParent";
    }

    if (cs->svc->headless || cs->svc->type == GM_SERVICE_EXTERNAL_NAME) {
        gm_status_printf(msg, "Service %s/%s is %s: routes bind to "
                         "ClusterIP Services only", ref->ns.data,
                         ref->name.data, cs->svc->headless
                         ? "headless" : "an ExternalName Service");
        return "NoMatchingParent";
    }

    for (i = 0; i < cs->svc->nports; i++) {
        if (!gm_compile_port_applies(&cs->svc->ports[i], ref)) {
            continue;
        }

        if (route->meta.kind == GM_KIND_HTTPROUTE && k->grpc != NULL
            && gm_status_conflict(ctx, k, cs, ref, msg) != NULL)
        {
            return "Conflicted";
        }

        msg->fixed = gm_status_accepted;
        return NULL;
    }

    gm_status_printf(msg, "Service %s/%s has no port matching port %u "
                     "sectionName \"%s\"", ref->ns.data, ref->name.data,
                     (unsigned) ref->port,
                     ref->section_name);

    return "NoMatchingParent";
}


/*
 * Not NULL when a GRPCRoute takes every port of cs the parentRef applies
 * to: an HTTPRoute that still applies on one port is accepted.
 */

static const char *
gm_status_conflict(gm_compile_ctx_t *ctx, const gm_status_kinds_t *k,
    const gm_compile_service_t *cs, const gm_parent_ref_t *ref,
    gm_status_msg_t *msg)
{
    size_t                     i, f;
    const gm_compile_route_t  *grpc, *first;

    if (cs->frontends == NULL || cs->frontends < ctx->frontends
        || cs->frontends >= ctx->frontends + ctx->nfrontends)
    {
        return NULL;                /* not compiled here: a subset's */
    }

    first = NULL;

    for (i = 0; i < cs->svc->nports; i++) {
        if (!gm_compile_port_applies(&cs->svc->ports[i], ref)) {
            continue;
        }

        f = &cs->frontends[i] - ctx->frontends;
        grpc = k->grpc[f];

        if (grpc == NULL) {
            return NULL;
        }

        if (first == NULL) {
            first = grpc;
        }
    }

    if (first == NULL) {
        return NULL;
    }

    gm_status_printf(msg, "GRPCRoute %s/%s is bound to Service %s/%s too: "
                     "a Service port takes routes of one kind, GRPCRoute "
                     "first", first->route->meta.ns.data,
                     first->route->meta.name.data, ref->ns.data,
                     ref->name.data);

    return "Conflicted";
}


/*
 * NULL when some rule is valid; *partial when some are dropped too.  The
 * message lists the dropped rules: "Dropped Rule 1 (name): reason; ...".
 */

static const char *
gm_status_rules(const gm_httproute_t *route, gm_status_msg_t *msg,
    int *partial)
{
    size_t                     i, valid;
    const gm_http_rule_t      *hr;
    const gm_http_rule_ext_t  *ext;

    valid = (route->nrules == 0);
    *partial = 0;

    for (i = 0; i < route->nrules; i++) {
        hr = &route->rules[i];

        if (!hr->invalid) {
            valid++;
            continue;
        }

        ext = gm_http_rule_ext(hr);
        gm_status_printf(msg, "%sDropped Rule %zu%s%s%s: %s",
                         msg->len ? "; " : "", i,
                         ext->name.len ? " (" : "",
                         ext->name.len ? ext->name.data : "",
                         ext->name.len ? ")" : "",
                         ext->reason ? ext->reason : "invalid");
        *partial = 1;
    }

    if (valid != 0) {
        return NULL;
    }

    *partial = 0;

    return "UnsupportedValue";
}


/* the first unresolved backendRef of a valid rule names the reason */

static const char *
gm_status_refs(gm_compile_ctx_t *ctx, const gm_httproute_t *route,
    gm_status_msg_t *msg)
{
    size_t                   r, b;
    const char              *reason, *why, *first;
    const gm_http_rule_t    *hr;
    const gm_backend_ref_t  *ref;

    first = NULL;

    for (r = 0; r < route->nrules; r++) {
        hr = &route->rules[r];

        if (hr->invalid) {
            continue;
        }

        for (b = 0; b < hr->nbackends; b++) {
            ref = &hr->backends[b];
            reason = gm_status_ref(ctx, route, ref, &why);

            if (reason == NULL) {
                continue;
            }

            gm_status_printf(msg, "%srule %zu backendRef %s %s/%s port %u: "
                             "%s", msg->len ? "; " : "", r,
                             ref->gk->kind.data, ref->ns.data, ref->name.data,
                             (unsigned) ref->port, why);

            if (first == NULL) {
                first = reason;
            }
        }
    }

    if (first == NULL) {
        /* the same for most routes: not copied into each snapshot */
        msg->fixed = gm_status_resolved;
    }

    return first;
}


/* NULL: resolved; else the reason, and *why in words */

static const char *
gm_status_ref(gm_compile_ctx_t *ctx, const gm_httproute_t *route,
    const gm_backend_ref_t *ref, const char **why)
{
    size_t                    i, k;
    gm_compile_service_t     *cs;
    const gm_service_port_t  *sp;

    if (ref->gk != &gm_group_kind_service) {
        *why = "only Services are supported as backends";
        return "InvalidKind";
    }

    if (!gm_compile_ref_permitted(ctx, route->meta.kind, &route->meta.ns,
                                  &ref->ns, &ref->name))
    {
        *why = "no ReferenceGrant in the Service's namespace permits it";
        return "RefNotPermitted";
    }

    cs = gm_compile_find_service(ctx, &ref->ns, &ref->name);

    if (cs == NULL) {
        *why = "no such Service";
        return "BackendNotFound";
    }

    if (cs->svc->type == GM_SERVICE_EXTERNAL_NAME) {
        *why = "an ExternalName Service has no endpoints";
        return "BackendNotFound";
    }

    for (i = 0; i < cs->svc->nports; i++) {
        sp = &cs->svc->ports[i];

        if (sp->port != ref->port) {
            continue;
        }

        for (k = 0; gm_status_tls_protocols[k]; k++) {
            if (strcmp(sp->app_protocol, gm_status_tls_protocols[k]) == 0) {
                *why = "a TLS appProtocol is not supported";
                return "UnsupportedProtocol";
            }
        }

        return NULL;
    }

    *why = "no such port on the Service";
    return "BackendNotFound";
}


static void
gm_status_printf(gm_status_msg_t *msg, const char *fmt, ...)
{
    int      n;
    size_t   room;
    va_list  args;

    room = sizeof(msg->buf) - msg->len;
    if (room <= 1) {
        return;
    }

    va_start(args, fmt);
    n = vsnprintf(msg->buf + msg->len, room, fmt, args);
    va_end(args);

    if (n < 0) {
        return;
    }

    msg->len += ((size_t) n < room) ? (size_t) n : room - 1;
}


/*
 * A message that is a static string (the reason, a fixed text) is not
 * copied: the snapshot may point to static data (gm_snapshot.h).
 */
static int
gm_status_cond(gm_compile_ctx_t *ctx, gm_status_conds_t *cs,
    const char *type, unsigned status, const char *reason,
    const gm_status_msg_t *msg)
{
    gm_str_t         copy;
    const char      *fixed;
    gm_condition_t  *c;

    if (cs->n == GM_STATUS_MAX_CONDITIONS) {
        return 0;
    }

    c = &cs->conds[cs->n++];
    c->type = type;
    c->status = status;
    c->reason = reason;

    if (msg->len == 0 && msg->fixed == gm_status_accepted) {
        c->message = NULL;
        c->message_len = 0;
        return 0;
    }

    if (msg->len == 0) {
        fixed = msg->fixed ? msg->fixed : reason;
        c->message = fixed;
        c->message_len = strlen(fixed);
        return 0;
    }

    if (gm_arena_strdup(ctx->arena, &copy, msg->buf, msg->len) != 0) {
        return -1;
    }

    c->message = copy.data;
    c->message_len = copy.len;

    return 0;
}


void
gm_condition_message(const gm_status_entry_t *e, const gm_condition_t *c,
    char *buf, gm_str_t *msg)
{
    int  n;

    if (c->message != NULL) {
        msg->data = (char *) c->message;
        msg->len = c->message_len;
        return;
    }

    n = snprintf(buf, GM_STATUS_MESSAGE_MAX, "%s for Service %s/%s",
                 gm_status_accepted, e->ref.ns.data, e->ref.name.data);

    msg->data = buf;
    msg->len = (n < 0) ? 0 : ((size_t) n < GM_STATUS_MESSAGE_MAX)
                             ? (size_t) n : GM_STATUS_MESSAGE_MAX - 1;
}


/* the entry's conditions, in an array of exactly their number */
static int
gm_status_set_conds(gm_compile_ctx_t *ctx, gm_status_entry_t *e,
    const gm_status_conds_t *cs)
{
    gm_condition_t  *conds;

    e->nconds = cs->n;
    e->conds = NULL;

    if (cs->n == 0) {
        return 0;
    }

    if (gm_status_conds_shared(cs)) {
        e->conds = gm_status_conds_ok;
        return 0;
    }

    conds = gm_arena_alloc(ctx->arena, cs->n * sizeof(gm_condition_t));
    if (conds == NULL) {
        return -1;
    }

    memcpy(conds, cs->conds, cs->n * sizeof(gm_condition_t));
    e->conds = conds;

    return 0;
}


/* cs says what gm_status_conds_ok says */

static int
gm_status_conds_shared(const gm_status_conds_t *cs)
{
    size_t                 i;
    const gm_condition_t  *a, *b;

    if (cs->n != sizeof(gm_status_conds_ok) / sizeof(gm_condition_t)) {
        return 0;
    }

    for (i = 0; i < cs->n; i++) {
        a = &cs->conds[i];
        b = &gm_status_conds_ok[i];

        if (a->status != b->status || a->message_len != b->message_len
            || strcmp(a->type, b->type) != 0
            || strcmp(a->reason, b->reason) != 0
            || (a->message == NULL) != (b->message == NULL)
            || (a->message != NULL
                && memcmp(a->message, b->message, a->message_len) != 0))
        {
            return 0;
        }
    }

    return 1;
}


static int
gm_status_copy_ref(gm_compile_ctx_t *ctx, gm_parent_ref_t *dst,
    const gm_parent_ref_t *src)
{
    gm_str_t          section, copy;
    gm_group_kind_t  *gk;

    dst->port = src->port;
    dst->gk = src->gk;

    /* a pair of the object's is copied, the static ones are shared */
    if (src->gk != &gm_group_kind_service
        && src->gk != &gm_group_kind_gateway)
    {
        gk = gm_arena_alloc(ctx->arena, sizeof(gm_group_kind_t));
        if (gk == NULL
            || gm_compile_intern(ctx, &gk->group, &src->gk->group) != 0
            || gm_compile_intern(ctx, &gk->kind, &src->gk->kind) != 0)
        {
            return -1;
        }

        dst->gk = gk;
    }

    section.data = (char *) src->section_name;
    section.len = strlen(src->section_name);

    if (gm_compile_intern(ctx, &dst->ns, &src->ns) != 0
        || gm_compile_intern(ctx, &dst->name, &src->name) != 0
        || gm_compile_intern(ctx, &copy, &section) != 0)
    {
        return -1;
    }

    dst->section_name = copy.data;

    return 0;
}


static int
gm_status_cmp(const void *one, const void *two)
{
    int                       rc;
    const gm_status_entry_t  *a, *b;

    a = one;
    b = two;

    rc = strcmp(a->kind, b->kind);
    if (rc == 0) {
        rc = gm_str_cmp(a->ns.data, a->ns.len, b->ns.data, b->ns.len);
    }

    if (rc == 0) {
        rc = gm_str_cmp(a->name.data, a->name.len, b->name.data, b->name.len);
    }

    if (rc == 0) {
        rc = (a->index > b->index) - (a->index < b->index);
    }

    return rc;
}
