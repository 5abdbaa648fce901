/*
 * nginx-gamma: the compiler, from the object store to an immutable
 * snapshot held in one arena.  This file is the driver: the stages run
 * in order (collect the objects, Services and their frontends, routes
 * attached to them, route tables), and the utilities they share.  The
 * stages live in gm_compile_service.c, gm_compile_backend.c,
 * gm_compile_route.c, gm_compile_match.c and gm_compile_table.c; they
 * share gm_compile_int.h.
 *
 * Cost: Services are found through a hash table, EndpointSlices hang off
 * their Service, a Service port's backend is resolved once, strings that
 * recur (namespaces, paths, header names) are copied once, and a route is
 * compiled once however many frontends it is bound to; only the entries
 * of each table are sorted.  A build is O(n log n) in the objects.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"
#include "gm_hash.h"


static int gm_compile_init(gm_compile_ctx_t *ctx);
static void gm_compile_cleanup(gm_compile_ctx_t *ctx);
static void *gm_compile_pcre_malloc(PCRE2_SIZE size, void *data);
static void gm_compile_pcre_free(void *p, void *data);
static int gm_compile_strings_grow(gm_compile_ctx_t *ctx);
static int gm_compile_collect(gm_compile_ctx_t *ctx);
static void gm_compile_add_service(void *data, gm_object_t *obj);
static void gm_compile_add_slice(void *data, gm_object_t *obj);
static void gm_compile_add_route(void *data, gm_object_t *obj);


/*
 * In order: each stage reads what the ones before it built.  A new kind
 * of object is collected by gm_compile_collect() and compiled by a stage
 * of its own file.
 */
static const gm_compile_stage_pt  gm_compile_stages[] = {
    gm_compile_init,                  /* scratch arena, regex context */
    gm_compile_collect,               /* the store's objects, indexed */
    gm_compile_frontends,             /* Service ports: frontends, index */
    gm_compile_attach_routes,         /* routes bound, rules compiled */
    gm_compile_status,                /* route status conditions */
    gm_compile_tables,                /* route tables, sorted */
    gm_compile_backend_tls,           /* BackendTLSPolicies on backends */
    gm_compile_backend_traffic,       /* XBackendTrafficPolicies, too */
    gm_compile_policies               /* policies merged per rule */
};


gm_snapshot_t *
gm_snapshot_build_in(gm_store_t *store, const gm_log_t *log,
    const gm_allocator_t *al)
{
    return gm_snapshot_build_opts(store, log, al, NULL);
}


gm_snapshot_t *
gm_snapshot_build_opts(gm_store_t *store, const gm_log_t *log,
    const gm_allocator_t *al, const gm_compile_opts_t *opts)
{
    return gm_compile_build_subset(store, log, al, opts, NULL);
}


/* sub NULL: the full compile; else only sub's Services' frontends */

gm_snapshot_t *
gm_compile_build_subset(gm_store_t *store, const gm_log_t *log,
    const gm_allocator_t *al, const gm_compile_opts_t *opts,
    const gm_compile_subset_t *sub)
{
    size_t             i, n;
    gm_snapshot_t     *s;
    gm_compile_ctx_t   ctx;

    memset(&ctx, 0, sizeof(gm_compile_ctx_t));
    ctx.store = store;
    ctx.log = log;
    ctx.require_grants = opts ? opts->require_grants : 0;
    ctx.subset = sub;

    s = gm_snapshot_create(sub ? GM_INCR_BLOCK : GM_SNAPSHOT_BLOCK, al);
    if (s == NULL) {
        gm_compile_nomem(log, al);
        return NULL;
    }

    ctx.snap = s;
    ctx.arena = s->arena;

    n = sizeof(gm_compile_stages) / sizeof(gm_compile_stages[0]);

    for (i = 0; i < n; i++) {
        if (gm_compile_stages[i](&ctx) != 0) {
            gm_compile_nomem(log, al);
            gm_compile_cleanup(&ctx);
            gm_snapshot_unref(s);
            return NULL;
        }
    }

    /* a stage that could not return -1 (a Service found on the way) */
    if (ctx.nomem) {
        gm_compile_nomem(log, al);
        gm_compile_cleanup(&ctx);
        gm_snapshot_unref(s);
        return NULL;
    }

    s->base_bytes = s->arena->total;

    if (sub == NULL) {
        gm_log(log, GM_LOG_INFO,
               "snapshot: %zu services, %zu frontends, %zu route tables, "
               "%zu backends, %zu bytes", s->nservices, s->nfrontends,
               s->ntables, ctx.nbackends, s->arena->total);
    }

    gm_compile_cleanup(&ctx);

    return s;
}


