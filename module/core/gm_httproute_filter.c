/*
 * nginx-gamma: parsing the filters of an HTTPRoute rule or backendRef,
 * with the API's rules (CEL included): one sub-object per type, filters
 * that cannot be repeated, RequestRedirect excluding URLRewrite.  Each
 * filter becomes its typed gm_filter_t here, once, at import; the
 * compiler (gm_filter_compile.c) never sees JSON.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gm_parse_int.h"


typedef int (*gm_filter_parse_pt)(gm_parse_ctx_t *ctx, json_t *spec,
    gm_filter_t *f);

/* indexed by gm_filter_type_e */
typedef struct {
    const char           *type;
    const char           *field;
    gm_filter_parse_pt    parse;
    unsigned              once:1;
    unsigned              unsupported:1;
} gm_filter_def_t;


static int gm_filter_parse(gm_parse_ctx_t *ctx, json_t *item, gm_filter_t *f);
static int gm_filter_type(gm_parse_ctx_t *ctx, json_t *item, int *type);
static int gm_filter_fields_check(gm_parse_ctx_t *ctx, json_t *item, int type);
static int gm_filters_check(gm_parse_ctx_t *ctx, gm_filter_t *f, size_t n);
static int gm_header_filter_parse(gm_parse_ctx_t *ctx, json_t *spec,
    gm_filter_t *f);
static int gm_header_list_parse(gm_parse_ctx_t *ctx, json_t *spec,
    const char *key, gm_header_action_t **out, size_t *nout);
static int gm_header_names_parse(gm_parse_ctx_t *ctx, json_t *spec,
    const char *key, gm_header_action_t **out, size_t *nout);
static int gm_string_list_parse(gm_parse_ctx_t *ctx, json_t *spec,
    const char *key, size_t max, gm_name_e type, int wildcard,
    gm_strings_t *out);
static void gm_header_actions_check(gm_parse_ctx_t *ctx,
    const gm_header_filter_t *hf);
static int gm_header_name_repeated(const gm_header_action_t *a, size_t n,
    const gm_str_t *name);
static int gm_redirect_parse(gm_parse_ctx_t *ctx, json_t *spec,
    gm_filter_t *f);
static int gm_rewrite_parse(gm_parse_ctx_t *ctx, json_t *spec,
    gm_filter_t *f);
static int gm_path_modifier_parse(gm_parse_ctx_t *ctx, json_t *spec,
    const char *filter, gm_path_filter_t *pf);
static int gm_mirror_parse(gm_parse_ctx_t *ctx, json_t *spec,
    gm_filter_t *f);
static int gm_fraction_parse(gm_parse_ctx_t *ctx, json_t *spec,
    gm_mirror_filter_t *m);
static int gm_cors_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_filter_t *f);
static int gm_extension_ref_check(gm_parse_ctx_t *ctx, json_t *spec,
    gm_filter_t *f);
static int gm_external_auth_check(gm_parse_ctx_t *ctx, json_t *spec,
    gm_filter_t *f);


static const char *const  gm_modifier_types[] = {
    "ReplaceFullPath", "ReplacePrefixMatch", NULL
};

static const char *const  gm_schemes[] = { "http", "https", NULL };

static const char *const  gm_auth_protocols[] = { "HTTP", "GRPC", NULL };

static const gm_filter_def_t  gm_filter_defs[] = {
    { "RequestHeaderModifier", "requestHeaderModifier",
      gm_header_filter_parse, 1, 0 },
    { "ResponseHeaderModifier", "responseHeaderModifier",
      gm_header_filter_parse, 1, 0 },
    { "RequestMirror", "requestMirror", gm_mirror_parse, 0, 0 },
    { "RequestRedirect", "requestRedirect", gm_redirect_parse, 1, 0 },
    { "URLRewrite", "urlRewrite", gm_rewrite_parse, 1, 0 },
    { "CORS", "cors", gm_cors_parse, 1, 0 },
    { "ExtensionRef", "extensionRef", gm_extension_ref_check, 0, 1 },
    { "ExternalAuth", "externalAuth", gm_external_auth_check, 0, 1 }
};


