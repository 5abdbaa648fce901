/*
 * nginx-gamma: compiling the matches of HTTPRoute rules into table
 * entries: paths, methods, header and query tests, regexes compiled.
 *
 * Regexes (path, header and query values) are PCRE2 patterns, compiled
 * with PCRE2_ANCHORED | PCRE2_ENDANCHORED: the whole path or value must
 * match.  They are compiled into the snapshot arena and never JIT-ed, so
 * destroying the arena frees them.
 */

#include <stdint.h>
#include <string.h>

#include "gm_compile_int.h"


static int gm_compile_is_match_all(const gm_http_match_t *hm);
static int gm_compile_match(gm_compile_ctx_t *ctx, const gm_compile_route_t *cr,
    const gm_http_match_t *hm, const gm_route_match_t **out);
static int gm_compile_method(const gm_http_match_t *hm,
    gm_route_match_t *m);
static int gm_compile_value_tests(gm_compile_ctx_t *ctx,
    const gm_compile_route_t *cr, const gm_kv_match_t *kv, size_t n,
    gm_value_test_t *t, const char *what);
static int gm_compile_regex(gm_compile_ctx_t *ctx,
    const gm_compile_route_t *cr, const gm_str_t *pattern, const char *what,
    pcre2_code **out);


/* the CRD default of a rule without matches: PathPrefix "/" */
static const gm_http_match_t  gm_compile_default_match = {
    .path_type = GM_MATCH_PREFIX,
    .path = { 1, (char *) "/" },
};

/* what a PathPrefix "/" match without other tests compiles to */
static const gm_route_match_t  gm_compile_match_all = {
    .path_type = GM_MATCH_PREFIX,
    .path = "",
};


int
gm_compile_rule_entries(gm_compile_ctx_t *ctx, gm_compile_route_t *cr,
    uint32_t index)
{
    int                      rc;
    size_t                   m, nmatches;
    gm_compile_entry_t      *e;
    const gm_http_rule_t    *hr;
    const gm_http_match_t   *hm;
    const gm_route_match_t  *match;

    hr = gm_compile_http_rule(cr, index);
    nmatches = hr->nmatches ? hr->nmatches : 1;
    match = NULL;

    for (m = 0; m < nmatches; m++) {
        hm = hr->nmatches ? &hr->matches[m] : &gm_compile_default_match;

        rc = gm_compile_match(ctx, cr, hm, &match);

        if (rc < 0) {
            return -1;
        }

        if (rc > 0) {
            continue;
        }

        e = &cr->entries[cr->nentries++];
        e->match = match;
        e->rule = &cr->rules[index];
        e->route = cr;
        e->match_index = m;
        e->slen = 0;
        e->mlen = 0;

        if (cr->route->meta.kind == GM_KIND_GRPCROUTE) {
            /* spec 1.18: by the service, then the method, then headers */
            e->rank = GM_RANK_EXACT;
            e->plen = 0;
            e->slen = hm->grpc_service_chars;
            e->mlen = hm->grpc_method_chars;
            continue;
        }

        switch (hm->path_type) {

        case GM_MATCH_EXACT:
            e->rank = GM_RANK_EXACT;
            e->plen = 0;
            break;

        case GM_MATCH_REGEX:
            e->rank = GM_RANK_REGEX;
            e->plen = hm->path.len;
            break;

        default:
            e->rank = GM_RANK_PREFIX;
            e->plen = hm->path.len;
            break;
        }
    }

    return 0;
}


/* PathPrefix "/" and nothing else: one shared compiled match */

static int
gm_compile_is_match_all(const gm_http_match_t *hm)
{
    return hm->path_type == GM_MATCH_PREFIX
           && hm->path.len == 1 && hm->path.data[0] == '/'
           && hm->method == 0 && hm->nheaders == 0 && hm->nquery == 0;
}


/* 0: compiled; 1: skipped, a regex does not compile (logged); -1 */

