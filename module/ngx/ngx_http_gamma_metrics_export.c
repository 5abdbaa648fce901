/*
 * nginx-gamma: "gamma_metrics;", the Prometheus text format 0.0.4, the
 * rows of every worker added up at scrape time.
 * Series of a Service or route that is gone from the snapshot are not
 * reported.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_metrics.h"
#include "ngx_http_gamma_zone.h"


/* a series as reported: its labels and its counters summed over rows */
typedef struct {
    ngx_http_gamma_series_key_t  *key;
    ngx_atomic_uint_t             sum[NGX_HTTP_GAMMA_NCOUNTERS];
} ngx_http_gamma_series_t;

typedef struct {
    ngx_http_gamma_series_t  *items;
    ngx_uint_t                n;
} ngx_http_gamma_scrape_t;

/* one part of the label set: 0 service, 1 route, 2 backend */
#define NGX_HTTP_GAMMA_BY_SERVICE        1
#define NGX_HTTP_GAMMA_BY_ROUTE          2
#define NGX_HTTP_GAMMA_BY_BACKEND        4


static ngx_int_t ngx_http_gamma_scrape(ngx_http_request_t *r,
    ngx_http_gamma_metrics_sh_t *sh, gm_snapshot_t *s,
    ngx_http_gamma_scrape_t *sc);
static ngx_array_t *ngx_http_gamma_names(ngx_pool_t *pool, gm_snapshot_t *s);
static ngx_int_t ngx_http_gamma_name_push(ngx_array_t *names, const char *a,
    size_t alen, const char *b, size_t blen);
static ngx_int_t ngx_http_gamma_str_cmp(const void *one, const void *two);
static ngx_int_t ngx_http_gamma_known(ngx_array_t *names, u_char *p,
    size_t len);
static ngx_int_t ngx_http_gamma_key_cmp(const void *one, const void *two);
static ngx_int_t ngx_http_gamma_key_same(ngx_http_gamma_series_key_t *a,
    ngx_http_gamma_series_key_t *b, ngx_uint_t by);
static void ngx_http_gamma_sum(ngx_http_gamma_metrics_sh_t *sh, ngx_uint_t i,
    ngx_atomic_uint_t *sum);
static void ngx_http_gamma_labels(ngx_http_gamma_out_t *out,
    ngx_http_gamma_series_key_t *k, ngx_uint_t by);
static void ngx_http_gamma_export_requests(ngx_http_gamma_out_t *out,
    ngx_http_gamma_scrape_t *sc);
static void ngx_http_gamma_export_histogram(ngx_http_gamma_out_t *out,
    ngx_http_gamma_scrape_t *sc);
static void ngx_http_gamma_export_counter(ngx_http_gamma_out_t *out,
    ngx_http_gamma_scrape_t *sc, const char *name, const char *help,
    ngx_uint_t by, ngx_uint_t counter, const char *extra);
static void ngx_http_gamma_export_no_route(ngx_http_gamma_out_t *out,
    ngx_http_gamma_scrape_t *sc);
static void ngx_http_gamma_export_source(ngx_http_gamma_out_t *out,
    gm_snapshot_t *s);
static void ngx_http_gamma_export_series(ngx_http_gamma_out_t *out,
    ngx_http_gamma_metrics_sh_t *sh);
static void ngx_http_gamma_export_zones(ngx_http_gamma_out_t *out,
    ngx_http_gamma_metrics_main_conf_t *mmcf,
    ngx_http_gamma_main_conf_t *gmcf);


static const char  *ngx_http_gamma_class[] = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "other"
};

static const char  *ngx_http_gamma_le[NGX_HTTP_GAMMA_NBUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
    "10"
};

static const char  *ngx_http_gamma_kinds[] = {
    "none", "producer", "consumer"
};


