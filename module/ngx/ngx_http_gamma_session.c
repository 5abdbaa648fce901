/*
 * nginx-gamma: session persistence (spec 1.14).  The router looks for a
 * session's token (a cookie or a header) among the rule's backends before
 * the weights choose one (persistence beats weights); the balancer starts
 * at the endpoint the token names; the module's header filter (through
 * ngx_http_gamma_session_header()) gives the client a new token when it
 * had none, or one that names no ready endpoint (gone, expired, another
 * rule's, forged), or when a retry served it elsewhere.
 *
 * A token (gm_session.h) is a MAC under the instance's key, made at the
 * zone's creation and shared by every worker (ngx_http_gamma_zone.c):
 * what one worker issues, another honours, and nothing a client sends is
 * ever an address to connect to.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gamma_module.h"
#include "ngx_http_gamma_zone.h"


#define NGX_HTTP_GAMMA_SESSION_NEW     1     /* no token came */
#define NGX_HTTP_GAMMA_SESSION_KEPT    2     /* its endpoint, still ready */
#define NGX_HTTP_GAMMA_SESSION_MOVED   3     /* a token, of no endpoint */


typedef struct {
    const u_char          *key;
    uint64_t               scope;
    uint32_t               now;
    const gm_session_t    *session;
    const gm_backend_t    *backend;
} ngx_http_gamma_session_look_t;


static ngx_int_t ngx_http_gamma_session_find(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, const gm_session_t *s, const gm_str_t *scope,
    const gm_backend_t *b);
static ngx_int_t ngx_http_gamma_session_cookies(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_session_look_t *lk,
    ngx_str_t *name);
static ngx_int_t ngx_http_gamma_session_cookie_line(
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_session_look_t *lk,
    ngx_str_t *name, ngx_str_t *line);
static ngx_int_t ngx_http_gamma_session_headers(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_session_look_t *lk);
static ngx_int_t ngx_http_gamma_session_try(ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_session_look_t *lk, u_char *p, size_t len);
static const u_char *ngx_http_gamma_session_key(ngx_http_request_t *r);
static void ngx_http_gamma_session_name(const gm_session_t *s,
    const gm_str_t *scope, u_char *buf, ngx_str_t *name);
static const gm_str_t *ngx_http_gamma_session_scope(
    ngx_http_gamma_ctx_t *ctx);
static ngx_int_t ngx_http_gamma_session_issue(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx);
static ngx_int_t ngx_http_gamma_session_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_gamma_session_vars[] = {

    { ngx_string("gamma_session"), NULL, ngx_http_gamma_session_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    ngx_http_null_variable
};


ngx_int_t
ngx_http_gamma_session_add_variables(ngx_conf_t *cf)
{
    return ngx_http_gamma_add_variable_table(cf, ngx_http_gamma_session_vars);
}


/*
 * The backend of the rule whose endpoint a valid token names, the
 * endpoint in ctx->session_ep; NULL when there is none.  The rule's own
 * sessionPersistence applies to all its backends, else each backend's.
 */
gm_weighted_backend_t *
ngx_http_gamma_session_route(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    const gm_rule_t *rule)
{
    size_t                  i;
    const gm_session_t     *s;
    gm_weighted_backend_t  *wb;

    for (i = 0; i < rule->nbackends; i++) {
        wb = &rule->backends[i];
        s = gm_session_effective(rule, wb->backend);

        if (s == NULL || wb->backend->status != GM_BACKEND_OK) {
            continue;
        }

        if (ngx_http_gamma_session_find(r, ctx, s, &rule->label, wb->backend)
            == NGX_OK)
        {
            return wb;
        }
    }

    return NULL;
}


/* after the weights chose b: the session it starts, if any */
void
ngx_http_gamma_session_start(ngx_http_gamma_ctx_t *ctx, const gm_rule_t *rule,
    const gm_backend_t *b)
{
    if (ctx->session != NULL) {
        return;
    }

    ctx->session = gm_session_effective(rule, b);

    if (ctx->session != NULL) {
        ctx->session_state = ctx->session_seen ? NGX_HTTP_GAMMA_SESSION_MOVED
                                               : NGX_HTTP_GAMMA_SESSION_NEW;
    }
}


/* no routes: the Service's own endpoints, its policy's session */
void
ngx_http_gamma_session_passthrough(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx)
{
    gm_backend_t  *b;

    b = ctx->backend;

    if (b->ext->session == NULL || b->status != GM_BACKEND_OK) {
        return;
    }

    if (ngx_http_gamma_session_find(r, ctx, b->ext->session,
                                    &ctx->frontend->passthrough->label, b)
        != NGX_OK)
    {
        ngx_http_gamma_session_start(ctx, NULL, b);
    }
}


static ngx_int_t
ngx_http_gamma_session_find(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx,
    const gm_session_t *s, const gm_str_t *scope, const gm_backend_t *b)
{
    u_char                          buf[GM_SESSION_NAME_LEN];
    ngx_str_t                       name;
    ngx_http_gamma_session_look_t   lk;

    lk.key = ngx_http_gamma_session_key(r);
    if (lk.key == NULL) {
        return NGX_DECLINED;
    }

    lk.scope = gm_session_scope(lk.key, scope->data, scope->len);
    lk.now = (uint32_t) ngx_time();
    lk.session = s;
    lk.backend = b;

    if (s->type == GM_SESSION_HEADER) {
        return ngx_http_gamma_session_headers(r, ctx, &lk);
    }

    ngx_http_gamma_session_name(s, scope, buf, &name);

    return ngx_http_gamma_session_cookies(r, ctx, &lk, &name);
}


/* every Cookie header, every cookie of that name (spec 1.14) */
static ngx_int_t
ngx_http_gamma_session_cookies(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_session_look_t *lk,
    ngx_str_t *name)
{
#if (nginx_version >= 1023000)
    ngx_table_elt_t  *h;

    for (h = r->headers_in.cookie; h; h = h->next) {
        if (ngx_http_gamma_session_cookie_line(ctx, lk, name, &h->value)
            == NGX_OK)
        {
            return NGX_OK;
        }
    }
#else
    ngx_uint_t        i;
    ngx_table_elt_t **h;

    h = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        if (ngx_http_gamma_session_cookie_line(ctx, lk, name, &h[i]->value)
            == NGX_OK)
        {
            return NGX_OK;
        }
    }
#endif

    return NGX_DECLINED;
}


