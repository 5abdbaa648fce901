/*
 * nginx-gamma: the effective policy values in the status dump and on the
 * admin page, per route rule and per Service passthrough: each field the
 * five levels set (gm_compile_policy.c), the level and policy that set
 * it, the variants for clients of namespaces with consumer policies, and
 * the sessionPersistence each backend gets (the rule's, else its
 * XBackendTrafficPolicy's).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_metrics.h"
#include "gm_session.h"


static void ngx_http_gamma_json_eff(ngx_http_gamma_out_t *out,
    const gm_effective_t *e);
static ngx_uint_t ngx_http_gamma_value_text(const gm_policy_values_t *v,
    uint32_t bit, ngx_str_t *text, u_char *buf, size_t size);
static void ngx_http_gamma_json_sessions(ngx_http_gamma_out_t *out,
    const gm_rule_t *rule, const gm_backend_t *passthrough,
    const gm_str_t *scope);
static void ngx_http_gamma_html_eff(ngx_http_gamma_out_t *out,
    const gm_effective_t *e);
static ngx_int_t ngx_http_gamma_policy_name(const gm_effective_t *e,
    ngx_uint_t f, ngx_str_t *name);
static const char *ngx_http_gamma_origin_name(ngx_uint_t o);
static const char *ngx_http_gamma_origin_target(ngx_uint_t o);
static void ngx_http_gamma_session_text(const gm_session_t *s,
    const gm_rule_t *rule, const gm_str_t *scope, ngx_str_t *name,
    ngx_str_t *path, u_char *buf);


/* retry codes: at most GM_POLICY_MAX_CODES of 5 bytes */
#define NGX_HTTP_GAMMA_VALUE_MAX  (GM_POLICY_MAX_CODES * 5 + 16)


static const char  *ngx_http_gamma_tlevels[] = {
    "Service", "Service port", "HTTPRoute", "rule"
};

static const char  *ngx_http_gamma_scopes[] = {
    "*", "namespace", "service", "service port", "route", "rule"
};


/*
 * {"policies": "ns/a,ns/b", "fields": [...], "by_namespace": [...],
 *  "session_persistence": [...]}; rule NULL: the passthrough backend
 */
void
ngx_http_gamma_json_effective(ngx_http_gamma_out_t *out,
    const gm_policy_set_t *set, const gm_rule_t *rule,
    const gm_backend_t *passthrough, const gm_str_t *scope)
{
    size_t  i;

    ngx_http_gamma_out(out, "{");

    if (set != NULL && set->all != NULL) {
        ngx_http_gamma_json_eff(out, set->all);

    } else {
        ngx_http_gamma_out(out, "\"policies\": \"\", \"fields\": []");
    }

    ngx_http_gamma_out(out, ", \"by_namespace\": [");

    for (i = 0; set != NULL && i < set->nns; i++) {
        ngx_http_gamma_out(out, "%s{\"namespace\": ", i ? ", " : "");
        ngx_http_gamma_out_json(out, set->ns[i].data, set->ns[i].len);
        ngx_http_gamma_out(out, ", ");
        ngx_http_gamma_json_eff(out, set->by_ns[i]);
        ngx_http_gamma_out(out, "}");
    }

    ngx_http_gamma_out(out, "], \"session_persistence\": ");
    ngx_http_gamma_json_sessions(out, rule, passthrough, scope);
    ngx_http_gamma_out(out, "}");
}


