/*
 * nginx-gamma: the admin page, "gamma_status;" for a browser.  The same
 * data as the JSON dump, as one HTML page: no script, no external asset.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_metrics.h"
#include "gm_filter.h"


static void ngx_http_gamma_html_head(ngx_http_gamma_out_t *out,
    gm_snapshot_t *s);
static void ngx_http_gamma_html_service(ngx_http_gamma_out_t *out,
    ngx_http_gamma_svc_t *svc);
static void ngx_http_gamma_html_table(ngx_http_gamma_out_t *out,
    const char *title, const gm_str_t *ns, const gm_route_table_t *t);
static void ngx_http_gamma_html_match(ngx_http_gamma_out_t *out,
    const gm_match_view_t *mv);
static void ngx_http_gamma_html_policy(ngx_http_gamma_out_t *out,
    const gm_rule_t *rule);
static void ngx_http_gamma_html_backend(ngx_http_gamma_out_t *out,
    const gm_backend_t *b, uint32_t weight);
static void ngx_http_gamma_html_filters(ngx_http_gamma_out_t *out,
    const gm_filters_t *f);
static void ngx_http_gamma_html_rejected(ngx_http_gamma_out_t *out,
    const gm_source_stats_t *st);
static void ngx_http_gamma_html_str(ngx_http_gamma_out_t *out,
    const gm_str_t *s);


static const char  ngx_http_gamma_html_style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1em}"
    "td,th{border:1px solid #bbb;padding:.2em .5em;vertical-align:top;"
    "text-align:left}"
    "th{background:#eee}section{border-top:2px solid #888;margin-top:1em}"
    ".bad{color:#a00}.ok{color:#060}code{font-size:95%}";


ngx_int_t
ngx_http_gamma_status_html(ngx_http_request_t *r, gm_snapshot_t *s,
    ngx_array_t *svcs, ngx_http_gamma_out_t *out)
{
    ngx_uint_t             i;
    ngx_http_gamma_svc_t  *svc;

    ngx_http_gamma_html_head(out, s);

    svc = svcs->elts;

    ngx_http_gamma_out(out, "<h2>Services (%ui ports)</h2>\n",
                       svcs->nelts);

    for (i = 0; i < svcs->nelts; i++) {
        ngx_http_gamma_html_service(out, &svc[i]);
    }

    ngx_http_gamma_html_route_status(out, s);
    ngx_http_gamma_html_rejected(out, s ? gm_snapshot_stats(s) : NULL);
    ngx_http_gamma_out(out, "</body>\n</html>\n");

    return ngx_http_gamma_out_send(r, out, NGX_HTTP_OK,
                                   "text/html; charset=utf-8");
}


static void
ngx_http_gamma_html_head(ngx_http_gamma_out_t *out, gm_snapshot_t *s)
{
    int                       k;
    ngx_tm_t                  tm;
    const gm_source_stats_t  *st;

    ngx_http_gamma_out(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>"
                       "<meta charset=\"utf-8\"><title>nginx-gamma "
                       "status</title><style>%s</style></head>\n<body>\n"
                       "<h1>nginx-gamma</h1>\n", ngx_http_gamma_html_style);

    st = s ? gm_snapshot_stats(s) : NULL;

    if (st == NULL) {
        ngx_http_gamma_out(out, "<p class=\"bad\" id=\"sync\">Not synced: "
                           "no mesh state yet.</p>\n");
        return;
    }

    ngx_gmtime((time_t) (st->sync_time_ms / 1000), &tm);

    ngx_http_gamma_out(out, "<p class=\"%s\" id=\"sync\">%s: "
                       "generation %uL from the %s source, built "
                       "%4d-%02d-%02d %02d:%02d:%02d UTC, compiled in "
                       "%uL.%06uL s, %uz bytes.</p>\n<p>Objects:",
                       st->synced ? "ok" : "bad",
                       st->synced ? "Synced"
                                  : "Not synced (a manifest could not be "
                                    "read yet)",
                       st->generation, st->source,
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                       st->compile_us / 1000000, st->compile_us % 1000000,
                       st->snapshot_bytes);

    for (k = 0; k < GM_KIND_MAX; k++) {
        ngx_http_gamma_out(out, "%s %uz %s", k ? "," : "", st->objects[k],
                           gm_kind_name(k));
    }

    ngx_http_gamma_out(out, "; rejected or partly left out: %uz.</p>\n",
                       st->nrejects);
}


static void
ngx_http_gamma_html_service(ngx_http_gamma_out_t *out,
    ngx_http_gamma_svc_t *svc)
{
    size_t                i, len;
    u_char                text[NGX_INET6_ADDRSTRLEN];
    const gm_frontend_t  *f;

    f = svc->frontend;

    ngx_http_gamma_out(out, "<section>\n<h3>Service ");
    ngx_http_gamma_html_str(out, &f->passthrough->label);
    ngx_http_gamma_out(out, "</h3>\n<p>ClusterIPs:");

    for (i = 0; i < svc->nips; i++) {
        len = ngx_inet_ntop(svc->ips[i].family, svc->ips[i].addr, text,
                            sizeof(text));
        ngx_http_gamma_out(out, " <code>%*s</code>", len, text);
    }

    ngx_http_gamma_out(out, "</p>\n<p>Its own endpoints (when no route "
                       "applies): ");
    ngx_http_gamma_html_backend(out, f->passthrough, 0);
    ngx_http_gamma_out(out, "</p>\n<p>Its settings:");
    ngx_http_gamma_html_effective(out, f->passthrough_policy, NULL,
                                  f->passthrough, &f->passthrough->label);
    ngx_http_gamma_out(out, "</p>\n");

    ngx_http_gamma_html_table(out, "Producer routes", NULL, f->producer);

    for (i = 0; i < f->nconsumers; i++) {
        ngx_http_gamma_html_table(out, "Consumer routes for clients in "
                                  "namespace ", &f->consumer_ns[i],
                                  f->consumer[i]);
    }

    ngx_http_gamma_out(out, "</section>\n");
}


static void
ngx_http_gamma_html_table(ngx_http_gamma_out_t *out, const char *title,
    const gm_str_t *ns, const gm_route_table_t *t)
{
    size_t            i, j;
    gm_match_view_t   mv;
    const gm_rule_t  *rule;

    ngx_http_gamma_out(out, "<h4>%s", title);

    if (ns) {
        ngx_http_gamma_html_str(out, ns);
    }

    if (t == NULL) {
        ngx_http_gamma_out(out, "</h4>\n<p>None: requests pass through to "
                           "the Service's endpoints.</p>\n");
        return;
    }

    ngx_http_gamma_out(out, " (in precedence order)</h4>\n<table>\n<tr>"
                       "<th>#</th><th>Route</th><th>Rule</th><th>Match</th>"
                       "<th>Filters</th><th>Timeouts, retry; effective "
                       "policy values</th>"
                       "<th>Backends (weight): endpoints</th></tr>\n");

    for (i = 0; i < gm_route_table_nentries(t); i++) {
        rule = gm_route_table_entry(t, i, &mv);

        ngx_http_gamma_out(out, "<tr><td>%uz</td><td>", i + 1);
        ngx_http_gamma_html_str(out, &rule->route->ns);
        ngx_http_gamma_out(out, "/");
        ngx_http_gamma_html_str(out, &rule->route->name);
        ngx_http_gamma_out(out, "</td><td>");
        ngx_http_gamma_html_str(out, &rule->label);
        ngx_http_gamma_out(out, "</td><td>");
        ngx_http_gamma_html_match(out, &mv);
        ngx_http_gamma_out(out, "</td><td>");
        ngx_http_gamma_html_filters(out, rule->ext->filters);
        ngx_http_gamma_out(out, "</td><td>");
        ngx_http_gamma_html_policy(out, rule);
        ngx_http_gamma_html_effective(out, mv.policy, rule, NULL, NULL);
        ngx_http_gamma_out(out, "</td><td>");

        for (j = 0; j < rule->nbackends; j++) {
            ngx_http_gamma_out(out, j ? "<br>" : "");
            ngx_http_gamma_html_backend(out, rule->backends[j].backend,
                                        rule->backends[j].weight);
        }

        if (rule->nbackends == 0) {
            ngx_http_gamma_out(out, "none");
        }

        ngx_http_gamma_out(out, "</td></tr>\n");
    }

    ngx_http_gamma_out(out, "</table>\n");
}


static void
ngx_http_gamma_html_match(ngx_http_gamma_out_t *out,
    const gm_match_view_t *mv)
{
    size_t          i;
    ngx_uint_t      h;
    gm_test_view_t  tv;

    ngx_http_gamma_out(out, "path %s <code>",
                       mv->path_type == GM_MATCH_PREFIX ? "PathPrefix"
                       : ngx_http_gamma_match_type_name(mv->path_type));
    ngx_http_gamma_html_str(out, &mv->path);
    ngx_http_gamma_out(out, "</code>");

    if (mv->method.len) {
        ngx_http_gamma_out(out, "<br>method ");
        ngx_http_gamma_html_str(out, &mv->method);
    }

    for (h = 1; h < 3; h++) {
        for (i = 0; i < (h == 1 ? mv->nheaders : mv->nquery); i++) {
            gm_match_view_test(mv, h == 1, i, &tv);
            ngx_http_gamma_out(out, "<br>%s %s <code>",
                               h == 1 ? "header" : "query",
                               ngx_http_gamma_match_type_name(tv.type));
            ngx_http_gamma_html_str(out, &tv.name);
            ngx_http_gamma_out(out, "=");
            ngx_http_gamma_html_str(out, &tv.value);
            ngx_http_gamma_out(out, "</code>");
        }
    }
}


static void
ngx_http_gamma_html_policy(ngx_http_gamma_out_t *out, const gm_rule_t *rule)
{
    ngx_uint_t  any;

    any = 0;

    if (rule->ext->timeout_request_ms != GM_DURATION_UNSET) {
        ngx_http_gamma_out(out, "request %L ms",
                           (int64_t) rule->ext->timeout_request_ms);
        any = 1;
    }

    if (rule->ext->timeout_backend_ms != GM_DURATION_UNSET) {
        ngx_http_gamma_out(out, "%sbackend request %L ms", any ? "<br>" : "",
                           (int64_t) rule->ext->timeout_backend_ms);
        any = 1;
    }

    if (rule->has_retry) {
        ngx_http_gamma_out(out, "%sretry %uD times", any ? "<br>" : "",
                           rule->ext->retry_attempts);
        any = 1;
    }

    if (!any) {
        ngx_http_gamma_out(out, "none");
    }
}


/* weight 0: the Service's own endpoints, no weight to show */
static void
ngx_http_gamma_html_backend(ngx_http_gamma_out_t *out, const gm_backend_t *b,
    uint32_t weight)
{
    size_t  i;

    if (b == NULL) {
        ngx_http_gamma_out(out, "none");
        return;
    }

    ngx_http_gamma_out(out, "<code>");
    ngx_http_gamma_html_str(out, &b->label);
    ngx_http_gamma_out(out, "</code>");

    if (weight) {
        ngx_http_gamma_out(out, " (%uD)", weight);
    }

    if (b->status != GM_BACKEND_OK) {
        ngx_http_gamma_out(out, " <span class=\"bad\">%s</span>",
                           ngx_http_gamma_backend_status_name(b->status));
        return;
    }

    ngx_http_gamma_out(out, ":");

    for (i = 0; i < b->nendpoints; i++) {
        ngx_http_gamma_out(out, " <code>");
        ngx_http_gamma_out_html(out, b->endpoints[i].text,
                                b->endpoints[i].text_len);
        ngx_http_gamma_out(out, "</code>");
    }
}


