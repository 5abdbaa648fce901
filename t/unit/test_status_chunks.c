/*
 * nginx-gamma: the route status in chunks (gm_route_status.h,
 * gm_compile_subset_status.c).  Hundreds of routes, enough for several
 * chunks, are added, modified (a new resourceVersion, as every PUT of
 * the status writer makes one, and now and then a new generation and
 * path) and deleted at random; after every step the incremental
 * snapshot's entries are those of a full compile of the same store, in
 * the same order, an object's entries in one chunk, the directory's
 * offsets right, and a patch copies only the chunks of the routes it
 * changed: the others are the previous generation's.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_route_status.h"
#include "gm_snapshot_int.h"


#define NSVC       60
#define NROUTE     600
#define STEPS      400
#define KEEP       3


static gm_log_t    test_logger;
static uint32_t    test_seed = 4242;
static int         test_present[NROUTE];
static unsigned    test_rv;


static uint32_t
rnd(uint32_t n)
{
    return fx_rand(&test_seed, n);
}


static void
quiet(void *data, gm_log_level_e level, const char *msg)
{
    (void) data;

    if (getenv("TEST_VERBOSE")) {
        printf("# log %d: %s\n", (int) level, msg);
    }

    (void) level;
}


static void
put(gm_store_t *store, const char *yaml)
{
    fx_put_yaml(store, yaml, &test_logger);
}


static void
put_service(gm_store_t *store, int i)
{
    char  yaml[512];

    snprintf(yaml, sizeof(yaml),
             "apiVersion: v1\nkind: Service\n"
             "metadata: {name: svc%d, namespace: a}\n"
             "spec: {clusterIP: 10.0.%d.%d, ports: [{name: http, "
             "port: 80}]}\n", i, i / 200, 1 + i % 200);
    put(store, yaml);

    /* ready endpoints: a route to it has no note, it is patched */
    snprintf(yaml, sizeof(yaml),
             "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
             "metadata:\n  name: svc%d-1\n  namespace: a\n"
             "  labels: {kubernetes.io/service-name: svc%d}\n"
             "addressType: IPv4\n"
             "ports: [{name: http, port: 8080}]\n"
             "endpoints:\n- addresses: [\"10.1.%d.%d\"]\n"
             "  conditions: {ready: true}\n", i, i, i / 200, 1 + i % 200);
    put(store, yaml);
}


/* one parent, or two (two entries of one object) */

static void
put_route(gm_store_t *store, int i, int generation)
{
    char  yaml[1024], second[128];

    second[0] = '\0';

    if (i % 7 == 0) {
        snprintf(second, sizeof(second), ", {group: \"\", kind: Service, "
                 "name: svc%d}", (i + 1 + rnd(2)) % NSVC);

    }

    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: r%03d, namespace: a, generation: %d, "
             "resourceVersion: \"%u\"}\n"
             "spec:\n"
             "  parentRefs: [{group: \"\", kind: Service, name: svc%d}%s]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /p%d}}]\n"
             "    backendRefs: [{name: svc%d, port: 80}]\n",
             i, generation, ++test_rv, i % NSVC, second, rnd(3),
             (i + rnd(2)) % NSVC);
    put(store, yaml);
    test_present[i] = 1;
}


static char *
dump_status(const gm_snapshot_t *s)
{
    char                     *p;
    size_t                    i, len, size;
    gm_status_list_t          list;
    const gm_status_entry_t  *e;

    gm_snapshot_status(s, &list);
    size = 64 + list.n * 160;
    p = malloc(size);
    len = snprintf(p, size, "%zu entries\n", list.n);

    for (i = 0; i < list.n; i++) {
        e = gm_status_at(&list, i);
        len += snprintf(p + len, size - len, "%s %s/%s %u g%lld rv%s %016llx\n",
                        e->kind, e->ns.data, e->name.data, e->index,
                        (long long) e->generation, e->resource_version,
                        (unsigned long long) gm_status_hash(e, 1));
    }

    return p;
}


/* offsets, sizes, no empty chunk, no object across two */

static int
chunks_valid(const gm_snapshot_t *s)
{
    size_t                    c, n;
    const gm_status_chunk_t  *a, *b;
    const gm_status_entry_t  *x, *y;

    for (c = 0, n = 0; c < s->nstatus_chunks; c++) {
        a = &s->status[c];

        if (a->n == 0 || a->first != n) {
            return 0;
        }

        n += a->n;

        if (c == 0) {
            continue;
        }

        b = &s->status[c - 1];
        x = &b->entries[b->n - 1];
        y = &a->entries[0];

        if (strcmp(x->kind, y->kind) == 0 && gm_str_eq(&x->ns, &y->ns)
            && gm_str_eq(&x->name, &y->name))
        {
            return 0;
        }
    }

    return n == s->nstatus;
}


/* chunks of s not among prev's */

static size_t
chunks_copied(const gm_snapshot_t *s, const gm_snapshot_t *prev)
{
    size_t  c, k, copied;

    copied = 0;

    for (c = 0; c < s->nstatus_chunks; c++) {
        for (k = 0; k < prev->nstatus_chunks; k++) {
            if (prev->status[k].entries == s->status[c].entries
                && prev->status[k].n == s->status[c].n)
            {
                break;
            }
        }

        copied += (k == prev->nstatus_chunks);
    }

    return copied;
}


