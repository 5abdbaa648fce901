/*
 * nginx-gamma: parsing the filters of an HTTPRoute rule or backendRef,
 * with the API's rules (CEL included): one sub-object per type, filters
 * that cannot be repeated, RequestRedirect excluding URLRewrite.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gm_parse_int.h"


typedef int (*gm_filter_check_pt)(gm_parse_ctx_t *ctx, json_t *spec);

/* indexed by gm_filter_type_e */
typedef struct {
    const char           *type;
    const char           *field;
    gm_filter_check_pt    check;
    unsigned              once:1;
    unsigned              unsupported:1;
} gm_filter_def_t;


static int gm_filter_parse(gm_parse_ctx_t *ctx, json_t *item, gm_filter_t *f);
static int gm_filter_type(gm_parse_ctx_t *ctx, json_t *item, int *type);
static int gm_filter_fields_check(gm_parse_ctx_t *ctx, json_t *item, int type);
static int gm_filters_check(gm_parse_ctx_t *ctx, gm_filter_t *f, size_t n);
static int gm_header_filter_check(gm_parse_ctx_t *ctx, json_t *spec);
static int gm_header_list_check(gm_parse_ctx_t *ctx, json_t *spec,
    const char *key);
static int gm_string_list_check(gm_parse_ctx_t *ctx, json_t *spec,
    const char *key, size_t max, gm_name_e type, int wildcard);
static void gm_header_actions_check(gm_parse_ctx_t *ctx, json_t *spec);
static int gm_redirect_check(gm_parse_ctx_t *ctx, json_t *spec);
static int gm_rewrite_check(gm_parse_ctx_t *ctx, json_t *spec);
static int gm_path_modifier_check(gm_parse_ctx_t *ctx, json_t *spec,
    const char *filter);
static int gm_mirror_check(gm_parse_ctx_t *ctx, json_t *spec);
static int gm_fraction_check(gm_parse_ctx_t *ctx, json_t *spec);
static int gm_cors_check(gm_parse_ctx_t *ctx, json_t *spec);
static int gm_extension_ref_check(gm_parse_ctx_t *ctx, json_t *spec);
static int gm_external_auth_check(gm_parse_ctx_t *ctx, json_t *spec);


static const char *const  gm_modifier_types[] = {
    "ReplaceFullPath", "ReplacePrefixMatch", NULL
};

static const char *const  gm_schemes[] = { "http", "https", NULL };

static const char *const  gm_auth_protocols[] = { "HTTP", "GRPC", NULL };

static const gm_filter_def_t  gm_filter_defs[] = {
    { "RequestHeaderModifier", "requestHeaderModifier",
      gm_header_filter_check, 1, 0 },
    { "ResponseHeaderModifier", "responseHeaderModifier",
      gm_header_filter_check, 1, 0 },
    { "RequestMirror", "requestMirror", gm_mirror_check, 0, 0 },
    { "RequestRedirect", "requestRedirect", gm_redirect_check, 1, 0 },
    { "URLRewrite", "urlRewrite", gm_rewrite_check, 1, 0 },
    { "CORS", "cors", gm_cors_check, 1, 0 },
    { "ExtensionRef", "extensionRef", gm_extension_ref_check, 0, 1 },
    { "ExternalAuth", "externalAuth", gm_external_auth_check, 0, 1 }
};


