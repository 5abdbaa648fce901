/*
 * nginx-gamma: HTTPRoute filters, from their typed form (gm_filter_t, built
 * at import by gm_httproute_filter.c) to compact structures in the
 * snapshot arena.  The parser has already enforced the API's rules; what
 * is checked here is what nginx-gamma adds: headers a filter may not
 * touch, header values that would break the message, mirrors to
 * something that is not a Service.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gm_compile_int.h"


static int gm_filter_compile_one(const gm_filter_compile_ctx_t *ctx,
    const gm_filter_t *f, gm_route_filter_t *rf);
static int gm_filter_compile_header_mod(const gm_filter_compile_ctx_t *ctx,
    const gm_header_filter_t *hf, gm_header_mod_t *hm);
static int gm_filter_compile_header_ops(const gm_filter_compile_ctx_t *ctx,
    const gm_header_action_t *a, size_t n, gm_header_op_t **out,
    size_t *nout);
static int gm_filter_compile_header_op(const gm_filter_compile_ctx_t *ctx,
    const gm_header_action_t *a, gm_header_op_t *op);
static int gm_filter_value_ok(const gm_str_t *value);
static int gm_filter_compile_redirect(const gm_filter_compile_ctx_t *ctx,
    const gm_redirect_filter_t *rf, gm_redirect_t *rd);
static int gm_filter_compile_rewrite(const gm_filter_compile_ctx_t *ctx,
    const gm_rewrite_filter_t *rf, gm_rewrite_t *rw);
static int gm_filter_compile_path_mod(const gm_filter_compile_ctx_t *ctx,
    const gm_path_filter_t *pf, gm_path_mod_t *pm);
static int gm_filter_compile_path_prefix(const gm_filter_compile_ctx_t *ctx,
    gm_path_mod_t *pm);
static int gm_filter_compile_mirror(const gm_filter_compile_ctx_t *ctx,
    const gm_mirror_filter_t *mf, gm_mirror_t *m);
static int gm_filter_compile_cors(const gm_filter_compile_ctx_t *ctx,
    const gm_cors_filter_t *cf, gm_cors_t *c);
static int gm_filter_compile_origins(const gm_filter_compile_ctx_t *ctx,
    const gm_strings_t *origins, gm_cors_t *c);
static int gm_filter_compile_origin(const gm_filter_compile_ctx_t *ctx,
    const gm_str_t *s, gm_cors_origin_t *o);
static int gm_filter_join(const gm_filter_compile_ctx_t *ctx,
    const gm_strings_t *list, gm_str_t *out, unsigned *any);
static int gm_filter_copy(const gm_filter_compile_ctx_t *ctx, gm_str_t *dst,
    const gm_str_t *src);
static void gm_filter_lower(gm_str_t *s);
static size_t gm_filter_decode(char *dst, const char *src, size_t len);
static int gm_filter_hex(int c);
static void gm_filter_strip_slash(gm_str_t *s);


int
gm_filters_compile(const gm_filter_compile_ctx_t *ctx, const gm_filter_t *f,
    size_t n, const gm_filters_t **out)
{
    size_t         i;
    gm_filters_t  *fs;

    *out = NULL;

    if (n == 0) {
        return 0;
    }

    fs = gm_arena_calloc(ctx->arena, sizeof(gm_filters_t)
                                     + n * sizeof(gm_route_filter_t));
    if (fs == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (gm_filter_compile_one(ctx, &f[i], &fs->filters[i]) != 0) {
            return -1;
        }

        if (f[i].type == GM_FILTER_RESPONSE_HEADER_MODIFIER
            || f[i].type == GM_FILTER_CORS)
        {
            fs->response = 1;
        }
    }

    fs->nfilters = n;
    *out = fs;

    return 0;
}


static int
gm_filter_compile_one(const gm_filter_compile_ctx_t *ctx,
    const gm_filter_t *f, gm_route_filter_t *rf)
{
    rf->type = f->type;

    switch (f->type) {

    case GM_FILTER_REQUEST_HEADER_MODIFIER:
    case GM_FILTER_RESPONSE_HEADER_MODIFIER:
        return gm_filter_compile_header_mod(ctx, &f->u.header,
                                            &rf->u.header);

    case GM_FILTER_REQUEST_REDIRECT:
        return gm_filter_compile_redirect(ctx, &f->u.redirect,
                                          &rf->u.redirect);

    case GM_FILTER_URL_REWRITE:
        return gm_filter_compile_rewrite(ctx, &f->u.rewrite, &rf->u.rewrite);

    case GM_FILTER_REQUEST_MIRROR:
        return gm_filter_compile_mirror(ctx, &f->u.mirror, &rf->u.mirror);

    case GM_FILTER_CORS:
        return gm_filter_compile_cors(ctx, &f->u.cors, &rf->u.cors);

    default:
        /* a rule with ExtensionRef or ExternalAuth was never compiled */
        return 0;
    }
}


