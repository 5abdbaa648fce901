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
 *
 * The readers of the status, the status writer's objects and the file
 * source's log, read only the chunks they did not read before
 * (gm_status_delta_t): after every step they hold what a reader of every
 * object holds (a writer that wrote some objects meanwhile, or became
 * the holder again, too).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_kube_status_int.h"
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


/* a reader that reads every chunk, and one that skips those it read */
typedef struct {
    gm_status_table_t   table;
    gm_status_seen_t   *seen;
    gm_log_t            log;
    char               *logged;       /* the lines of the last log */
    size_t              len;
    size_t              size;
} reader_t;

typedef struct {
    reader_t            whole;
    reader_t            delta;
    gm_status_delta_t  *counter;      /* reads as the delta reader does */
    size_t              read;         /* entries it read, in all */
    size_t              entries;      /* entries of the lists, in all */
    uint32_t            seed;         /* the writer's writes, leads */
    size_t              swept;        /* objects gone: [] written */
    size_t              leads;
    int                 same;
} readers_t;


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
reader_log(void *data, gm_log_level_e level, const char *msg)
{
    size_t     len;
    reader_t  *r = data;

    (void) level;

    len = strlen(msg);

    if (r->len + len + 2 > r->size) {
        r->size = (r->len + len + 2) * 2;
        r->logged = realloc(r->logged, r->size);
    }

    memcpy(r->logged + r->len, msg, len);
    r->len += len;
    r->logged[r->len++] = '\n';
    r->logged[r->len] = '\0';
}


static void
reader_init(reader_t *r)
{
    memset(r, 0, sizeof(reader_t));

    (void) gm_status_table_init(&r->table);
    r->seen = gm_status_seen_create();
    r->log.handler = reader_log;
    r->log.data = r;
}


static void
reader_free(reader_t *r)
{
    gm_status_table_free(&r->table);
    gm_status_seen_destroy(r->seen);
    free(r->logged);
}


static uint64_t
count_object(void *data, const gm_status_entry_t *e, size_t n)
{
    size_t  *read = data;

    (void) e;

    *read += n;

    return 1;
}


/*
 * One list to both: the whole reader's table forgets the chunks before
 * each update, its log gets the list without serials (a chunk without
 * one is never the same): they read every object, as before.
 */

static void
readers_update(readers_t *rd, const gm_snapshot_t *s)
{
    size_t              c;
    gm_status_list_t    list, bare;
    gm_status_walk_t    count;
    gm_status_chunk_t  *chunks;

    gm_snapshot_status(s, &list);

    chunks = calloc(list.nchunks + 1, sizeof(gm_status_chunk_t));

    for (c = 0; c < list.nchunks; c++) {
        chunks[c] = list.chunks[c];
        chunks[c].serial = 0;
    }

    bare = list;
    bare.chunks = chunks;

    gm_status_delta_reset(rd->whole.table.delta);
    gm_status_table_update(&rd->whole.table, &list);
    gm_status_table_update(&rd->delta.table, &list);

    rd->whole.len = 0;
    rd->delta.len = 0;
    gm_status_log_changes(rd->whole.seen, &bare, &rd->whole.log);
    gm_status_log_changes(rd->delta.seen, &list, &rd->delta.log);

    free(chunks);

    count.object = count_object;
    count.gone = NULL;
    count.data = &rd->read;
    (void) gm_status_delta_walk(rd->counter, &list, &count);
    rd->entries += list.n;
}


/* both hold the same objects, entries, hashes, dirt; no [] written */

static int
tables_same(gm_status_table_t *a, gm_status_table_t *b)
{
    size_t            i;
    gm_status_obj_t  *o, *p;

    if (a->n != b->n || a->ndirty != b->ndirty) {
        return 0;
    }

    for (i = 0; i < b->size; i++) {
        o = &b->objs[i];

        if (o->key == 0) {
            continue;
        }

        p = gm_status_table_slot(a, o->key);

        if (p->key != o->key || p->hash != o->hash || p->dirty != o->dirty
            || (o->hash == 1 && !o->dirty)
            || p->written != o->written || p->generation != o->generation
            || strcmp(p->entries, o->entries) != 0
            || strcmp(p->path, o->path) != 0)
        {
            return 0;
        }
    }

    return 1;
}