static int
gm_compile_init(gm_compile_ctx_t *ctx)
{
    pcre2_general_context  *gctx;

    ctx->scratch = gm_arena_create(GM_COMPILE_SCRATCH_BLOCK);
    if (ctx->scratch == NULL) {
        return -1;
    }

    /* regexes live and die with the snapshot arena */
    gctx = pcre2_general_context_create(gm_compile_pcre_malloc,
                                        gm_compile_pcre_free, ctx->arena);
    if (gctx == NULL) {
        return -1;
    }

    ctx->pcre = pcre2_compile_context_create(gctx);
    if (ctx->pcre == NULL) {
        return -1;
    }

    ctx->backends_size = GM_COMPILE_BACKENDS_INIT;
    ctx->backends = gm_calloc(ctx->backends_size, sizeof(gm_backend_t *));
    if (ctx->backends == NULL) {
        return -1;
    }

    return 0;
}


static void
gm_compile_cleanup(gm_compile_ctx_t *ctx)
{
    gm_arena_destroy(ctx->scratch);
    free(ctx->backends);
    free(ctx->attach);
    free(ctx->entries);
    free(ctx->eps);
    free(ctx->strings);
}


static void *
gm_compile_pcre_malloc(PCRE2_SIZE size, void *data)
{
    return gm_arena_alloc(data, size);
}


static void
gm_compile_pcre_free(void *p, void *data)
{
    /* the arena frees everything at once */
    (void) p;
    (void) data;
}


void
gm_compile_nomem(const gm_log_t *log, const gm_allocator_t *al)
{
    if (!gm_allocator_exhausted(al)) {
        gm_log(log, GM_LOG_ERR, "snapshot: out of memory");
    }
}


/* makes room for n elements in a growable scratch vector */

int
gm_compile_reserve(void **p, size_t *size, size_t n, size_t elt)
{
    size_t   want;
    void    *np;

    if (n <= *size) {
        return 0;
    }

    want = *size ? *size : GM_COMPILE_VECTOR_INIT;

    while (want < n) {
        want *= 2;
    }

    np = gm_realloc(*p, want * elt);
    if (np == NULL) {
        return -1;
    }

    *p = np;
    *size = want;

    return 0;
}


/* FNV-1a over "a/b" and n, then a 64-bit finalizer to mix the low bits */

uint64_t
gm_compile_hash(const gm_str_t *a, const gm_str_t *b, uint32_t n)
{
    uint64_t  h;

    h = gm_fnv64_add(GM_FNV64_BASIS, a->data, a->len);

    if (b != NULL) {
        h = gm_fnv64_byte(h, '/');
        h = gm_fnv64_add(h, b->data, b->len);
    }

    h = gm_fnv64_value(h, n);

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;

    return h;
}


/*
 * Copies a string into the snapshot once: namespaces, names, paths and
 * header names recur across thousands of objects.
 */

int
gm_compile_intern(gm_compile_ctx_t *ctx, gm_str_t *dst, const gm_str_t *src)
{
    size_t     i;
    gm_str_t  *slot;

    if (src->len == 0) {
        dst->len = 0;
        dst->data = (char *) "";
        return 0;
    }

    if (ctx->nstrings * 2 >= ctx->strings_size
        && gm_compile_strings_grow(ctx) != 0)
    {
        return -1;
    }

    i = gm_compile_hash(src, NULL, 0) & (ctx->strings_size - 1);

    for ( ;; ) {
        slot = &ctx->strings[i];

        if (slot->data == NULL) {
            break;
        }

        if (gm_str_eq(slot, src)) {
            *dst = *slot;
            return 0;
        }

        i = (i + 1) & (ctx->strings_size - 1);
    }

    if (gm_arena_strdup(ctx->arena, slot, src->data, src->len) != 0) {
        return -1;
    }

    ctx->nstrings++;
    *dst = *slot;

    return 0;
}


