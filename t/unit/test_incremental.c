/*
 * nginx-gamma: the incremental compiler (gm_compile_incr.c,
 * gm_compile_patch.c) against the full compile.  Random sequences of
 * changes (Services, EndpointSlices, HTTPRoutes, GRPCRoutes,
 * TrafficPolicies, ReferenceGrants added, modified, deleted; mostly
 * EndpointSlices, as in a cluster) are applied to a store; after every
 * step the incremental snapshot and a full compile of the same store give
 * the same canonical dump (frontends, tables, rules, backends with their
 * endpoints, policies, route status, counts) and the same notes, and the
 * patched generations share what they did not change.  Two runs mostly
 * change slices, two mostly routes (in a universe with fewer bad
 * references, so that routes are patched more often).  ASan checks the
 * generations' lifetimes when they are dropped in any order.
 */

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
    test_seed = test_seed * 1103515245 + 12345;

    return (test_seed >> 8) % n;
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


/* a patch shares what it did not change, and copies what it did */

static void
test_sharing(void)
{
    int                  full;
    gm_addr_t            a1, a2;
    gm_store_t          *store;
    gm_snapshot_t       *s1, *s2;
    gm_compile_incr_t   *ci;
    const gm_frontend_t *f1, *f2, *g1, *g2;

    store = gm_store_create();
    ci = gm_compile_incr_create(store);

    put(store, "apiVersion: v1\nkind: Service\n"
        "metadata: {name: one, namespace: a}\n"
        "spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n---\n"
        "apiVersion: v1\nkind: Service\n"
        "metadata: {name: two, namespace: a}\n"
        "spec: {clusterIP: 10.96.0.2, ports: [{port: 80}]}\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: one-x, namespace: a, labels: "
        "{kubernetes.io/service-name: one}}\n"
        "addressType: IPv4\nports: [{port: 80}]\n"
        "endpoints: [{addresses: [10.1.0.1]}]\n");

    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(full, "the first build is a full compile");

    put(store, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: one-x, namespace: a, labels: "
        "{kubernetes.io/service-name: one}}\n"
        "addressType: IPv4\nports: [{port: 80}]\n"
        "endpoints: [{addresses: [10.1.0.2]}, {addresses: [10.1.0.3]}]\n");

    s2 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(!full, "a slice change is patched");

    a1 = fx_addr("10.96.0.1");
    a2 = fx_addr("10.96.0.2");
    f1 = gm_snapshot_find_frontend(s1, &a1, 80);
    f2 = gm_snapshot_find_frontend(s2, &a1, 80);
    g1 = gm_snapshot_find_frontend(s1, &a2, 80);
    g2 = gm_snapshot_find_frontend(s2, &a2, 80);

    ok(f1 != f2 && f1->passthrough->nendpoints == 1
       && f2->passthrough->nendpoints == 2, "the changed Service's frontend "
       "is a copy with the new endpoints");
    ok(g1 == g2, "the other Service's frontend is shared");
    ok(gm_snapshot_size(s2) < gm_snapshot_size(s1) + 4096 * 2,
       "the patch is small (%zu bytes, the full one %zu)",
       gm_snapshot_size(s2), gm_snapshot_size(s1));

    /* the older generation goes first: the newer keeps its memory */
    gm_snapshot_unref(s1);
    is_int(g2->passthrough->status, GM_BACKEND_NO_ENDPOINTS,
           "the shared frontend outlives its generation");

    put(store, "apiVersion: v1\nkind: Service\n"
        "metadata: {name: three, namespace: a}\n"
        "spec: {clusterIP: 10.96.0.3, ports: [{port: 80}]}\n");
    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    a1 = fx_addr("10.96.0.3");
    f1 = gm_snapshot_find_frontend(s1, &a1, 80);
    ok(!full && f1 != NULL && s1->nservices == 3 && s1->nfrontends == 3
       && gm_snapshot_find_frontend(s1, &a2, 80) == g2,
       "a new Service nothing names: patched, its frontend in the index, "
       "the others shared");
    gm_snapshot_unref(s2);

    /* a route names the next one as a backend: its rule would change */
    put(store, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        "metadata: {name: r, namespace: a}\n"
        "spec:\n"
        "  parentRefs: [{group: \"\", kind: Service, name: one}]\n"
        "  rules:\n"
        "  - backendRefs: [{name: four, port: 80}]\n");
    s2 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    gm_snapshot_unref(s2);
    put(store, "apiVersion: v1\nkind: Service\n"
        "metadata: {name: four, namespace: a}\n"
        "spec: {clusterIP: 10.96.0.4, ports: [{port: 80}]}\n");
    s2 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(full, "a new Service a backendRef names: a full compile");

    gm_store_delete(store, GM_KIND_SERVICE, "a", "four");
    gm_snapshot_unref(s2);
    s2 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(full, "a Service a backendRef names deleted: a full compile");

    gm_store_delete(store, GM_KIND_SERVICE, "a", "three");
    gm_snapshot_unref(s1);
    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    a1 = fx_addr("10.96.0.3");
    ok(!full && gm_snapshot_find_frontend(s1, &a1, 80) == NULL
       && s1->nservices == 2 && s1->nfrontends == 2
       && gm_snapshot_find_frontend(s1, &a2, 80)
          == gm_snapshot_find_frontend(s2, &a2, 80),
       "a Service nothing names deleted: patched, its key out of the "
       "index, the others shared");

    gm_snapshot_unref(s1);
    gm_snapshot_unref(s2);
    gm_compile_incr_destroy(ci);
    gm_store_destroy(store);
}