int
gm_filters_parse(gm_parse_ctx_t *ctx, json_t *json, gm_filter_t **out,
    uint16_t *nout)
{
    size_t        i, n, old;
    json_t       *arr, *item;
    gm_filter_t  *f;

    if (gm_get_array(ctx, json, "filters", GM_MAX_FILTERS, &arr) != 0) {
        return -1;
    }

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    f = gm_alloc(ctx, n, sizeof(gm_filter_t));
    if (f == NULL) {
        return -1;
    }

    *out = f;
    *nout = (uint16_t) n;               /* at most GM_MAX_FILTERS */

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "filters[%zu]", i);

        if (gm_filter_parse(ctx, item, &f[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return gm_filters_check(ctx, f, n);
}


static int
gm_filter_parse(gm_parse_ctx_t *ctx, json_t *item, gm_filter_t *f)
{
    int                     type;
    size_t                  old;
    const gm_filter_def_t  *def;

    if (gm_check_object(ctx, item) != 0
        || gm_filter_type(ctx, item, &type) != 0)
    {
        return -1;
    }

    def = &gm_filter_defs[type];
    f->type = (gm_filter_type_e) type;

    if (gm_filter_fields_check(ctx, item, type) != 0) {
        return -1;
    }

    old = gm_path_push(ctx, "%s", def->field);

    if (def->parse(ctx, gm_field(item, def->field), f) != 0) {
        return -1;
    }

    gm_path_pop(ctx, old);

    if (def->unsupported) {
        gm_rule_invalid(ctx, "filter %s is not supported", def->type);
    }

    return 0;
}


static int
gm_filter_type(gm_parse_ctx_t *ctx, json_t *item, int *type)
{
    int          rc;
    char         text[GM_LOG_VALUE_MAX];
    size_t       i, len;
    const char  *s;

    *type = 0;

    rc = gm_get_cstr(ctx, item, "type", 0, SIZE_MAX, &s, &len);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "type", "is required");
    }

    for (i = 0; i < gm_nelems(gm_filter_defs); i++) {
        if (strcmp(s, gm_filter_defs[i].type) == 0) {
            *type = (int) i;
            return 0;
        }
    }

    gm_sanitize(text, sizeof(text), s, len);

    return gm_reject(ctx, "type", "unsupported value \"%s\"", text);
}


/* CEL: the sub-object of the type is set, all the others are not */
static int
gm_filter_fields_check(gm_parse_ctx_t *ctx, json_t *item, int type)
{
    size_t                  i;
    json_t                 *v;
    const gm_filter_def_t  *def;

    for (i = 0; i < gm_nelems(gm_filter_defs); i++) {
        def = &gm_filter_defs[i];
        v = gm_field(item, def->field);

        if ((int) i != type && v != NULL) {
            return gm_reject(ctx, def->field, "must be unset when type is %s",
                             gm_filter_defs[type].type);
        }

        if ((int) i == type && v == NULL) {
            return gm_reject(ctx, def->field, "must be set when type is %s",
                             def->type);
        }

        if ((int) i == type && !json_is_object(v)) {
            return gm_reject(ctx, def->field, "must be an object");
        }
    }

    return 0;
}


static int
gm_filters_check(gm_parse_ctx_t *ctx, gm_filter_t *f, size_t n)
{
    size_t    i;
    unsigned  count[gm_nelems(gm_filter_defs)];

    memset(count, 0, sizeof(count));

    for (i = 0; i < n; i++) {
        count[f[i].type]++;
    }

    /* CEL rules of the filter list: they cost the rule, not the route */
    if (count[GM_FILTER_REQUEST_REDIRECT] && count[GM_FILTER_URL_REWRITE]) {
        gm_rule_invalid(ctx, "%s.filters: may specify either RequestRedirect "
                        "or URLRewrite, but not both", ctx->path);
        return 0;
    }

    for (i = 0; i < gm_nelems(gm_filter_defs); i++) {
        if (gm_filter_defs[i].once && count[i] > 1) {
            gm_rule_invalid(ctx, "%s.filters: %s filter cannot be repeated",
                            ctx->path, gm_filter_defs[i].type);
            return 0;
        }
    }

    return 0;
}


static int
gm_header_filter_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_filter_t *f)
{
    gm_header_filter_t  *hf;

    hf = &f->u.header;

    if (gm_header_list_parse(ctx, spec, "set", &hf->set, &hf->nset) != 0
        || gm_header_list_parse(ctx, spec, "add", &hf->add, &hf->nadd) != 0
        || gm_header_names_parse(ctx, spec, "remove", &hf->remove,
                                 &hf->nremove) != 0)
    {
        return -1;
    }

    gm_header_actions_check(ctx, hf);

    return 0;
}