static int
gm_filter_compile_header_mod(const gm_filter_compile_ctx_t *ctx,
    const gm_header_filter_t *hf, gm_header_mod_t *hm)
{
    if (gm_filter_compile_header_ops(ctx, hf->set, hf->nset, &hm->set,
                                     &hm->nset) != 0
        || gm_filter_compile_header_ops(ctx, hf->add, hf->nadd, &hm->add,
                                        &hm->nadd) != 0
        || gm_filter_compile_header_ops(ctx, hf->remove, hf->nremove,
                                        &hm->remove, &hm->nremove) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_filter_compile_header_ops(const gm_filter_compile_ctx_t *ctx,
    const gm_header_action_t *a, size_t n, gm_header_op_t **out,
    size_t *nout)
{
    int              rc;
    size_t           i;
    gm_header_op_t  *ops;

    if (n == 0) {
        return 0;
    }

    ops = gm_arena_calloc(ctx->arena, n * sizeof(gm_header_op_t));
    if (ops == NULL) {
        return -1;
    }

    *out = ops;

    for (i = 0; i < n; i++) {
        rc = gm_filter_compile_header_op(ctx, &a[i], &ops[*nout]);

        if (rc < 0) {
            return -1;
        }

        *nout += (rc == 0);
    }

    return 0;
}


/* 0: kept, 1: left out (logged), -1: out of memory */
static int
gm_filter_compile_header_op(const gm_filter_compile_ctx_t *ctx,
    const gm_header_action_t *a, gm_header_op_t *op)
{
    if (gm_filter_copy(ctx, &op->name, &a->name) != 0
        || gm_filter_copy(ctx, &op->lname, &a->name) != 0
        || gm_filter_copy(ctx, &op->value, &a->value) != 0)
    {
        return -1;
    }

    gm_filter_lower(&op->lname);

    if (gm_header_is_hop_by_hop(&op->lname)) {
        gm_log(ctx->log, GM_LOG_WARN, "HTTPRoute %s: header \"%s\" is "
               "hop-by-hop or framing, a filter cannot change it: ignored",
               ctx->label, op->name.data);
        return 1;
    }

    if (!gm_filter_value_ok(&op->value)) {
        gm_log(ctx->log, GM_LOG_WARN, "HTTPRoute %s: the value of header "
               "\"%s\" has control characters: ignored", ctx->label,
               op->name.data);
        return 1;
    }

    return 0;
}


/* a field value: no CR, LF, NUL or other controls but HTAB */
static int
gm_filter_value_ok(const gm_str_t *value)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < value->len; i++) {
        c = (unsigned char) value->data[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 0;
        }
    }

    return 1;
}


static int
gm_filter_compile_redirect(const gm_filter_compile_ctx_t *ctx,
    const gm_redirect_filter_t *rf, gm_redirect_t *rd)
{
    if (gm_filter_copy(ctx, &rd->scheme, &rf->scheme) != 0
        || gm_filter_copy(ctx, &rd->hostname, &rf->hostname) != 0)
    {
        return -1;
    }

    rd->port = rf->port;
    rd->status = rf->status;

    return gm_filter_compile_path_mod(ctx, &rf->path, &rd->path);
}


