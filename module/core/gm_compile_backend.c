/*
 * nginx-gamma: compiling backends: a (Service, port) resolved once to
 * its ready endpoints through the Service's EndpointSlices, and the
 * backends that cannot be resolved, kept so that their share fails.
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


static gm_backend_t *gm_compile_unresolved(gm_compile_ctx_t *ctx,
    const gm_str_t *ns, const gm_str_t *name, uint16_t port,
    gm_backend_status_e status);
static int gm_compile_backends_grow(gm_compile_ctx_t *ctx);
static gm_backend_t *gm_compile_new_backend(gm_compile_ctx_t *ctx,
    const gm_str_t *ns, const gm_str_t *name, uint16_t port);
static int gm_compile_resolve(gm_compile_ctx_t *ctx, gm_backend_t *b,
    const gm_compile_service_t *cs, const gm_service_port_t *sp);
static uint16_t gm_compile_slice_port(const gm_endpointslice_t *eps,
    const gm_service_port_t *sp);
static int gm_compile_slice_endpoints(gm_compile_ctx_t *ctx,
    const gm_endpointslice_t *eps, uint16_t port, size_t *n);
static int gm_compile_endpoint_cmp(const void *one, const void *two);
static int gm_compile_endpoints(gm_compile_ctx_t *ctx, gm_backend_t *b,
    size_t n);
static int gm_compile_sockaddr(gm_compile_ctx_t *ctx, gm_sockaddr_t *sa,
    const gm_compile_endpoint_t *ep);
static void gm_compile_log_backend(gm_compile_ctx_t *ctx, const gm_rule_t *rule,
    const gm_backend_t *b);


/*
 * A copy of the backend's policies to set one in: the block it had may be
 * the static none or shared with another generation's copy of it.
 */

gm_backend_ext_t *
gm_compile_backend_ext(gm_compile_ctx_t *ctx, gm_backend_t *b)
{
    gm_backend_ext_t  *x;

    x = gm_arena_alloc(ctx->arena, sizeof(gm_backend_ext_t));
    if (x == NULL) {
        return NULL;
    }

    *x = *b->ext;
    b->ext = x;

    return x;
}


/*
 * The backend (ns, name, port), one per snapshot: a Service port's
 * backend is kept with the Service, unresolvable ones in a hash table.
 */

gm_backend_t *
gm_compile_backend(gm_compile_ctx_t *ctx, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port)
{
    size_t                 p;
    gm_compile_service_t  *cs;

    cs = gm_compile_find_service(ctx, ns, name);

    if (cs == NULL) {
        return gm_compile_unresolved(ctx, ns, name, port, GM_BACKEND_NOT_FOUND);
    }

    if (cs->svc->type == GM_SERVICE_EXTERNAL_NAME) {
        return gm_compile_unresolved(ctx, ns, name, port, GM_BACKEND_INVALID);
    }

    for (p = 0; p < cs->svc->nports; p++) {
        if (cs->svc->ports[p].port == port) {
            return gm_compile_port_backend(ctx, cs, p);
        }
    }

    return gm_compile_unresolved(ctx, ns, name, port, GM_BACKEND_NOT_FOUND);
}


gm_backend_t *
gm_compile_port_backend(gm_compile_ctx_t *ctx, gm_compile_service_t *cs,
    size_t p)
{
    gm_backend_t  *b;

    if (cs->backends == NULL) {
        cs->backends = gm_arena_calloc(ctx->scratch, cs->svc->nports
                                                    * sizeof(gm_backend_t *));
        if (cs->backends == NULL) {
            return NULL;
        }
    }

    if (cs->backends[p] != NULL) {
        return cs->backends[p];
    }

    if (ctx->subset != NULL) {
        /* the previous generation's, unchanged: slice patches find it */
        b = gm_compile_subset_backend(ctx->subset, cs->svc, p);

        if (b != NULL) {
            cs->backends[p] = b;
            ctx->nbackends++;
            return b;
        }

        if (gm_compile_subset_slices(ctx, cs) != 0) {
            return NULL;
        }
    }

    if (gm_compile_service_names(ctx, cs) != 0) {
        return NULL;
    }

    b = gm_compile_new_backend(ctx, &cs->ns, &cs->name, cs->svc->ports[p].port);

    if (b == NULL || gm_compile_resolve(ctx, b, cs, &cs->svc->ports[p]) != 0) {
        return NULL;
    }

    /* spec 1.16: the port speaks HTTP/2 without TLS */
    b->h2c = (strcmp(cs->svc->ports[p].app_protocol, "kubernetes.io/h2c")
              == 0);

    cs->backends[p] = b;
    ctx->nbackends++;

    return b;
}