static const char *
route_yaml(const char *name, const char *svc, const char *path)
{
    static char  yaml[1024];

    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: %s, namespace: a}\n"
             "spec:\n"
             "  parentRefs: [{group: \"\", kind: Service, name: %s}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: %s}}]\n"
             "    backendRefs: [{name: %s, port: 80}]\n", name, svc, path,
             svc);

    return yaml;
}


/* a route change compiles its parent's frontend again, shares the rest */

static void
test_route_sharing(void)
{
    int                  full;
    gm_addr_t            a1, a2;
    gm_store_t          *store;
    gm_snapshot_t       *s1, *s2, *s3;
    gm_status_list_t     st1, st2, st3;
    gm_compile_incr_t   *ci;
    const gm_frontend_t *f1, *f2, *g1, *g2;

    store = gm_store_create();
    ci = gm_compile_incr_create(store);

    put(store, "apiVersion: v1\nkind: Service\n"
        "metadata: {name: one, namespace: a}\n"
        "spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n---\n"
        "apiVersion: v1\nkind: Service\n"
        "metadata: {name: two, namespace: a}\n"
        "spec: {clusterIP: 10.96.0.2, ports: [{port: 80}]}\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: one-x, namespace: a, labels: "
        "{kubernetes.io/service-name: one}}\n"
        "addressType: IPv4\nports: [{port: 80}]\n"
        "endpoints: [{addresses: [10.1.0.1]}]\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: two-x, namespace: a, labels: "
        "{kubernetes.io/service-name: two}}\n"
        "addressType: IPv4\nports: [{port: 80}]\n"
        "endpoints: [{addresses: [10.1.0.2]}]\n");
    put(store, route_yaml("r1", "one", "/a"));
    put(store, route_yaml("r2", "two", "/b"));

    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(full, "routes: the first build is a full compile");

    put(store, route_yaml("r1", "one", "/changed"));
    s2 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(!full, "a route change is patched");

    a1 = fx_addr("10.96.0.1");
    a2 = fx_addr("10.96.0.2");
    f1 = gm_snapshot_find_frontend(s1, &a1, 80);
    f2 = gm_snapshot_find_frontend(s2, &a1, 80);
    g1 = gm_snapshot_find_frontend(s1, &a2, 80);
    g2 = gm_snapshot_find_frontend(s2, &a2, 80);

    ok(f1 != f2 && f1->producer != f2->producer
       && f1->passthrough == f2->passthrough, "the parent's frontend is "
       "compiled again, its Service's backend is the same object");
    ok(g1 == g2, "the other Service's frontend is shared");

    gm_snapshot_status(s1, &st1);
    gm_snapshot_status(s2, &st2);
    ok(st1.chunks == st2.chunks && st2.n == 2, "the route status is "
       "shared when no route's changed");

    put(store, route_yaml("r3", "two", "/c"));
    s3 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    gm_snapshot_status(s3, &st3);
    ok(!full && st3.n == 3 && st3.chunks != st2.chunks
       && gm_snapshot_find_frontend(s3, &a1, 80) == f2, "a new route: "
       "patched, its status entry added, the other frontend shared");

    gm_snapshot_unref(s1);
    gm_snapshot_unref(s2);
    ok(gm_route_table_nentries(gm_snapshot_find_frontend(s3, &a2, 80)
                               ->producer) == 2,
       "the patched generation outlives the ones it shares with");

    gm_store_delete(store, GM_KIND_HTTPROUTE, "a", "r1");
    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    gm_snapshot_status(s1, &st1);
    ok(!full && st1.n == 2
       && gm_snapshot_find_frontend(s1, &a1, 80)->producer == NULL,
       "a route deleted: patched, its table and status entry gone");

    /* endpoints move to another port: still ready, still a patch */
    gm_snapshot_unref(s3);
    put(store, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: one-x, namespace: a, labels: "
        "{kubernetes.io/service-name: one}}\n"
        "addressType: IPv4\nports: [{port: 8081}]\n"
        "endpoints: [{addresses: [10.1.0.9]}]\n");
    s3 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(!full && strcmp(gm_snapshot_find_frontend(s3, &a1, 80)->passthrough
                       ->endpoints[0].text, "10.1.0.9:8081") == 0,
       "a slice moving to another address and port is patched");

    gm_snapshot_unref(s1);
    gm_snapshot_unref(s3);
    gm_compile_incr_destroy(ci);
    gm_store_destroy(store);
}