static uint32_t
coin(readers_t *rd, uint32_t n)
{
    rd->seed = rd->seed * 1103515245 + 12345;

    return (rd->seed >> 8) % n;
}


/*
 * The writer's thread, in both alike: it writes some dirty objects
 * (gm_status_done() of a write that went through), and now and then a
 * new holder checks them all.
 */

static void
readers_write(readers_t *rd)
{
    size_t            i, n;
    uint64_t          keys[NROUTE], hashes[NROUTE];
    gm_status_obj_t  *o, *p;

    n = 0;

    for (i = 0; i < rd->whole.table.size; i++) {
        o = &rd->whole.table.objs[i];

        if (o->key == 0 || !o->dirty || coin(rd, 3) == 0) {
            continue;
        }

        p = gm_status_table_slot(&rd->delta.table, o->key);

        if (p->key != o->key || !p->dirty || n == NROUTE) {
            rd->same = 0;
            continue;
        }

        keys[n] = o->key;
        hashes[n++] = o->hash;
    }

    /* after the walk: a [] written is forgotten, the others shift */
    for (i = 0; i < n; i++) {
        rd->swept += (hashes[i] == 1);
        gm_status_table_done(&rd->whole.table, keys[i], hashes[i], 1, 0);
        gm_status_table_done(&rd->delta.table, keys[i], hashes[i], 1, 0);
    }

    if (coin(rd, 40) == 0) {
        gm_status_table_lead(&rd->whole.table);
        gm_status_table_lead(&rd->delta.table);
        rd->leads++;
    }
}


static void
readers_init(readers_t *rd)
{
    memset(rd, 0, sizeof(readers_t));

    reader_init(&rd->whole);
    reader_init(&rd->delta);
    rd->counter = gm_status_delta_create();
    rd->seed = 77;
    rd->same = 1;
}


static void
readers_free(readers_t *rd)
{
    reader_free(&rd->whole);
    reader_free(&rd->delta);
    gm_status_delta_destroy(rd->counter);
}


static void
readers_step(readers_t *rd, const gm_snapshot_t *s, int step)
{
    readers_update(rd, s);

    if (rd->same && !tables_same(&rd->delta.table, &rd->whole.table)) {
        rd->same = 0;
        printf("# step %d: the writer's objects differ\n", step);
    }

    if (rd->same && (rd->delta.len != rd->whole.len
                     || (rd->delta.len != 0
                         && strcmp(rd->delta.logged, rd->whole.logged) != 0)))
    {
        rd->same = 0;
        printf("# step %d: the logs differ\n# whole:\n%s# delta:\n%s",
               step, rd->whole.len ? rd->whole.logged : "",
               rd->delta.len ? rd->delta.logged : "");
    }

    readers_write(rd);
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
    readers_t           rd;

    store = gm_store_create();
    ci = gm_compile_incr_create(store);
    memset(keep, 0, sizeof(keep));
    memset(test_present, 0, sizeof(test_present));
    readers_init(&rd);

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

        readers_step(&rd, s, i);

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

    ok(rd.same, "%d steps: the writer's objects and the file log of the "
       "readers of new chunks only are those of the readers of every "
       "object", i);
    ok(rd.swept > 10 && rd.leads >= 3, "routes deleted had [] written "
       "(%zu), new holders checked every object (%zu)", rd.swept, rd.leads);
    ok(rd.read * 5 < rd.entries, "they read %zu entries of %zu",
       rd.read, rd.entries);

    readers_free(&rd);
    gm_compile_incr_destroy(ci);

    for (j = 0; j < KEEP; j++) {
        gm_snapshot_unref(keep[j]);
    }

    gm_store_destroy(store);
}