static gm_backend_t *
gm_compile_unresolved(gm_compile_ctx_t *ctx, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port, gm_backend_status_e status)
{
    size_t         i;
    gm_str_t       sns, sname;
    gm_backend_t  *b;

    i = gm_compile_hash(ns, name, port) & (ctx->backends_size - 1);

    for ( ;; ) {
        b = ctx->backends[i];

        if (b == NULL) {
            break;
        }

        if (b->port == port && gm_str_eq(&b->name, name)
            && gm_str_eq(&b->ns, ns))
        {
            return b;
        }

        i = (i + 1) & (ctx->backends_size - 1);
    }

    if (gm_compile_intern(ctx, &sns, ns) != 0
        || gm_compile_intern(ctx, &sname, name) != 0)
    {
        return NULL;
    }

    b = gm_compile_new_backend(ctx, &sns, &sname, port);
    if (b == NULL) {
        return NULL;
    }

    b->status = status;
    ctx->backends[i] = b;
    ctx->nbackends++;
    ctx->nunresolved++;

    if (ctx->nunresolved * 2 > ctx->backends_size
        && gm_compile_backends_grow(ctx) != 0)
    {
        return NULL;
    }

    return b;
}


static int
gm_compile_backends_grow(gm_compile_ctx_t *ctx)
{
    size_t          i, j, size;
    gm_backend_t  **slots, *b;

    size = ctx->backends_size * 2;

    slots = gm_calloc(size, sizeof(gm_backend_t *));
    if (slots == NULL) {
        return -1;
    }

    for (i = 0; i < ctx->backends_size; i++) {
        b = ctx->backends[i];

        if (b == NULL) {
            continue;
        }

        j = gm_compile_hash(&b->ns, &b->name, b->port) & (size - 1);

        while (slots[j] != NULL) {
            j = (j + 1) & (size - 1);
        }

        slots[j] = b;
    }

    free(ctx->backends);
    ctx->backends = slots;
    ctx->backends_size = size;

    return 0;
}


/* ns and name are already copies in the snapshot */

static gm_backend_t *
gm_compile_new_backend(gm_compile_ctx_t *ctx, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port)
{
    gm_backend_t  *b;

    b = gm_arena_calloc(ctx->arena, sizeof(gm_backend_t));
    if (b == NULL) {
        return NULL;
    }

    b->ns = *ns;
    b->name = *name;
    b->port = port;
    b->ext = &gm_backend_ext_none;

    if (gm_compile_sprintf(ctx->arena, &b->label, "%s/%s:%u", ns->data,
                           name->data, (unsigned) port)
        != 0)
    {
        return NULL;
    }

    return b;
}


/*
 * Only the endpoints of port p of cs into b (status, endpoints): the
 * incremental compiler's way to follow an EndpointSlice change.
 */

int
gm_compile_port_endpoints(gm_compile_ctx_t *ctx, gm_backend_t *b,
    const gm_compile_service_t *cs, size_t p)
{
    b->endpoints = NULL;
    b->nendpoints = 0;

    return gm_compile_resolve(ctx, b, cs, &cs->svc->ports[p]);
}


/*
 * Service port -> its name -> the slice port of that name -> endpoints.
 * Only ready endpoints count; addresses are deduplicated and sorted.
 */

static int
gm_compile_resolve(gm_compile_ctx_t *ctx, gm_backend_t *b,
    const gm_compile_service_t *cs, const gm_service_port_t *sp)
{
    size_t               n;
    uint16_t             eport;
    gm_compile_slice_t  *sl;

    n = 0;

    for (sl = cs->slices; sl != NULL; sl = sl->next) {
        eport = gm_compile_slice_port(sl->eps, sp);

        if (eport != 0
            && gm_compile_slice_endpoints(ctx, sl->eps, eport, &n) != 0)
        {
            return -1;
        }
    }

    return gm_compile_endpoints(ctx, b, n);
}


/* the endpoint port of a Service port in one slice; 0: none */