static int
gm_header_list_parse(gm_parse_ctx_t *ctx, json_t *spec, const char *key,
    gm_header_action_t **out, size_t *nout)
{
    int                  rc;
    size_t               i, old;
    json_t              *arr, *item;
    gm_header_action_t  *a;

    if (gm_get_array(ctx, spec, key, GM_MAX_HEADER_ACTIONS, &arr) != 0) {
        return -1;
    }

    if (json_array_size(arr) == 0) {
        return 0;
    }

    a = gm_alloc(ctx, json_array_size(arr), sizeof(gm_header_action_t));
    if (a == NULL) {
        return -1;
    }

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "%s[%zu]", key, i);

        if (gm_check_object(ctx, item) != 0
            || gm_get_name(ctx, item, "name", GM_NAME_HEADER, GM_REQUIRED,
                           &a[i].name) < 0)
        {
            return -1;
        }

        rc = gm_get_string(ctx, item, "value", 1, GM_MAX_HEADER_VALUE,
                           &a[i].value);
        if (rc <= 0) {
            return rc < 0 ? -1 : gm_reject(ctx, "value", "is required");
        }

        gm_path_pop(ctx, old);
    }

    *out = a;
    *nout = json_array_size(arr);

    return 0;
}


/* the names of remove: actions with an empty value */
static int
gm_header_names_parse(gm_parse_ctx_t *ctx, json_t *spec, const char *key,
    gm_header_action_t **out, size_t *nout)
{
    size_t               i;
    gm_strings_t         names;
    gm_header_action_t  *a;

    if (gm_string_list_parse(ctx, spec, key, GM_MAX_HEADER_ACTIONS,
                             GM_NAME_HEADER, GM_WILDCARD_NONE, &names) != 0)
    {
        return -1;
    }

    if (names.n == 0) {
        return 0;
    }

    a = gm_alloc(ctx, names.n, sizeof(gm_header_action_t));
    if (a == NULL) {
        return -1;
    }

    for (i = 0; i < names.n; i++) {
        a[i].name = names.items[i];

        if (gm_str_set(ctx, &a[i].value, "") != 0) {
            return -1;
        }
    }

    *out = a;
    *nout = names.n;

    return 0;
}


/* wildcard: GM_WILDCARD_NONE, _ALONE ("*" or a list) or _ANY */
static int
gm_string_list_parse(gm_parse_ctx_t *ctx, json_t *spec, const char *key,
    size_t max, gm_name_e type, int wildcard, gm_strings_t *out)
{
    char         field[GM_FIELD_NAME_MAX];
    size_t       i, len;
    json_t      *arr, *v;
    const char  *s;

    out->items = NULL;
    out->n = 0;

    if (gm_get_array(ctx, spec, key, max, &arr) != 0) {
        return -1;
    }

    if (json_array_size(arr) == 0) {
        return 0;
    }

    out->items = gm_alloc(ctx, json_array_size(arr), sizeof(gm_str_t));
    if (out->items == NULL) {
        return -1;
    }

    json_array_foreach(arr, i, v) {
        snprintf(field, sizeof(field), "%s[%zu]", key, i);

        if (gm_check_string(ctx, field, v, 0, SIZE_MAX, &s, &len) != 0) {
            return -1;
        }

        if (wildcard != GM_WILDCARD_NONE && strcmp(s, "*") == 0) {
            if (wildcard == GM_WILDCARD_ALONE && json_array_size(arr) > 1) {
                return gm_reject(ctx, key, "cannot contain \"*\" alongside "
                                 "other values");
            }

        } else if (gm_check_name(ctx, field, s, len, type) != 0) {
            return -1;
        }

        if (gm_strdup(ctx, &out->items[out->n++], s, len) != 0) {
            return -1;
        }
    }

    return 0;
}


