/*
 * nginx-gamma: the incremental compiler (gm_compile_incr.c,
 * gm_compile_patch.c) against the full compile.  Random sequences of
 * changes (Services, EndpointSlices, HTTPRoutes, GRPCRoutes,
 * TrafficPolicies, ReferenceGrants added, modified, deleted; mostly
 * EndpointSlices, as in a cluster) are applied to a store; after every
 * step the incremental snapshot and a full compile of the same store give
 * the same canonical dump (frontends, tables, rules, backends with their
 * endpoints, policies, route status, counts) and the same notes.  Two
 * runs mostly change slices, two mostly routes (in a universe with fewer
 * bad references, so that routes are patched more often).  ASan checks
 * the generations' lifetimes when they are dropped in any order.
 * test_patch.c has the patch's cases one by one.
 */

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_filter.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"
#include "gm_reject.h"
#include "gm_route_status.h"
#include "gm_snapshot_int.h"
#include "gm_snapshot_walk.h"


#define NNS        2
#define NSVC       6
#define NSLICE     2
#define NROUTE     5
#define STEPS      600
#define KEEP       4                  /* generations alive at once */


typedef struct {
    char    *data;
    size_t   len;
    size_t   size;
} buf_t;


static gm_log_t    test_logger;
static uint32_t    test_seed = 12345;
static int         test_routes_pct = 12;  /* of the changes: routes */
static int         test_route_changed;    /* in this step */
static int         test_service_changed;  /* in this step */
/* no headless Service, no port or kind missing: few notes, routes patch */
static int         test_clean;
static const char *test_ns[NNS] = { "a", "b" };

/* what a Service is now, so that a change may touch only its metadata */
typedef struct {
    int                set;
    int                ip;            /* of which Service */
    int                headless;
    int                grpc;          /* a second port */
    int                created;
    int                web;           /* port 80 named "web", not "http" */
    int                target;        /* targetPort 8081, not 8080 */
} test_svc_t;

/* svc6 and svc7 no route or policy names: added and deleted freely */
#define NLONE      2

static test_svc_t  test_svcs[NNS][NSVC + NLONE];


static uint32_t
rnd(uint32_t n)
{
    return fx_rand(&test_seed, n);
}


static void
out(buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  args;

    for ( ;; ) {
        va_start(args, fmt);
        n = vsnprintf(b->data + b->len, b->size - b->len, fmt, args);
        va_end(args);

        if ((size_t) n < b->size - b->len) {
            b->len += n;
            return;
        }

        b->size = b->size ? b->size * 2 : 4096;
        b->data = realloc(b->data, b->size);
    }
}


static void
put(gm_store_t *store, const char *yaml)
{
    fx_put_yaml(store, yaml, &test_logger);
}


static void
quiet(void *data, gm_log_level_e level, const char *msg)
{
    (void) data;
    (void) level;
    (void) msg;
}


/* the compiler's notes for the status page, in order */

static int
same_notes(const gm_reject_list_t *a, const gm_reject_list_t *b)
{
    size_t  i;

    if (a->nitems != b->nitems) {
        printf("# %zu notes, the full compile %zu\n", a->nitems, b->nitems);

        for (i = 0; i < a->nitems; i++) {
            printf("#  kept: %s\n", a->items[i].message.data);
        }

        for (i = 0; i < b->nitems; i++) {
            printf("#  full: %s\n", b->items[i].message.data);
        }

        return 0;
    }

    for (i = 0; i < a->nitems; i++) {
        if (!gm_str_eq(&a->items[i].message, &b->items[i].message)) {
            printf("# note %zu: %s\n# the full compile's: %s\n", i,
                   a->items[i].message.data, b->items[i].message.data);
            return 0;
        }
    }

    return 1;
}


/* the canonical dump: everything a request or the status page reads */

static void
dump_backend(buf_t *b, const gm_backend_t *be)
{
    size_t  i;

    if (be == NULL) {
        out(b, " -");
        return;
    }

    out(b, " %s st%d h2c%d tls:%s tr:%s [", be->label.data, be->status,
        be->h2c, be->ext->tls ? be->ext->tls->policy.data : "",
        be->ext->traffic ? be->ext->traffic->policy.data : "");

    for (i = 0; i < be->nendpoints; i++) {
        out(b, "%s ", be->endpoints[i].text);
    }

    out(b, "]");
}


