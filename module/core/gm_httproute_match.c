/*
 * nginx-gamma: parsing the matches of an HTTPRoute rule: path, method,
 * headers and query parameters.
 */

#include <string.h>

#include "gm_parse_int.h"


/* gm_http_match_t counts them in 8 bits */
#if (GM_MAX_KV_MATCHES > 255)
#error GM_MAX_KV_MATCHES does not fit gm_http_match_t
#endif


static int gm_match_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_http_match_t *m);
static int gm_path_match_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_http_match_t *m);
static int gm_kv_match_parse(gm_parse_ctx_t *ctx, json_t *item,
    size_t max_value, gm_kv_match_t *kv);
static int gm_kv_match_duplicate(gm_kv_match_t *kv, size_t n);


/* indexed by gm_match_type_e */
static const char *const  gm_path_types[] = {
    "Exact", "PathPrefix", "RegularExpression", NULL
};

static const char *const  gm_kv_types[] = {
    "Exact", "RegularExpression", NULL
};

/*
 * What a rule without matches gets: one match on PathPrefix "/", the one
 * gm_match_parse() makes of no item, shared by every such rule (read
 * only: a write would fault).
 */
static const gm_http_match_t  gm_default_match = {
    .path = { .len = 1, .data = (char *) "/" },
    .path_type = GM_MATCH_PREFIX
};


int
gm_matches_parse(gm_parse_ctx_t *ctx, json_t *json, gm_http_rule_t *rule)
{
    size_t            i, n, old;
    json_t           *arr, *item;
    gm_http_match_t  *m;

    if (gm_get_array(ctx, json, "matches", GM_MAX_MATCHES, &arr) != 0) {
        return -1;
    }

    n = json_array_size(arr);

    if (n == 0) {
        rule->matches = (gm_http_match_t *) &gm_default_match;
        rule->nmatches = 1;
        ctx->prefix_only = 1;
        return 0;
    }

    m = gm_alloc(ctx, n, sizeof(gm_http_match_t));
    if (m == NULL) {
        return -1;
    }

    rule->matches = m;
    rule->nmatches = n;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "matches[%zu]", i);

        if (gm_match_parse(ctx, item, &m[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    ctx->prefix_only = rule->nmatches == 1 && m[0].path_type == GM_MATCH_PREFIX;

    return 0;
}


/* item NULL gives the default match */
static int
gm_match_parse(gm_parse_ctx_t *ctx, json_t *item, gm_http_match_t *m)
{
    int  rc, method;

    method = 0;

    if ((item != NULL && gm_check_object(ctx, item) != 0)
        || gm_path_match_parse(ctx, item, m) != 0)
    {
        return -1;
    }

    rc = gm_get_enum(ctx, item, "method", gm_methods, &method);
    if (rc < 0) {
        return -1;
    }

    m->method = (uint8_t) (rc ? method + 1 : 0);

    if (gm_kv_matches_parse(ctx, item, "headers", GM_MAX_HEADER_VALUE,
                            &m->headers, &m->nheaders) != 0
        || gm_kv_matches_parse(ctx, item, "queryParams", GM_MAX_QUERY_VALUE,
                               &m->query, &m->nquery) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_path_match_parse(gm_parse_ctx_t *ctx, json_t *item, gm_http_match_t *m)
{
    int      rc, type;
    size_t   old;
    json_t  *path;

    if (gm_get_object(ctx, item, "path", &path) != 0) {
        return -1;
    }

    old = gm_path_push(ctx, "path");

    rc = gm_get_enum(ctx, path, "type", gm_path_types, &type);
    if (rc < 0) {
        return -1;
    }

    m->path_type = rc ? (gm_match_type_e) type : GM_MATCH_PREFIX;

    rc = gm_get_string(ctx, path, "value", 0, GM_MAX_PATH_VALUE, &m->path);
    if (rc < 0 || (rc == 0 && gm_str_set(ctx, &m->path, "/") != 0)) {
        return -1;
    }

    if (m->path_type == GM_MATCH_REGEX) {
        gm_regex_check(ctx, "value", &m->path);

    } else if (gm_path_value_check(ctx, &m->path) != 0) {
        return -1;
    }

    gm_path_pop(ctx, old);

    return 0;
}


int
gm_kv_matches_parse(gm_parse_ctx_t *ctx, json_t *json, const char *key,
    size_t max_value, gm_kv_match_t **out, uint8_t *nout)
{
    size_t          i, n, old;
    json_t         *arr, *item;
    gm_kv_match_t  *kv;

    if (gm_get_array(ctx, json, key, GM_MAX_KV_MATCHES, &arr) != 0) {
        return -1;
    }

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    kv = gm_alloc(ctx, n, sizeof(gm_kv_match_t));
    if (kv == NULL) {
        return -1;
    }

    *out = kv;

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "%s[%zu]", key, i);

        if (gm_kv_match_parse(ctx, item, max_value, &kv[*nout]) != 0) {
            return -1;
        }

        /* the first of equivalent names wins, later ones are dropped */
        if (!gm_kv_match_duplicate(kv, *nout)) {
            if (kv[*nout].type == GM_MATCH_REGEX) {
                gm_regex_check(ctx, "value", &kv[*nout].value);
            }

            (*nout)++;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


/* header names come lowercased: max_value tells headers from query */
static int
gm_kv_match_parse(gm_parse_ctx_t *ctx, json_t *item, size_t max_value,
    gm_kv_match_t *kv)
{
    int          rc, type;
    char         lower[GM_MAX_HEADER_NAME];
    size_t       i, len;
    const char  *s;

    if (gm_check_object(ctx, item) != 0) {
        return -1;
    }

    rc = gm_get_enum(ctx, item, "type", gm_kv_types, &type);
    if (rc < 0) {
        return -1;
    }

    kv->type = (rc && type == 1) ? GM_MATCH_REGEX : GM_MATCH_EXACT;

    if (max_value != GM_MAX_HEADER_VALUE) {
        if (gm_get_name(ctx, item, "name", GM_NAME_HEADER, GM_REQUIRED,
                        &kv->name) < 0)
        {
            return -1;
        }

    } else {
        /* checked as written, lowercased before the copy (it is shared) */
        if (gm_get_name(ctx, item, "name", GM_NAME_HEADER, GM_REQUIRED,
                        NULL) < 0)
        {
            return -1;
        }

        s = json_string_value(json_object_get(item, "name"));
        len = json_string_length(json_object_get(item, "name"));

        if (len > sizeof(lower)) {      /* token characters: bytes */
            return gm_reject(ctx, "name", "must be at most %d characters",
                             GM_MAX_HEADER_NAME);
        }

        for (i = 0; i < len; i++) {
            lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] | 0x20 : s[i];
        }

        if (gm_name_dup(ctx, &kv->name, lower, len) != 0) {
            return -1;
        }
    }

    rc = gm_get_string(ctx, item, "value", 1, max_value, &kv->value);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "value", "is required");
    }

    return 0;
}


static int
gm_kv_match_duplicate(gm_kv_match_t *kv, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (gm_str_eq(&kv[i].name, &kv[n].name)) {
            return 1;
        }
    }

    return 0;
}


const char *
gm_http_method_name(unsigned method)
{
    unsigned  i;

    for (i = 1; gm_methods[i - 1] != NULL; i++) {
        if (i == method) {
            return gm_methods[i - 1];
        }
    }

    return "";
}