static uint16_t
gm_compile_slice_port(const gm_endpointslice_t *eps,
    const gm_service_port_t *sp)
{
    size_t    i;
    uint16_t  target;

    /* an unset targetPort means the port itself; a named one is unknown */
    if (sp->target_port != 0) {
        target = sp->target_port;

    } else {
        target = (sp->target_port_name[0] == '\0') ? sp->port : 0;
    }

    if (eps->nports == 0) {
        return target;
    }

    for (i = 0; i < eps->nports; i++) {
        if (gm_str_eq(&eps->ports[i].name, &sp->name)) {
            return eps->ports[i].port ? eps->ports[i].port : target;
        }
    }

    return 0;
}


static int
gm_compile_slice_endpoints(gm_compile_ctx_t *ctx, const gm_endpointslice_t *eps,
    uint16_t port, size_t *n)
{
    size_t                i, j;
    const gm_endpoint_t  *ep;

    for (i = 0; i < eps->nendpoints; i++) {
        ep = &eps->endpoints[i];

        if (!ep->ready) {
            continue;
        }

        if (gm_compile_reserve((void **) &ctx->eps, &ctx->eps_size,
                               *n + ep->naddrs, sizeof(gm_compile_endpoint_t))
            != 0)
        {
            return -1;
        }

        for (j = 0; j < ep->naddrs; j++) {
            if (ep->addrs[j].family != AF_INET
                && ep->addrs[j].family != AF_INET6)
            {
                continue;
            }

            memset(&ctx->eps[*n], 0, sizeof(gm_compile_endpoint_t));
            ctx->eps[*n].addr = ep->addrs[j];
            ctx->eps[*n].port = port;
            (*n)++;
        }
    }

    return 0;
}


static int
gm_compile_endpoint_cmp(const void *one, const void *two)
{
    int                           c;
    const gm_compile_endpoint_t  *a, *b;

    a = one;
    b = two;

    if (a->addr.family != b->addr.family) {
        return (a->addr.family == AF_INET) ? -1 : 1;
    }

    c = memcmp(a->addr.addr, b->addr.addr, 16);

    if (c != 0) {
        return c;
    }

    return (int) a->port - (int) b->port;
}


static int
gm_compile_endpoints(gm_compile_ctx_t *ctx, gm_backend_t *b, size_t n)
{
    size_t  i, k;

    if (n == 0) {
        b->status = GM_BACKEND_NO_ENDPOINTS;
        return 0;
    }

    qsort(ctx->eps, n, sizeof(gm_compile_endpoint_t), gm_compile_endpoint_cmp);

    k = 1;

    for (i = 1; i < n; i++) {
        if (gm_compile_endpoint_cmp(&ctx->eps[i], &ctx->eps[k - 1]) != 0) {
            ctx->eps[k++] = ctx->eps[i];
        }
    }

    b->endpoints = gm_arena_calloc(ctx->arena, k * sizeof(gm_sockaddr_t));
    if (b->endpoints == NULL) {
        return -1;
    }

    for (i = 0; i < k; i++) {
        if (gm_compile_sockaddr(ctx, &b->endpoints[i], &ctx->eps[i]) != 0) {
            return -1;
        }
    }

    b->nendpoints = k;
    b->status = GM_BACKEND_OK;

    return 0;
}


static int
gm_compile_sockaddr(gm_compile_ctx_t *ctx, gm_sockaddr_t *sa,
    const gm_compile_endpoint_t *ep)
{
    int       n;
    char      ip[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];
    gm_str_t  copy;

    inet_ntop(ep->addr.family, ep->addr.addr, ip, sizeof(ip));

    if (ep->addr.family == AF_INET) {
        sa->u.sin.sin_family = AF_INET;
        sa->u.sin.sin_port = htons(ep->port);
        memcpy(&sa->u.sin.sin_addr, ep->addr.addr, 4);
        sa->socklen = sizeof(struct sockaddr_in);
        n = snprintf(text, sizeof(text), "%s:%u", ip, (unsigned) ep->port);

    } else {
        sa->u.sin6.sin6_family = AF_INET6;
        sa->u.sin6.sin6_port = htons(ep->port);
        memcpy(&sa->u.sin6.sin6_addr, ep->addr.addr, 16);
        sa->socklen = sizeof(struct sockaddr_in6);
        n = snprintf(text, sizeof(text), "[%s]:%u", ip, (unsigned) ep->port);
    }

    if (gm_arena_strdup(ctx->arena, &copy, text, n) != 0) {
        return -1;
    }

    sa->text = copy.data;
    sa->text_len = (uint16_t) copy.len;

    return 0;
}