/* only one action per header name (case-insensitive) and filter */
static void
gm_header_actions_check(gm_parse_ctx_t *ctx, const gm_header_filter_t *hf)
{
    size_t  i;

    for (i = 0; i < hf->nset; i++) {
        if (gm_header_name_repeated(hf->set, i, &hf->set[i].name)) {
            goto repeated;
        }
    }

    for (i = 0; i < hf->nadd; i++) {
        if (gm_header_name_repeated(hf->set, hf->nset, &hf->add[i].name)
            || gm_header_name_repeated(hf->add, i, &hf->add[i].name))
        {
            goto repeated;
        }
    }

    for (i = 0; i < hf->nremove; i++) {
        if (gm_header_name_repeated(hf->set, hf->nset, &hf->remove[i].name)
            || gm_header_name_repeated(hf->add, hf->nadd,
                                       &hf->remove[i].name)
            || gm_header_name_repeated(hf->remove, i, &hf->remove[i].name))
        {
            goto repeated;
        }
    }

    return;

repeated:

    gm_rule_invalid(ctx, "%s: more than one action for the same header "
                    "name", ctx->path);
}


/* whether one of the first n actions has this name, case-insensitively */
static int
gm_header_name_repeated(const gm_header_action_t *a, size_t n,
    const gm_str_t *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcasecmp(a[i].name.data, name->data) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
gm_redirect_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_filter_t *f)
{
    int                    rc, scheme;
    int64_t                code;
    gm_redirect_filter_t  *rd;

    rd = &f->u.redirect;

    rc = gm_get_int(ctx, spec, "statusCode", INT32_MIN, INT32_MAX, &code);
    if (rc < 0) {
        return -1;
    }

    if (rc == 1 && code != 301 && code != 302 && code != 303 && code != 307
        && code != 308)
    {
        return gm_reject(ctx, "statusCode", "unsupported value %d",
                         (int) code);
    }

    rd->status = rc ? (uint16_t) code : GM_REDIRECT_STATUS;

    rc = gm_get_enum(ctx, spec, "scheme", gm_schemes, &scheme);
    if (rc < 0
        || gm_str_set(ctx, &rd->scheme, rc ? gm_schemes[scheme] : "") != 0
        || gm_get_name(ctx, spec, "hostname", GM_NAME_PRECISE_HOSTNAME, 0,
                       &rd->hostname) < 0)
    {
        return -1;
    }

    if (gm_get_port(ctx, spec, "port", &rd->port) < 0) {
        return -1;
    }

    return gm_path_modifier_parse(ctx, spec, "RequestRedirect", &rd->path);
}


static int
gm_rewrite_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_filter_t *f)
{
    gm_rewrite_filter_t  *rw;

    rw = &f->u.rewrite;

    if (gm_get_name(ctx, spec, "hostname", GM_NAME_PRECISE_HOSTNAME, 0,
                    &rw->hostname) < 0)
    {
        return -1;
    }

    return gm_path_modifier_parse(ctx, spec, "URLRewrite", &rw->path);
}


/* pf stays GM_PATH_KEEP without a path modifier */
static int
gm_path_modifier_parse(gm_parse_ctx_t *ctx, json_t *spec, const char *filter,
    gm_path_filter_t *pf)
{
    int       rc, type, full, prefix;
    json_t   *pm;
    gm_str_t  full_path, prefix_match;

    if (gm_get_object(ctx, spec, "path", &pm) != 0) {
        return -1;
    }

    if (pm == NULL) {
        return 0;
    }

    (void) gm_path_push(ctx, "path");

    rc = gm_get_enum(ctx, pm, "type", gm_modifier_types, &type);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "type", "is required");
    }

    full = gm_get_string(ctx, pm, "replaceFullPath", 0, GM_MAX_PATH_VALUE,
                         &full_path);
    prefix = gm_get_string(ctx, pm, "replacePrefixMatch", 0,
                           GM_MAX_PATH_VALUE, &prefix_match);

    if (full < 0 || prefix < 0) {
        return -1;
    }

    if (full != (type == 0) || prefix != (type == 1)) {
        return gm_reject(ctx, NULL, "the value set must be the one of type "
                         "(replaceFullPath or replacePrefixMatch)");
    }

    if (prefix && !ctx->prefix_only) {
        return gm_reject(ctx, "replacePrefixMatch", "%s with "
                         "replacePrefixMatch needs exactly one PathPrefix "
                         "match in the rule", filter);
    }

    pf->type = full ? GM_PATH_FULL : GM_PATH_PREFIX;
    pf->value = full ? full_path : prefix_match;

    return 0;
}