static void
dump_effective(buf_t *b, const gm_effective_t *e)
{
    if (e == NULL) {
        out(b, " eff-");
        return;
    }

    out(b, " eff(%s set%u %lld %lld %u lb%d %llu)", e->policies.data
        ? e->policies.data : "", e->v.set,
        (long long) e->v.timeout_request_ms,
        (long long) e->v.timeout_backend_ms, e->v.retry_attempts,
        (int) e->v.lb_type, (unsigned long long) e->rate_key);
}


static void
dump_policy(buf_t *b, const gm_policy_set_t *p)
{
    size_t  i;

    if (p == NULL) {
        out(b, " pol-");
        return;
    }

    dump_effective(b, p->all);

    for (i = 0; i < p->nns; i++) {
        out(b, " ns:%s", p->ns[i].data);
        dump_effective(b, p->by_ns[i]);
    }
}


static void
dump_filters(buf_t *b, const gm_filters_t *fs)
{
    size_t  i;

    if (fs == NULL) {
        return;
    }

    out(b, " filters%zu", fs->nfilters);

    for (i = 0; i < fs->nfilters; i++) {
        out(b, " f%d", fs->filters[i].type);

        if (fs->filters[i].type == GM_FILTER_REQUEST_MIRROR) {
            dump_backend(b, fs->filters[i].u.mirror.backend);
        }
    }
}


static void
dump_table(buf_t *b, const gm_route_table_t *t)
{
    size_t            i, j;
    gm_match_view_t   mv;
    const gm_rule_t  *r;

    if (t == NULL) {
        out(b, " table-\n");
        return;
    }

    out(b, " table%zu\n", gm_route_table_nentries(t));

    for (i = 0; i < gm_route_table_nentries(t); i++) {
        r = gm_route_table_entry(t, i, &mv);
        out(b, "   %s grpc%d %d:%s %s h%zu q%zu w%llu t%lld/%lld r%u",
            r->label.data, r->grpc, mv.path_type, mv.path.data,
            mv.method.data ? mv.method.data : "", mv.nheaders, mv.nquery,
            (unsigned long long) r->total_weight,
            (long long) r->ext->timeout_request_ms,
            (long long) r->ext->timeout_backend_ms, r->ext->retry_attempts);
        dump_filters(b, r->ext->filters);
        dump_policy(b, t->entries[i].policy);

        for (j = 0; j < r->nbackends; j++) {
            out(b, "\n     %s w%u", r->backends[j].backend->label.data,
                r->backends[j].weight);
            dump_backend(b, r->backends[j].backend);
            dump_filters(b, gm_rule_backend_filters(r, j));
        }

        out(b, "\n");
    }
}


static int
line_cmp(const void *one, const void *two)
{
    return strcmp(*(char *const *) one, *(char *const *) two);
}


static char *
dump(const gm_snapshot_t *s)
{
    char                 **lines, ip[64];
    size_t                 i, c, n;
    buf_t                  b, all;
    gm_addr_t              addr;
    gm_status_list_t       st;
    const gm_frontend_t   *f;
    const gm_status_entry_t  *e;

    lines = calloc(gm_snapshot_index_size(s) + 1, sizeof(char *));
    n = 0;

    for (i = 0; i < gm_snapshot_index_size(s); i++) {
        f = gm_snapshot_index_entry(s, i, &addr);

        if (f == NULL) {
            continue;
        }

        memset(&b, 0, sizeof(buf_t));
        inet_ntop(addr.family, addr.addr, ip, sizeof(ip));
        out(&b, "%s:%u %s pt", ip, f->port, f->passthrough->label.data);
        dump_backend(&b, f->passthrough);
        dump_policy(&b, f->passthrough_policy);
        out(&b, "\n producer");
        dump_table(&b, f->producer);

        for (c = 0; c < f->nconsumers; c++) {
            out(&b, " consumer %s", f->consumer_ns[c].data);
            dump_table(&b, f->consumer[c]);
        }

        lines[n++] = b.data;
    }

    qsort(lines, n, sizeof(char *), line_cmp);

    memset(&all, 0, sizeof(buf_t));
    out(&all, "services %zu frontends %zu tables %zu\n",
        s->nservices, s->nfrontends, s->ntables);

    for (i = 0; i < n; i++) {
        out(&all, "%s", lines[i]);
        free(lines[i]);
    }

    free(lines);

    gm_snapshot_status(s, &st);

    for (i = 0; i < st.n; i++) {
        e = gm_status_at(&st, i);
        out(&all, "status %s %s/%s %u %016llx\n", e->kind, e->ns.data,
            e->name.data, e->index, (unsigned long long) gm_status_hash(e, 1));
    }

    return all.data;
}