ngx_int_t
ngx_http_gamma_metrics_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    gm_snapshot_t                       *s;
    ngx_http_gamma_out_t                 out;
    ngx_http_gamma_scrape_t              sc;
    ngx_http_gamma_metrics_main_conf_t  *mmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_metrics_module);
    s = ngx_http_gamma_metrics_snapshot(r);

    ngx_http_gamma_out_init(&out, r->pool);

    if (mmcf->sh) {
        if (ngx_http_gamma_scrape(r, mmcf->sh, s, &sc) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_gamma_export_requests(&out, &sc);
        ngx_http_gamma_export_histogram(&out, &sc);
        ngx_http_gamma_export_counter(&out, &sc, "gamma_retries_total",
            "Retries sent to backends after the first attempt.",
            NGX_HTTP_GAMMA_BY_SERVICE|NGX_HTTP_GAMMA_BY_ROUTE,
            NGX_HTTP_GAMMA_C_RETRIES, NULL);
        ngx_http_gamma_export_counter(&out, &sc, "gamma_timeouts_total",
            "Requests ended by a route timeout, by kind.",
            NGX_HTTP_GAMMA_BY_SERVICE|NGX_HTTP_GAMMA_BY_ROUTE,
            NGX_HTTP_GAMMA_C_TIMEOUT_REQUEST, "kind=\"request\"");
        ngx_http_gamma_export_counter(&out, &sc, "gamma_timeouts_total", NULL,
            NGX_HTTP_GAMMA_BY_SERVICE|NGX_HTTP_GAMMA_BY_ROUTE,
            NGX_HTTP_GAMMA_C_TIMEOUT_BACKEND, "kind=\"backend\"");
        ngx_http_gamma_export_counter(&out, &sc,
            "gamma_mirror_failures_total",
            "Mirrored requests not sent, failed, timed out or 5xx.",
            NGX_HTTP_GAMMA_BY_SERVICE|NGX_HTTP_GAMMA_BY_ROUTE,
            NGX_HTTP_GAMMA_C_MIRROR_FAILURES, NULL);
        ngx_http_gamma_export_no_route(&out, &sc);
        ngx_http_gamma_export_counter(&out, &sc, "gamma_no_endpoint_total",
            "Requests answered 503: the backend has no ready endpoint.",
            NGX_HTTP_GAMMA_BY_SERVICE|NGX_HTTP_GAMMA_BY_BACKEND,
            NGX_HTTP_GAMMA_C_NO_ENDPOINT, NULL);
        ngx_http_gamma_export_series(&out, mmcf->sh);
    }

    ngx_http_gamma_export_zones(&out, mmcf,
                 ngx_http_get_module_main_conf(r, ngx_http_gamma_module));
    ngx_http_gamma_export_source(&out, s);

    return ngx_http_gamma_out_send(r, &out, NGX_HTTP_OK,
                                   "text/plain; version=0.0.4; "
                                   "charset=utf-8");
}


static ngx_int_t
ngx_http_gamma_scrape(ngx_http_request_t *r, ngx_http_gamma_metrics_sh_t *sh,
    gm_snapshot_t *s, ngx_http_gamma_scrape_t *sc)
{
    ngx_uint_t                    i, n, c, max;
    ngx_array_t                  *names;
    ngx_http_gamma_series_t      *item;
    ngx_http_gamma_series_key_t  *k;

    names = ngx_http_gamma_names(r->pool, s);
    if (names == NULL) {
        return NGX_ERROR;
    }

    /* workers may claim more meanwhile: those wait for the next scrape */
    max = sh->used;

    sc->items = ngx_palloc(r->pool, (max + 1)
                                    * sizeof(ngx_http_gamma_series_t));
    if (sc->items == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < sh->nseries && n < max; i++) {
        k = &sh->keys[i];

        if (k->state != NGX_HTTP_GAMMA_KEY_READY) {
            continue;
        }

        ngx_memory_barrier();

        /* a vanished Service or route: its counts are not reported */
        if ((k->service_len
             && !ngx_http_gamma_known(names, k->text, k->service_len))
            || (k->route_len
                && !ngx_http_gamma_known(names, k->text + k->service_len,
                                         k->route_len)))
        {
            continue;
        }

        item = &sc->items[n++];
        item->key = k;
        ngx_http_gamma_sum(sh, i, item->sum);
    }

    ngx_sort(sc->items, n, sizeof(ngx_http_gamma_series_t),
             ngx_http_gamma_key_cmp);

    /* twins (two workers claimed one key at once) become one */
    sc->n = 0;

    for (i = 0; i < n; i++) {
        item = &sc->items[sc->n];

        if (sc->n && ngx_http_gamma_key_same(item[-1].key, sc->items[i].key,
                                             7))
        {
            for (c = 0; c < NGX_HTTP_GAMMA_NCOUNTERS; c++) {
                item[-1].sum[c] += sc->items[i].sum[c];
            }

            continue;
        }

        *item = sc->items[i];
        sc->n++;
    }

    return NGX_OK;
}


