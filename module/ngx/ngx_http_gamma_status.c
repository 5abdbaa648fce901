/*
 * nginx-gamma: "gamma_status;", what the proxy believes now as JSON (or
 * as the admin page when a browser asks for text/html): Services with
 * their ClusterIPs, each port's route tables in precedence order with
 * matches, filters, timeouts, retries, backends and endpoints, rejected
 * objects with reasons, and the source's state.  "?service=ns/name"
 * narrows it to one Service.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_metrics.h"
#include "ngx_http_gamma_filter.h"


#define NGX_HTTP_GAMMA_OUT_CHUNK  16384
#define NGX_HTTP_GAMMA_OUT_LINE   4096


typedef struct {
    const gm_frontend_t  *frontend;
    gm_addr_t             ip;
} ngx_http_gamma_slot_t;


static ngx_int_t ngx_http_gamma_wants_html(ngx_http_request_t *r);
static ngx_int_t ngx_http_gamma_slot_cmp(const void *one, const void *two);
static void ngx_http_gamma_json_source(ngx_http_gamma_out_t *out,
    gm_snapshot_t *s);
static void ngx_http_gamma_json_service(ngx_http_gamma_out_t *out,
    ngx_http_gamma_svc_t *svc);
static void ngx_http_gamma_json_table(ngx_http_gamma_out_t *out,
    const gm_route_table_t *t);
static void ngx_http_gamma_json_match(ngx_http_gamma_out_t *out,
    const gm_match_view_t *mv);
static void ngx_http_gamma_json_rule(ngx_http_gamma_out_t *out,
    const gm_rule_t *rule);
static void ngx_http_gamma_json_filters(ngx_http_gamma_out_t *out,
    const gm_filters_t *f);
static void ngx_http_gamma_json_backend(ngx_http_gamma_out_t *out,
    const gm_backend_t *b, uint32_t weight, const gm_filters_t *f);
static void ngx_http_gamma_json_rejected(ngx_http_gamma_out_t *out,
    const gm_source_stats_t *st);
static ngx_int_t ngx_http_gamma_out_reserve(ngx_http_gamma_out_t *out,
    size_t n);


ngx_int_t
ngx_http_gamma_status_handler(ngx_http_request_t *r)
{
    u_char                *dst, *src;
    ngx_int_t              rc;
    ngx_str_t              only, arg;
    ngx_uint_t             i;
    ngx_array_t            svcs;
    gm_snapshot_t         *s;
    ngx_http_gamma_out_t   out;
    ngx_http_gamma_svc_t  *svc;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_str_null(&only);

    if (ngx_http_arg(r, (u_char *) "service", 7, &arg) == NGX_OK) {
        only.data = ngx_pnalloc(r->pool, arg.len);
        if (only.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* "ns%2Fname" as a form sends it */
        dst = only.data;
        src = arg.data;
        ngx_unescape_uri(&dst, &src, arg.len, 0);
        only.len = dst - only.data;
    }

    if (ngx_array_init(&svcs, r->pool, 64, sizeof(ngx_http_gamma_svc_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s = ngx_http_gamma_metrics_snapshot(r);

    if (s && ngx_http_gamma_status_services(r, s, &only, &svcs) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_gamma_out_init(&out, r->pool);

    if (ngx_http_gamma_wants_html(r)) {
        return ngx_http_gamma_status_html(r, s, &svcs, &out);
    }

    ngx_http_gamma_json_source(&out, s);
    ngx_http_gamma_out(&out, ",\n\"services\": [");

    svc = svcs.elts;

    for (i = 0; i < svcs.nelts; i++) {
        ngx_http_gamma_out(&out, i ? ",\n" : "\n");
        ngx_http_gamma_json_service(&out, &svc[i]);
    }

    ngx_http_gamma_out(&out, "\n],\n");
    ngx_http_gamma_json_route_status(&out, s, &only);
    ngx_http_gamma_out(&out, ",\n");
    ngx_http_gamma_json_rejected(&out, s ? gm_snapshot_stats(s) : NULL);
    ngx_http_gamma_out(&out, "}\n");

    return ngx_http_gamma_out_send(r, &out, NGX_HTTP_OK, "application/json");
}


/* a browser: Accept names text/html (or ?format=html); JSON otherwise */
static ngx_int_t
ngx_http_gamma_wants_html(ngx_http_request_t *r)
{
    ngx_str_t         arg;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (ngx_http_arg(r, (u_char *) "format", 6, &arg) == NGX_OK) {
        return arg.len == 4 && ngx_strncmp(arg.data, "html", 4) == 0;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 6
            && ngx_strncasecmp(h[i].key.data, (u_char *) "accept", 6) == 0
            && ngx_strlcasestrn(h[i].value.data,
                                h[i].value.data + h[i].value.len,
                                (u_char *) "text/html", 9 - 1)
               != NULL)
        {
            return 1;
        }
    }
}


/* the snapshot's Service ports sorted by name, each with its ClusterIPs */
ngx_int_t
ngx_http_gamma_status_services(ngx_http_request_t *r, gm_snapshot_t *s,
    ngx_str_t *only, ngx_array_t *out)
{
    size_t                  i, n, nslots;
    gm_addr_t               ip;
    ngx_http_gamma_svc_t   *svc;
    const gm_backend_t     *b;
    const gm_frontend_t    *f;
    ngx_http_gamma_slot_t  *slots;

    nslots = gm_snapshot_index_size(s);

    slots = ngx_palloc(r->pool, (nslots + 1) * sizeof(ngx_http_gamma_slot_t));
    if (slots == NULL) {
        return NGX_ERROR;
    }

    for (n = 0, i = 0; i < nslots; i++) {
        f = gm_snapshot_index_entry(s, i, &ip);

        if (f == NULL) {
            continue;
        }

        b = f->passthrough;

        if (only->len
            && (only->len != b->ns.len + 1 + b->name.len
                || ngx_strncmp(only->data, b->ns.data, b->ns.len) != 0
                || only->data[b->ns.len] != '/'
                || ngx_strncmp(only->data + b->ns.len + 1, b->name.data,
                               b->name.len) != 0))
        {
            continue;
        }

        slots[n].frontend = f;
        slots[n++].ip = ip;
    }

    ngx_sort(slots, n, sizeof(ngx_http_gamma_slot_t), ngx_http_gamma_slot_cmp);

    svc = NULL;

    for (i = 0; i < n; i++) {
        if (svc == NULL || svc->frontend != slots[i].frontend) {
            svc = ngx_array_push(out);
            if (svc == NULL) {
                return NGX_ERROR;
            }

            svc->frontend = slots[i].frontend;
            svc->nips = 0;
        }

        if (svc->nips < 4) {
            svc->ips[svc->nips++] = slots[i].ip;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_slot_cmp(const void *one, const void *two)
{
    const ngx_http_gamma_slot_t  *a = one, *b = two;

    ngx_int_t            rc;
    const gm_backend_t  *pa, *pb;

    pa = a->frontend->passthrough;
    pb = b->frontend->passthrough;

    rc = ngx_memn2cmp((u_char *) pa->ns.data, (u_char *) pb->ns.data,
                      pa->ns.len, pb->ns.len);
    if (rc) {
        return rc;
    }

    rc = ngx_memn2cmp((u_char *) pa->name.data, (u_char *) pb->name.data,
                      pa->name.len, pb->name.len);
    if (rc) {
        return rc;
    }

    if (a->frontend->port != b->frontend->port) {
        return (ngx_int_t) a->frontend->port - (ngx_int_t) b->frontend->port;
    }

    if (a->frontend != b->frontend) {
        return (uintptr_t) a->frontend < (uintptr_t) b->frontend ? -1 : 1;
    }

    return ngx_memcmp(&a->ip, &b->ip, sizeof(gm_addr_t));
}


static void
ngx_http_gamma_json_source(ngx_http_gamma_out_t *out, gm_snapshot_t *s)
{
    int                       k;
    const gm_source_stats_t  *st;

    st = s ? gm_snapshot_stats(s) : NULL;

    if (st == NULL) {
        ngx_http_gamma_out(out, "{\n\"synced\": false,\n\"generation\": 0");
        return;
    }

    ngx_http_gamma_out(out,
        "{\n\"synced\": %s,\n\"generation\": %uL,\n"
        "\"source\": {\"type\": \"%s\", \"first_sync\": %L.%03L, "
        "\"last_sync\": %L.%03L, \"watch_restarts\": %uL, "
        "\"relists\": %uL, \"objects\": {",
        st->synced ? "true" : "false", st->generation, st->source,
        st->first_sync_ms / 1000, st->first_sync_ms % 1000,
        st->sync_time_ms / 1000, st->sync_time_ms % 1000,
        st->watch_restarts, st->relists);

    for (k = 0; k < GM_KIND_MAX; k++) {
        ngx_http_gamma_out(out, "%s\"%s\": %uz", k ? ", " : "",
                           gm_kind_name(k), st->objects[k]);
    }

    ngx_http_gamma_out(out, "}},\n\"snapshot\": {\"bytes\": %uz, "
                       "\"compile_seconds\": %uL.%06uL}",
                       st->snapshot_bytes, st->compile_us / 1000000,
                       st->compile_us % 1000000);
}


static void
ngx_http_gamma_json_service(ngx_http_gamma_out_t *out,
    ngx_http_gamma_svc_t *svc)
{
    size_t                i, len;
    u_char                text[NGX_INET6_ADDRSTRLEN];
    const gm_frontend_t  *f;

    f = svc->frontend;

    ngx_http_gamma_out(out, "{\"namespace\": ");
    ngx_http_gamma_out_json(out, f->passthrough->ns.data,
                            f->passthrough->ns.len);
    ngx_http_gamma_out(out, ", \"name\": ");
    ngx_http_gamma_out_json(out, f->passthrough->name.data,
                            f->passthrough->name.len);
    ngx_http_gamma_out(out, ", \"port\": %ui, \"cluster_ips\": [",
                       (ngx_uint_t) f->port);

    for (i = 0; i < svc->nips; i++) {
        len = ngx_inet_ntop(svc->ips[i].family, svc->ips[i].addr, text,
                            sizeof(text));
        ngx_http_gamma_out(out, "%s\"%*s\"", i ? ", " : "", len, text);
    }

    ngx_http_gamma_out(out, "],\n \"passthrough\": ");
    ngx_http_gamma_json_backend(out, f->passthrough, 1, NULL);
    ngx_http_gamma_out(out, ",\n \"passthrough_effective\": ");
    ngx_http_gamma_json_effective(out, f->passthrough_policy, NULL,
                                  f->passthrough, &f->passthrough->label);

    ngx_http_gamma_out(out, ",\n \"producer\": ");
    ngx_http_gamma_json_table(out, f->producer);

    ngx_http_gamma_out(out, ",\n \"consumers\": [");

    for (i = 0; i < f->nconsumers; i++) {
        ngx_http_gamma_out(out, "%s{\"namespace\": ", i ? ", " : "");
        ngx_http_gamma_out_json(out, f->consumer_ns[i].data,
                                f->consumer_ns[i].len);
        ngx_http_gamma_out(out, ", \"table\": ");
        ngx_http_gamma_json_table(out, f->consumer[i]);
        ngx_http_gamma_out(out, "}");
    }

    ngx_http_gamma_out(out, "]}");
}


/* entries in precedence order: the first that matches wins */
static void
ngx_http_gamma_json_table(ngx_http_gamma_out_t *out,
    const gm_route_table_t *t)
{
    size_t            i;
    gm_match_view_t   mv;
    const gm_rule_t  *rule;

    if (t == NULL) {
        ngx_http_gamma_out(out, "null");
        return;
    }

    ngx_http_gamma_out(out, "[");

    for (i = 0; i < gm_route_table_nentries(t); i++) {
        rule = gm_route_table_entry(t, i, &mv);

        ngx_http_gamma_out(out, "%s\n  {\"route\": \"%s/%s\", \"rule\": ",
                           i ? "," : "", rule->route->ns.data,
                           rule->route->name.data);
        ngx_http_gamma_out_json(out, rule->label.data, rule->label.len);
        ngx_http_gamma_out(out, ", \"match\": ");
        ngx_http_gamma_json_match(out, &mv);
        ngx_http_gamma_json_rule(out, rule);
        ngx_http_gamma_out(out, ",\n   \"effective\": ");
        ngx_http_gamma_json_effective(out, mv.policy, rule, NULL, NULL);
        ngx_http_gamma_out(out, "}");
    }

    ngx_http_gamma_out(out, "]");
}


static void
ngx_http_gamma_json_match(ngx_http_gamma_out_t *out,
    const gm_match_view_t *mv)
{
    size_t          i;
    ngx_uint_t      h;
    gm_test_view_t  tv;

    ngx_http_gamma_out(out, "{\"path\": {\"type\": \"%s\", \"value\": ",
                       mv->path_type == GM_MATCH_PREFIX ? "PathPrefix"
                       : ngx_http_gamma_match_type_name(mv->path_type));
    ngx_http_gamma_out_json(out, mv->path.data, mv->path.len);
    ngx_http_gamma_out(out, "}");

    if (mv->method.len) {
        ngx_http_gamma_out(out, ", \"method\": ");
        ngx_http_gamma_out_json(out, mv->method.data, mv->method.len);
    }

    for (h = 1; h < 3; h++) {
        ngx_http_gamma_out(out, h == 1 ? ", \"headers\": ["
                                       : ", \"query_params\": [");

        for (i = 0; i < (h == 1 ? mv->nheaders : mv->nquery); i++) {
            gm_match_view_test(mv, h == 1, i, &tv);
            ngx_http_gamma_out(out, "%s{\"type\": \"%s\", \"name\": ",
                               i ? ", " : "",
                               ngx_http_gamma_match_type_name(tv.type));
            ngx_http_gamma_out_json(out, tv.name.data, tv.name.len);
            ngx_http_gamma_out(out, ", \"value\": ");
            ngx_http_gamma_out_json(out, tv.value.data, tv.value.len);
            ngx_http_gamma_out(out, "}");
        }

        ngx_http_gamma_out(out, "]");
    }

    ngx_http_gamma_out(out, "}");
}


static void
ngx_http_gamma_json_rule(ngx_http_gamma_out_t *out, const gm_rule_t *rule)
{
    size_t  i;

    ngx_http_gamma_out(out, ",\n   \"filters\": ");
    ngx_http_gamma_json_filters(out, rule->ext->filters);

    ngx_http_gamma_out(out, ", \"timeouts\": {");

    if (rule->ext->timeout_request_ms != GM_DURATION_UNSET) {
        ngx_http_gamma_out(out, "\"request_ms\": %L",
                           (int64_t) rule->ext->timeout_request_ms);
    }

    if (rule->ext->timeout_backend_ms != GM_DURATION_UNSET) {
        ngx_http_gamma_out(out, "%s\"backend_request_ms\": %L",
                           rule->ext->timeout_request_ms != GM_DURATION_UNSET
                           ? ", " : "",
                           (int64_t) rule->ext->timeout_backend_ms);
    }

    ngx_http_gamma_out(out, "}, \"retry\": ");

    if (!rule->has_retry) {
        ngx_http_gamma_out(out, "null");

    } else {
        ngx_http_gamma_out(out, "{\"attempts\": %uD, \"backoff_ms\": %L, "
                           "\"codes\": [", rule->ext->retry_attempts,
                           (int64_t) rule->ext->retry_backoff_ms);

        for (i = 0; i < rule->ext->nretry_codes; i++) {
            ngx_http_gamma_out(out, "%s%ui", i ? ", " : "",
                               (ngx_uint_t) rule->ext->retry_codes[i]);
        }

        ngx_http_gamma_out(out, "]}");
    }

    ngx_http_gamma_out(out, ",\n   \"backends\": [");

    for (i = 0; i < rule->nbackends; i++) {
        ngx_http_gamma_out(out, i ? ", " : "");
        ngx_http_gamma_json_backend(out, rule->backends[i].backend,
                                    rule->backends[i].weight,
                                    gm_rule_backend_filters(rule, i));
    }

    ngx_http_gamma_out(out, "]");
}


static void
ngx_http_gamma_json_filters(ngx_http_gamma_out_t *out, const gm_filters_t *f)
{
    size_t  i;

    ngx_http_gamma_out(out, "[");

    for (i = 0; f && i < f->nfilters; i++) {
        ngx_http_gamma_out(out, "%s\"%s\"", i ? ", " : "",
                           ngx_http_gamma_filter_name(f->filters[i].type));
    }

    ngx_http_gamma_out(out, "]");
}


static void
ngx_http_gamma_json_backend(ngx_http_gamma_out_t *out, const gm_backend_t *b,
    uint32_t weight, const gm_filters_t *f)
{
    size_t  i;

    if (b == NULL) {
        ngx_http_gamma_out(out, "null");
        return;
    }

    ngx_http_gamma_out(out, "{\"service\": ");
    ngx_http_gamma_out_json(out, b->label.data, b->label.len);
    ngx_http_gamma_out(out, ", \"weight\": %uD, \"status\": \"%s\", "
                       "\"filters\": ", weight,
                       ngx_http_gamma_backend_status_name(b->status));
    ngx_http_gamma_json_filters(out, f);
    ngx_http_gamma_out(out, ", \"endpoints\": [");

    for (i = 0; i < b->nendpoints; i++) {
        ngx_http_gamma_out(out, i ? ", " : "");
        ngx_http_gamma_out_json(out, b->endpoints[i].text,
                                b->endpoints[i].text_len);
    }

    ngx_http_gamma_out(out, "]}");
}


static void
ngx_http_gamma_json_rejected(ngx_http_gamma_out_t *out,
    const gm_source_stats_t *st)
{
    size_t              i;
    const gm_reject_t  *rj;

    ngx_http_gamma_out(out, "\"rejected\": [");

    for (i = 0; st && i < st->nrejects; i++) {
        rj = &st->rejects[i];

        ngx_http_gamma_out(out, "%s\n {\"kind\": \"%s\", \"namespace\": ",
                           i ? "," : "", gm_kind_name(rj->kind));
        ngx_http_gamma_out_json(out, rj->ns.data, rj->ns.len);
        ngx_http_gamma_out(out, ", \"name\": ");
        ngx_http_gamma_out_json(out, rj->name.data, rj->name.len);
        ngx_http_gamma_out(out, ", \"reason\": \"%s\", \"message\": ",
                           gm_reject_reason_name(rj->reason));
        ngx_http_gamma_out_json(out, rj->message.data, rj->message.len);
        ngx_http_gamma_out(out, "}");
    }

    ngx_http_gamma_out(out, "]\n");
}


const char *
ngx_http_gamma_match_type_name(gm_match_type_e type)
{
    switch (type) {
    case GM_MATCH_EXACT:
        return "Exact";
    case GM_MATCH_PREFIX:
        return "Prefix";
    default:
        return "RegularExpression";
    }
}


const char *
ngx_http_gamma_filter_name(gm_filter_type_e type)
{
    static const char  *names[] = {
        "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror",
        "RequestRedirect", "URLRewrite", "CORS", "ExtensionRef",
        "ExternalAuth"
    };

    return (unsigned) type < sizeof(names) / sizeof(names[0])
           ? names[type] : "Unknown";
}


const char *
ngx_http_gamma_backend_status_name(gm_backend_status_e st)
{
    switch (st) {
    case GM_BACKEND_OK:
        return "ok";
    case GM_BACKEND_NOT_FOUND:
        return "not_found";
    case GM_BACKEND_INVALID:
        return "invalid";
    default:
        return "no_endpoints";
    }
}


void
ngx_http_gamma_out_init(ngx_http_gamma_out_t *out, ngx_pool_t *pool)
{
    ngx_memzero(out, sizeof(ngx_http_gamma_out_t));

    out->pool = pool;
    out->last = &out->first;
}


void
ngx_http_gamma_out(ngx_http_gamma_out_t *out, const char *fmt, ...)
{
    va_list  args;

    if (ngx_http_gamma_out_reserve(out, NGX_HTTP_GAMMA_OUT_LINE) != NGX_OK) {
        return;
    }

    va_start(args, fmt);
    out->buf->last = ngx_vslprintf(out->buf->last, out->buf->end, fmt, args);
    va_end(args);
}


void
ngx_http_gamma_out_json(ngx_http_gamma_out_t *out, const char *s,
    size_t len)
{
    u_char  *p, c;
    size_t   i;

    if (ngx_http_gamma_out_reserve(out, len * 6 + 2) != NGX_OK) {
        return;
    }

    p = out->buf->last;
    *p++ = '"';

    for (i = 0; i < len; i++) {
        c = (u_char) s[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;

        } else if (c < 0x20) {
            p = ngx_sprintf(p, "\\u%04xd", (ngx_uint_t) c);

        } else {
            *p++ = c;
        }
    }

    *p++ = '"';
    out->buf->last = p;
}


void
ngx_http_gamma_out_html(ngx_http_gamma_out_t *out, const char *s,
    size_t len)
{
    if (ngx_http_gamma_out_reserve(out, len * 6) != NGX_OK) {
        return;
    }

    out->buf->last = (u_char *) ngx_escape_html(out->buf->last,
                                                (u_char *) s, len);
}


static ngx_int_t
ngx_http_gamma_out_reserve(ngx_http_gamma_out_t *out, size_t n)
{
    size_t        size;
    ngx_chain_t  *cl;

    if (out->failed) {
        return NGX_ERROR;
    }

    if (out->buf && (size_t) (out->buf->end - out->buf->last) >= n) {
        return NGX_OK;
    }

    size = ngx_max(n, NGX_HTTP_GAMMA_OUT_CHUNK);

    cl = ngx_alloc_chain_link(out->pool);
    if (cl == NULL) {
        out->failed = 1;
        return NGX_ERROR;
    }

    cl->buf = ngx_create_temp_buf(out->pool, size);
    if (cl->buf == NULL) {
        out->failed = 1;
        return NGX_ERROR;
    }

    cl->next = NULL;
    *out->last = cl;
    out->last = &cl->next;
    out->buf = cl->buf;

    return NGX_OK;
}


ngx_int_t
ngx_http_gamma_out_send(ngx_http_request_t *r, ngx_http_gamma_out_t *out,
    ngx_uint_t status, const char *type)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    if (out->failed || ngx_http_gamma_out_reserve(out, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 0;

    for (cl = out->first; cl; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
        cl->buf->memory = 1;
    }

    out->buf->last_buf = (r == r->main) ? 1 : 0;
    out->buf->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    /* it changes with every request: never cached */
    if (ngx_http_gamma_header_out(r, "Cache-Control",
                                  &(ngx_str_t) ngx_string("no-store"), 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out->first);
}