static int
gm_compile_match(gm_compile_ctx_t *ctx, const gm_compile_route_t *cr,
    const gm_http_match_t *hm, const gm_route_match_t **out)
{
    int                rc;
    gm_str_t           path, interned;
    gm_route_match_t  *m;

    if (gm_compile_is_match_all(hm)) {
        *out = &gm_compile_match_all;
        return 0;
    }

    m = gm_arena_calloc(ctx->arena, sizeof(gm_route_match_t));
    if (m == NULL) {
        return -1;
    }

    m->path_type = hm->path_type;
    path = hm->path;

    /* "/v2/" behaves as "/v2", and "/" becomes "": it matches all */
    while (m->path_type == GM_MATCH_PREFIX && path.len > 0
           && path.data[path.len - 1] == '/')
    {
        path.len--;
    }

    /* the parsers' bounds: GM_MAX_PATH_VALUE, gm_methods[] */
    if (path.len > UINT16_MAX || gm_compile_method(hm, m) != 0) {
        gm_log(ctx->log, GM_LOG_WARN, "%s %s/%s: a path of %zu bytes or "
               "method \"%s\" the snapshot cannot hold; the match is left "
               "out", gm_kind_name(cr->route->meta.kind), cr->ns.data,
               cr->name.data, path.len, gm_http_method_name(hm->method));
        return 1;
    }

    if (gm_compile_intern(ctx, &interned, &path) != 0) {
        return -1;
    }

    m->path = interned.data;
    m->path_len = (uint16_t) interned.len;

    if (m->path_type == GM_MATCH_REGEX) {
        rc = gm_compile_regex(ctx, cr, &hm->path, "path", &m->path_re);
        if (rc != 0) {
            return rc;
        }
    }

    if (hm->nheaders + hm->nquery != 0) {
        m->tests = gm_arena_calloc(ctx->arena, (hm->nheaders + hm->nquery)
                                               * sizeof(gm_value_test_t));
        if (m->tests == NULL) {
            return -1;
        }
    }

    rc = gm_compile_value_tests(ctx, cr, hm->headers, hm->nheaders, m->tests,
                                "header");
    if (rc != 0) {
        return rc;
    }

    m->nheaders = hm->nheaders;

    /* no tests: m->tests is NULL, and NULL + 0 is undefined in C */
    rc = gm_compile_value_tests(ctx, cr, hm->query, hm->nquery,
                                m->tests ? m->tests + hm->nheaders : NULL,
                                "query parameter");
    if (rc != 0) {
        return rc;
    }

    m->nquery = hm->nquery;
    *out = m;

    return 0;
}


/* the method's number in gm_route_methods[] (the store's); -1: out of it */

static int
gm_compile_method(const gm_http_match_t *hm, gm_route_match_t *m)
{
    if (hm->method >= GM_ROUTE_METHODS) {
        return -1;
    }

    m->method = hm->method;

    return 0;
}


/* into t, n tests of the match's array */

static int
gm_compile_value_tests(gm_compile_ctx_t *ctx, const gm_compile_route_t *cr,
    const gm_kv_match_t *kv, size_t n, gm_value_test_t *t, const char *what)
{
    int       rc;
    size_t    i;
    gm_str_t  name, value;

    for (i = 0; i < n; i++) {
        t[i].type = (kv[i].type == GM_MATCH_REGEX) ? GM_MATCH_REGEX
                                                   : GM_MATCH_EXACT;

        if (gm_compile_intern(ctx, &name, &kv[i].name) != 0
            || gm_compile_intern(ctx, &value, &kv[i].value) != 0)
        {
            return -1;
        }

        t[i].name = name.data;
        t[i].name_len = (uint16_t) name.len;
        t[i].value = value.data;
        t[i].value_len = (uint16_t) value.len;

        if (t[i].type == GM_MATCH_REGEX) {
            rc = gm_compile_regex(ctx, cr, &kv[i].value, what, &t[i].re);
            if (rc != 0) {
                return rc;
            }
        }
    }

    return 0;
}


/*
 * 0: compiled; 1: the pattern does not compile (logged), the match is left
 * out; -1: out of memory, as for any other allocation of the compile
 */

static int
gm_compile_regex(gm_compile_ctx_t *ctx, const gm_compile_route_t *cr,
    const gm_str_t *pattern, const char *what, pcre2_code **out)
{
    int           err;
    PCRE2_SIZE    off;
    PCRE2_UCHAR   msg[GM_REGEX_ERROR_MAX];

    *out = pcre2_compile((PCRE2_SPTR) pattern->data, pattern->len,
                         PCRE2_ANCHORED | PCRE2_ENDANCHORED, &err, &off,
                         ctx->pcre);

    if (*out != NULL) {
        return 0;
    }

    if (err == PCRE2_ERROR_HEAP_FAILED) {
        return -1;
    }

    pcre2_get_error_message(err, msg, sizeof(msg));

    gm_log(ctx->log, GM_LOG_WARN,
           "%s %s/%s: %s regex \"%s\" does not compile at offset "
           "%zu: %s; the match is left out",
           gm_kind_name(cr->route->meta.kind), cr->ns.data, cr->name.data,
           what, pattern->data, (size_t) off, (char *) msg);

    return 1;
}
