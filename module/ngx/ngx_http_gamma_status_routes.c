/*
 * nginx-gamma: the status conditions of routes and policies (what the
 * status writer writes to the API, gm_route_status.h) in the status dump
 * and on the admin page: one entry per (object, parentRef or ancestor).
 * "?service=ns/name" keeps the entries whose parent is that Service.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_metrics.h"
#include "gm_route_status.h"


static ngx_int_t ngx_http_gamma_route_status_wanted(
    const gm_status_entry_t *e, ngx_str_t *only);
static void ngx_http_gamma_json_parent(ngx_http_gamma_out_t *out,
    const gm_status_entry_t *e);
static void ngx_http_gamma_html_parent(ngx_http_gamma_out_t *out,
    const gm_status_entry_t *e);


void
ngx_http_gamma_json_route_status(ngx_http_gamma_out_t *out, gm_snapshot_t *s,
    ngx_str_t *only)
{
    char                      buf[GM_STATUS_MESSAGE_MAX];
    size_t                    i, j, n;
    gm_str_t                  msg;
    gm_status_list_t          list;
    const gm_condition_t     *c;
    const gm_status_entry_t  *e;

    gm_snapshot_status(s, &list);

    ngx_http_gamma_out(out, "\"route_status\": [");

    for (i = 0, n = 0; i < list.n; i++) {
        e = gm_status_at(&list, i);

        if (!ngx_http_gamma_route_status_wanted(e, only)) {
            continue;
        }

        ngx_http_gamma_out(out, "%s\n {\"kind\": ", n++ ? "," : "");
        ngx_http_gamma_out_json(out, e->kind, ngx_strlen(e->kind));
        ngx_http_gamma_out(out, ", \"namespace\": ");
        ngx_http_gamma_out_json(out, e->ns.data, e->ns.len);
        ngx_http_gamma_out(out, ", \"name\": ");
        ngx_http_gamma_out_json(out, e->name.data, e->name.len);
        ngx_http_gamma_out(out, ", \"generation\": %L, \"%s\": ",
                           (int64_t) e->generation,
                           e->ancestors ? "ancestor" : "parent");
        ngx_http_gamma_json_parent(out, e);
        ngx_http_gamma_out(out, ", \"conditions\": [");

        for (j = 0; j < e->nconds; j++) {
            c = &e->conds[j];

            ngx_http_gamma_out(out, "%s{\"type\": \"%s\", "
                               "\"status\": \"%s\", \"reason\": \"%s\", "
                               "\"message\": ",
                               j ? ", " : "", c->type,
                               c->status ? "True" : "False", c->reason);
            gm_condition_message(e, c, buf, &msg);
            ngx_http_gamma_out_json(out, msg.data, msg.len);
            ngx_http_gamma_out(out, "}");
        }

        ngx_http_gamma_out(out, "]}");
    }

    ngx_http_gamma_out(out, "]");
}


void
ngx_http_gamma_html_route_status(ngx_http_gamma_out_t *out, gm_snapshot_t *s)
{
    char                      buf[GM_STATUS_MESSAGE_MAX];
    size_t                    i, j;
    gm_str_t                  msg;
    gm_status_list_t          list;
    const gm_condition_t     *c;
    const gm_status_entry_t  *e;

    gm_snapshot_status(s, &list);

    ngx_http_gamma_out(out, "<h2>Route status</h2>\n");

    if (list.n == 0) {
        ngx_http_gamma_out(out, "<p>None.</p>\n");
        return;
    }

    ngx_http_gamma_out(out, "<table>\n<tr><th>Kind</th><th>Object</th>"
                       "<th>Parent</th><th>Conditions</th></tr>\n");

    for (i = 0; i < list.n; i++) {
        e = gm_status_at(&list, i);

        ngx_http_gamma_out(out, "<tr><td>");
        ngx_http_gamma_out_html(out, e->kind, ngx_strlen(e->kind));
        ngx_http_gamma_out(out, "</td><td>");
        ngx_http_gamma_out_html(out, e->ns.data, e->ns.len);
        ngx_http_gamma_out(out, "/");
        ngx_http_gamma_out_html(out, e->name.data, e->name.len);
        ngx_http_gamma_out(out, "</td><td>");
        ngx_http_gamma_html_parent(out, e);
        ngx_http_gamma_out(out, "</td><td>");

        for (j = 0; j < e->nconds; j++) {
            c = &e->conds[j];

            ngx_http_gamma_out(out, "%s<span class=\"%s\">%s=%s</span> "
                               "%s: ",
                               j ? "<br>" : "", c->status ? "ok" : "bad",
                               c->type, c->status ? "True" : "False",
                               c->reason);
            gm_condition_message(e, c, buf, &msg);
            ngx_http_gamma_out_html(out, msg.data, msg.len);
        }

        ngx_http_gamma_out(out, "</td></tr>\n");
    }

    ngx_http_gamma_out(out, "</table>\n");
}


/* with ?service=ns/name: only the entries whose parent is that Service */
static ngx_int_t
ngx_http_gamma_route_status_wanted(const gm_status_entry_t *e,
    ngx_str_t *only)
{
    const gm_parent_ref_t  *ref;

    if (only == NULL || only->len == 0) {
        return 1;
    }

    ref = &e->ref;

    return ref->gk->kind.len == 7
           && ngx_strncmp(ref->gk->kind.data, "Service", 7) == 0
           && only->len == ref->ns.len + 1 + ref->name.len
           && ngx_strncmp(only->data, ref->ns.data, ref->ns.len) == 0
           && only->data[ref->ns.len] == '/'
           && ngx_strncmp(only->data + ref->ns.len + 1, ref->name.data,
                          ref->name.len) == 0;
}