/* a Service modified with the same ClusterIPs, ports and type: patched */

static const char *
svc_yaml(const char *meta, const char *ip, const char *port)
{
    static char  yaml[1024];

    snprintf(yaml, sizeof(yaml),
             "apiVersion: v1\nkind: Service\n"
             "metadata: {name: one, namespace: a%s}\n"
             "spec: {clusterIP: %s, ports: [{name: %s, port: 80}]}\n",
             meta, ip, port);

    return yaml;
}


static void
test_service_patch(void)
{
    int                  full;
    gm_addr_t            a1, a2;
    gm_store_t          *store;
    gm_snapshot_t       *s1, *s2, *s3;
    gm_compile_incr_t   *ci;
    const gm_frontend_t *f, *g;

    store = gm_store_create();
    ci = gm_compile_incr_create(store);

    put(store, svc_yaml("", "10.96.0.1", "http"));
    put(store, "apiVersion: v1\nkind: Service\n"
        "metadata: {name: two, namespace: a}\n"
        "spec: {clusterIP: 10.96.0.2, ports: [{port: 80}]}\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: one-x, namespace: a, labels: "
        "{kubernetes.io/service-name: one}}\n"
        "addressType: IPv4\n"
        "ports: [{name: http, port: 8080}, {name: alt, port: 8081}]\n"
        "endpoints: [{addresses: [10.1.0.1]}]\n");
    /* a rule of two's frontend names one's backend */
    put(store, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        "metadata: {name: r1, namespace: a}\n"
        "spec:\n"
        "  parentRefs: [{group: \"\", kind: Service, name: two}]\n"
        "  rules:\n"
        "  - backendRefs: [{name: one, port: 80}]\n");

    a1 = fx_addr("10.96.0.1");
    a2 = fx_addr("10.96.0.2");

    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(full, "Services: the first build is a full compile");

    put(store, svc_yaml(", resourceVersion: \"7\", labels: {app: x}, "
                        "annotations: {k: v}", "10.96.0.1", "http"));
    s2 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(!full && gm_snapshot_find_frontend(s2, &a1, 80)
                == gm_snapshot_find_frontend(s1, &a1, 80)
       && gm_snapshot_find_frontend(s2, &a2, 80)
          == gm_snapshot_find_frontend(s1, &a2, 80),
       "labels, annotations, resourceVersion changed: patched, every "
       "frontend shared");

    /* its port renamed: the endpoints of the slice port "alt" */
    put(store, svc_yaml("", "10.96.0.1", "alt"));
    s3 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    f = gm_snapshot_find_frontend(s3, &a1, 80);
    g = gm_snapshot_find_frontend(s3, &a2, 80);
    ok(!full && f != gm_snapshot_find_frontend(s2, &a1, 80)
       && strcmp(f->passthrough->endpoints[0].text, "10.1.0.1:8081")
          == 0
       && g != gm_snapshot_find_frontend(s2, &a2, 80)
       && g->producer->entries[0].rule->backends[0].backend
          == f->passthrough,
       "a port renamed: patched, its backend resolved again, in the other "
       "Service's rule too");

    gm_snapshot_unref(s1);
    gm_snapshot_unref(s2);

    /* a port name no slice port has: the backend loses its endpoints */
    put(store, svc_yaml("", "10.96.0.1", "none"));
    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(full, "a port renamed to one without endpoints: a full compile");

    put(store, svc_yaml("", "10.96.0.9", "none"));
    s2 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(full, "another ClusterIP: a full compile");
    gm_snapshot_unref(s1);

    /* a policy names a port: its name matters to it */
    put(store, svc_yaml("", "10.96.0.9", "http"));
    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    gm_snapshot_unref(s1);
    put(store, "apiVersion: policy.nginx-gamma.dev/v1alpha1\n"
        "kind: TrafficPolicy\n"
        "metadata: {name: p, namespace: a}\n"
        "spec:\n"
        "  targetRefs: [{group: \"\", kind: Service, name: one, "
        "sectionName: http}]\n"
        "  default: {timeouts: {request: 5s}}\n");
    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    gm_snapshot_unref(s1);
    put(store, svc_yaml("", "10.96.0.9", "alt"));
    s1 = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    ok(full, "a port renamed that a TrafficPolicy's sectionName may name: "
       "a full compile");

    gm_snapshot_unref(s1);
    gm_snapshot_unref(s2);
    gm_snapshot_unref(s3);
    gm_compile_incr_destroy(ci);
    gm_store_destroy(store);
}


