/*
 * nginx-gamma: the incremental compiler's patches case by case
 * (gm_compile_patch.c, gm_compile_subset.c, gm_compile_incr_service.c):
 * what a slice, Service or route change shares with the previous
 * generation and what it copies, which changes are a full compile
 * instead, a key taken out of the frontend index with the others still
 * found, and the compiler's hold on a generation when its process died.
 * test_incremental.c checks random sequences of changes against the full
 * compile.
 */

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "fixture.h"
#include "gm_route_status.h"
#include "gm_snapshot_int.h"
#include "gm_snapshot_walk.h"


/* no handler: nothing is logged */
static gm_log_t    test_logger;
static uint32_t    test_seed = 12345;


static uint32_t
rnd(uint32_t n)
{
    return fx_rand(&test_seed, n);
}


static void
put(gm_store_t *store, const char *yaml)
{
    fx_put_yaml(store, yaml, &test_logger);
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
main(void)
{
    test_sharing();
    test_route_sharing();
    test_service_patch();
    test_index_remove();
    test_dead_holder();

    return done_testing();
}