/* the names of the dirty routes, then all written */

static const char *
table_written(gm_status_table_t *t)
{
    size_t            i, len, n;
    uint64_t          keys[300], hashes[300];
    const char       *name;
    gm_status_obj_t  *o;
    static char       names[300 * 8];

    len = 0;
    n = 0;
    names[0] = '\0';

    for (i = 0; i < t->size && n < 300; i++) {
        o = &t->objs[i];

        if (o->key == 0 || !o->dirty) {
            continue;
        }

        name = strrchr(o->path, '/') + 1;
        len += snprintf(names + len, sizeof(names) - len, "%s%s%s",
                        len ? " " : "", name,
                        strcmp(o->entries, "[]") == 0 ? " []" : "");
        keys[n] = o->key;
        hashes[n++] = o->hash;
    }

    for (i = 0; i < n; i++) {
        gm_status_table_done(t, keys[i], hashes[i], 1, 0);
    }

    return names;
}


/* the next build (*s is let go) and its list into t; 1: a patch */

static int
build(gm_compile_incr_t *ci, gm_snapshot_t **s, gm_status_list_t *list,
    gm_status_table_t *t)
{
    int             full;
    gm_snapshot_t  *prev;

    prev = *s;
    *s = gm_compile_incr_build(ci, &test_logger, NULL, NULL, &full);
    gm_snapshot_unref(prev);

    gm_snapshot_status(*s, list);
    gm_status_table_update(t, list);

    return !full;
}


/* the writer's objects after lists that share chunks */

static void
test_writer(void)
{
    int                 i, patched;
    size_t              read, n;
    gm_store_t         *store;
    gm_snapshot_t      *s;
    gm_status_walk_t    count;
    gm_status_list_t    list;
    gm_status_table_t   t;
    gm_status_delta_t  *counter;
    gm_compile_incr_t  *ci;

    store = gm_store_create();
    ci = gm_compile_incr_create(store);
    counter = gm_status_delta_create();
    (void) gm_status_table_init(&t);
    count.object = count_object;
    count.gone = NULL;
    count.data = &read;

    for (i = 0; i < NSVC; i++) {
        put_service(store, i);
    }

    for (i = 0; i < 300; i++) {
        put_route(store, i, 1);
    }

    s = NULL;
    (void) build(ci, &s, &list, &t);
    n = t.n;
    ok(n == 300 && t.ndirty == n && list.nchunks >= 4, "a first list: "
       "every object dirty (%zu of 300, %zu chunks)", t.ndirty,
       list.nchunks);
    (void) table_written(&t);
    read = 0;
    (void) gm_status_delta_walk(counter, &list, &count);
    ok(read == list.n, "the first walk reads every entry");

    patched = 0;

    put_route(store, 5, 2);
    patched += build(ci, &s, &list, &t);
    is_str(table_written(&t), "r005", "a route's new generation: it alone "
           "is dirty");
    read = 0;
    (void) gm_status_delta_walk(counter, &list, &count);
    ok(read != 0 && read <= 2 * GM_STATUS_CHUNK, "the patch's chunk read "
       "again, no other (%zu entries of %zu)", read, list.n);

    /* a chunk the last patch shared */
    put_route(store, 250, 2);
    patched += build(ci, &s, &list, &t);
    is_str(table_written(&t), "r250", "a route in a chunk shared before: "
           "it alone is dirty");

    put_route(store, 250, 2);
    patched += build(ci, &s, &list, &t);
    read = 0;
    (void) gm_status_delta_walk(counter, &list, &count);
    is_str(table_written(&t), "", "a new resourceVersion alone: nothing "
           "dirty");
    ok(read != 0, "its chunk was read (%zu entries)", read);

    gm_store_delete(store, GM_KIND_HTTPROUTE, "a", "r100");
    (void) build(ci, &s, &list, &t);
    is_str(table_written(&t), "r100 []", "a route deleted: [] to write");
    ok(t.n == n - 1, "its [] written, it is forgotten (%zu of %zu)", t.n,
       n);
    n = t.n;

    (void) build(ci, &s, &list, &t);
    is_str(table_written(&t), "", "the same list again: nothing dirty");

    gm_status_table_lead(&t);
    ok(t.ndirty == n, "a new holder: every object dirty but the one "
       "forgotten (%zu of %zu)", t.ndirty, n);
    (void) table_written(&t);

    put_route(store, 100, 1);
    (void) build(ci, &s, &list, &t);
    is_str(table_written(&t), "r100", "the route back: its entries to "
           "write");
    ok(patched == 3, "the route changes were patched (%d of 3)", patched);

    gm_snapshot_unref(s);
    gm_status_table_free(&t);
    gm_status_delta_destroy(counter);
    gm_compile_incr_destroy(ci);
    gm_store_destroy(store);
}