/* the random changes: a small universe, so that objects meet */

static void
change_service(gm_store_t *store, const char *ns, int i)
{
    char           yaml[1024], ip[32], meta[256];
    test_svc_t    *ts;

    test_service_changed = 1;
    ts = &test_svcs[ns[0] == 'a'][i];

    if (rnd(8) == 0 && (!test_clean || i >= NSVC)) {
        snprintf(yaml, sizeof(yaml), "svc%d", i);
        gm_store_delete(store, GM_KIND_SERVICE, ns, yaml);
        ts->set = 0;
        return;
    }

    /*
     * Half the time what the compiler reads changes: a headless one now
     * and then (a backend without a frontend), now and then another
     * Service's ClusterIP (the older one keeps it), ports and creation
     * time; else only metadata, what a rollout or an operator touches,
     * and now and then a port's name or targetPort
     */
    if (!ts->set || rnd(2)) {
        ts->set = 1;
        ts->ip = (rnd(16) || test_clean) ? i : (int) rnd(NSVC);
        ts->headless = !(rnd(6) || test_clean);
        ts->grpc = !(rnd(3) && !test_clean);
        ts->created = (rnd(10) == 0);
    }

    /* a route's or policy's sectionName names "http": seldom in clean */
    ts->web = (rnd(test_clean ? 8 : 3) == 0);
    ts->target = (rnd(4) == 0);

    snprintf(ip, sizeof(ip), ts->headless ? "None" : "10.96.%d.%d",
             ns[0] == 'a', ts->ip);

    snprintf(meta, sizeof(meta), "{name: svc%d, namespace: %s, "
             "resourceVersion: \"%u\", labels: {v: \"%u\"}, "
             "annotations: {a: \"%u\"}%s}", i, ns, rnd(1000), rnd(3),
             rnd(3), ts->created ? ", creationTimestamp: "
             "\"2026-01-02T00:00:00Z\"" : "");

    snprintf(yaml, sizeof(yaml),
             "apiVersion: v1\nkind: Service\n"
             "metadata: %s\n"
             "spec:\n  clusterIP: %s\n"
             "  ports: [{name: %s, port: 80, targetPort: %d}%s]\n",
             meta, ip, ts->web ? "web" : "http", ts->target ? 8081 : 8080,
             ts->grpc ? ", {name: grpc, port: 90, appProtocol: "
                        "kubernetes.io/h2c}" : "");
    put(store, yaml);
}


static void
change_slice(gm_store_t *store, const char *ns, int i, int k)
{
    int   e, n;
    char  yaml[2048], eps[1024], name[64];

    snprintf(name, sizeof(name), "svc%d-%d", i, k);

    if (rnd(6) == 0) {
        gm_store_delete(store, GM_KIND_ENDPOINTSLICE, ns, name);
        return;
    }

    eps[0] = '\0';
    n = 1 + rnd(3);

    for (e = 0; e < n; e++) {
        snprintf(eps + strlen(eps), sizeof(eps) - strlen(eps),
                 "- addresses: [\"10.1.%d.%d\"]\n"
                 "  conditions: {ready: %s}\n", i, rnd(6),
                 rnd(5) ? "true" : "false");
    }

    /* now and then a slice moves to another Service */
    snprintf(yaml, sizeof(yaml),
             "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
             "metadata:\n  name: %s\n  namespace: %s\n"
             "  labels: {kubernetes.io/service-name: svc%d}\n"
             "addressType: IPv4\n"
             "ports: [{name: http, port: 8080}, {name: grpc, port: 9090}, "
             "{name: web, port: 8081}]\n"
             "endpoints:\n%s", name, ns, rnd(10) ? i : (int) rnd(NSVC), eps);
    put(store, yaml);
}