static void
ngx_http_gamma_sum(ngx_http_gamma_metrics_sh_t *sh, ngx_uint_t i,
    ngx_atomic_uint_t *sum)
{
    ngx_uint_t          row, c;
    ngx_atomic_uint_t  *p;

    ngx_memzero(sum, NGX_HTTP_GAMMA_NCOUNTERS * sizeof(ngx_atomic_uint_t));

    for (row = 0; row < NGX_HTTP_GAMMA_METRICS_ROWS; row++) {
        p = sh->counters + (row * sh->nseries + i) * NGX_HTTP_GAMMA_NCOUNTERS;

        for (c = 0; c < NGX_HTTP_GAMMA_NCOUNTERS; c++) {
            sum[c] += p[c];
        }
    }
}


/* "ns/name" of every Service and route of the snapshot, sorted */
static ngx_array_t *
ngx_http_gamma_names(ngx_pool_t *pool, gm_snapshot_t *s)
{
    size_t                   i, j, t, n;
    gm_addr_t                ip;
    ngx_array_t             *names;
    gm_match_view_t          mv;
    const gm_rule_t         *rule;
    const gm_frontend_t     *f;
    const gm_route_table_t  *table;

    n = s ? gm_snapshot_index_size(s) : 0;

    names = ngx_array_create(pool, n + 1, sizeof(ngx_str_t));
    if (names == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        f = gm_snapshot_index_entry(s, i, &ip);

        if (f == NULL) {
            continue;
        }

        if (ngx_http_gamma_name_push(names, f->passthrough->ns.data,
                                     f->passthrough->ns.len,
                                     f->passthrough->name.data,
                                     f->passthrough->name.len)
            != NGX_OK)
        {
            return NULL;
        }

        for (t = 0; t <= f->nconsumers; t++) {
            table = (t == 0) ? f->producer : f->consumer[t - 1];

            for (j = 0; j < gm_route_table_nentries(table); j++) {
                rule = gm_route_table_entry(table, j, &mv);

                if (ngx_http_gamma_name_push(names, rule->route->ns.data,
                                             rule->route->ns.len,
                                             rule->route->name.data,
                                             rule->route->name.len)
                    != NGX_OK)
                {
                    return NULL;
                }
            }
        }
    }

    ngx_sort(names->elts, names->nelts, sizeof(ngx_str_t),
             ngx_http_gamma_str_cmp);

    return names;
}