static int
gm_mirror_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_filter_t *f)
{
    int                  rc;
    size_t               old;
    json_t              *ref;
    int64_t              percent;
    gm_mirror_filter_t  *m;

    m = &f->u.mirror;

    ref = gm_field(spec, "backendRef");
    if (ref == NULL) {
        return gm_reject(ctx, "backendRef", "is required");
    }

    old = gm_path_push(ctx, "backendRef");

    if (gm_object_ref_parse(ctx, ref, &m->backend) != 0) {
        return -1;
    }

    gm_path_pop(ctx, old);

    rc = gm_get_int(ctx, spec, "percent", 0, 100, &percent);
    if (rc < 0) {
        return -1;
    }

    if (rc == 1 && gm_field(spec, "fraction") != NULL) {
        return gm_reject(ctx, NULL, "only one of percent or fraction may be "
                         "specified");
    }

    /* percent, or fraction, or everything */
    m->numerator = rc ? (uint32_t) percent : 1;
    m->denominator = rc ? 100 : 1;

    return gm_fraction_parse(ctx, spec, m);
}


static int
gm_fraction_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_mirror_filter_t *m)
{
    int      rc;
    json_t  *f;
    int64_t  num, den;

    if (gm_get_object(ctx, spec, "fraction", &f) != 0) {
        return -1;
    }

    if (f == NULL) {
        return 0;
    }

    (void) gm_path_push(ctx, "fraction");

    den = GM_MIRROR_DENOMINATOR;

    rc = gm_get_int(ctx, f, "numerator", 0, INT32_MAX, &num);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "numerator", "is required");
    }

    if (gm_get_int(ctx, f, "denominator", 1, INT32_MAX, &den) < 0) {
        return -1;
    }

    if (num > den) {
        return gm_reject(ctx, "numerator", "must be less than or equal to "
                         "denominator");
    }

    m->numerator = (uint32_t) num;
    m->denominator = (uint32_t) den;

    return 0;
}


static int
gm_cors_parse(gm_parse_ctx_t *ctx, json_t *spec, gm_filter_t *f)
{
    int                rc, credentials;
    int64_t            age;
    gm_cors_filter_t  *c;

    c = &f->u.cors;
    credentials = 0;

    if (gm_string_list_parse(ctx, spec, "allowOrigins", GM_MAX_CORS_LIST,
                             GM_NAME_OBJECT, GM_WILDCARD_ALONE,
                             &c->origins) != 0
        || gm_string_list_parse(ctx, spec, "allowMethods",
                                GM_MAX_CORS_METHODS, GM_NAME_METHOD,
                                GM_WILDCARD_ALONE, &c->methods) != 0
        || gm_string_list_parse(ctx, spec, "allowHeaders", GM_MAX_CORS_LIST,
                                GM_NAME_HEADER, GM_WILDCARD_ALONE,
                                &c->headers) != 0
        || gm_string_list_parse(ctx, spec, "exposeHeaders",
                                GM_MAX_CORS_LIST, GM_NAME_HEADER,
                                GM_WILDCARD_ANY, &c->expose) != 0
        || gm_get_bool(ctx, spec, "allowCredentials", &credentials) < 0)
    {
        return -1;
    }

    c->credentials = credentials ? 1 : 0;

    rc = gm_get_int(ctx, spec, "maxAge", 1, INT32_MAX, &age);
    if (rc < 0) {
        return -1;
    }

    c->max_age = rc ? age : GM_CORS_MAX_AGE;

    return 0;
}


/* not supported: the rule is invalid, nothing is kept */
static int
gm_extension_ref_check(gm_parse_ctx_t *ctx, json_t *spec, gm_filter_t *f)
{
    (void) f;

    if (gm_get_name(ctx, spec, "group", GM_NAME_GROUP, GM_REQUIRED, NULL) < 0
        || gm_get_name(ctx, spec, "kind", GM_NAME_KIND, GM_REQUIRED, NULL) < 0
        || gm_get_name(ctx, spec, "name", GM_NAME_OBJECT, GM_REQUIRED, NULL)
           < 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_external_auth_check(gm_parse_ctx_t *ctx, json_t *spec, gm_filter_t *f)
{
    int  rc, protocol;

    (void) f;

    rc = gm_get_enum(ctx, spec, "protocol", gm_auth_protocols, &protocol);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "protocol", "is required");
    }

    if (gm_field(spec, "backendRef") == NULL) {
        return gm_reject(ctx, "backendRef", "is required");
    }

    return 0;
}
