/*
 * nginx-gamma: the compiler, from the object store to an immutable
 * snapshot held in one arena.
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
 * Regexes (path, header and query values) are PCRE2 patterns, compiled
 * with PCRE2_ANCHORED | PCRE2_ENDANCHORED: the whole path or value must
 * match.  They are compiled into the snapshot arena and never JIT-ed, so
 * destroying the arena frees them.
 *
 * Cost: Services are found through a hash table, EndpointSlices hang off
 * their Service, a Service port's backend is resolved once, strings that
 * recur (namespaces, paths, header names) are copied once, and a route is
 * compiled once however many frontends it is bound to; only the entries
 * of each table are sorted.  A build is O(n log n) in the objects.
 */

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compiled.h"
#include "gm_filter.h"


#define GM_SNAPSHOT_BLOCK   65536
#define GM_SCRATCH_BLOCK    65536

/* the ranks of path match types, lower first */
#define GM_RANK_EXACT       0
#define GM_RANK_REGEX       1
#define GM_RANK_PREFIX      2


typedef struct gm_cc_slice_s  gm_cc_slice_t;

struct gm_cc_slice_s {
    gm_endpointslice_t      *eps;
    gm_cc_slice_t           *next;
};

typedef struct {
    gm_service_t            *svc;
    gm_str_t                 ns;          /* copies in the snapshot */
    gm_str_t                 name;
    gm_frontend_t           *frontends;   /* one per port, or NULL */
    gm_backend_t           **backends;    /* one per port, on first use */
    gm_cc_slice_t           *slices;      /* its EndpointSlices */
} gm_cc_service_t;

typedef struct gm_cc_route_s  gm_cc_route_t;

/* a table entry with the keys it is sorted by */
typedef struct {
    const gm_route_match_t  *match;
    const gm_rule_t         *rule;
    const gm_cc_route_t     *route;
    uint32_t                 rank;
    uint32_t                 match_index;
    size_t                   plen;        /* 0 for Exact: they tie */
} gm_cc_entry_t;

struct gm_cc_route_s {
    gm_httproute_t          *route;
    gm_str_t                 ns;          /* copies in the snapshot */
    gm_str_t                 name;
    gm_rule_t               *rules;       /* NULL until first bound */
    gm_cc_entry_t           *entries;
    size_t                   nentries;
};

typedef struct {
    size_t                   frontend;    /* index in cc->frontends */
    const gm_str_t          *ns;          /* consumer ns; NULL: producer */
    gm_cc_route_t           *route;
} gm_cc_attach_t;

typedef struct {
    gm_addr_t                addr;
    uint16_t                 port;
} gm_cc_endpoint_t;

typedef struct {
    gm_store_t              *store;
    const gm_log_t          *log;
    gm_snapshot_t           *snap;
    gm_arena_t              *arena;       /* the snapshot's */
    gm_arena_t              *scratch;     /* destroyed after the build */
    pcre2_compile_context   *pcre;

    gm_cc_service_t         *services;
    size_t                   nservices;
    gm_cc_service_t        **index;       /* by ns/name, open addressing */
    size_t                   index_size;
    gm_cc_route_t           *routes;
    size_t                   nroutes;
    gm_frontend_t           *frontends;
    size_t                   nfrontends;

    gm_cc_attach_t          *attach;
    size_t                   nattach;
    size_t                   attach_size;
    gm_backend_t           **backends;    /* unresolvable, by ns/name:port */
    size_t                   nbackends;
    size_t                   nunresolved;
    size_t                   backends_size;
    gm_cc_entry_t           *entries;     /* the table being built */
    size_t                   entries_size;
    gm_cc_endpoint_t        *eps;         /* the backend being resolved */
    size_t                   eps_size;
    gm_str_t                *strings;     /* interned, open addressing */
    size_t                   nstrings;
    size_t                   strings_size;
    unsigned                 nomem:1;     /* set where -1 cannot return */
} gm_compile_t;


static int gm_cc_init(gm_compile_t *cc);
static void gm_cc_cleanup(gm_compile_t *cc);
static void *gm_cc_pcre_malloc(PCRE2_SIZE size, void *data);
static void gm_cc_pcre_free(void *p, void *data);
static int gm_cc_reserve(void **p, size_t *size, size_t n, size_t elt);
static uint64_t gm_cc_hash(const gm_str_t *a, const gm_str_t *b,
    uint32_t n);
static int gm_cc_intern(gm_compile_t *cc, gm_str_t *dst,
    const gm_str_t *src);