static void
ngx_http_gamma_html_filters(ngx_http_gamma_out_t *out, const gm_filters_t *f)
{
    size_t  i;

    if (f == NULL || f->nfilters == 0) {
        ngx_http_gamma_out(out, "none");
        return;
    }

    for (i = 0; i < f->nfilters; i++) {
        ngx_http_gamma_out(out, "%s%s", i ? "<br>" : "",
                           ngx_http_gamma_filter_name(f->filters[i].type));
    }
}


static void
ngx_http_gamma_html_rejected(ngx_http_gamma_out_t *out,
    const gm_source_stats_t *st)
{
    size_t              i;
    const gm_reject_t  *rj;

    ngx_http_gamma_out(out, "<h2>Rejected objects</h2>\n");

    if (st == NULL || st->nrejects == 0) {
        ngx_http_gamma_out(out, "<p>None.</p>\n");
        return;
    }

    ngx_http_gamma_out(out, "<table>\n<tr><th>Kind</th><th>Object</th>"
                       "<th>Reason</th><th>Message</th></tr>\n");

    for (i = 0; i < st->nrejects; i++) {
        rj = &st->rejects[i];

        ngx_http_gamma_out(out, "<tr><td>%s</td><td>",
                           gm_kind_name(rj->kind));
        ngx_http_gamma_html_str(out, &rj->ns);
        ngx_http_gamma_out(out, "/");
        ngx_http_gamma_html_str(out, &rj->name);
        ngx_http_gamma_out(out, "</td><td class=\"bad\">%s</td><td>",
                           gm_reject_reason_name(rj->reason));
        ngx_http_gamma_html_str(out, &rj->message);
        ngx_http_gamma_out(out, "</td></tr>\n");
    }

    ngx_http_gamma_out(out, "</table>\n");
}


static void
ngx_http_gamma_html_str(ngx_http_gamma_out_t *out, const gm_str_t *s)
{
    ngx_http_gamma_out_html(out, s->data, s->len);
}