gm_backend_t *
gm_compile_ref_backend(gm_compile_ctx_t *ctx, const gm_rule_t *rule,
    const gm_backend_ref_t *ref)
{
    gm_str_t       ns, name;
    gm_backend_t  *b;

    if (ref->gk == &gm_group_kind_service) {
        if (!gm_compile_ref_permitted(ctx, rule->grpc ? GM_KIND_GRPCROUTE
                                                      : GM_KIND_HTTPROUTE,
                                      &rule->route->ns, &ref->ns, &ref->name))
        {
            return gm_compile_refused_backend(ctx, rule, &ref->ns,
                                              &ref->name, ref->port);
        }

        b = gm_compile_backend(ctx, &ref->ns, &ref->name, ref->port);

        if (b != NULL && b->status != GM_BACKEND_OK) {
            gm_compile_log_backend(ctx, rule, b);
        }

        return b;
    }

    /* not shared: a Service of the same name is another backend */
    if (gm_compile_intern(ctx, &ns, &ref->ns) != 0
        || gm_compile_intern(ctx, &name, &ref->name) != 0)
    {
        return NULL;
    }

    b = gm_compile_new_backend(ctx, &ns, &name, ref->port);
    if (b == NULL) {
        return NULL;
    }

    b->status = GM_BACKEND_INVALID;

    gm_log(ctx->log, GM_LOG_WARN,
           "%s %s: backendRef %s/%s: unsupported group \"%s\" "
           "kind \"%s\", its share gets 500",
           rule->grpc ? "GRPCRoute" : "HTTPRoute", rule->label.data,
           ref->ns.data, ref->name.data,
           ref->gk->group.data ? ref->gk->group.data : "",
           ref->gk->kind.data);

    return b;
}


/* not shared: the same Service is a valid backend of a permitted route */

gm_backend_t *
gm_compile_refused_backend(gm_compile_ctx_t *ctx, const gm_rule_t *rule,
    const gm_str_t *ns, const gm_str_t *name, uint16_t port)
{
    gm_str_t       sns, sname;
    const char    *kind;
    gm_backend_t  *b;

    if (gm_compile_intern(ctx, &sns, ns) != 0
        || gm_compile_intern(ctx, &sname, name) != 0)
    {
        return NULL;
    }

    b = gm_compile_new_backend(ctx, &sns, &sname, port);
    if (b == NULL) {
        return NULL;
    }

    b->status = GM_BACKEND_INVALID;

    kind = rule->grpc ? "GRPCRoute" : "HTTPRoute";

    gm_log(ctx->log, GM_LOG_WARN,
           "%s %s: backendRef Service %s/%s: no ReferenceGrant in "
           "namespace %s lets %ss of %s refer to it, its share gets "
           "500 (gamma_reference_grants require)", kind, rule->label.data,
           ns->data, name->data, ns->data, kind, rule->route->ns.data);

    return b;
}


static void
gm_compile_log_backend(gm_compile_ctx_t *ctx, const gm_rule_t *rule,
    const gm_backend_t *b)
{
    const char  *kind;

    kind = rule->grpc ? "GRPCRoute" : "HTTPRoute";

    switch (b->status) {

    case GM_BACKEND_NOT_FOUND:
        gm_log(ctx->log, GM_LOG_WARN,
               "%s %s: backendRef Service %s: no such Service or "
               "port, its share gets 500", kind, rule->label.data,
               b->label.data);
        break;

    case GM_BACKEND_INVALID:
        gm_log(ctx->log, GM_LOG_WARN,
               "%s %s: backendRef Service %s is an ExternalName "
               "Service, its share gets 500", kind, rule->label.data,
               b->label.data);
        break;

    case GM_BACKEND_NO_ENDPOINTS:
        gm_log(ctx->log, GM_LOG_NOTICE,
               "%s %s: backendRef Service %s has no ready "
               "endpoints, its share gets 503", kind, rule->label.data,
               b->label.data);
        break;

    default:
        break;
    }
}