static void
test_chunks(void)
{
    int                 i, j, k, n, full, same, valid, nfull, npatched,
                        nchanged, gen[NROUTE];
    char               *a, *b, name[16];
    size_t              copied, maxcopied, maxchunks;
    gm_store_t         *store;
    gm_snapshot_t      *s, *ref, *prev, *keep[KEEP];
    gm_compile_incr_t  *ci;

    store = gm_store_create();
    ci = gm_compile_incr_create(store);
    memset(keep, 0, sizeof(keep));
    memset(test_present, 0, sizeof(test_present));

    for (i = 0; i < NSVC; i++) {
        put_service(store, i);
    }

    /* two thirds present: added ones go between the others */
    for (i = 0; i < NROUTE; i++) {
        gen[i] = 1;

        if (i % 3 != 0) {
            put_route(store, i, gen[i]);
        }
    }

    prev = NULL;
    same = 1;
    valid = 1;
    nfull = 0;
    npatched = 0;
    copied = 0;
    maxcopied = 0;
    maxchunks = 0;

    for (i = 0; i < STEPS && same && valid; i++) {
        nchanged = 0;
        n = (i == 0) ? 0 : rnd(10) ? 1 : 2 + rnd(3);

        for (j = 0; j < n; j++) {
            k = rnd(NROUTE);

            if (test_present[k] && rnd(8) == 0) {
                snprintf(name, sizeof(name), "r%03d", k);
                gm_store_delete(store, GM_KIND_HTTPROUTE, "a", name);

                test_present[k] = 0;

            } else {
                gen[k] += (rnd(4) == 0);
                put_route(store, k, gen[k]);
            }

            nchanged++;
        }

        s = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
        ref = gm_snapshot_build_opts(store, &test_logger, NULL, NULL);

        if (s == NULL || ref == NULL) {
            ok(0, "step %d built", i);
            same = 0;
            break;
        }

        a = dump_status(s);
        b = dump_status(ref);

        if (strcmp(a, b) != 0) {
            same = 0;
            printf("# step %d (%s) differs\n# incremental:\n%s\n# full:\n%s",
                   i, full ? "full" : "patched", a, b);
        }

        if (!chunks_valid(s)) {
            valid = 0;
            printf("# step %d (%s): the directory is wrong\n", i,
                   full ? "full" : "patched");
        }

        free(a);
        free(b);
        gm_snapshot_unref(ref);

        if (s->nstatus_chunks > maxchunks) {
            maxchunks = s->nstatus_chunks;
        }

        if (!full && prev != NULL && nchanged == 1) {
            k = chunks_copied(s, prev);
            copied += k;

            if ((size_t) k > maxcopied) {
                maxcopied = k;
            }
        }

        nfull += full;
        npatched += !full;

        /* generations leave in random order, as workers let them go */
        prev = s;
        j = rnd(KEEP);

        if (keep[j] == NULL || rnd(2)) {
            gm_snapshot_unref(keep[j]);
            keep[j] = s;

        } else {
            for (j = 0; j < KEEP; j++) {
                gm_snapshot_unref(keep[j]);
                keep[j] = NULL;
            }

            keep[0] = s;
        }
    }

    ok(same, "%d steps: the chunked status of each incremental snapshot "
       "equals the full compile's (%d patched, %d full)", i, npatched, nfull);
    ok(valid, "chunks: offsets right, none empty, an object's entries in "
       "one (up to %zu chunks)", maxchunks);
    ok(maxchunks >= 6, "several chunks of %d entries", GM_STATUS_CHUNK);
    ok(npatched > STEPS / 2, "most route changes are patched (%d)",
       npatched);
    ok(maxcopied <= 2, "a patch of one route copies at most 2 chunks "
       "(copied %zu in all, at most %zu)", copied, maxcopied);

    gm_compile_incr_destroy(ci);

    for (j = 0; j < KEEP; j++) {
        gm_snapshot_unref(keep[j]);
    }

    gm_store_destroy(store);
}


/* the cut: about GM_STATUS_CHUNK entries, never inside an object */

static void
test_cut(void)
{
    size_t              i, n, k;
    gm_status_entry_t  *e;
    gm_status_chunk_t   c[8];
    char                names[200][8];

    e = calloc(200, sizeof(gm_status_entry_t));

    /* objects of 3 entries: 200 entries, 67 objects */
    for (i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "o%03zu", i / 3);
        e[i].kind = "HTTPRoute";
        e[i].ns.data = "a";
        e[i].ns.len = 1;
        e[i].name.data = names[i];
        e[i].name.len = strlen(names[i]);
        e[i].index = i % 3;
    }

    n = gm_status_chunks(e, 200, NULL, 10);
    is_int(n, 3, "200 entries: 3 chunks");
    k = gm_status_chunks(e, 200, c, 10);
    ok(k == n && c[0].n == 66 && c[1].n == 66 && c[2].n == 68
       && c[0].first == 10 && c[1].first == 76 && c[2].first == 142,
       "cut after whole objects of 3 (66, 66, 68), numbered from 10");
    is_int(gm_status_chunks(e, 0, NULL, 0), 0, "no entries: no chunk");
    is_int(gm_status_chunks(e, 5, NULL, 0), 1, "5 entries: one chunk");

    free(e);
}


int
main(int argc, char **argv)
{
    if (argc > 1) {
        test_seed = (uint32_t) strtoul(argv[1], NULL, 10);
    }

    test_logger.handler = quiet;
    test_logger.data = NULL;

    printf("# seed %u\n", test_seed);

    test_cut();
    test_chunks();

    return done_testing();
}