/* "a=1; name=v; b=2" */
static ngx_int_t
ngx_http_gamma_session_cookie_line(ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_session_look_t *lk, ngx_str_t *name, ngx_str_t *line)
{
    u_char  *p, *end, *eq, *v;

    p = line->data;
    end = p + line->len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == ';' || *p == '\t')) {
            p++;
        }

        eq = p;

        while (eq < end && *eq != '=' && *eq != ';') {
            eq++;
        }

        v = eq;

        while (v < end && *v != ';') {
            v++;
        }

        if (eq < end && *eq == '=' && (size_t) (eq - p) == name->len
            && ngx_strncmp(p, name->data, name->len) == 0)
        {
            ctx->session_seen = 1;

            if (ngx_http_gamma_session_try(ctx, lk, eq + 1, v - eq - 1)
                == NGX_OK)
            {
                return NGX_OK;
            }
        }

        p = v;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gamma_session_headers(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx, ngx_http_gamma_session_look_t *lk)
{
    ngx_uint_t           i;
    ngx_list_part_t     *part;
    ngx_table_elt_t     *h;
    const gm_str_t      *lname;

    lname = &lk->session->lname;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_DECLINED;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == lname->len
            && ngx_strncmp(h[i].lowcase_key, lname->data, lname->len) == 0)
        {
            ctx->session_seen = 1;

            if (ngx_http_gamma_session_try(ctx, lk, h[i].value.data,
                                           h[i].value.len)
                == NGX_OK)
            {
                return NGX_OK;
            }
        }
    }
}


