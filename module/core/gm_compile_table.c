/*
 * nginx-gamma: the route tables of each frontend, one per group of
 * routes (the producer routes, the consumer routes of each namespace),
 * their entries sorted by precedence.
 *
 * Route precedence (spec 1.6).  Every (rule, match) pair of every route
 * bound to a (Service port, group) becomes one table entry; entries are
 * sorted once here, so matching is a walk that stops at the first hit.
 * The order is: Exact path, then RegularExpression path (longer pattern
 * first), then PathPrefix (longer prefix first, as written); then a
 * method match before none; then more header matches; then more query
 * matches; then the older route (creationTimestamp), then "ns/name"; then
 * the rule index, then the match index.  RegularExpression is
 * implementation-specific in the API; we rank it between Exact and
 * PathPrefix, as Contour, NGINX Gateway Fabric and Envoy Gateway do,
 * because a regex is a deliberate pattern while a PathPrefix, above all
 * the default "/", is usually a catch-all: ranking regexes after every
 * prefix would make them unreachable next to a "/" rule.
 *
 * GRPCRoute tables (spec 1.18) rank by the characters of service matched,
 * then of method (a RegularExpression counts as one: below any Exact
 * name), then headers, then the same route and rule order.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


static int gm_compile_attach_cmp(const void *one, const void *two);
static int gm_compile_same_group(const gm_compile_attach_t *a,
    const gm_compile_attach_t *b);
static size_t gm_compile_kind_conflict(gm_compile_ctx_t *ctx,
    gm_compile_attach_t *a, size_t n);
static int gm_compile_frontend_tables(gm_compile_ctx_t *ctx,
    gm_compile_attach_t *a, size_t n);
static gm_route_table_t *gm_compile_table(gm_compile_ctx_t *ctx,
    const gm_compile_attach_t *a, size_t n);
static int gm_compile_entry_cmp(const void *one, const void *two);
static int gm_compile_key_cmp(const gm_meta_t *a, const gm_meta_t *b);
static int gm_compile_key_char(const gm_meta_t *m, size_t i);


int
gm_compile_tables(gm_compile_ctx_t *ctx)
{
    size_t  i, j;

    if (ctx->nattach == 0) {
        return 0;
    }

    qsort(ctx->attach, ctx->nattach, sizeof(gm_compile_attach_t),
          gm_compile_attach_cmp);

    for (i = 0; i < ctx->nattach; i = j) {
        j = i + 1;

        while (j < ctx->nattach
               && ctx->attach[j].frontend == ctx->attach[i].frontend)
        {
            j++;
        }

        if (gm_compile_frontend_tables(ctx, &ctx->attach[i], j - i) != 0) {
            return -1;
        }
    }

    return 0;
}


/* by frontend, then producer before consumers by namespace, then route */

static int
gm_compile_attach_cmp(const void *one, const void *two)
{
    int                         c;
    const gm_compile_attach_t  *a, *b;

    a = one;
    b = two;

    if (a->frontend != b->frontend) {
        return (a->frontend < b->frontend) ? -1 : 1;
    }

    if (a->ns == NULL || b->ns == NULL) {
        c = (a->ns != NULL) - (b->ns != NULL);

    } else {
        c = gm_str_cmp(a->ns->data, a->ns->len, b->ns->data, b->ns->len);
    }

    if (c != 0) {
        return c;
    }

    if (a->route != b->route) {
        return (a->route < b->route) ? -1 : 1;
    }

    return 0;
}


static int
gm_compile_same_group(const gm_compile_attach_t *a,
    const gm_compile_attach_t *b)
{
    if (a->ns == NULL || b->ns == NULL) {
        return a->ns == b->ns;
    }

    return gm_str_eq(a->ns, b->ns);
}


static int
gm_compile_frontend_tables(gm_compile_ctx_t *ctx, gm_compile_attach_t *a,
    size_t n)
{
    size_t             i, j, nconsumers;
    gm_frontend_t     *f;
    gm_route_table_t  *t;

    f = &ctx->frontends[a->frontend];
    n = gm_compile_kind_conflict(ctx, a, n);
    nconsumers = 0;

    for (i = 0; i < n; i++) {
        if (a[i].ns != NULL
            && (i == 0 || !gm_compile_same_group(&a[i - 1], &a[i])))
        {
            nconsumers++;
        }
    }

    if (nconsumers != 0) {
        f->consumer_ns = gm_arena_alloc(ctx->arena,
                                        nconsumers * sizeof(gm_str_t));
        f->consumer = gm_arena_alloc(ctx->arena,
                                     nconsumers * sizeof(gm_route_table_t *));

        if (f->consumer_ns == NULL || f->consumer == NULL) {
            return -1;
        }
    }

    for (i = 0; i < n; i = j) {
        j = i + 1;

        while (j < n && gm_compile_same_group(&a[i], &a[j])) {
            j++;
        }

        t = gm_compile_table(ctx, &a[i], j - i);
        if (t == NULL) {
            return -1;
        }

        if (a[i].ns == NULL) {
            f->producer = t;
            continue;
        }

        if (gm_compile_intern(ctx, &f->consumer_ns[f->nconsumers], a[i].ns)
            != 0)
        {
            return -1;
        }

        f->consumer[f->nconsumers++] = t;
    }

    return 0;
}


/*
 * Routes of two kinds on one Service port: only GRPCRoutes apply there
 * (spec 1.7), the HTTPRoutes are left out of every table of the port.
 * Returns how many attachments remain, in order.
 */