static int gm_cc_strings_grow(gm_compile_t *cc);
static int gm_cc_sprintf(gm_arena_t *a, gm_str_t *dst, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int gm_cc_collect(gm_compile_t *cc);
static void gm_cc_add_service(void *data, gm_object_t *obj);
static void gm_cc_add_slice(void *data, gm_object_t *obj);
static void gm_cc_add_route(void *data, gm_object_t *obj);
static int gm_cc_index_services(gm_compile_t *cc);
static gm_cc_service_t *gm_cc_find_service(gm_compile_t *cc,
    const gm_str_t *ns, const gm_str_t *name);
static int gm_cc_older(const gm_service_t *a, const gm_service_t *b);

static int gm_cc_is_parent(const gm_service_t *svc);
static int gm_cc_frontends(gm_compile_t *cc);
static int gm_cc_service_names(gm_compile_t *cc, gm_cc_service_t *cs);
static int gm_cc_service_frontends(gm_compile_t *cc, gm_cc_service_t *cs);
static void gm_cc_index_frontend(gm_compile_t *cc, gm_cc_service_t *cs,
    gm_frontend_t *f, const gm_addr_t *ip);

static gm_backend_t *gm_cc_backend(gm_compile_t *cc, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port);
static gm_backend_t *gm_cc_port_backend(gm_compile_t *cc,
    gm_cc_service_t *cs, size_t p);
static gm_backend_t *gm_cc_unresolved(gm_compile_t *cc, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port, gm_backend_status_e status);
static int gm_cc_backends_grow(gm_compile_t *cc);
static gm_backend_t *gm_cc_new_backend(gm_compile_t *cc, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port);
static int gm_cc_resolve(gm_compile_t *cc, gm_backend_t *b,
    const gm_cc_service_t *cs, const gm_service_port_t *sp);
static uint16_t gm_cc_slice_port(const gm_endpointslice_t *eps,
    const gm_service_port_t *sp);
static int gm_cc_slice_endpoints(gm_compile_t *cc,
    const gm_endpointslice_t *eps, uint16_t port, size_t *n);
static int gm_cc_endpoint_cmp(const void *one, const void *two);
static int gm_cc_endpoints(gm_compile_t *cc, gm_backend_t *b, size_t n);
static int gm_cc_sockaddr(gm_compile_t *cc, gm_sockaddr_t *sa,
    const gm_cc_endpoint_t *ep);

static int gm_cc_attach_routes(gm_compile_t *cc);
static int gm_cc_is_service_parent(const gm_parent_ref_t *ref);
static int gm_cc_attach_ref(gm_compile_t *cc, gm_cc_route_t *cr,
    const gm_parent_ref_t *ref);
static int gm_cc_port_applies(const gm_service_port_t *sp,
    const gm_parent_ref_t *ref);
static int gm_cc_add_attach(gm_compile_t *cc, gm_frontend_t *f,
    const gm_str_t *ns, gm_cc_route_t *cr);

static int gm_cc_route_compile(gm_compile_t *cc, gm_cc_route_t *cr);
static const gm_http_rule_t *gm_cc_http_rule(const gm_cc_route_t *cr,
    uint32_t index);
static int gm_cc_rule_retry(gm_compile_t *cc, gm_rule_t *rule,
    const gm_http_rule_t *hr);
static void gm_cc_retry_codes_check(gm_compile_t *cc,
    const gm_rule_t *rule);
static int gm_cc_rule_compile(gm_compile_t *cc, gm_cc_route_t *cr,
    uint32_t index);
static int gm_cc_rule_backends(gm_compile_t *cc, gm_rule_t *rule,
    const gm_http_rule_t *hr);
static int gm_cc_filters(gm_compile_t *cc, const gm_rule_t *rule,
    const gm_http_rule_t *hr, const gm_filter_t *f, size_t n,
    const gm_filters_t **out);
static gm_backend_t *gm_cc_filter_backend(void *data, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port);
static gm_backend_t *gm_cc_ref_backend(gm_compile_t *cc,
    const gm_rule_t *rule, const gm_backend_ref_t *ref);
static void gm_cc_log_backend(gm_compile_t *cc, const gm_rule_t *rule,
    const gm_backend_t *b);
static int gm_cc_rule_entries(gm_compile_t *cc, gm_cc_route_t *cr,
    uint32_t index);
static int gm_cc_is_match_all(const gm_http_match_t *hm);
static int gm_cc_match_compile(gm_compile_t *cc, const gm_cc_route_t *cr,
    const gm_http_match_t *hm, const gm_route_match_t **out);
static int gm_cc_value_tests(gm_compile_t *cc, const gm_cc_route_t *cr,
    const gm_kv_match_t *kv, size_t n, gm_value_test_t **out,
    const char *what);
static pcre2_code *gm_cc_regex(gm_compile_t *cc, const gm_cc_route_t *cr,
    const gm_str_t *pattern, const char *what);

static int gm_cc_tables(gm_compile_t *cc);
static int gm_cc_attach_cmp(const void *one, const void *two);
static int gm_cc_same_group(const gm_cc_attach_t *a,
    const gm_cc_attach_t *b);
static int gm_cc_frontend_tables(gm_compile_t *cc, gm_cc_attach_t *a,
    size_t n);
static gm_route_table_t *gm_cc_table(gm_compile_t *cc,
    const gm_cc_attach_t *a, size_t n);
static int gm_cc_entry_cmp(const void *one, const void *two);
static int gm_cc_key_cmp(const gm_meta_t *a, const gm_meta_t *b);
static int gm_cc_key_char(const gm_meta_t *m, size_t i);


/* the CRD default of a rule without matches: PathPrefix "/" */
static const gm_http_match_t  gm_cc_default_match = {
    .path_type = GM_MATCH_PREFIX,
    .path = { 1, (char *) "/" },
    .method = { 0, (char *) "" },
};

/* what a PathPrefix "/" match without other tests compiles to */
static const gm_route_match_t  gm_cc_match_all = {
    .path_type = GM_MATCH_PREFIX,
    .path = { 0, (char *) "" },
    .method = { 0, (char *) "" },
};

/* the CRD default of a route without rules: one rule, no backendRefs */
static const gm_http_rule_t  gm_cc_default_rule = {
    .name = { 0, (char *) "" },
    .timeout_request_ms = GM_DURATION_UNSET,
    .timeout_backend_ms = GM_DURATION_UNSET,
    .retry_backoff_ms = GM_DURATION_UNSET,
};


gm_snapshot_t *
gm_snapshot_build(gm_store_t *store, const gm_log_t *log)
{
    gm_compile_t    cc;
    gm_snapshot_t  *s;

    memset(&cc, 0, sizeof(gm_compile_t));
    cc.store = store;
    cc.log = log;

    s = gm_snapshot_create(GM_SNAPSHOT_BLOCK);
    if (s == NULL) {
        gm_log(log, GM_LOG_ERR, "snapshot: out of memory");
        return NULL;
    }

    cc.snap = s;
    cc.arena = s->arena;

    if (gm_cc_init(&cc) != 0
        || gm_cc_collect(&cc) != 0
        || gm_cc_frontends(&cc) != 0
        || gm_cc_attach_routes(&cc) != 0
        || gm_cc_tables(&cc) != 0)
    {
        gm_log(log, GM_LOG_ERR, "snapshot: out of memory");
        gm_cc_cleanup(&cc);
        gm_snapshot_unref(s);
        return NULL;
    }

    s->nbackends = cc.nbackends;

    gm_log(log, GM_LOG_INFO,
           "snapshot: %zu services, %zu frontends, %zu route tables, "
           "%zu backends, %zu bytes", s->nservices, s->nfrontends,
           s->ntables, s->nbackends, s->arena->total);

    gm_cc_cleanup(&cc);

    return s;
}


static int
gm_cc_init(gm_compile_t *cc)
{
    pcre2_general_context  *gctx;

    cc->scratch = gm_arena_create(GM_SCRATCH_BLOCK);
    if (cc->scratch == NULL) {
        return -1;
    }

    /* regexes live and die with the snapshot arena */
    gctx = pcre2_general_context_create(gm_cc_pcre_malloc, gm_cc_pcre_free,
                                        cc->arena);
    if (gctx == NULL) {
        return -1;
    }

    cc->pcre = pcre2_compile_context_create(gctx);
    if (cc->pcre == NULL) {
        return -1;
    }

    cc->backends_size = 256;
    cc->backends = calloc(cc->backends_size, sizeof(gm_backend_t *));
    if (cc->backends == NULL) {
        return -1;
    }

    return 0;
}


static void
gm_cc_cleanup(gm_compile_t *cc)
{
    gm_arena_destroy(cc->scratch);
    free(cc->backends);
    free(cc->attach);
    free(cc->entries);
    free(cc->eps);
    free(cc->strings);
}


static void *
gm_cc_pcre_malloc(PCRE2_SIZE size, void *data)
{
    return gm_arena_alloc(data, size);
}


static void
gm_cc_pcre_free(void *p, void *data)
{
    /* the arena frees everything at once */
    (void) p;
    (void) data;
}


/* makes room for n elements in a growable scratch vector */

static int
gm_cc_reserve(void **p, size_t *size, size_t n, size_t elt)
{
    size_t   want;
    void    *np;

    if (n <= *size) {
        return 0;
    }

    want = *size ? *size : 64;

    while (want < n) {
        want *= 2;
    }

    np = realloc(*p, want * elt);
    if (np == NULL) {
        return -1;
    }

    *p = np;
    *size = want;

    return 0;
}


/* FNV-1a over "a/b" and n, then a 64-bit finalizer to mix the low bits */

static uint64_t
gm_cc_hash(const gm_str_t *a, const gm_str_t *b, uint32_t n)
{
    size_t    i;
    uint64_t  h;

    h = 14695981039346656037ULL;

    for (i = 0; i < a->len; i++) {
        h = (h ^ (unsigned char) a->data[i]) * 1099511628211ULL;
    }

    if (b != NULL) {
        h = (h ^ '/') * 1099511628211ULL;

        for (i = 0; i < b->len; i++) {
            h = (h ^ (unsigned char) b->data[i]) * 1099511628211ULL;
        }
    }

    h = (h ^ n) * 1099511628211ULL;

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;

    return h;
}


/*
 * Copies a string into the snapshot once: namespaces, names, paths and
 * header names recur across thousands of objects.
 */

static int
gm_cc_intern(gm_compile_t *cc, gm_str_t *dst, const gm_str_t *src)
{
    size_t     i;
    gm_str_t  *slot;

    if (src->len == 0) {
        dst->len = 0;
        dst->data = (char *) "";
        return 0;
    }

    if (cc->nstrings * 2 >= cc->strings_size && gm_cc_strings_grow(cc)) {
        return -1;
    }

    i = gm_cc_hash(src, NULL, 0) & (cc->strings_size - 1);

    for ( ;; ) {
        slot = &cc->strings[i];

        if (slot->data == NULL) {
            break;
        }

        if (gm_str_eq(slot, src)) {
            *dst = *slot;
            return 0;
        }

        i = (i + 1) & (cc->strings_size - 1);
    }

    if (gm_arena_strdup(cc->arena, slot, src->data, src->len) != 0) {
        return -1;
    }

    cc->nstrings++;
    *dst = *slot;

    return 0;
}


static int
gm_cc_strings_grow(gm_compile_t *cc)
{
    size_t     i, j, size;
    gm_str_t  *strings;

    size = cc->strings_size ? cc->strings_size * 2 : 1024;

    strings = calloc(size, sizeof(gm_str_t));
    if (strings == NULL) {
        return -1;
    }

    for (i = 0; i < cc->strings_size; i++) {
        if (cc->strings[i].data == NULL) {
            continue;
        }

        j = gm_cc_hash(&cc->strings[i], NULL, 0) & (size - 1);

        while (strings[j].data != NULL) {
            j = (j + 1) & (size - 1);
        }

        strings[j] = cc->strings[i];
    }

    free(cc->strings);
    cc->strings = strings;
    cc->strings_size = size;

    return 0;
}


static int
gm_cc_sprintf(gm_arena_t *a, gm_str_t *dst, const char *fmt, ...)
{
    int      n;
    char     buf[1024];
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
gm_cc_collect(gm_compile_t *cc)
{
    size_t  n;

    n = gm_store_count(cc->store, GM_KIND_SERVICE);
    cc->services = gm_arena_alloc(cc->scratch,
                                  (n + 1) * sizeof(gm_cc_service_t));

    n = gm_store_count(cc->store, GM_KIND_HTTPROUTE);
    cc->routes = gm_arena_alloc(cc->scratch, (n + 1) * sizeof(gm_cc_route_t));

    if (cc->services == NULL || cc->routes == NULL) {
        return -1;
    }

    gm_store_foreach(cc->store, GM_KIND_SERVICE, gm_cc_add_service, cc);

    if (gm_cc_index_services(cc) != 0) {
        return -1;
    }

    gm_store_foreach(cc->store, GM_KIND_ENDPOINTSLICE, gm_cc_add_slice, cc);
    gm_store_foreach(cc->store, GM_KIND_HTTPROUTE, gm_cc_add_route, cc);

    if (cc->nomem) {
        return -1;
    }

    cc->snap->nservices = cc->nservices;

    return 0;
}


static void
gm_cc_add_service(void *data, gm_object_t *obj)
{
    gm_compile_t     *cc;
    gm_cc_service_t  *cs;

    cc = data;
    cs = &cc->services[cc->nservices++];
    memset(cs, 0, sizeof(gm_cc_service_t));
    cs->svc = &obj->body->service;
}


/* a slice joins the list of its Service; orphans are left out */

static void
gm_cc_add_slice(void *data, gm_object_t *obj)
{
    gm_compile_t        *cc;
    gm_cc_slice_t       *sl;
    gm_cc_service_t     *cs;
    gm_endpointslice_t  *eps;

    cc = data;
    eps = &obj->body->endpointslice;

    cs = gm_cc_find_service(cc, &eps->meta.ns, &eps->service_name);
    if (cs == NULL) {
        return;
    }

    sl = gm_arena_alloc(cc->scratch, sizeof(gm_cc_slice_t));
    if (sl == NULL) {
        cc->nomem = 1;
        return;
    }

    sl->eps = eps;
    sl->next = cs->slices;
    cs->slices = sl;
}


static void
gm_cc_add_route(void *data, gm_object_t *obj)
{
    gm_compile_t   *cc;
    gm_cc_route_t  *cr;

    cc = data;
    cr = &cc->routes[cc->nroutes++];
    memset(cr, 0, sizeof(gm_cc_route_t));
    cr->route = &obj->body->httproute;
}


static int
gm_cc_index_services(gm_compile_t *cc)
{
    size_t             i, j, size;
    gm_meta_t         *meta;
    gm_cc_service_t  **index;

    size = 16;

    while (size < cc->nservices * 2) {
        size *= 2;
    }

    index = gm_arena_calloc(cc->scratch, size * sizeof(gm_cc_service_t *));
    if (index == NULL) {
        return -1;
    }

    for (i = 0; i < cc->nservices; i++) {
        meta = &cc->services[i].svc->meta;
        j = gm_cc_hash(&meta->ns, &meta->name, 0) & (size - 1);

        while (index[j] != NULL) {
            j = (j + 1) & (size - 1);
        }

        index[j] = &cc->services[i];
    }

    cc->index = index;
    cc->index_size = size;

    return 0;
}


static gm_cc_service_t *
gm_cc_find_service(gm_compile_t *cc, const gm_str_t *ns,
    const gm_str_t *name)
{
    size_t            i;
    gm_meta_t        *meta;
    gm_cc_service_t  *cs;

    i = gm_cc_hash(ns, name, 0) & (cc->index_size - 1);

    for ( ;; ) {
        cs = cc->index[i];

        if (cs == NULL) {
            return NULL;
        }

        meta = &cs->svc->meta;

        if (gm_str_eq(&meta->name, name) && gm_str_eq(&meta->ns, ns)) {
            return cs;
        }

        i = (i + 1) & (cc->index_size - 1);
    }
}


/* whether a wins over b: the older, then the first by ns/name */

static int
gm_cc_older(const gm_service_t *a, const gm_service_t *b)
{
    int  c;

    if (a->meta.created != b->meta.created) {
        return a->meta.created < b->meta.created;
    }

    c = gm_str_cmp(a->meta.ns.data, a->meta.ns.len,
                   b->meta.ns.data, b->meta.ns.len);

    if (c == 0) {
        c = gm_str_cmp(a->meta.name.data, a->meta.name.len,
                       b->meta.name.data, b->meta.name.len);
    }

    return c < 0;
}


/* headless and ExternalName Services have no frontend (spec 1.2) */

static int
gm_cc_is_parent(const gm_service_t *svc)
{
    return !svc->headless && svc->type != GM_SERVICE_EXTERNAL_NAME;
}


static int
gm_cc_frontends(gm_compile_t *cc)
{
    size_t            i, n, nkeys;
    gm_service_t     *svc;
    gm_cc_service_t  *cs;

    n = 0;
    nkeys = 0;

    for (i = 0; i < cc->nservices; i++) {
        svc = cc->services[i].svc;

        if (gm_cc_is_parent(svc)) {
            n += svc->nports;
            nkeys += svc->nports * svc->ncluster_ips;
        }
    }

    if (gm_snapshot_init_index(cc->snap, nkeys) != 0) {
        return -1;
    }

    cc->frontends = gm_arena_calloc(cc->arena,
                                    (n + 1) * sizeof(gm_frontend_t));
    if (cc->frontends == NULL) {
        return -1;
    }

    for (i = 0; i < cc->nservices; i++) {
        cs = &cc->services[i];

        if (!gm_cc_is_parent(cs->svc) || cs->svc->nports == 0) {
            continue;
        }

        cs->frontends = &cc->frontends[cc->nfrontends];
        cc->nfrontends += cs->svc->nports;

        if (gm_cc_service_frontends(cc, cs) != 0) {
            return -1;
        }
    }

    cc->snap->nfrontends = cc->nfrontends;

    return 0;
}


static int
gm_cc_service_names(gm_compile_t *cc, gm_cc_service_t *cs)
{
    if (cs->name.data != NULL) {
        return 0;
    }

    if (gm_cc_intern(cc, &cs->ns, &cs->svc->meta.ns) != 0
        || gm_arena_strdup(cc->arena, &cs->name, cs->svc->meta.name.data,
                           cs->svc->meta.name.len) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_cc_service_frontends(gm_compile_t *cc, gm_cc_service_t *cs)
{
    size_t          p, i;
    gm_frontend_t  *f;
    gm_service_t   *svc;

    svc = cs->svc;

    if (gm_cc_service_names(cc, cs) != 0) {
        return -1;
    }

    for (p = 0; p < svc->nports; p++) {
        f = &cs->frontends[p];

        f->passthrough = gm_cc_port_backend(cc, cs, p);
        if (f->passthrough == NULL) {
            return -1;
        }

        f->ns = cs->ns;
        f->name = cs->name;
        f->label = f->passthrough->label;
        f->port = svc->ports[p].port;

        for (i = 0; i < svc->ncluster_ips; i++) {
            gm_cc_index_frontend(cc, cs, f, &svc->cluster_ips[i]);
        }
    }

    return 0;
}


/* a ClusterIP:port claimed twice stays with the older Service */

static void
gm_cc_index_frontend(gm_compile_t *cc, gm_cc_service_t *cs,
    gm_frontend_t *f, const gm_addr_t *ip)
{
    char                 text[INET6_ADDRSTRLEN];
    gm_frontend_t       *other;
    gm_cc_service_t     *owner;
    gm_frontend_slot_t  *slot;

    if (ip->family != AF_INET && ip->family != AF_INET6) {
        return;
    }

    slot = gm_snapshot_frontend_slot(cc->snap, ip, f->port);
    other = slot->frontend;

    if (other == NULL) {
        slot->addr = *ip;
        slot->port = f->port;
        slot->frontend = f;
        return;
    }

    owner = gm_cc_find_service(cc, &other->ns, &other->name);

    if (owner != NULL && gm_cc_older(cs->svc, owner->svc)) {
        slot->frontend = f;
    }

    inet_ntop(ip->family, ip->addr, text, sizeof(text));

    gm_log(cc->log, GM_LOG_WARN,
           "Service %s/%s: ClusterIP %s port %u is also claimed by "
           "Service %s/%s; %s/%s keeps it", f->ns.data, f->name.data,
           text, (unsigned) f->port, other->ns.data, other->name.data,
           slot->frontend->ns.data, slot->frontend->name.data);
}


/*
 * The backend (ns, name, port), one per snapshot: a Service port's
 * backend is kept with the Service, unresolvable ones in a hash table.
 */

static gm_backend_t *
gm_cc_backend(gm_compile_t *cc, const gm_str_t *ns, const gm_str_t *name,
    uint16_t port)
{
    size_t            p;
    gm_cc_service_t  *cs;

    cs = gm_cc_find_service(cc, ns, name);

    if (cs == NULL) {
        return gm_cc_unresolved(cc, ns, name, port, GM_BACKEND_NOT_FOUND);
    }

    if (cs->svc->type == GM_SERVICE_EXTERNAL_NAME) {
        return gm_cc_unresolved(cc, ns, name, port, GM_BACKEND_INVALID);
    }

    for (p = 0; p < cs->svc->nports; p++) {
        if (cs->svc->ports[p].port == port) {
            return gm_cc_port_backend(cc, cs, p);
        }
    }

    return gm_cc_unresolved(cc, ns, name, port, GM_BACKEND_NOT_FOUND);
}


static gm_backend_t *
gm_cc_port_backend(gm_compile_t *cc, gm_cc_service_t *cs, size_t p)
{
    gm_backend_t  *b;

    if (cs->backends == NULL) {
        cs->backends = gm_arena_calloc(cc->scratch, cs->svc->nports
                                                    * sizeof(gm_backend_t *));
        if (cs->backends == NULL) {
            return NULL;
        }
    }

    if (cs->backends[p] != NULL) {
        return cs->backends[p];
    }

    if (gm_cc_service_names(cc, cs) != 0) {
        return NULL;
    }

    b = gm_cc_new_backend(cc, &cs->ns, &cs->name, cs->svc->ports[p].port);

    if (b == NULL || gm_cc_resolve(cc, b, cs, &cs->svc->ports[p]) != 0) {
        return NULL;
    }

    cs->backends[p] = b;
    cc->nbackends++;

    return b;
}


static gm_backend_t *
gm_cc_unresolved(gm_compile_t *cc, const gm_str_t *ns, const gm_str_t *name,
    uint16_t port, gm_backend_status_e status)
{
    size_t         i;
    gm_str_t       sns, sname;
    gm_backend_t  *b;

    i = gm_cc_hash(ns, name, port) & (cc->backends_size - 1);

    for ( ;; ) {
        b = cc->backends[i];

        if (b == NULL) {
            break;
        }

        if (b->port == port && gm_str_eq(&b->name, name)
            && gm_str_eq(&b->ns, ns))
        {
            return b;
        }

        i = (i + 1) & (cc->backends_size - 1);
    }

    if (gm_cc_intern(cc, &sns, ns) != 0
        || gm_cc_intern(cc, &sname, name) != 0)
    {
        return NULL;
    }

    b = gm_cc_new_backend(cc, &sns, &sname, port);
    if (b == NULL) {
        return NULL;
    }

    b->status = status;
    cc->backends[i] = b;
    cc->nbackends++;
    cc->nunresolved++;

    if (cc->nunresolved * 2 > cc->backends_size
        && gm_cc_backends_grow(cc) != 0)
    {
        return NULL;
    }

    return b;
}


static int
gm_cc_backends_grow(gm_compile_t *cc)
{
    size_t          i, j, size;
    gm_backend_t  **slots, *b;

    size = cc->backends_size * 2;

    slots = calloc(size, sizeof(gm_backend_t *));
    if (slots == NULL) {
        return -1;
    }

    for (i = 0; i < cc->backends_size; i++) {
        b = cc->backends[i];

        if (b == NULL) {
            continue;
        }

        j = gm_cc_hash(&b->ns, &b->name, b->port) & (size - 1);

        while (slots[j] != NULL) {
            j = (j + 1) & (size - 1);
        }

        slots[j] = b;
    }

    free(cc->backends);
    cc->backends = slots;
    cc->backends_size = size;

    return 0;
}


/* ns and name are already copies in the snapshot */

static gm_backend_t *
gm_cc_new_backend(gm_compile_t *cc, const gm_str_t *ns, const gm_str_t *name,
    uint16_t port)
{
    gm_backend_t  *b;

    b = gm_arena_calloc(cc->arena, sizeof(gm_backend_t));
    if (b == NULL) {
        return NULL;
    }

    b->ns = *ns;
    b->name = *name;
    b->port = port;

    if (gm_cc_sprintf(cc->arena, &b->label, "%s/%s:%u", ns->data,
                      name->data, (unsigned) port)
        != 0)
    {
        return NULL;
    }

    return b;
}


/*
 * Service port -> its name -> the slice port of that name -> endpoints.
 * Only ready endpoints count; addresses are deduplicated and sorted.
 */

static int
gm_cc_resolve(gm_compile_t *cc, gm_backend_t *b, const gm_cc_service_t *cs,
    const gm_service_port_t *sp)
{
    size_t          n;
    uint16_t        eport;
    gm_cc_slice_t  *sl;

    n = 0;

    for (sl = cs->slices; sl != NULL; sl = sl->next) {
        eport = gm_cc_slice_port(sl->eps, sp);

        if (eport != 0
            && gm_cc_slice_endpoints(cc, sl->eps, eport, &n) != 0)
        {
            return -1;
        }
    }

    return gm_cc_endpoints(cc, b, n);
}


/* the endpoint port of a Service port in one slice; 0: none */

static uint16_t
gm_cc_slice_port(const gm_endpointslice_t *eps, const gm_service_port_t *sp)
{
    size_t    i;
    uint16_t  target;

    /* an unset targetPort means the port itself; a named one is unknown */
    if (sp->target_port != 0) {
        target = sp->target_port;

    } else {
        target = (sp->target_port_name.len == 0) ? sp->port : 0;
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
gm_cc_slice_endpoints(gm_compile_t *cc, const gm_endpointslice_t *eps,
    uint16_t port, size_t *n)
{
    size_t                i, j;
    const gm_endpoint_t  *ep;

    for (i = 0; i < eps->nendpoints; i++) {
        ep = &eps->endpoints[i];

        if (!ep->ready) {
            continue;
        }

        if (gm_cc_reserve((void **) &cc->eps, &cc->eps_size,
                          *n + ep->naddrs, sizeof(gm_cc_endpoint_t))
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

            memset(&cc->eps[*n], 0, sizeof(gm_cc_endpoint_t));
            cc->eps[*n].addr = ep->addrs[j];
            cc->eps[*n].port = port;
            (*n)++;
        }
    }

    return 0;
}


static int
gm_cc_endpoint_cmp(const void *one, const void *two)
{
    int                      c;
    const gm_cc_endpoint_t  *a, *b;

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
gm_cc_endpoints(gm_compile_t *cc, gm_backend_t *b, size_t n)
{
    size_t  i, k;

    if (n == 0) {
        b->status = GM_BACKEND_NO_ENDPOINTS;
        return 0;
    }

    qsort(cc->eps, n, sizeof(gm_cc_endpoint_t), gm_cc_endpoint_cmp);

    k = 1;

    for (i = 1; i < n; i++) {
        if (gm_cc_endpoint_cmp(&cc->eps[i], &cc->eps[k - 1]) != 0) {
            cc->eps[k++] = cc->eps[i];
        }
    }

    b->endpoints = gm_arena_calloc(cc->arena, k * sizeof(gm_sockaddr_t));
    if (b->endpoints == NULL) {
        return -1;
    }

    for (i = 0; i < k; i++) {
        if (gm_cc_sockaddr(cc, &b->endpoints[i], &cc->eps[i]) != 0) {
            return -1;
        }
    }

    b->nendpoints = k;
    b->status = GM_BACKEND_OK;

    return 0;
}


static int
gm_cc_sockaddr(gm_compile_t *cc, gm_sockaddr_t *sa, const gm_cc_endpoint_t *ep)
{
    int   n;
    char  ip[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];

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

    return gm_arena_strdup(cc->arena, &sa->text, text, n);
}


static int
gm_cc_attach_routes(gm_compile_t *cc)
{
    size_t           i, p;
    gm_httproute_t  *route;

    for (i = 0; i < cc->nroutes; i++) {
        route = cc->routes[i].route;

        for (p = 0; p < route->nparents; p++) {
            if (gm_cc_attach_ref(cc, &cc->routes[i], &route->parents[p])
                != 0)
            {
                return -1;
            }
        }
    }

    return 0;
}


/* group "" is the API's; "core" appears in the mesh docs (spec 1.1) */

static int
gm_cc_is_service_parent(const gm_parent_ref_t *ref)
{
    return (ref->group.len == 0 || gm_str_eq_cstr(&ref->group, "core"))
           && gm_str_eq_cstr(&ref->kind, "Service");
}


static int
gm_cc_attach_ref(gm_compile_t *cc, gm_cc_route_t *cr,
    const gm_parent_ref_t *ref)
{
    size_t            i, n;
    const char       *reason;
    const gm_str_t   *ns;
    gm_cc_service_t  *cs;

    if (!gm_cc_is_service_parent(ref)) {
        return 0;
    }

    cs = gm_cc_find_service(cc, &ref->ns, &ref->name);

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
        gm_log(cc->log, GM_LOG_WARN,
               "HTTPRoute %s/%s: parentRef Service %s/%s %s, not attached",
               cr->route->meta.ns.data, cr->route->meta.name.data,
               ref->ns.data, ref->name.data, reason);
        return 0;
    }

    /* a Service in another namespace makes it a consumer route */
    ns = gm_str_eq(&cr->route->meta.ns, &ref->ns) ? NULL
                                                  : &cr->route->meta.ns;
    n = 0;

    for (i = 0; i < cs->svc->nports; i++) {
        if (gm_cc_port_applies(&cs->svc->ports[i], ref)) {
            if (gm_cc_add_attach(cc, &cs->frontends[i], ns, cr) != 0) {
                return -1;
            }

            n++;
        }
    }

    if (n == 0) {
        gm_log(cc->log, GM_LOG_WARN,
               "HTTPRoute %s/%s: parentRef Service %s/%s has no port "
               "matching port %u sectionName \"%s\", not attached",
               cr->route->meta.ns.data, cr->route->meta.name.data,
               ref->ns.data, ref->name.data,
               (unsigned) ref->port,
               ref->section_name.data ? ref->section_name.data : "");
        return 0;
    }

    return (cr->rules == NULL) ? gm_cc_route_compile(cc, cr) : 0;
}


/* port and sectionName narrow a parentRef; both set: both must match */

static int
gm_cc_port_applies(const gm_service_port_t *sp, const gm_parent_ref_t *ref)
{
    if (ref->port != 0 && ref->port != sp->port) {
        return 0;
    }

    if (ref->section_name.len != 0
        && !gm_str_eq(&ref->section_name, &sp->name))
    {
        return 0;
    }

    return 1;
}


static int
gm_cc_add_attach(gm_compile_t *cc, gm_frontend_t *f, const gm_str_t *ns,
    gm_cc_route_t *cr)
{
    gm_cc_attach_t  *a;

    if (gm_cc_reserve((void **) &cc->attach, &cc->attach_size,
                      cc->nattach + 1, sizeof(gm_cc_attach_t))
        != 0)
    {
        return -1;
    }

    a = &cc->attach[cc->nattach++];
    a->frontend = f - cc->frontends;
    a->ns = ns;
    a->route = cr;

    return 0;
}


/* rules and matches of a route, compiled once for all its frontends */

static int
gm_cc_route_compile(gm_compile_t *cc, gm_cc_route_t *cr)
{
    size_t                 n;
    uint32_t               r, nrules;
    const gm_http_rule_t  *hr;

    nrules = cr->route->nrules ? cr->route->nrules : 1;

    cr->rules = gm_arena_calloc(cc->arena, nrules * sizeof(gm_rule_t));
    if (cr->rules == NULL
        || gm_cc_intern(cc, &cr->ns, &cr->route->meta.ns) != 0
        || gm_arena_strdup(cc->arena, &cr->name, cr->route->meta.name.data,
                           cr->route->meta.name.len) != 0)
    {
        return -1;
    }

    n = 0;

    for (r = 0; r < nrules; r++) {
        hr = gm_cc_http_rule(cr, r);

        if (!hr->invalid) {
            n += hr->nmatches ? hr->nmatches : 1;
        }
    }

    cr->entries = gm_arena_alloc(cc->scratch,
                                 (n + 1) * sizeof(gm_cc_entry_t));
    if (cr->entries == NULL) {
        return -1;
    }

    for (r = 0; r < nrules; r++) {
        if (gm_cc_http_rule(cr, r)->invalid) {
            continue;
        }

        if (gm_cc_rule_compile(cc, cr, r) != 0
            || gm_cc_rule_entries(cc, cr, r) != 0)
        {
            return -1;
        }
    }

    return 0;
}


static const gm_http_rule_t *
gm_cc_http_rule(const gm_cc_route_t *cr, uint32_t index)
{
    if (cr->route->nrules == 0) {
        return &gm_cc_default_rule;
    }

    return &cr->route->rules[index];
}


static int
gm_cc_rule_retry(gm_compile_t *cc, gm_rule_t *rule, const gm_http_rule_t *hr)
{
    uint16_t  *codes;

    rule->has_retry = hr->has_retry;
    rule->retry_attempts = hr->retry_attempts;
    rule->retry_backoff_ms = hr->retry_backoff_ms;

    if (hr->nretry_codes == 0) {
        return 0;
    }

    codes = gm_arena_alloc(cc->arena, hr->nretry_codes * sizeof(uint16_t));
    if (codes == NULL) {
        return -1;
    }

    memcpy(codes, hr->retry_codes, hr->nretry_codes * sizeof(uint16_t));
    rule->retry_codes = codes;
    rule->nretry_codes = hr->nretry_codes;

    gm_cc_retry_codes_check(cc, rule);

    return 0;
}


/* nginx's upstream can retry on these statuses only */
static void
gm_cc_retry_codes_check(gm_compile_t *cc, const gm_rule_t *rule)
{
    size_t  i;

    for (i = 0; i < rule->nretry_codes; i++) {
        switch (rule->retry_codes[i]) {
        case 403: case 404: case 429: case 500: case 502: case 503: case 504:
            break;

        default:
            gm_log(cc->log, GM_LOG_WARN,
                   "HTTPRoute %s/%s rule %u: retry code %u is not retried "
                   "(nginx retries on 403, 404, 429, 500, 502, 503 and 504)",
                   rule->route_ns.data, rule->route_name.data,
                   (unsigned) rule->rule_index,
                   (unsigned) rule->retry_codes[i]);
        }
    }
}


/* label: "ns/name/rulename", or "ns/name/rule<index>" when unnamed */

static int
gm_cc_rule_compile(gm_compile_t *cc, gm_cc_route_t *cr, uint32_t index)
{
    int                    rc;
    gm_rule_t             *rule;
    const gm_http_rule_t  *hr;

    rule = &cr->rules[index];
    hr = gm_cc_http_rule(cr, index);

    rule->route_ns = cr->ns;
    rule->route_name = cr->name;
    rule->rule_index = index;
    rule->timeout_request_ms = hr->timeout_request_ms;
    rule->timeout_backend_ms = hr->timeout_backend_ms;
    rule->no_backends = (hr->nbackends == 0);

    if (gm_cc_rule_retry(cc, rule, hr) != 0) {
        return -1;
    }

    if (hr->name.len != 0) {
        rc = gm_cc_intern(cc, &rule->rule_name, &hr->name);

        if (rc == 0) {
            rc = gm_cc_sprintf(cc->arena, &rule->label, "%s/%s/%s",
                               cr->ns.data, cr->name.data, hr->name.data);
        }

    } else {
        rule->rule_name.data = (char *) "";
        rc = gm_cc_sprintf(cc->arena, &rule->label, "%s/%s/rule%u",
                           cr->ns.data, cr->name.data, (unsigned) index);
    }

    if (rc != 0
        || gm_cc_filters(cc, rule, hr, hr->filters, hr->nfilters,
                         &rule->filters) != 0)
    {
        return -1;
    }

    return gm_cc_rule_backends(cc, rule, hr);
}


/*
 * Weight-0 refs are dropped: they can never be chosen.  Invalid and
 * unresolved backends stay, so that their share of requests fails.
 */

static int
gm_cc_rule_backends(gm_compile_t *cc, gm_rule_t *rule,
    const gm_http_rule_t *hr)
{
    size_t                  i, n;
    gm_backend_t           *b;
    gm_weighted_backend_t  *wb;

    n = 0;

    for (i = 0; i < hr->nbackends; i++) {
        n += (hr->backends[i].weight != 0);
    }

    if (n == 0) {
        return 0;
    }

    rule->backends = gm_arena_calloc(cc->arena,
                                     n * sizeof(gm_weighted_backend_t));
    if (rule->backends == NULL) {
        return -1;
    }

    for (i = 0; i < hr->nbackends; i++) {
        if (hr->backends[i].weight == 0) {
            continue;
        }

        b = gm_cc_ref_backend(cc, rule, &hr->backends[i]);
        if (b == NULL) {
            return -1;
        }

        wb = &rule->backends[rule->nbackends++];
        wb->backend = b;
        wb->weight = hr->backends[i].weight;
        wb->service = b->label;
        rule->total_weight += wb->weight;

        if (gm_cc_filters(cc, rule, hr, hr->backends[i].filters,
                          hr->backends[i].nfilters, &wb->filters)
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* filters compile into the snapshot; mirrors resolve like backendRefs */

static int
gm_cc_filters(gm_compile_t *cc, const gm_rule_t *rule,
    const gm_http_rule_t *hr, const gm_filter_t *f, size_t n,
    const gm_filters_t **out)
{
    gm_filter_cc_t  fcc;

    fcc.arena = cc->arena;
    fcc.log = cc->log;
    fcc.label = rule->label.data;
    fcc.route_ns = &rule->route_ns;
    fcc.rule = hr;
    fcc.backend = gm_cc_filter_backend;
    fcc.data = cc;

    return gm_filters_compile(&fcc, f, n, out);
}


static gm_backend_t *
gm_cc_filter_backend(void *data, const gm_str_t *ns, const gm_str_t *name,
    uint16_t port)
{
    return gm_cc_backend(data, ns, name, port);
}


static gm_backend_t *
gm_cc_ref_backend(gm_compile_t *cc, const gm_rule_t *rule,
    const gm_backend_ref_t *ref)
{
    gm_str_t       ns, name;
    gm_backend_t  *b;

    if (ref->group.len == 0 && gm_str_eq_cstr(&ref->kind, "Service")) {
        b = gm_cc_backend(cc, &ref->ns, &ref->name, ref->port);

        if (b != NULL && b->status != GM_BACKEND_OK) {
            gm_cc_log_backend(cc, rule, b);
        }

        return b;
    }

    /* not shared: a Service of the same name is another backend */
    if (gm_cc_intern(cc, &ns, &ref->ns) != 0
        || gm_cc_intern(cc, &name, &ref->name) != 0)
    {
        return NULL;
    }

    b = gm_cc_new_backend(cc, &ns, &name, ref->port);
    if (b == NULL) {
        return NULL;
    }

    b->status = GM_BACKEND_INVALID;

    gm_log(cc->log, GM_LOG_WARN,
           "HTTPRoute %s: backendRef %s/%s: unsupported group \"%s\" "
           "kind \"%s\", its share gets 500", rule->label.data,
           ref->ns.data, ref->name.data,
           ref->group.data ? ref->group.data : "", ref->kind.data);

    return b;
}


static void
gm_cc_log_backend(gm_compile_t *cc, const gm_rule_t *rule,
    const gm_backend_t *b)
{
    switch (b->status) {

    case GM_BACKEND_NOT_FOUND:
        gm_log(cc->log, GM_LOG_WARN,
               "HTTPRoute %s: backendRef Service %s: no such Service or "
               "port, its share gets 500", rule->label.data, b->label.data);
        break;

    case GM_BACKEND_INVALID:
        gm_log(cc->log, GM_LOG_WARN,
               "HTTPRoute %s: backendRef Service %s is an ExternalName "
               "Service, its share gets 500", rule->label.data,
               b->label.data);
        break;

    case GM_BACKEND_NO_ENDPOINTS:
        gm_log(cc->log, GM_LOG_NOTICE,
               "HTTPRoute %s: backendRef Service %s has no ready "
               "endpoints, its share gets 503", rule->label.data,
               b->label.data);
        break;

    default:
        break;
    }
}


static int
gm_cc_rule_entries(gm_compile_t *cc, gm_cc_route_t *cr, uint32_t index)
{
    int                      rc;
    size_t                   m, nmatches;
    gm_cc_entry_t           *e;
    const gm_http_rule_t    *hr;
    const gm_http_match_t   *hm;
    const gm_route_match_t  *match;

    hr = gm_cc_http_rule(cr, index);
    nmatches = hr->nmatches ? hr->nmatches : 1;
    match = NULL;

    for (m = 0; m < nmatches; m++) {
        hm = hr->nmatches ? &hr->matches[m] : &gm_cc_default_match;

        rc = gm_cc_match_compile(cc, cr, hm, &match);

        if (rc < 0) {
            return -1;
        }

        if (rc > 0) {
            continue;
        }

        e = &cr->entries[cr->nentries++];
        e->match = match;
        e->rule = &cr->rules[index];
        e->route = cr;
        e->match_index = m;

        switch (hm->path_type) {

        case GM_MATCH_EXACT:
            e->rank = GM_RANK_EXACT;
            e->plen = 0;
            break;

        case GM_MATCH_REGEX:
            e->rank = GM_RANK_REGEX;
            e->plen = hm->path.len;
            break;

        default:
            e->rank = GM_RANK_PREFIX;
            e->plen = hm->path.len;
            break;
        }
    }

    return 0;
}


/* PathPrefix "/" and nothing else: one shared compiled match */

static int
gm_cc_is_match_all(const gm_http_match_t *hm)
{
    return hm->path_type == GM_MATCH_PREFIX
           && hm->path.len == 1 && hm->path.data[0] == '/'
           && hm->method.len == 0 && hm->nheaders == 0 && hm->nquery == 0;
}


/* 0: compiled; 1: skipped, a regex does not compile (logged); -1 */

static int
gm_cc_match_compile(gm_compile_t *cc, const gm_cc_route_t *cr,
    const gm_http_match_t *hm, const gm_route_match_t **out)
{
    int                rc;
    gm_str_t           path;
    gm_route_match_t  *m;

    if (gm_cc_is_match_all(hm)) {
        *out = &gm_cc_match_all;
        return 0;
    }

    m = gm_arena_calloc(cc->arena, sizeof(gm_route_match_t));
    if (m == NULL) {
        return -1;
    }

    m->path_type = hm->path_type;
    path = hm->path;

    /* "/v2/" behaves as "/v2", and "/" becomes "": it matches all */
    while (m->path_type == GM_MATCH_PREFIX && path.len > 0
           && path.data[path.len - 1] == '/')
    {
        path.len--;
    }

    if (gm_cc_intern(cc, &m->path, &path) != 0
        || gm_cc_intern(cc, &m->method, &hm->method) != 0)
    {
        return -1;
    }

    if (m->path_type == GM_MATCH_REGEX) {
        m->path_re = gm_cc_regex(cc, cr, &hm->path, "path");

        if (m->path_re == NULL) {
            return 1;
        }
    }

    rc = gm_cc_value_tests(cc, cr, hm->headers, hm->nheaders, &m->headers,
                           "header");
    if (rc != 0) {
        return rc;
    }

    m->nheaders = hm->nheaders;

    rc = gm_cc_value_tests(cc, cr, hm->query, hm->nquery, &m->query,
                           "query parameter");
    if (rc != 0) {
        return rc;
    }

    m->nquery = hm->nquery;
    *out = m;

    return 0;
}


static int
gm_cc_value_tests(gm_compile_t *cc, const gm_cc_route_t *cr,
    const gm_kv_match_t *kv, size_t n, gm_value_test_t **out,
    const char *what)
{
    size_t            i;
    gm_value_test_t  *t;

    *out = NULL;

    if (n == 0) {
        return 0;
    }

    t = gm_arena_calloc(cc->arena, n * sizeof(gm_value_test_t));
    if (t == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        t[i].type = (kv[i].type == GM_MATCH_REGEX) ? GM_MATCH_REGEX
                                                   : GM_MATCH_EXACT;

        if (gm_cc_intern(cc, &t[i].name, &kv[i].name) != 0
            || gm_cc_intern(cc, &t[i].value, &kv[i].value) != 0)
        {
            return -1;
        }

        if (t[i].type == GM_MATCH_REGEX) {
            t[i].re = gm_cc_regex(cc, cr, &kv[i].value, what);

            if (t[i].re == NULL) {
                return 1;
            }
        }
    }

    *out = t;

    return 0;
}


static pcre2_code *
gm_cc_regex(gm_compile_t *cc, const gm_cc_route_t *cr,
    const gm_str_t *pattern, const char *what)
{
    int           err;
    PCRE2_SIZE    off;
    pcre2_code   *re;
    PCRE2_UCHAR   msg[256];

    re = pcre2_compile((PCRE2_SPTR) pattern->data, pattern->len,
                       PCRE2_ANCHORED | PCRE2_ENDANCHORED, &err, &off,
                       cc->pcre);

    if (re == NULL) {
        pcre2_get_error_message(err, msg, sizeof(msg));

        gm_log(cc->log, GM_LOG_WARN,
               "HTTPRoute %s/%s: %s regex \"%s\" does not compile at offset "
               "%zu: %s; the match is left out", cr->ns.data, cr->name.data,
               what,
               pattern->data, (size_t) off, (char *) msg);
    }

    return re;
}


static int
gm_cc_tables(gm_compile_t *cc)
{
    size_t  i, j;

    if (cc->nattach == 0) {
        return 0;
    }

    qsort(cc->attach, cc->nattach, sizeof(gm_cc_attach_t),
          gm_cc_attach_cmp);

    for (i = 0; i < cc->nattach; i = j) {
        j = i + 1;

        while (j < cc->nattach
               && cc->attach[j].frontend == cc->attach[i].frontend)
        {
            j++;
        }

        if (gm_cc_frontend_tables(cc, &cc->attach[i], j - i) != 0) {
            return -1;
        }
    }

    return 0;
}


/* by frontend, then producer before consumers by namespace, then route */

static int
gm_cc_attach_cmp(const void *one, const void *two)
{
    int                    c;
    const gm_cc_attach_t  *a, *b;

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
gm_cc_same_group(const gm_cc_attach_t *a, const gm_cc_attach_t *b)
{
    if (a->ns == NULL || b->ns == NULL) {
        return a->ns == b->ns;
    }

    return gm_str_eq(a->ns, b->ns);
}


static int
gm_cc_frontend_tables(gm_compile_t *cc, gm_cc_attach_t *a, size_t n)
{
    size_t             i, j, nconsumers;
    gm_frontend_t     *f;
    gm_route_table_t  *t;

    f = &cc->frontends[a->frontend];
    nconsumers = 0;

    for (i = 0; i < n; i++) {
        if (a[i].ns != NULL
            && (i == 0 || !gm_cc_same_group(&a[i - 1], &a[i])))
        {
            nconsumers++;
        }
    }

    if (nconsumers != 0) {
        f->consumer_ns = gm_arena_alloc(cc->arena,
                                        nconsumers * sizeof(gm_str_t));
        f->consumer = gm_arena_alloc(cc->arena,
                                     nconsumers * sizeof(gm_route_table_t *));

        if (f->consumer_ns == NULL || f->consumer == NULL) {
            return -1;
        }
    }

    for (i = 0; i < n; i = j) {
        j = i + 1;

        while (j < n && gm_cc_same_group(&a[i], &a[j])) {
            j++;
        }

        t = gm_cc_table(cc, &a[i], j - i);
        if (t == NULL) {
            return -1;
        }

        if (a[i].ns == NULL) {
            f->producer = t;
            continue;
        }

        if (gm_cc_intern(cc, &f->consumer_ns[f->nconsumers], a[i].ns) != 0) {
            return -1;
        }

        f->consumer[f->nconsumers++] = t;
    }

    return 0;
}


/* all entries of the routes of one group, merged in precedence order */

static gm_route_table_t *
gm_cc_table(gm_compile_t *cc, const gm_cc_attach_t *a, size_t n)
{
    size_t             i, k;
    gm_route_table_t  *t;

    k = 0;

    for (i = 0; i < n; i++) {
        /* a route bound twice to one port through two parentRefs */
        if (i > 0 && a[i].route == a[i - 1].route) {
            continue;
        }

        if (gm_cc_reserve((void **) &cc->entries, &cc->entries_size,
                          k + a[i].route->nentries, sizeof(gm_cc_entry_t))
            != 0)
        {
            return NULL;
        }

        if (a[i].route->nentries != 0) {
            memcpy(&cc->entries[k], a[i].route->entries,
                   a[i].route->nentries * sizeof(gm_cc_entry_t));
            k += a[i].route->nentries;
        }
    }

    if (k > 1) {
        qsort(cc->entries, k, sizeof(gm_cc_entry_t), gm_cc_entry_cmp);
    }

    t = gm_arena_alloc(cc->arena,
                       sizeof(gm_route_table_t) + k * sizeof(gm_route_entry_t));
    if (t == NULL) {
        return NULL;
    }

    t->nentries = k;

    for (i = 0; i < k; i++) {
        t->entries[i].match = cc->entries[i].match;
        t->entries[i].rule = cc->entries[i].rule;
    }

    cc->snap->ntables++;

    return t;
}


/* the precedence of spec 1.6; see the top of this file */

static int
gm_cc_entry_cmp(const void *one, const void *two)
{
    int                      c;
    const gm_cc_entry_t     *a, *b;
    const gm_route_match_t  *ma, *mb;

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

    if ((ma->method.len != 0) != (mb->method.len != 0)) {
        return (ma->method.len != 0) ? -1 : 1;
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

    c = gm_cc_key_cmp(&a->route->route->meta, &b->route->route->meta);

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
gm_cc_key_cmp(const gm_meta_t *a, const gm_meta_t *b)
{
    int     ca, cb;
    size_t  i, alen, blen;

    alen = a->ns.len + 1 + a->name.len;
    blen = b->ns.len + 1 + b->name.len;

    for (i = 0; i < alen && i < blen; i++) {
        ca = gm_cc_key_char(a, i);
        cb = gm_cc_key_char(b, i);

        if (ca != cb) {
            return ca - cb;
        }
    }

    return (alen > blen) - (alen < blen);
}


static int
gm_cc_key_char(const gm_meta_t *m, size_t i)
{
    if (i < m->ns.len) {
        return (unsigned char) m->ns.data[i];
    }

    if (i == m->ns.len) {
        return '/';
    }

    return (unsigned char) m->name.data[i - m->ns.len - 1];
}