int
gm_filters_parse(gm_parse_ctx_t *ctx, json_t *json, gm_filter_t **out,
    size_t *nout)
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

    /* set at once so that gm_object_free() finds every reference taken */
    *out = f;
    *nout = n;

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
    f->spec = json_incref(item);

    if (gm_filter_fields_check(ctx, item, type) != 0) {
        return -1;
    }

    old = gm_path_push(ctx, "%s", def->field);

    if (def->check(ctx, gm_field(item, def->field)) != 0) {
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
gm_header_filter_check(gm_parse_ctx_t *ctx, json_t *spec)
{
    if (gm_header_list_check(ctx, spec, "set") != 0
        || gm_header_list_check(ctx, spec, "add") != 0
        || gm_string_list_check(ctx, spec, "remove", GM_MAX_HEADER_ACTIONS,
                                GM_NAME_HEADER, GM_WILDCARD_NONE) != 0)
    {
        return -1;
    }

    gm_header_actions_check(ctx, spec);

    return 0;
}


static int
gm_header_list_check(gm_parse_ctx_t *ctx, json_t *spec, const char *key)
{
    int      rc;
    size_t   i, old;
    json_t  *arr, *item;

    if (gm_get_array(ctx, spec, key, GM_MAX_HEADER_ACTIONS, &arr) != 0) {
        return -1;
    }

    json_array_foreach(arr, i, item) {
        old = gm_path_push(ctx, "%s[%zu]", key, i);

        if (gm_check_object(ctx, item) != 0
            || gm_get_name(ctx, item, "name", GM_NAME_HEADER, GM_REQUIRED,
                           NULL) < 0)
        {
            return -1;
        }

        rc = gm_get_string(ctx, item, "value", 1, GM_MAX_HEADER_VALUE, NULL);
        if (rc <= 0) {
            return rc < 0 ? -1 : gm_reject(ctx, "value", "is required");
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


/* wildcard: GM_WILDCARD_NONE, _ALONE ("*" or a list) or _ANY */
static int
gm_string_list_check(gm_parse_ctx_t *ctx, json_t *spec, const char *key,
    size_t max, gm_name_e type, int wildcard)
{
    char         field[GM_FIELD_NAME_MAX];
    size_t       i, len;
    json_t      *arr, *v;
    const char  *s;

    if (gm_get_array(ctx, spec, key, max, &arr) != 0) {
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

            continue;
        }

        if (gm_check_name(ctx, field, s, len, type) != 0) {
            return -1;
        }
    }

    return 0;
}


/* only one action per header name (case-insensitive) and filter */
static void
gm_header_actions_check(gm_parse_ctx_t *ctx, json_t *spec)
{
    size_t       i, j, k, n;
    json_t      *arr, *v;
    const char  *names[3 * GM_MAX_HEADER_ACTIONS];

    static const char  *keys[] = { "set", "add", "remove" };

    n = 0;

    for (k = 0; k < gm_nelems(keys); k++) {
        arr = gm_field(spec, keys[k]);

        json_array_foreach(arr, i, v) {
            names[n++] = json_is_string(v)
                         ? json_string_value(v)
                         : json_string_value(json_object_get(v, "name"));
        }
    }

    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            if (strcasecmp(names[i], names[j]) == 0) {
                gm_rule_invalid(ctx, "%s: more than one action for the same "
                                "header name", ctx->path);
                return;
            }
        }
    }
}


static int
gm_redirect_check(gm_parse_ctx_t *ctx, json_t *spec)
{
    int      rc, scheme;
    int64_t  code, port;

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

    if (gm_get_enum(ctx, spec, "scheme", gm_schemes, &scheme) < 0
        || gm_get_name(ctx, spec, "hostname", GM_NAME_PRECISE_HOSTNAME, 0,
                       NULL) < 0
        || gm_get_int(ctx, spec, "port", 1, GM_MAX_PORT, &port) < 0)
    {
        return -1;
    }

    return gm_path_modifier_check(ctx, spec, "RequestRedirect");
}


static int
gm_rewrite_check(gm_parse_ctx_t *ctx, json_t *spec)
{
    if (gm_get_name(ctx, spec, "hostname", GM_NAME_PRECISE_HOSTNAME, 0,
                    NULL) < 0)
    {
        return -1;
    }

    return gm_path_modifier_check(ctx, spec, "URLRewrite");
}


static int
gm_path_modifier_check(gm_parse_ctx_t *ctx, json_t *spec, const char *filter)
{
    int      rc, type, full, prefix;
    json_t  *pm;

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

    full = gm_get_string(ctx, pm, "replaceFullPath", 0,
                          GM_MAX_PATH_VALUE, NULL);
    prefix = gm_get_string(ctx, pm, "replacePrefixMatch", 0,
                            GM_MAX_PATH_VALUE, NULL);

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

    return 0;
}


static int
gm_mirror_check(gm_parse_ctx_t *ctx, json_t *spec)
{
    int               rc;
    size_t            old;
    json_t           *ref;
    int64_t           percent;
    gm_backend_ref_t  b;

    ref = gm_field(spec, "backendRef");
    if (ref == NULL) {
        return gm_reject(ctx, "backendRef", "is required");
    }

    memset(&b, 0, sizeof(gm_backend_ref_t));
    old = gm_path_push(ctx, "backendRef");

    if (gm_object_ref_parse(ctx, ref, &b) != 0) {
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

    return gm_fraction_check(ctx, spec);
}


static int
gm_fraction_check(gm_parse_ctx_t *ctx, json_t *spec)
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

    return 0;
}


static int
gm_cors_check(gm_parse_ctx_t *ctx, json_t *spec)
{
    int      credentials;
    int64_t  age;

    if (gm_string_list_check(ctx, spec, "allowOrigins", GM_MAX_CORS_LIST,
                             GM_NAME_OBJECT, GM_WILDCARD_ALONE) != 0
        || gm_string_list_check(ctx, spec, "allowMethods",
                                GM_MAX_CORS_METHODS, GM_NAME_METHOD,
                                GM_WILDCARD_ALONE) != 0
        || gm_string_list_check(ctx, spec, "allowHeaders", GM_MAX_CORS_LIST,
                                GM_NAME_HEADER, GM_WILDCARD_ALONE) != 0
        || gm_string_list_check(ctx, spec, "exposeHeaders",
                                GM_MAX_CORS_LIST, GM_NAME_HEADER,
                                GM_WILDCARD_ANY) != 0
        || gm_get_bool(ctx, spec, "allowCredentials", &credentials) < 0
        || gm_get_int(ctx, spec, "maxAge", 1, INT32_MAX, &age) < 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_extension_ref_check(gm_parse_ctx_t *ctx, json_t *spec)
{
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
gm_external_auth_check(gm_parse_ctx_t *ctx, json_t *spec)
{
    int  rc, protocol;

    rc = gm_get_enum(ctx, spec, "protocol", gm_auth_protocols, &protocol);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "protocol", "is required");
    }

    if (gm_field(spec, "backendRef") == NULL) {
        return gm_reject(ctx, "backendRef", "is required");
    }

    return 0;
}


void
gm_filters_release(gm_filter_t *f, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        json_decref(f[i].spec);
    }
}