static int
gm_compile_strings_grow(gm_compile_ctx_t *ctx)
{
    size_t     i, j, size;
    gm_str_t  *strings;

    size = ctx->strings_size ? ctx->strings_size * 2
                             : GM_COMPILE_STRINGS_INIT;

    strings = gm_calloc(size, sizeof(gm_str_t));
    if (strings == NULL) {
        return -1;
    }

    for (i = 0; i < ctx->strings_size; i++) {
        if (ctx->strings[i].data == NULL) {
            continue;
        }

        j = gm_compile_hash(&ctx->strings[i], NULL, 0) & (size - 1);

        while (strings[j].data != NULL) {
            j = (j + 1) & (size - 1);
        }

        strings[j] = ctx->strings[i];
    }

    free(ctx->strings);
    ctx->strings = strings;
    ctx->strings_size = size;

    return 0;
}


int
gm_compile_sprintf(gm_arena_t *a, gm_str_t *dst, const char *fmt, ...)
{
    int      n;
    char     buf[GM_LABEL_MAX];
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    if (n < 0) {
        return -1;
    }

    if ((size_t) n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }

    return gm_arena_strdup(a, dst, buf, n);
}


static int
gm_compile_collect(gm_compile_ctx_t *ctx)
{
    size_t  n;

    /* a subset compile indexes its own Services and routes only */
    if (ctx->subset != NULL) {
        return gm_compile_subset_collect(ctx);
    }

    n = gm_store_count(ctx->store, GM_KIND_SERVICE);
    ctx->services = gm_arena_alloc(ctx->scratch,
                                   (n + 1) * sizeof(gm_compile_service_t));

    n = gm_store_count(ctx->store, GM_KIND_HTTPROUTE)
        + gm_store_count(ctx->store, GM_KIND_GRPCROUTE);
    ctx->routes = gm_arena_alloc(ctx->scratch,
                                 (n + 1) * sizeof(gm_compile_route_t));

    if (ctx->services == NULL || ctx->routes == NULL) {
        return -1;
    }

    gm_store_foreach(ctx->store, GM_KIND_SERVICE, gm_compile_add_service, ctx);

    if (gm_compile_index_services(ctx) != 0) {
        return -1;
    }

    gm_store_foreach(ctx->store, GM_KIND_ENDPOINTSLICE, gm_compile_add_slice,
                     ctx);
    gm_store_foreach(ctx->store, GM_KIND_HTTPROUTE, gm_compile_add_route, ctx);
    gm_store_foreach(ctx->store, GM_KIND_GRPCROUTE, gm_compile_add_route, ctx);

    if (ctx->nomem) {
        return -1;
    }

    ctx->snap->nservices = ctx->nservices;

    return 0;
}


static void
gm_compile_add_service(void *data, gm_object_t *obj)
{
    gm_compile_ctx_t      *ctx;
    gm_compile_service_t  *cs;

    ctx = data;
    cs = &ctx->services[ctx->nservices++];
    memset(cs, 0, sizeof(gm_compile_service_t));
    cs->svc = &obj->body->service;
}


/* a slice joins the list of its Service; orphans are left out */

static void
gm_compile_add_slice(void *data, gm_object_t *obj)
{
    gm_compile_ctx_t      *ctx;
    gm_compile_slice_t    *sl;
    gm_compile_service_t  *cs;
    gm_endpointslice_t    *eps;

    ctx = data;
    eps = &obj->body->endpointslice;

    cs = gm_compile_find_service(ctx, &eps->meta.ns, &eps->service_name);
    if (cs == NULL) {
        return;
    }

    sl = gm_arena_alloc(ctx->scratch, sizeof(gm_compile_slice_t));
    if (sl == NULL) {
        ctx->nomem = 1;
        return;
    }

    sl->eps = eps;
    sl->next = cs->slices;
    cs->slices = sl;
}


static void
gm_compile_add_route(void *data, gm_object_t *obj)
{
    gm_compile_ctx_t    *ctx;
    gm_compile_route_t  *cr;

    ctx = data;
    cr = &ctx->routes[ctx->nroutes++];
    memset(cr, 0, sizeof(gm_compile_route_t));
    cr->route = &obj->body->httproute;
}