/* which ready endpoint of the backend the token names, if any */
static ngx_int_t
ngx_http_gamma_session_try(ngx_http_gamma_ctx_t *ctx,
    ngx_http_gamma_session_look_t *lk, u_char *p, size_t len)
{
    size_t                i;
    uint32_t              issued;
    uint64_t              mac;
    const gm_sockaddr_t  *ep;

    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p++;
        len -= 2;
    }

    if (gm_session_token_parse((const char *) p, len, &issued, &mac) != 0
        || gm_session_expired(issued, lk->now, lk->session->absolute_ms))
    {
        return NGX_DECLINED;
    }

    for (i = 0; i < lk->backend->nendpoints; i++) {
        ep = &lk->backend->endpoints[i];

        if (gm_session_mac(lk->key, lk->scope, issued, ep->text,
                           ep->text_len)
            == mac)
        {
            ctx->session = lk->session;
            ctx->session_ep = i + 1;
            ctx->session_state = NGX_HTTP_GAMMA_SESSION_KEPT;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static const u_char *
ngx_http_gamma_session_key(ngx_http_request_t *r)
{
    ngx_http_gamma_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gamma_module);

    if (gmcf->worker == NULL || gmcf->worker->sh == NULL) {
        return NULL;
    }

    return gmcf->worker->sh->session_key;
}


static void
ngx_http_gamma_session_name(const gm_session_t *s, const gm_str_t *scope,
    u_char *buf, ngx_str_t *name)
{
    if (s->name.len) {
        name->data = (u_char *) s->name.data;
        name->len = s->name.len;
        return;
    }

    gm_session_default_name((char *) buf, scope->data, scope->len);
    name->data = buf;
    name->len = GM_SESSION_NAME_LEN;
}


static const gm_str_t *
ngx_http_gamma_session_scope(ngx_http_gamma_ctx_t *ctx)
{
    return ctx->rule ? &ctx->rule->label : &ctx->frontend->passthrough->label;
}


/* of the header filter (ngx_http_gamma_filter.c), for a ctx->session */
ngx_int_t
ngx_http_gamma_session_header(ngx_http_request_t *r,
    ngx_http_gamma_ctx_t *ctx)
{
    /* only a response of the endpoint itself starts a session there */
    if (ctx->session == NULL || ctx->endpoint == NULL
        || r != r->main || r->upstream == NULL
        || r->upstream->headers_in.status_n == 0
        || ctx->backend == NULL)
    {
        return NGX_OK;
    }

    /* a retry may have served it elsewhere: the session follows */
    if (ctx->session_state == NGX_HTTP_GAMMA_SESSION_KEPT
        && ctx->endpoint == &ctx->backend->endpoints[ctx->session_ep - 1])
    {
        return NGX_OK;
    }

    return ngx_http_gamma_session_issue(r, ctx);
}


static ngx_int_t
ngx_http_gamma_session_issue(ngx_http_request_t *r, ngx_http_gamma_ctx_t *ctx)
{
    u_char              *p, buf[GM_SESSION_NAME_LEN];
    size_t               len;
    time_t               age;
    uint32_t             now;
    uint64_t             mac;
    ngx_str_t            name, path;
    const u_char        *key;
    const gm_str_t      *scope;
    ngx_table_elt_t     *h;
    const gm_session_t  *s;

    key = ngx_http_gamma_session_key(r);
    if (key == NULL) {
        return NGX_OK;
    }

    s = ctx->session;
    scope = ngx_http_gamma_session_scope(ctx);
    now = (uint32_t) ngx_time();
    mac = gm_session_mac(key, gm_session_scope(key, scope->data, scope->len),
                         now, ctx->endpoint->text,
                         ctx->endpoint->text_len);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    if (s->type == GM_SESSION_HEADER) {
        h->key.data = (u_char *) s->name.data;
        h->key.len = s->name.len;

        h->value.data = ngx_pnalloc(r->pool, GM_SESSION_TOKEN_LEN);
        if (h->value.data == NULL) {
            return NGX_ERROR;
        }

        gm_session_token_format((char *) h->value.data, now, mac);
        h->value.len = GM_SESSION_TOKEN_LEN;

        return NGX_OK;
    }

    ngx_str_set(&h->key, "Set-Cookie");
    ngx_http_gamma_session_name(s, scope, buf, &name);

    if (s->path.len) {
        path.data = (u_char *) s->path.data;
        path.len = s->path.len;

    } else if (ctx->rule && ctx->rule->ext->session_path_len) {
        path.data = (u_char *) ctx->rule->ext->session_path;
        path.len = ctx->rule->ext->session_path_len;

    } else {
        ngx_str_set(&path, "/");
    }

    /* the token lives as long as the session: Max-Age only if Permanent */
    age = (time_t) ((s->absolute_ms + 999) / 1000);

    len = name.len + 1 + GM_SESSION_TOKEN_LEN + sizeof("; Path=") - 1
          + path.len + sizeof("; Max-Age=") - 1 + NGX_TIME_T_LEN
          + sizeof("; HttpOnly; SameSite=Strict") - 1;

    h->value.data = ngx_pnalloc(r->pool, len);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(h->value.data, name.data, name.len);
    *p++ = '=';
    gm_session_token_format((char *) p, now, mac);
    p += GM_SESSION_TOKEN_LEN;
    p = ngx_sprintf(p, "; Path=%V", &path);

    if (s->permanent) {
        p = ngx_sprintf(p, "; Max-Age=%T", age);
    }

    p = ngx_cpymem(p, "; HttpOnly; SameSite=Strict",
                   sizeof("; HttpOnly; SameSite=Strict") - 1);

    h->value.len = p - h->value.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gamma_session_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_gamma_ctx_t  *ctx;

    static ngx_str_t  states[] = {
        ngx_null_string,
        ngx_string("new"),
        ngx_string("kept"),
        ngx_string("moved")
    };

    ctx = ngx_http_get_module_ctx(r, ngx_http_gamma_module);

    if (ctx == NULL || ctx->session == NULL || ctx->session_state == 0
        || ctx->session_state > NGX_HTTP_GAMMA_SESSION_MOVED)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = states[ctx->session_state].len;
    v->data = states[ctx->session_state].data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
