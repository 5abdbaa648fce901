/*
 * nginx-gamma: allocation failure during a compile (gm_alloc_fail_at, the
 * core allocator's hook).  For every N up to the number of allocations a
 * compile of a small mesh makes: failing the Nth one (and all later ones,
 * or only that one) makes the build return NULL and log "out of memory",
 * or, where the compiler can do without, a snapshot that routes exactly
 * like the full one; never a partial snapshot, and nothing leaks (ASan).
 * The previous snapshot keeps serving throughout.  Then the watcher:
 * a compile that runs out of memory logs that the previous state stays
 * and publishes nothing new.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "fixture.h"
#include "gm_arena.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"
#include "gm_watcher.h"


static const char  mesh[] =
    "apiVersion: v1\nkind: Service\n"
    "metadata: {name: svc, namespace: prod}\n"
    "spec: {clusterIP: 10.96.0.1, ports: [{name: http, port: 80}]}\n"
    "---\n"
    "apiVersion: v1\nkind: Service\n"
    "metadata: {name: svc-v2, namespace: prod}\n"
    "spec: {clusterIPs: [10.96.0.2, 'fd00::2'],\n"
    "       ports: [{name: http, port: 80, targetPort: web}]}\n"
    "---\n"
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: svc-1, namespace: prod,\n"
    "  labels: {kubernetes.io/service-name: svc}}\n"
    "addressType: IPv4\nports: [{name: http, port: 8080}]\n"
    "endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}]\n"
    "---\n"
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: svc-v2-1, namespace: prod,\n"
    "  labels: {kubernetes.io/service-name: svc-v2}}\n"
    "addressType: IPv4\nports: [{name: http, port: 9090}]\n"
    "endpoints: [{addresses: [10.1.0.3]}]\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: producer, namespace: prod}\n"
    "spec:\n"
    "  parentRefs: [{group: '', kind: Service, name: svc}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: Exact, value: /exact}}]\n"
    "    backendRefs: [{name: svc, port: 80}]\n"
    "  - matches: [{path: {type: RegularExpression, value: '/re/[0-9]+'}}]\n"
    "    filters:\n"
    "    - type: RequestHeaderModifier\n"
    "      requestHeaderModifier: {set: [{name: x-a, value: '1'}]}\n"
    "    backendRefs: [{name: svc, port: 80, weight: 3},\n"
    "                  {name: svc-v2, port: 80, weight: 1}]\n"
    "  - matches: [{headers: [{name: x-env, value: canary}]}]\n"
    "    backendRefs: [{name: svc-v2, port: 80}]\n"
    "    timeouts: {request: 10s}\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: consumer, namespace: client}\n"
    "spec:\n"
    "  parentRefs: [{group: '', kind: Service, name: svc, namespace: prod}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: PathPrefix, value: /c}}]\n"
    "    backendRefs: [{name: svc-v2, namespace: prod, port: 80}]\n";

/* the second generation adds a route to svc-v2 */
static const char  more[] =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: v2, namespace: prod}\n"
    "spec:\n"
    "  parentRefs: [{group: '', kind: Service, name: svc-v2}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: PathPrefix, value: /v2}}]\n"
    "    backendRefs: [{name: svc, port: 80}]\n";

/* request (client namespace, ClusterIP, path, x-env) -> rule label */
static const char  *probes[][4] = {
    { "prod", "10.96.0.1", "/exact", NULL },
    { "prod", "10.96.0.1", "/re/42", NULL },
    { "prod", "10.96.0.1", "/other", "canary" },
    { "client", "10.96.0.1", "/c/d", NULL },
    { "prod", "10.96.0.2", "/v2/x", NULL },
    { "prod", "10.96.0.2", "/nothing", NULL },
};

#define NPROBES  (sizeof(probes) / sizeof(probes[0]))


static gm_store_t  *test_store;


static void
put(void *data, json_t *doc, size_t index)
{
    int           ignored;
    gm_object_t  *obj;

    (void) index;

    /* data: the log passed to gm_manifest_parse() */
    obj = gm_object_parse(doc, data, &ignored);

    if (obj != NULL) {
        gm_store_put(test_store, obj);
    }
}