typedef struct {
    size_t    read;                   /* objects */
    size_t    gone;
} counts_t;


static uint64_t
counts_object(void *data, const gm_status_entry_t *e, size_t n)
{
    counts_t  *k = data;

    (void) n;

    k->read++;

    return (uint64_t) (unsigned char) e->name.data[1];
}


static int
counts_gone(void *data, uint64_t key)
{
    counts_t  *k = data;

    (void) key;

    k->gone++;

    return 0;
}


/*
 * A chunk is the same by its serial, not its address: a released
 * generation's memory is given to new chunks of other entries.
 */

static void
test_serials(void)
{
    size_t              i;
    counts_t            k;
    gm_status_walk_t    walk;
    gm_status_list_t    list;
    gm_status_chunk_t   c;
    gm_status_entry_t   e[6];
    gm_status_delta_t  *d;
    char                names[6][4];

    memset(e, 0, sizeof(e));

    for (i = 0; i < 6; i++) {
        snprintf(names[i], sizeof(names[i]), "o%zu", i);
        e[i].kind = "HTTPRoute";
        e[i].ns.data = "a";
        e[i].ns.len = 1;
        e[i].name.data = names[i];
        e[i].name.len = 2;
    }

    c.entries = e;
    c.n = 6;
    c.first = 0;
    c.serial = 1;
    list.chunks = &c;
    list.nchunks = 1;
    list.n = 6;

    d = gm_status_delta_create();
    walk.object = counts_object;
    walk.gone = counts_gone;
    walk.data = &k;

    memset(&k, 0, sizeof(k));
    ok(gm_status_delta_walk(d, &list, &walk) == 1 && k.read == 6
       && k.gone == 0, "a first walk reads every object");

    memset(&k, 0, sizeof(k));
    ok(gm_status_delta_walk(d, &list, &walk) == 0 && k.read == 0
       && k.gone == 0, "the same chunk again: no object read");

    /* the same memory, other objects, a new serial */
    names[0][0] = 'x';
    c.serial = 2;
    memset(&k, 0, sizeof(k));
    ok(gm_status_delta_walk(d, &list, &walk) == 0 && k.read == 6
       && k.gone == 6, "a new serial at the same address: every object "
       "read, those of the chunk before gone");

    c.serial = 0;
    memset(&k, 0, sizeof(k));
    (void) gm_status_delta_walk(d, &list, &walk);
    memset(&k, 0, sizeof(k));
    (void) gm_status_delta_walk(d, &list, &walk);
    ok(k.read == 6 && k.gone == 6, "an unnumbered chunk is never the same");

    gm_status_delta_reset(d);
    memset(&k, 0, sizeof(k));
    c.serial = 2;
    (void) gm_status_delta_walk(d, &list, &walk);
    memset(&k, 0, sizeof(k));
    ok(gm_status_delta_walk(d, &list, &walk) == 0 && k.read == 0,
       "after a reset, a whole walk, then none again");

    gm_status_delta_destroy(d);
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
    test_serials();
    test_writer();
    test_chunks();

    return done_testing();
}