static void
change_route(gm_store_t *store, const char *ns, int i)
{
    int          grpc;
    char         yaml[2048], name[64];
    const char  *other;

    grpc = (i == NROUTE - 1);
    snprintf(name, sizeof(name), "r%d", i);
    test_route_changed = 1;

    if (rnd(6) == 0) {
        gm_store_delete(store, grpc ? GM_KIND_GRPCROUTE : GM_KIND_HTTPROUTE,
                        ns, name);
        return;
    }

    other = test_ns[rnd(NNS)];

    if (grpc) {
        snprintf(yaml, sizeof(yaml),
                 "apiVersion: gateway.networking.k8s.io/v1\n"
                 "kind: GRPCRoute\n"
                 "metadata: {name: %s, namespace: %s, creationTimestamp: "
                 "\"2026-01-0%dT00:00:00Z\"}\n"
                 "spec:\n"
                 "  parentRefs: [{group: \"\", kind: Service, name: svc%d, "
                 "namespace: %s%s}]\n"
                 "  rules:\n"
                 "  - matches: [{method: {service: pkg.S, method: M%d}}]\n"
                 "    backendRefs: [{name: svc%d, namespace: %s, port: 90}]\n",
                 name, ns, 1 + i, rnd(NSVC), other,
                 test_clean ? ", port: 90" : "", rnd(3), rnd(NSVC),
                 test_ns[rnd(NNS)]);
        put(store, yaml);
        return;
    }

    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: %s, namespace: %s, creationTimestamp: "
             "\"2026-01-0%dT00:00:00Z\"}\n"
             "spec:\n"
             "  parentRefs: [{group: \"\", kind: Service, name: svc%d, "
             "namespace: %s%s}, {group: \"\", kind: Service, "
             "name: svc%d%s}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /p%d}}]\n"
             "    %s\n"
             "    backendRefs:\n"
             "    - {name: svc%d, namespace: %s, port: 80, weight: %d}\n"
             "    - {name: svc%d, port: 80}\n"
             "  - name: main\n"
             "    matches: [{path: {type: Exact, value: /e}, "
             "headers: [{name: x-v, value: \"%d\"}]}]\n"
             "    backendRefs: [{name: svc%d, port: %d}]\n",
             name, ns, 1 + i, rnd(NSVC), other,
             rnd(16) ? (test_clean ? ", port: 80" : "")
                     : (test_clean ? ", port: 80, sectionName: http"
                                   : ", sectionName: http"), rnd(NSVC),
             test_clean ? ", port: 80" : "", rnd(4),
             rnd(4) ? "" : "filters: [{type: RequestMirror, requestMirror: "
             "{backendRef: {name: svc1, port: 80}}}]",
             rnd(NSVC), test_ns[rnd(NNS)], rnd(4), rnd(NSVC), rnd(3),
             rnd(NSVC), rnd(5) || test_clean ? 80 : 81);
    put(store, yaml);
}


static void
change_policy(gm_store_t *store, const char *ns)
{
    char  yaml[1024];

    if (rnd(3) == 0) {
        gm_store_delete(store, GM_KIND_TRAFFICPOLICY, ns, "p");
        return;
    }

    snprintf(yaml, sizeof(yaml),
             "apiVersion: policy.nginx-gamma.dev/v1alpha1\n"
             "kind: TrafficPolicy\n"
             "metadata: {name: p, namespace: %s, creationTimestamp: "
             "\"2026-01-01T00:00:00Z\"}\n"
             "spec:\n"
             "  targetRefs: [{group: \"\", kind: Service, name: svc%d%s}]\n"
             "  default: {timeouts: {request: %ds}}\n", ns, rnd(NSVC),
             rnd(3) || test_clean ? "" : ", sectionName: http",
             1 + rnd(5));
    put(store, yaml);
}


static void
change_grant(gm_store_t *store, const char *ns)
{
    char  yaml[1024];

    if (rnd(2) == 0) {
        gm_store_delete(store, GM_KIND_REFERENCEGRANT, ns, "g");
        return;
    }

    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1beta1\n"
             "kind: ReferenceGrant\n"
             "metadata: {name: g, namespace: %s}\n"
             "spec:\n"
             "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, "
             "namespace: %s}]\n"
             "  to: [{group: \"\", kind: Service}]\n", ns,
             test_ns[rnd(NNS)]);
    put(store, yaml);
}


/* mostly slices, as in a cluster; sometimes a burst of several */

static void
change(gm_store_t *store)
{
    int          r, n;
    const char  *ns;

    n = rnd(8) ? 1 : 1 + rnd(4);

    while (n--) {
        r = rnd(100);
        ns = test_ns[rnd(NNS)];

        if (r < 82 - test_routes_pct) {
            change_slice(store, ns, rnd(NSVC), rnd(NSLICE));

        } else if (r < 92 - test_routes_pct) {
            change_service(store, ns, rnd(NSVC + NLONE));

        } else if (r < 92) {
            change_route(store, ns, rnd(NROUTE));

        } else if (r < 96) {
            change_policy(store, ns);

        } else {
            change_grant(store, ns);
        }
    }
}