/* what each probe routes to: "label backend" or "-" */
static void
routes(gm_snapshot_t *s, char out[][128])
{
    size_t                   i;
    gm_addr_t                ip;
    gm_request_t             r;
    gm_matcher_t            *m;
    gm_table_kind_e          kind;
    const gm_rule_t         *rule;
    const gm_frontend_t     *f;
    const gm_route_table_t  *t;
    const char              *h[3];

    m = gm_matcher_create(10000, 100);

    for (i = 0; i < NPROBES; i++) {
        ip = fx_addr(probes[i][1]);
        f = gm_snapshot_find_frontend(s, &ip, 80);
        t = f ? gm_frontend_route_table(f, probes[i][0],
                                        strlen(probes[i][0]), &kind)
              : NULL;

        h[0] = "x-env";
        h[1] = probes[i][3];
        h[2] = NULL;

        r = fx_request("GET", probes[i][2], NULL, probes[i][3] ? h : NULL);
        rule = t ? gm_route_table_match(t, &r, m) : NULL;

        snprintf(out[i], 128, "%s %zu", rule ? rule->label.data : "-",
                 rule ? (size_t) rule->nbackends : 0);
    }

    gm_matcher_destroy(m);
}


static int
same_routes(gm_snapshot_t *s, char want[][128])
{
    size_t  i;
    char    got[NPROBES][128];

    routes(s, got);

    for (i = 0; i < NPROBES; i++) {
        if (strcmp(got[i], want[i]) != 0) {
            printf("#   probe %zu: '%s', want '%s'\n", i, got[i], want[i]);
            return 0;
        }
    }

    return 1;
}


/* a failing allocator for the watcher: fails while *data is set */
static void *
test_alloc(void *data, size_t size)
{
    return *(volatile int *) data ? NULL : malloc(size);
}


static void
test_free(void *data, void *p)
{
    (void) data;

    free(p);
}


typedef struct {
    pthread_mutex_t   lock;
    gm_snapshot_t    *current;
    unsigned          published;
    unsigned          nulls;
    char              oom[256];
} mailbox_t;


static void
publish(void *data, gm_snapshot_t *s)
{
    mailbox_t      *mb = data;
    gm_snapshot_t  *old;

    pthread_mutex_lock(&mb->lock);

    if (s == NULL) {
        /* as the nginx glue does: the previous snapshot stays */
        mb->nulls++;
        pthread_mutex_unlock(&mb->lock);
        return;
    }

    old = mb->current;
    mb->current = s;
    mb->published++;
    pthread_mutex_unlock(&mb->lock);

    if (old) {
        gm_snapshot_unref(old);
    }
}


static void
watcher_log(void *data, gm_log_level_e level, const char *msg)
{
    mailbox_t  *mb = data;

    if (level == GM_LOG_ERR && strstr(msg, "out of memory")) {
        pthread_mutex_lock(&mb->lock);
        snprintf(mb->oom, sizeof(mb->oom), "%s", msg);
        pthread_mutex_unlock(&mb->lock);
    }
}


static int
wait_for(mailbox_t *mb, unsigned *field, unsigned after)
{
    int       i;
    unsigned  n;

    for (i = 0; i < 5000; i++) {
        pthread_mutex_lock(&mb->lock);
        n = *field;
        pthread_mutex_unlock(&mb->lock);

        if (n > after) {
            return 1;
        }

        usleep(1000);
    }

    return 0;
}


static void
test_watcher(void)
{
    int                 failing;
    char                dir[] = "/tmp/gamma-allocfail-XXXXXX", path[512];
    FILE               *f;
    mailbox_t           mb;
    gm_watcher_t       *w;
    gm_allocator_t      al;
    gm_watcher_conf_t   wc;

    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp");
        return;
    }

    snprintf(path, sizeof(path), "%s/mesh.yaml", dir);
    f = fopen(path, "w");
    fputs(mesh, f);
    fclose(f);

    memset(&mb, 0, sizeof(mb));
    pthread_mutex_init(&mb.lock, NULL);

    failing = 0;
    al.alloc = test_alloc;
    al.free = test_free;
    al.data = &failing;
    al.exhausted = NULL;

    memset(&wc, 0, sizeof(wc));
    wc.file_path = dir;
    wc.log.handler = watcher_log;
    wc.log.data = &mb;
    wc.publish = publish;
    wc.publish_data = &mb;
    wc.interval_ms = 10;
    wc.allocator = &al;

    w = gm_watcher_start(&wc);
    ok(w != NULL, "watcher started");
    if (w == NULL) {
        return;
    }

    ok(wait_for(&mb, &mb.published, 0), "watcher: first snapshot published");

    /* the zone is full: the next compile cannot get a block */
    __atomic_store_n(&failing, 1, __ATOMIC_SEQ_CST);

    snprintf(path, sizeof(path), "%s/more.yaml", dir);
    f = fopen(path, "w");
    fputs(more, f);
    fclose(f);

    ok(wait_for(&mb, &mb.nulls, 0), "watcher: a failed compile published "
       "nothing new");
    is_int(mb.published, 1, "watcher: the first snapshot still current");
    ok(strstr(mb.oom, "previous state stays") != NULL,
       "watcher logs: %s", mb.oom);
    is_int(mb.current ? gm_snapshot_nservices(mb.current) : 0, 2,
           "watcher: the current snapshot is whole");

    /* memory again: the next change compiles */
    __atomic_store_n(&failing, 0, __ATOMIC_SEQ_CST);
    f = fopen(path, "a");
    fputs("\n", f);
    fclose(f);

    ok(wait_for(&mb, &mb.published, 1), "watcher: next change published");

    gm_watcher_stop(w);

    if (mb.current) {
        gm_snapshot_unref(mb.current);
    }

    snprintf(path, sizeof(path), "rm -rf %s", dir);
    if (system(path) != 0) {
        ok(0, "%s", path);
    }
}