static size_t
gm_compile_kind_conflict(gm_compile_ctx_t *ctx, gm_compile_attach_t *a,
    size_t n)
{
    size_t                     i, k;
    const gm_frontend_t       *f;
    const gm_compile_route_t  *grpc;

    grpc = NULL;

    for (i = 0; i < n && grpc == NULL; i++) {
        if (a[i].route->route->meta.kind == GM_KIND_GRPCROUTE) {
            grpc = a[i].route;
        }
    }

    if (grpc == NULL) {
        return n;
    }

    f = &ctx->frontends[a->frontend];

    for (i = 0, k = 0; i < n; i++) {
        if (a[i].route->route->meta.kind == GM_KIND_GRPCROUTE) {
            a[k++] = a[i];
            continue;
        }

        if (i == 0 || a[i].route != a[i - 1].route) {
            gm_log(ctx->log, GM_LOG_WARN,
                   "HTTPRoute %s/%s: Conflicted: GRPCRoute %s/%s is bound to "
                   "Service %s too and wins there; the HTTPRoute is ignored "
                   "on that port", a[i].route->route->meta.ns.data,
                   a[i].route->route->meta.name.data,
                   grpc->route->meta.ns.data, grpc->route->meta.name.data,
                   f->passthrough->label.data);
        }
    }

    return k;
}


/* all entries of the routes of one group, merged in precedence order */

static gm_route_table_t *
gm_compile_table(gm_compile_ctx_t *ctx, const gm_compile_attach_t *a, size_t n)
{
    size_t             i, k;
    gm_route_table_t  *t;

    k = 0;

    for (i = 0; i < n; i++) {
        /* a route bound twice to one port through two parentRefs */
        if (i > 0 && a[i].route == a[i - 1].route) {
            continue;
        }

        if (gm_compile_reserve((void **) &ctx->entries, &ctx->entries_size,
                               k + a[i].route->nentries,
                               sizeof(gm_compile_entry_t))
            != 0)
        {
            return NULL;
        }

        if (a[i].route->nentries != 0) {
            memcpy(&ctx->entries[k], a[i].route->entries,
                   a[i].route->nentries * sizeof(gm_compile_entry_t));
            k += a[i].route->nentries;
        }
    }

    if (k > 1) {
        qsort(ctx->entries, k, sizeof(gm_compile_entry_t),
              gm_compile_entry_cmp);
    }

    t = gm_arena_alloc(ctx->arena,
                       sizeof(gm_route_table_t) + k * sizeof(gm_route_entry_t));
    if (t == NULL) {
        return NULL;
    }

    t->nentries = k;

    for (i = 0; i < k; i++) {
        t->entries[i].match = ctx->entries[i].match;
        t->entries[i].rule = ctx->entries[i].rule;
    }

    ctx->snap->ntables++;

    return t;
}


/* the precedence of spec 1.6; see the top of this file */

static int
gm_compile_entry_cmp(const void *one, const void *two)
{
    int                        c;
    const gm_compile_entry_t  *a, *b;
    const gm_route_match_t    *ma, *mb;

    a = one;
    b = two;
    ma = a->match;
    mb = b->match;

    if (a->rank != b->rank) {
        return (a->rank < b->rank) ? -1 : 1;
    }

    if (a->plen != b->plen) {
        return (a->plen > b->plen) ? -1 : 1;
    }

    if (a->slen != b->slen) {
        return (a->slen > b->slen) ? -1 : 1;
    }

    if (a->mlen != b->mlen) {
        return (a->mlen > b->mlen) ? -1 : 1;
    }

    if ((ma->method != 0) != (mb->method != 0)) {
        return (ma->method != 0) ? -1 : 1;
    }

    if (ma->nheaders != mb->nheaders) {
        return (ma->nheaders > mb->nheaders) ? -1 : 1;
    }

    if (ma->nquery != mb->nquery) {
        return (ma->nquery > mb->nquery) ? -1 : 1;
    }

    if (a->route->route->meta.created != b->route->route->meta.created) {
        return (a->route->route->meta.created
                < b->route->route->meta.created) ? -1 : 1;
    }

    c = gm_compile_key_cmp(&a->route->route->meta, &b->route->route->meta);

    if (c != 0) {
        return c;
    }

    if (a->rule->rule_index != b->rule->rule_index) {
        return (a->rule->rule_index < b->rule->rule_index) ? -1 : 1;
    }

    if (a->match_index != b->match_index) {
        return (a->match_index < b->match_index) ? -1 : 1;
    }

    return 0;
}


/* compares "ns/name" strings without building them */

static int
gm_compile_key_cmp(const gm_meta_t *a, const gm_meta_t *b)
{
    int     ca, cb;
    size_t  i, alen, blen;

    alen = a->ns.len + 1 + a->name.len;
    blen = b->ns.len + 1 + b->name.len;

    for (i = 0; i < alen && i < blen; i++) {
        ca = gm_compile_key_char(a, i);
        cb = gm_compile_key_char(b, i);

        if (ca != cb) {
            return ca - cb;
        }
    }

    return (alen > blen) - (alen < blen);
}


static int
gm_compile_key_char(const gm_meta_t *m, size_t i)
{
    if (i < m->ns.len) {
        return (unsigned char) m->ns.data[i];
    }

    if (i == m->ns.len) {
        return '/';
    }

    return (unsigned char) m->name.data[i - m->ns.len - 1];
}