static int
gm_filter_compile_rewrite(const gm_filter_compile_ctx_t *ctx,
    const gm_rewrite_filter_t *rf, gm_rewrite_t *rw)
{
    if (gm_filter_copy(ctx, &rw->hostname, &rf->hostname) != 0) {
        return -1;
    }

    return gm_filter_compile_path_mod(ctx, &rf->path, &rw->path);
}


static int
gm_filter_compile_path_mod(const gm_filter_compile_ctx_t *ctx,
    const gm_path_filter_t *pf, gm_path_mod_t *pm)
{
    static const gm_str_t  root = { 1, (char *) "/" };

    if (pf->type == GM_PATH_KEEP) {
        return 0;
    }

    pm->type = pf->type;

    if (gm_filter_copy(ctx, &pm->value, &pf->value) != 0) {
        return -1;
    }

    pm->value.len = gm_filter_decode(pm->value.data, pm->value.data,
                                     pm->value.len);
    pm->value.data[pm->value.len] = '\0';

    if (pm->type == GM_PATH_FULL) {
        /* a request path is never empty */
        return pm->value.len ? 0 : gm_filter_copy(ctx, &pm->value, &root);
    }

    gm_filter_strip_slash(&pm->value);

    return gm_filter_compile_path_prefix(ctx, pm);
}


/* the API guarantees one PathPrefix match for ReplacePrefixMatch */
static int
gm_filter_compile_path_prefix(const gm_filter_compile_ctx_t *ctx,
    gm_path_mod_t *pm)
{
    if (ctx->rule == NULL || ctx->rule->nmatches != 1
        || ctx->rule->matches[0].path_type != GM_MATCH_PREFIX)
    {
        gm_log(ctx->log, GM_LOG_WARN, "HTTPRoute %s: ReplacePrefixMatch "
               "without a PathPrefix match: the path is kept", ctx->label);
        pm->type = GM_PATH_KEEP;
        return 0;
    }

    if (gm_filter_copy(ctx, &pm->prefix, &ctx->rule->matches[0].path) != 0) {
        return -1;
    }

    gm_filter_strip_slash(&pm->prefix);

    return 0;
}


static int
gm_filter_compile_mirror(const gm_filter_compile_ctx_t *ctx,
    const gm_mirror_filter_t *mf, gm_mirror_t *m)
{
    const gm_backend_ref_t  *ref;

    ref = &mf->backend;
    m->numerator = mf->numerator;
    m->denominator = mf->denominator;

    if (ref->gk != &gm_group_kind_service || ref->name.len == 0) {
        gm_log(ctx->log, GM_LOG_WARN, "HTTPRoute %s: RequestMirror to "
               "group \"%s\" kind \"%s\" is not supported, not mirrored",
               ctx->label, ref->gk->group.data, ref->gk->kind.data);
        return 0;
    }

    m->backend = ctx->backend(ctx->data, &ref->ns, &ref->name, ref->port);
    if (m->backend == NULL) {
        return -1;
    }

    if (m->backend->status == GM_BACKEND_NOT_FOUND
        || m->backend->status == GM_BACKEND_INVALID)
    {
        gm_log(ctx->log, GM_LOG_WARN, "HTTPRoute %s: RequestMirror to %s: "
               "no such Service or port, not mirrored", ctx->label,
               m->backend->label.data);
    }

    return 0;
}


static int
gm_filter_compile_cors(const gm_filter_compile_ctx_t *ctx,
    const gm_cors_filter_t *cf, gm_cors_t *c)
{
    int       n;
    char      age[GM_INT_TEXT_MAX];
    unsigned  any;
    gm_str_t  text;

    if (gm_filter_compile_origins(ctx, &cf->origins, c) != 0
        || gm_filter_join(ctx, &cf->methods, &c->methods, &any) != 0)
    {
        return -1;
    }

    c->any_method = any;

    if (gm_filter_join(ctx, &cf->headers, &c->headers, &any) != 0) {
        return -1;
    }

    c->any_header = any;

    if (gm_filter_join(ctx, &cf->expose, &c->expose, &any) != 0) {
        return -1;
    }

    c->any_expose = any;
    c->credentials = cf->credentials;

    n = snprintf(age, sizeof(age), "%lld", (long long) cf->max_age);

    text.data = age;
    text.len = (size_t) n;

    return gm_filter_copy(ctx, &c->max_age, &text);
}