int
main(void)
{
    int             once, clean, whole, logged, serving;
    char            full[NPROBES][128], prev[NPROBES][128];
    fx_log_t        fl;
    gm_log_t        log;
    uint64_t        n, total, bad;
    gm_store_t     *store;
    gm_snapshot_t  *s1, *s;

    memset(&fl, 0, sizeof(fl));
    store = gm_store_create();
    test_store = store;
    log = fx_logger(&fl);

    is_int(gm_manifest_parse(mesh, sizeof(mesh) - 1, "mesh", put, &log,
                             &log), 0, "the mesh parses");

    s1 = gm_snapshot_build(store, &log);
    ok(s1 != NULL, "generation 1 compiles");
    routes(s1, prev);
    ok(strncmp(prev[0], "prod/producer/rule0", 19) == 0
       && strncmp(prev[3], "client/consumer/rule0", 21) == 0
       && strcmp(prev[4], "- 0") == 0, "generation 1 routes");

    is_int(gm_manifest_parse(more, sizeof(more) - 1, "more", put, &log,
                             &log), 0, "the change parses");

    /* the number of allocations of the compile, hook armed but silent */
    gm_alloc_fail_at(UINT64_MAX, 0);
    s = gm_snapshot_build(store, &log);
    total = gm_alloc_count();
    gm_alloc_fail_at(0, 0);

    ok(s != NULL && total > 20, "generation 2 compiles with %llu "
       "allocations", (unsigned long long) total);
    routes(s, full);
    ok(strncmp(full[4], "prod/v2/rule0", 13) == 0, "generation 2 routes "
       "/v2 on svc-v2");
    gm_snapshot_unref(s);

    for (once = 0; once <= 1; once++) {
        clean = whole = logged = serving = 0;
        bad = 0;

        for (n = 1; n <= total; n++) {
            fl.nwarn = 0;
            fl.last[0] = '\0';

            gm_alloc_fail_at(n, once);
            s = gm_snapshot_build(store, &log);
            gm_alloc_fail_at(0, 0);

            if (s == NULL) {
                clean++;
                logged += strstr(fl.last, "out of memory") != NULL;

            } else if (same_routes(s, full)) {
                whole++;
                logged++;

            } else if (bad == 0) {
                bad = n;
            }

            if (s != NULL) {
                gm_snapshot_unref(s);
            }

            serving += same_routes(s1, prev);
        }

        is_int(bad, 0, "%s: no partial snapshot (first bad N)",
               once ? "Nth fails alone" : "Nth and later fail");
        is_int(clean + whole, total, "%s: %d NULL, %d whole out of %llu",
               once ? "Nth fails alone" : "Nth and later fail", clean, whole,
               (unsigned long long) total);
        is_int(logged, total, "%s: every NULL logged \"out of memory\"",
               once ? "Nth fails alone" : "Nth and later fail");
        is_int(serving, total, "%s: generation 1 kept serving",
               once ? "Nth fails alone" : "Nth and later fail");

        if (!once) {
            is_int(whole, 0, "with every later one failing, no build "
                   "succeeds");
        }
    }

    s = gm_snapshot_build(store, &log);
    ok(s != NULL && same_routes(s, full), "without the hook generation 2 "
       "compiles again");
    gm_snapshot_unref(s);
    gm_snapshot_unref(s1);
    gm_store_destroy(store);

    test_watcher();

    return done_testing();
}