static void
ngx_http_gamma_json_parent(ngx_http_gamma_out_t *out,
    const gm_status_entry_t *e)
{
    const gm_parent_ref_t  *ref;

    ref = &e->ref;

    ngx_http_gamma_out(out, "{\"kind\": ");
    ngx_http_gamma_out_json(out, ref->gk->kind.data, ref->gk->kind.len);
    ngx_http_gamma_out(out, ", \"namespace\": ");
    ngx_http_gamma_out_json(out, ref->ns.data, ref->ns.len);
    ngx_http_gamma_out(out, ", \"name\": ");
    ngx_http_gamma_out_json(out, ref->name.data, ref->name.len);

    if (ref->port) {
        ngx_http_gamma_out(out, ", \"port\": %ui", (ngx_uint_t) ref->port);
    }

    if (ref->section_name[0] != '\0') {
        ngx_http_gamma_out(out, ", \"sectionName\": ");
        ngx_http_gamma_out_json(out, ref->section_name,
                                ngx_strlen(ref->section_name));
    }

    ngx_http_gamma_out(out, "}");
}


static void
ngx_http_gamma_html_parent(ngx_http_gamma_out_t *out,
    const gm_status_entry_t *e)
{
    const gm_parent_ref_t  *ref;

    ref = &e->ref;

    ngx_http_gamma_out_html(out, ref->gk->kind.data, ref->gk->kind.len);
    ngx_http_gamma_out(out, " ");
    ngx_http_gamma_out_html(out, ref->ns.data, ref->ns.len);
    ngx_http_gamma_out(out, "/");
    ngx_http_gamma_out_html(out, ref->name.data, ref->name.len);

    if (ref->port) {
        ngx_http_gamma_out(out, ":%ui", (ngx_uint_t) ref->port);
    }

    if (ref->section_name[0] != '\0') {
        ngx_http_gamma_out(out, " (");
        ngx_http_gamma_out_html(out, ref->section_name,
                                ngx_strlen(ref->section_name));
        ngx_http_gamma_out(out, ")");
    }
}