static int
gm_filter_compile_origins(const gm_filter_compile_ctx_t *ctx,
    const gm_strings_t *origins, gm_cors_t *c)
{
    int     rc;
    size_t  i;

    if (origins->n == 0) {
        return 0;
    }

    c->origins = gm_arena_calloc(ctx->arena,
                                 origins->n * sizeof(gm_cors_origin_t));
    if (c->origins == NULL) {
        return -1;
    }

    for (i = 0; i < origins->n; i++) {
        if (gm_str_eq_cstr(&origins->items[i], "*")) {
            c->any_origin = 1;
            continue;
        }

        rc = gm_filter_compile_origin(ctx, &origins->items[i],
                                      &c->origins[c->norigins]);
        if (rc < 0) {
            return -1;
        }

        c->norigins += (rc == 0);
    }

    return 0;
}


/* 0: kept, 1: left out (logged), -1: out of memory */
static int
gm_filter_compile_origin(const gm_filter_compile_ctx_t *ctx,
    const gm_str_t *s, gm_cors_origin_t *o)
{
    gm_str_t  scheme, host;

    if (gm_origin_parse(s->data, s->len, &scheme, &host, &o->port) != 0) {
        gm_log(ctx->log, GM_LOG_WARN, "HTTPRoute %s: CORS origin \"%.64s\" "
               "is not scheme://host[:port]: ignored", ctx->label, s->data);
        return 1;
    }

    if (host.len && host.data[0] == '*') {
        o->wildcard = 1;
        host.data++;
        host.len--;
    }

    if (gm_filter_copy(ctx, &o->scheme, &scheme) != 0
        || gm_filter_copy(ctx, &o->host, &host) != 0)
    {
        return -1;
    }

    gm_filter_lower(&o->scheme);
    gm_filter_lower(&o->host);

    return 0;
}


/* "a, b, c"; a "*" item sets *any and is left out of the list */
static int
gm_filter_join(const gm_filter_compile_ctx_t *ctx, const gm_strings_t *list,
    gm_str_t *out, unsigned *any)
{
    char    *p;
    size_t   i, len;

    *any = 0;
    len = 0;

    for (i = 0; i < list->n; i++) {
        len += list->items[i].len + 2;
    }

    out->data = gm_arena_alloc(ctx->arena, len + 1);
    if (out->data == NULL) {
        return -1;
    }

    p = out->data;

    for (i = 0; i < list->n; i++) {
        if (gm_str_eq_cstr(&list->items[i], "*")) {
            *any = 1;
            continue;
        }

        p += sprintf(p, "%s%s", p == out->data ? "" : ", ",
                     list->items[i].data);
    }

    *p = '\0';
    out->len = (size_t) (p - out->data);

    return 0;
}


/* a copy in the snapshot: the object may go before the snapshot does */
static int
gm_filter_copy(const gm_filter_compile_ctx_t *ctx, gm_str_t *dst,
    const gm_str_t *src)
{
    return gm_arena_strdup(ctx->arena, dst, src->data, src->len);
}


static void
gm_filter_lower(gm_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] >= 'A' && s->data[i] <= 'Z') {
            s->data[i] |= 0x20;
        }
    }
}


/* %XX escapes decoded; a malformed one stays as written */
static size_t
gm_filter_decode(char *dst, const char *src, size_t len)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '%' && i + 2 < len) {
            hi = gm_filter_hex(src[i + 1]);
            lo = gm_filter_hex(src[i + 2]);

            if (hi >= 0 && lo >= 0) {
                dst[n++] = (char) (hi << 4 | lo);
                i += 2;
                continue;
            }
        }

        dst[n++] = src[i];
    }

    return n;
}


static int
gm_filter_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


static void
gm_filter_strip_slash(gm_str_t *s)
{
    if (s->len && s->data[s->len - 1] == '/') {
        s->data[--s->len] = '\0';
    }
}