static void
test_differential(unsigned require_grants)
{
    int                 i, j, full, same, nfull, npatched, nroutes,
                        nroutes_patched, nsvcs, nsvcs_patched;
    char               *a, *b;
    gm_store_t         *store;
    gm_snapshot_t      *s, *ref, *keep[KEEP];
    gm_reject_tap_t     kept, tap, rtap;
    gm_compile_opts_t   opts;
    gm_compile_incr_t  *ci;

    store = gm_store_create();
    ci = gm_compile_incr_create(store);
    opts.require_grants = require_grants;
    memset(keep, 0, sizeof(keep));
    nfull = 0;
    npatched = 0;
    nroutes = 0;
    nroutes_patched = 0;
    nsvcs = 0;
    nsvcs_patched = 0;
    same = 1;
    gm_reject_tap_init(&kept, &test_logger);
    memset(test_svcs, 0, sizeof(test_svcs));

    for (i = 0; i < NNS * NSVC; i++) {
        change_service(store, test_ns[i % NNS], i / NNS);
    }

    for (i = 0; i < STEPS && same; i++) {
        test_route_changed = 0;
        test_service_changed = 0;

        if (i > 0) {
            change(store);
        }

        /* a patched snapshot keeps the last full compile's notes */
        gm_reject_tap_init(&tap, &test_logger);
        gm_reject_tap_init(&rtap, &test_logger);
        s = gm_compile_incr_build(ci, &tap.log, NULL, &opts, &full);
        ref = gm_snapshot_build_opts(store, &rtap.log, NULL, &opts);

        if (full) {
            gm_reject_tap_free(&kept);
            kept = tap;

        } else {
            gm_reject_tap_free(&tap);
        }

        if (s == NULL || ref == NULL) {
            ok(0, "step %d built", i);
            same = 0;
            break;
        }

        if (!same_notes(&kept.list, &rtap.list)) {
            printf("# step %d (%s): the notes differ\n", i,
                   full ? "full" : "patched");
            same = 0;
        }

        gm_reject_tap_free(&rtap);

        nfull += full;
        npatched += !full;
        nroutes += test_route_changed;
        nroutes_patched += test_route_changed && !full;
        nsvcs += test_service_changed;
        nsvcs_patched += test_service_changed && !full;

        a = dump(s);
        b = dump(ref);

        if (strcmp(a, b) != 0) {
            same = 0;
            printf("# step %d (%s) differs\n# incremental:\n%s\n# full:\n%s",
                   i, full ? "full" : "patched", a, b);
        }

        free(a);
        free(b);
        gm_snapshot_unref(ref);

        /* generations leave in random order, as workers let them go */
        j = rnd(KEEP);
        gm_snapshot_unref(keep[j]);
        keep[j] = s;
    }

    ok(same, "grants %u, routes %d%%: %d steps, each incremental snapshot "
       "equals the full compile (%d patched, %d full)", require_grants,
       test_routes_pct, i, npatched, nfull);
    if (!test_clean) {
        ok(npatched > STEPS / 3, "most slice changes are patched (%d)",
           npatched);

    } else {
        /*
         * with grants required, cross-namespace refs have notes: full;
         * a sixth without: 1 in 50 seeds patched 1/5 of them or fewer
         */
        ok(nroutes_patched > nroutes / (require_grants ? 25 : 6),
           "route changes are patched too (%d of %d steps that changed a "
           "route)", nroutes_patched, nroutes);
    }

    /* a modification with the same ClusterIP, ports and type: patched */
    ok(nsvcs_patched > nsvcs / (test_clean ? 4 : 10), "Service changes "
       "are patched too (%d of %d steps that changed a Service)",
       nsvcs_patched, nsvcs);

    gm_compile_incr_destroy(ci);
    gm_reject_tap_free(&kept);

    for (j = 0; j < KEEP; j++) {
        gm_snapshot_unref(keep[j]);
    }

    gm_store_destroy(store);
}


int
main(int argc, char **argv)
{
    uint32_t  seed;

    /* fixed seeds; another one as an argument, to explore */
    seed = (argc > 1) ? (uint32_t) strtoul(argv[1], NULL, 10) : 12345;
    test_logger.handler = quiet;
    test_logger.data = NULL;

    printf("# seed %u\n", seed);
    test_seed = seed;
    test_differential(0);
    test_seed = seed + 1;
    test_differential(1);

    /* mostly routes: each changed route's parents compiled again */
    test_routes_pct = 50;
    test_clean = 1;
    test_seed = seed + 2;
    test_differential(0);
    test_seed = seed + 3;
    test_differential(1);

    return done_testing();
}