static void
ngx_http_gamma_json_eff(ngx_http_gamma_out_t *out, const gm_effective_t *e)
{
    u_char      buf[NGX_HTTP_GAMMA_VALUE_MAX];
    ngx_str_t   name, text;
    ngx_uint_t  f, n, o;
    uint32_t    bit;

    ngx_http_gamma_out(out, "\"policies\": ");
    ngx_http_gamma_out_json(out, e->policies.data, e->policies.len);
    ngx_http_gamma_out(out, ", \"fields\": [");

    for (f = 0, n = 0, bit = 1; f < GM_PF_COUNT; f++, bit <<= 1) {
        if (!(e->v.set & bit)) {
            continue;
        }

        o = e->origin[f];

        ngx_http_gamma_out(out, "%s{\"field\": \"%s\", \"value\": ",
                           n++ ? ", " : "",
                           bit == GM_PF_RETRY_STANZA
                           ? "retry" : gm_policy_field_name(bit));

        if (ngx_http_gamma_value_text(&e->v, bit, &text, buf, sizeof(buf))) {
            ngx_http_gamma_out_json(out, (char *) text.data, text.len);

        } else {
            ngx_http_gamma_out(out, "%V", &text);
        }

        ngx_http_gamma_out(out, ", \"level\": %ui, \"from\": \"%s\"",
                           (ngx_uint_t) gm_origin_level(o),
                           ngx_http_gamma_origin_name(o));

        if (gm_origin_level(o) != GM_ORIGIN_RULE) {
            ngx_http_gamma_out(out, ", \"%s\": \"%s\"",
                               (gm_origin_level(o) == GM_ORIGIN_OVERRIDE
                                || gm_origin_level(o) == GM_ORIGIN_DEFAULT)
                               ? "target" : "scope",
                               ngx_http_gamma_origin_target(o));
        }

        if (ngx_http_gamma_policy_name(e, f, &name) == NGX_OK) {
            ngx_http_gamma_out(out, ", \"policy\": ");
            ngx_http_gamma_out_json(out, (char *) name.data, name.len);
            ngx_http_gamma_out(out, ", \"consumer\": %s",
                               gm_origin_consumer(o) ? "true" : "false");
        }

        ngx_http_gamma_out(out, "}");
    }

    ngx_http_gamma_out(out, "]");
}


/* a field's value as text; 1 when it is a JSON string */
static ngx_uint_t
ngx_http_gamma_value_text(const gm_policy_values_t *v, uint32_t bit,
    ngx_str_t *text, u_char *buf, size_t size)
{
    u_char      *p, *last;
    size_t       i;
    ngx_uint_t   str;

    static const char  *lb[] = {
        "", "RoundRobin", "LeastRequest", "ConsistentHash"
    };

    p = buf;
    last = buf + size;
    str = 1;

    switch (bit) {

    case GM_PF_TIMEOUT_REQUEST:
        p = ngx_slprintf(p, last, "%Lms", (int64_t) v->timeout_request_ms);
        break;

    case GM_PF_TIMEOUT_BACKEND:
        p = ngx_slprintf(p, last, "%Lms", (int64_t) v->timeout_backend_ms);
        break;

    case GM_PF_TIMEOUT_CONNECT:
        p = ngx_slprintf(p, last, "%Lms", (int64_t) v->timeout_connect_ms);
        break;

    case GM_PF_TIMEOUT_IDLE:
        p = ngx_slprintf(p, last, "%Lms", (int64_t) v->timeout_idle_ms);
        break;

    case GM_PF_RETRY_BACKOFF:
        p = ngx_slprintf(p, last, "%Lms", (int64_t) v->retry_backoff_ms);
        break;

    case GM_PF_RETRY_ATTEMPTS:
        p = ngx_slprintf(p, last, "%uD", v->retry_attempts);
        str = 0;
        break;

    case GM_PF_RETRY_CODES:
        p = ngx_slprintf(p, last, "[");

        for (i = 0; i < v->nretry_codes; i++) {
            p = ngx_slprintf(p, last, "%s%ui", i ? ", " : "",
                             (ngx_uint_t) v->retry_codes[i]);
        }

        p = ngx_slprintf(p, last, "]");
        str = 0;
        break;

    case GM_PF_RATE_REQUESTS:
        p = ngx_slprintf(p, last, "%uD", v->rate_requests);
        str = 0;
        break;

    case GM_PF_RATE_BURST:
        p = ngx_slprintf(p, last, "%uD", v->rate_burst);
        str = 0;
        break;

    case GM_PF_RATE_UNIT:
        p = ngx_slprintf(p, last, "%s",
                         v->rate_unit_s == 60 ? "Minute" : "Second");
        break;

    case GM_PF_LB_TYPE:
        p = ngx_slprintf(p, last, "%s", v->lb_type <= GM_LB_CONSISTENT_HASH
                                        ? lb[v->lb_type] : "");
        break;

    case GM_PF_LB_HEADER:
        p = ngx_slprintf(p, last, "%*s", v->lb_header.len, v->lb_header.data);
        break;

    case GM_PF_LB_COOKIE:
        p = ngx_slprintf(p, last, "%*s", v->lb_cookie.len, v->lb_cookie.data);
        break;

    default:
        /* the rule's retry stanza without fields: retries on errors */
        p = ngx_slprintf(p, last, "true");
        str = 0;
        break;
    }

    text->data = buf;
    text->len = p - buf;

    return str;
}