static ngx_int_t
ngx_http_gamma_name_push(ngx_array_t *names, const char *a, size_t alen,
    const char *b, size_t blen)
{
    ngx_str_t  *name;

    name = ngx_array_push(names);
    if (name == NULL) {
        return NGX_ERROR;
    }

    name->data = ngx_pnalloc(names->pool, alen + 1 + blen);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    name->len = ngx_sprintf(name->data, "%*s/%*s", alen, a, blen, b)
                - name->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_str_cmp(const void *one, const void *two)
{
    const ngx_str_t  *a = one, *b = two;

    ngx_int_t  rc;

    rc = ngx_memn2cmp(a->data, b->data, a->len, b->len);

    return rc;
}


static ngx_int_t
ngx_http_gamma_known(ngx_array_t *names, u_char *p, size_t len)
{
    ngx_int_t   rc;
    ngx_str_t  *v;
    ngx_uint_t  lo, hi, mid;

    v = names->elts;
    lo = 0;
    hi = names->nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = ngx_memn2cmp(v[mid].data, p, v[mid].len, len);

        if (rc == 0) {
            return 1;
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return 0;
}


/* by service, route, backend, then route kind: families group in order */
static ngx_int_t
ngx_http_gamma_key_cmp(const void *one, const void *two)
{
    const ngx_http_gamma_series_t  *a = one, *b = two;

    ngx_int_t                     rc;
    ngx_http_gamma_series_key_t  *x, *y;

    x = a->key;
    y = b->key;

    rc = ngx_memn2cmp(x->text, y->text, x->service_len, y->service_len);
    if (rc) {
        return rc;
    }

    rc = ngx_memn2cmp(x->text + x->service_len, y->text + y->service_len,
                      x->route_len, y->route_len);
    if (rc) {
        return rc;
    }

    rc = ngx_memn2cmp(x->text + x->service_len + x->route_len,
                      y->text + y->service_len + y->route_len,
                      x->backend_len, y->backend_len);
    if (rc) {
        return rc;
    }

    return (ngx_int_t) x->kind - (ngx_int_t) y->kind;
}


/* whether the labels in "by" are equal; kind counts with all three */
static ngx_int_t
ngx_http_gamma_key_same(ngx_http_gamma_series_key_t *a,
    ngx_http_gamma_series_key_t *b, ngx_uint_t by)
{
    if ((by & NGX_HTTP_GAMMA_BY_SERVICE)
        && ngx_memn2cmp(a->text, b->text, a->service_len, b->service_len))
    {
        return 0;
    }

    if ((by & NGX_HTTP_GAMMA_BY_ROUTE)
        && ngx_memn2cmp(a->text + a->service_len, b->text + b->service_len,
                        a->route_len, b->route_len))
    {
        return 0;
    }

    if ((by & NGX_HTTP_GAMMA_BY_BACKEND)
        && ngx_memn2cmp(a->text + a->service_len + a->route_len,
                        b->text + b->service_len + b->route_len,
                        a->backend_len, b->backend_len))
    {
        return 0;
    }

    return by != 7 || a->kind == b->kind;
}


static void
ngx_http_gamma_labels(ngx_http_gamma_out_t *out,
    ngx_http_gamma_series_key_t *k, ngx_uint_t by)
{
    u_char  *p;

    p = k->text;

    if (by & NGX_HTTP_GAMMA_BY_SERVICE) {
        ngx_http_gamma_out(out, "service=\"%*s\"", (size_t) k->service_len,
                           p);
    }

    p += k->service_len;

    if (by & NGX_HTTP_GAMMA_BY_ROUTE) {
        ngx_http_gamma_out(out, ",route=\"%*s\"", (size_t) k->route_len, p);
    }

    p += k->route_len;

    if (by == 7) {
        ngx_http_gamma_out(out, ",route_kind=\"%s\"",
                           ngx_http_gamma_kinds[k->kind % 3]);
    }

    if (by & NGX_HTTP_GAMMA_BY_BACKEND) {
        ngx_http_gamma_out(out, ",backend=\"%*s\"", (size_t) k->backend_len,
                           p);
    }
}


static void
ngx_http_gamma_export_requests(ngx_http_gamma_out_t *out,
    ngx_http_gamma_scrape_t *sc)
{
    ngx_uint_t                i, c;
    ngx_http_gamma_series_t  *it;

    ngx_http_gamma_out(out,
        "# HELP gamma_requests_total Mesh requests by Service, route, "
        "route table, backend and status class.\n"
        "# TYPE gamma_requests_total counter\n");

    for (i = 0; i < sc->n; i++) {
        it = &sc->items[i];

        for (c = 0; c < 6; c++) {
            if (it->sum[NGX_HTTP_GAMMA_C_STATUS + c] == 0) {
                continue;
            }

            ngx_http_gamma_out(out, "gamma_requests_total{");
            ngx_http_gamma_labels(out, it->key, 7);
            ngx_http_gamma_out(out, ",status_class=\"%s\"} %uA\n",
                               ngx_http_gamma_class[c],
                               it->sum[NGX_HTTP_GAMMA_C_STATUS + c]);
        }
    }
}


/* per Service and route: series of other kinds and backends add up */
static void
ngx_http_gamma_export_histogram(ngx_http_gamma_out_t *out,
    ngx_http_gamma_scrape_t *sc)
{
    ngx_uint_t                i, j, b, by;
    ngx_atomic_uint_t         acc[NGX_HTTP_GAMMA_NCOUNTERS], count, cum;
    ngx_http_gamma_series_t  *it;

    by = NGX_HTTP_GAMMA_BY_SERVICE|NGX_HTTP_GAMMA_BY_ROUTE;

    ngx_http_gamma_out(out,
        "# HELP gamma_request_duration_seconds Time from the first byte "
        "of the request to the log phase.\n"
        "# TYPE gamma_request_duration_seconds histogram\n");

    for (i = 0; i < sc->n; i = j) {
        it = &sc->items[i];
        ngx_memcpy(acc, it->sum, sizeof(acc));

        for (j = i + 1;
             j < sc->n && ngx_http_gamma_key_same(it->key, sc->items[j].key,
                                                  by);
             j++)
        {
            for (b = 0; b < NGX_HTTP_GAMMA_NCOUNTERS; b++) {
                acc[b] += sc->items[j].sum[b];
            }
        }

        for (count = 0, b = 0; b < 6; b++) {
            count += acc[NGX_HTTP_GAMMA_C_STATUS + b];
        }

        for (cum = 0, b = 0; b < NGX_HTTP_GAMMA_NBUCKETS; b++) {
            cum += acc[NGX_HTTP_GAMMA_C_BUCKET + b];
            ngx_http_gamma_out(out, "gamma_request_duration_seconds_bucket{");
            ngx_http_gamma_labels(out, it->key, by);
            ngx_http_gamma_out(out, ",le=\"%s\"} %uA\n",
                               ngx_http_gamma_le[b], cum);
        }

        ngx_http_gamma_out(out, "gamma_request_duration_seconds_bucket{");
        ngx_http_gamma_labels(out, it->key, by);
        ngx_http_gamma_out(out, ",le=\"+Inf\"} %uA\n"
                           "gamma_request_duration_seconds_sum{", count);
        ngx_http_gamma_labels(out, it->key, by);
        ngx_http_gamma_out(out, "} %uA.%03uA\n"
                           "gamma_request_duration_seconds_count{",
                           acc[NGX_HTTP_GAMMA_C_SUM_MS] / 1000,
                           acc[NGX_HTTP_GAMMA_C_SUM_MS] % 1000);
        ngx_http_gamma_labels(out, it->key, by);
        ngx_http_gamma_out(out, "} %uA\n", count);
    }
}


/*
 * A counter family summed over the labels not in "by".  Sorting groups
 * service and route; a backend grouping may repeat per route, so those
 * add up in a second pass over the group.
 */
static void
ngx_http_gamma_export_counter(ngx_http_gamma_out_t *out,
    ngx_http_gamma_scrape_t *sc, const char *name, const char *help,
    ngx_uint_t by, ngx_uint_t counter, const char *extra)
{
    ngx_uint_t                i, j, seen;
    ngx_atomic_uint_t         v;
    ngx_http_gamma_series_t  *it;

    /* no help: one more part of the family before */
    if (help) {
        ngx_http_gamma_out(out, "# HELP %s %s\n# TYPE %s counter\n",
                           name, help, name);
    }

    for (i = 0; i < sc->n; i++) {
        it = &sc->items[i];
        seen = 0;

        /* the first of its label set within its Service reports it */
        for (j = i; j > 0
                    && ngx_http_gamma_key_same(it->key, sc->items[j - 1].key,
                                               NGX_HTTP_GAMMA_BY_SERVICE);
             j--)
        {
            if (ngx_http_gamma_key_same(it->key, sc->items[j - 1].key, by)) {
                seen = 1;
                break;
            }
        }

        if (seen || ((by & NGX_HTTP_GAMMA_BY_BACKEND)
                     && it->key->backend_len == 0))
        {
            continue;
        }

        v = 0;

        for (j = i; j < sc->n
                    && ngx_http_gamma_key_same(it->key, sc->items[j].key,
                                               NGX_HTTP_GAMMA_BY_SERVICE);
             j++)
        {
            if (ngx_http_gamma_key_same(it->key, sc->items[j].key, by)) {
                v += sc->items[j].sum[counter];
            }
        }

        ngx_http_gamma_out(out, "%s{", name);
        ngx_http_gamma_labels(out, it->key, by);
        ngx_http_gamma_out(out, "%s%s} %uA\n", extra ? "," : "",
                           extra ? extra : "", v);
    }
}


/* a route table consulted and no rule matched: route="" and a table */
static void
ngx_http_gamma_export_no_route(ngx_http_gamma_out_t *out,
    ngx_http_gamma_scrape_t *sc)
{
    ngx_uint_t                i, j, c;
    ngx_atomic_uint_t         v;
    ngx_http_gamma_series_t  *it;

    ngx_http_gamma_out(out,
        "# HELP gamma_no_route_total Requests answered 404: routes are "
        "bound to the Service and none matched.\n"
        "# TYPE gamma_no_route_total counter\n");

    for (i = 0; i < sc->n; i = j) {
        it = &sc->items[i];
        v = 0;

        for (j = i; j < sc->n
                    && ngx_http_gamma_key_same(it->key, sc->items[j].key,
                                               NGX_HTTP_GAMMA_BY_SERVICE);
             j++)
        {
            if (sc->items[j].key->route_len == 0
                && sc->items[j].key->kind != GM_TABLE_NONE)
            {
                for (c = 0; c < 6; c++) {
                    v += sc->items[j].sum[NGX_HTTP_GAMMA_C_STATUS + c];
                }
            }
        }

        if (it->key->service_len) {
            ngx_http_gamma_out(out, "gamma_no_route_total{");
            ngx_http_gamma_labels(out, it->key, NGX_HTTP_GAMMA_BY_SERVICE);
            ngx_http_gamma_out(out, "} %uA\n", v);
        }
    }
}


static void
ngx_http_gamma_export_source(ngx_http_gamma_out_t *out, gm_snapshot_t *s)
{
    int                       k, why;
    const gm_source_stats_t  *st;

    st = s ? gm_snapshot_stats(s) : NULL;

    ngx_http_gamma_out(out,
        "# HELP gamma_source_synced 1 once this worker serves a complete "
        "sync of the source.\n"
        "# TYPE gamma_source_synced gauge\n"
        "gamma_source_synced %d\n", st != NULL && st->synced);

    if (st == NULL) {
        return;
    }

    ngx_http_gamma_out(out,
        "# HELP gamma_source_last_sync_timestamp_seconds When the snapshot "
        "served was built.\n"
        "# TYPE gamma_source_last_sync_timestamp_seconds gauge\n"
        "gamma_source_last_sync_timestamp_seconds %L.%03L\n"
        "# HELP gamma_source_watch_restarts_total Kubernetes watches "
        "opened again.\n"
        "# TYPE gamma_source_watch_restarts_total counter\n"
        "gamma_source_watch_restarts_total %uL\n"
        "# HELP gamma_source_relists_total Kubernetes lists after the "
        "first.\n"
        "# TYPE gamma_source_relists_total counter\n"
        "gamma_source_relists_total %uL\n"
        "# HELP gamma_snapshot_generation The snapshot served.\n"
        "# TYPE gamma_snapshot_generation gauge\n"
        "gamma_snapshot_generation %uL\n"
        "# HELP gamma_compile_duration_seconds How long the last compile "
        "took.\n"
        "# TYPE gamma_compile_duration_seconds gauge\n"
        "gamma_compile_duration_seconds %uL.%06uL\n"
        "# HELP gamma_snapshot_bytes Memory of the snapshot served.\n"
        "# TYPE gamma_snapshot_bytes gauge\n"
        "gamma_snapshot_bytes %uz\n"
        "# HELP gamma_source_objects Objects in the store, by kind.\n"
        "# TYPE gamma_source_objects gauge\n",
        st->sync_time_ms / 1000, st->sync_time_ms % 1000,
        st->watch_restarts, st->relists, st->generation,
        st->compile_us / 1000000, st->compile_us % 1000000,
        st->snapshot_bytes);

    for (k = 0; k < GM_KIND_MAX; k++) {
        ngx_http_gamma_out(out, "gamma_source_objects{kind=\"%s\"} %uz\n",
                           gm_kind_name(k), st->objects[k]);
    }

    ngx_http_gamma_out(out,
        "# HELP gamma_source_rejected_objects Objects refused or partly "
        "left out, by kind and reason.\n"
        "# TYPE gamma_source_rejected_objects gauge\n");

    for (k = 0; k < GM_KIND_MAX; k++) {
        for (why = 0; why < GM_REJECT_MAX; why++) {
            ngx_http_gamma_out(out, "gamma_source_rejected_objects{"
                               "kind=\"%s\",reason=\"%s\"} %uz\n",
                               gm_kind_name(k), gm_reject_reason_name(why),
                               st->rejected[k][why]);
        }
    }
}


static void
ngx_http_gamma_export_series(ngx_http_gamma_out_t *out,
    ngx_http_gamma_metrics_sh_t *sh)
{
    ngx_uint_t         i;
    ngx_atomic_uint_t  dropped;

    for (dropped = 0, i = 0; i < NGX_HTTP_GAMMA_METRICS_ROWS; i++) {
        dropped += sh->rows[i].dropped;
    }

    ngx_http_gamma_out(out,
        "# HELP gamma_metrics_series Label sets counted, and the most "
        "the zone holds.\n"
        "# TYPE gamma_metrics_series gauge\n"
        "gamma_metrics_series{state=\"used\"} %uA\n"
        "gamma_metrics_series{state=\"capacity\"} %ui\n"
        "# HELP gamma_metrics_dropped_total Requests not counted: the "
        "metrics zone is full.\n"
        "# TYPE gamma_metrics_dropped_total counter\n"
        "gamma_metrics_dropped_total %uA\n",
        sh->used, sh->nseries * 7 / 8, dropped);
}


/* the snapshot zone (gamma_zone) and the metrics zone */
static void
ngx_http_gamma_export_zones(ngx_http_gamma_out_t *out,
    ngx_http_gamma_metrics_main_conf_t *mmcf,
    ngx_http_gamma_main_conf_t *gmcf)
{
    size_t  pages;

    ngx_http_gamma_out(out,
        "# HELP gamma_zone_size_bytes Size of a shared memory zone.\n"
        "# TYPE gamma_zone_size_bytes gauge\n");

    if (gmcf->shm_zone) {
        ngx_http_gamma_out(out, "gamma_zone_size_bytes{zone=\"%V\"} %uz\n",
                           &gmcf->shm_zone->shm.name,
                           gmcf->shm_zone->shm.size);
    }

    if (mmcf->shm_zone) {
        ngx_http_gamma_out(out, "gamma_zone_size_bytes{zone=\"%V\"} %uz\n",
                           &mmcf->shm_zone->shm.name,
                           mmcf->shm_zone->shm.size);
    }

    ngx_http_gamma_out(out,
        "# HELP gamma_zone_used_bytes Pages of a shared memory zone in "
        "use.\n"
        "# TYPE gamma_zone_used_bytes gauge\n");

    if (gmcf->shm_zone) {
        ngx_http_gamma_out(out, "gamma_zone_used_bytes{zone=\"%V\"} %uz\n",
                           &gmcf->shm_zone->shm.name,
                           ngx_http_gamma_zone_used(gmcf->shm_zone));
    }

    if (mmcf->shm_zone) {
        pages = (mmcf->shpool->end - mmcf->shpool->start) / ngx_pagesize;
        ngx_http_gamma_out(out, "gamma_zone_used_bytes{zone=\"%V\"} %uz\n",
                           &mmcf->shm_zone->shm.name,
                           (pages - mmcf->shpool->pfree) * ngx_pagesize);
    }
}