/* a key out of an index: the others found where a lookup probes */

static int
index_moved(void *data, gm_snapshot_t *s, uint32_t slot)
{
    int  *n = data;

    (*n) += (s->slots[slot].frontend != NULL);

    return 0;
}


static void
test_index_remove(void)
{
    int                  i, j, k, round, good, moved, gone[10];
    char                 ip[32];
    gm_addr_t            addr[10];
    gm_snapshot_t       *s;
    gm_frontend_t        fe[10];
    gm_frontend_slot_t  *slot;

    good = 1;
    moved = 0;

    for (round = 0; round < 200 && good; round++) {
        s = gm_snapshot_create(4096, NULL);
        gm_snapshot_init_index(s, 10);

        /* 10 keys in 16 slots: probe runs cross and wrap */
        for (i = 0; i < 10; i++) {
            snprintf(ip, sizeof(ip), "10.%u.%u.%u", rnd(3), rnd(3), rnd(3));
            addr[i] = fx_addr(ip);
            slot = gm_snapshot_frontend_slot(s, &addr[i], 80 + i);
            slot->addr = addr[i];
            slot->port = 80 + i;
            slot->frontend = &fe[i];
            gone[i] = 0;
        }

        for (k = 0; k < 10 && good; k++) {
            i = rnd(10);

            if (gone[i]) {
                continue;
            }

            gone[i] = 1;
            good = gm_snapshot_remove_frontend(s, &addr[i], 80 + i,
                                               index_moved, &moved) == 0;

            for (j = 0; j < 10 && good; j++) {
                good = gm_snapshot_find_frontend(s, &addr[j], 80 + j)
                       == (gone[j] ? NULL : &fe[j]);
            }
        }

        gm_snapshot_unref(s);
    }

    ok(good && moved > 0, "keys taken out of an index one by one: the "
       "others found at every step (%d moved up)", moved);
}


/* a source process SIGKILLed with its hold: the zone's unref drops it */

static void
test_dead_holder(void)
{
    pid_t           pid;
    gm_store_t     *store;
    gm_snapshot_t  *s;

    store = gm_store_create();
    put(store, "apiVersion: v1\nkind: Service\n"
        "metadata: {name: one, namespace: a}\n"
        "spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n");
    s = gm_snapshot_build(store, &test_logger);

    /* the build's reference is the zone's */
    gm_snapshot_hold(s);
    gm_snapshot_unref_retired(s);
    is_int(s->refs, 1, "a living holder keeps its reference");

    pid = fork();

    if (pid == 0) {
        _exit(0);
    }

    waitpid(pid, NULL, 0);
    gm_snapshot_ref(s);               /* the zone's again */
    s->holder = (int32_t) pid;
    gm_snapshot_unref_retired(s);
    ok(1, "a dead holder's reference goes with the zone's (ASan checks "
       "for leaks)");

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

    test_sharing();
    test_route_sharing();
    test_service_patch();
    test_index_remove();
    test_dead_holder();

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