/* what each backend's requests get: the rule's, else its policy's */
static void
ngx_http_gamma_json_sessions(ngx_http_gamma_out_t *out, const gm_rule_t *rule,
    const gm_backend_t *passthrough, const gm_str_t *scope)
{
    u_char               buf[GM_SESSION_NAME_LEN];
    size_t               i, n, nb;
    ngx_str_t            name, path;
    const gm_backend_t  *b;
    const gm_session_t  *s;

    nb = rule ? rule->nbackends : (passthrough != NULL);

    ngx_http_gamma_out(out, "[");

    for (i = 0, n = 0; i < nb; i++) {
        b = rule ? rule->backends[i].backend : passthrough;
        s = gm_session_effective(rule, b);

        if (s == NULL) {
            continue;
        }

        ngx_http_gamma_session_text(s, rule, scope, &name, &path, buf);

        ngx_http_gamma_out(out, "%s{\"backend\": ", n++ ? ", " : "");
        ngx_http_gamma_out_json(out, b->label.data, b->label.len);
        ngx_http_gamma_out(out, ", \"type\": \"%s\", \"name\": ",
                           s->type == GM_SESSION_HEADER ? "Header"
                                                        : "Cookie");
        ngx_http_gamma_out_json(out, (char *) name.data, name.len);

        if (s->type == GM_SESSION_COOKIE) {
            ngx_http_gamma_out(out, ", \"path\": ");
            ngx_http_gamma_out_json(out, (char *) path.data, path.len);
            ngx_http_gamma_out(out, ", \"lifetimeType\": \"%s\"",
                               s->permanent ? "Permanent" : "Session");
        }

        ngx_http_gamma_out(out, ", \"absoluteTimeout\": \"%Lms\", "
                           "\"level\": %d, \"from\": ",
                           (int64_t) s->absolute_ms,
                           s->policy.len ? 4 : GM_ORIGIN_RULE);

        if (s->policy.len) {
            ngx_http_gamma_out(out, "\"XBackendTrafficPolicy\", "
                               "\"policy\": ");
            ngx_http_gamma_out_json(out, s->policy.data, s->policy.len);

        } else {
            ngx_http_gamma_out(out, "\"rule\"");
        }

        ngx_http_gamma_out(out, "}");
    }

    ngx_http_gamma_out(out, "]");
}


/* the admin page: one line per field, then the sessions */
void
ngx_http_gamma_html_effective(ngx_http_gamma_out_t *out,
    const gm_policy_set_t *set, const gm_rule_t *rule,
    const gm_backend_t *passthrough, const gm_str_t *scope)
{
    u_char               buf[GM_SESSION_NAME_LEN];
    size_t               i, nb;
    ngx_str_t            name, path;
    const gm_backend_t  *b;
    const gm_session_t  *s;

    if (set != NULL && set->all != NULL) {
        ngx_http_gamma_html_eff(out, set->all);
    }

    for (i = 0; set != NULL && i < set->nns; i++) {
        ngx_http_gamma_out(out, "<br>clients in <code>");
        ngx_http_gamma_out_html(out, set->ns[i].data, set->ns[i].len);
        ngx_http_gamma_out(out, "</code>:");
        ngx_http_gamma_html_eff(out, set->by_ns[i]);
    }

    nb = rule ? rule->nbackends : (passthrough != NULL);

    for (i = 0; i < nb; i++) {
        b = rule ? rule->backends[i].backend : passthrough;
        s = gm_session_effective(rule, b);

        if (s == NULL) {
            continue;
        }

        ngx_http_gamma_session_text(s, rule, scope, &name, &path, buf);
        ngx_http_gamma_out(out, "<br>session %s <code>",
                           s->type == GM_SESSION_HEADER ? "header"
                                                        : "cookie");
        ngx_http_gamma_out_html(out, (char *) name.data, name.len);
        ngx_http_gamma_out(out, "</code> to <code>");
        ngx_http_gamma_out_html(out, b->label.data, b->label.len);
        ngx_http_gamma_out(out, "</code> (%s", s->policy.len
                           ? "XBackendTrafficPolicy " : "the rule");
        ngx_http_gamma_out_html(out, s->policy.data, s->policy.len);
        ngx_http_gamma_out(out, ")");
    }
}


static void
ngx_http_gamma_html_eff(ngx_http_gamma_out_t *out, const gm_effective_t *e)
{
    u_char      buf[NGX_HTTP_GAMMA_VALUE_MAX];
    ngx_str_t   name, text;
    ngx_uint_t  f;
    uint32_t    bit;

    for (f = 0, bit = 1; f < GM_PF_COUNT; f++, bit <<= 1) {
        if (!(e->v.set & bit) || bit == GM_PF_RETRY_STANZA) {
            continue;
        }

        (void) ngx_http_gamma_value_text(&e->v, bit, &text, buf,
                                         sizeof(buf));
        ngx_http_gamma_out(out, "<br><code>%s</code> = <code>",
                           gm_policy_field_name(bit));
        ngx_http_gamma_out_html(out, (char *) text.data, text.len);
        ngx_http_gamma_out(out, "</code> %s",
                           ngx_http_gamma_origin_name(e->origin[f]));

        if (ngx_http_gamma_policy_name(e, f, &name) == NGX_OK) {
            ngx_http_gamma_out(out, " <code>");
            ngx_http_gamma_out_html(out, (char *) name.data, name.len);
            ngx_http_gamma_out(out, "</code>");
        }
    }
}


/* the policy of field f: the from[f]-th name of e->policies */
static ngx_int_t
ngx_http_gamma_policy_name(const gm_effective_t *e, ngx_uint_t f,
    ngx_str_t *name)
{
    u_char      *p, *end, *comma;
    ngx_uint_t   k, o;

    o = gm_origin_level(e->origin[f]);

    if (o != GM_ORIGIN_OVERRIDE && o != GM_ORIGIN_DEFAULT) {
        return NGX_DECLINED;
    }

    p = (u_char *) e->policies.data;
    end = p + e->policies.len;

    for (k = 0; p < end; k++) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        if (k == e->from[f]) {
            name->data = p;
            name->len = comma - p;
            return NGX_OK;
        }

        p = comma + 1;
    }

    return NGX_DECLINED;
}


static const char *
ngx_http_gamma_origin_name(ngx_uint_t o)
{
    switch (gm_origin_level(o)) {
    case GM_ORIGIN_OP_OVERRIDE:
        return "gamma_override";
    case GM_ORIGIN_OVERRIDE:
        return "policy override";
    case GM_ORIGIN_RULE:
        return "rule";
    case GM_ORIGIN_DEFAULT:
        return "policy default";
    case GM_ORIGIN_OP_DEFAULT:
        return "gamma_default";
    default:
        return "";
    }
}


static const char *
ngx_http_gamma_origin_target(ngx_uint_t o)
{
    ngx_uint_t  t;

    t = gm_origin_target(o);

    if (gm_origin_level(o) == GM_ORIGIN_OVERRIDE
        || gm_origin_level(o) == GM_ORIGIN_DEFAULT)
    {
        return t < 4 ? ngx_http_gamma_tlevels[t] : "";
    }

    return t < 6 ? ngx_http_gamma_scopes[t] : "";
}


/* the name and the Path a request's cookie gets (session.c's rules) */
static void
ngx_http_gamma_session_text(const gm_session_t *s, const gm_rule_t *rule,
    const gm_str_t *scope, ngx_str_t *name, ngx_str_t *path, u_char *buf)
{
    const gm_str_t  *sc;

    sc = rule ? &rule->label : scope;

    if (s->name.len) {
        name->data = (u_char *) s->name.data;
        name->len = s->name.len;

    } else {
        gm_session_default_name((char *) buf, sc->data, sc->len);
        name->data = buf;
        name->len = GM_SESSION_NAME_LEN;
    }

    if (s->path.len) {
        path->data = (u_char *) s->path.data;
        path->len = s->path.len;

    } else if (rule && rule->ext->session_path_len) {
        path->data = (u_char *) rule->ext->session_path;
        path->len = rule->ext->session_path_len;

    } else {
        ngx_str_set(path, "/");
    }
}
