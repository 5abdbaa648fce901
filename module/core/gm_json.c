/*
 * nginx-gamma: reading the fields of a decoded manifest (jansson values,
 * from JSON or YAML): each getter checks the type and the bounds the API
 * enforces, and rejects the object naming the field when they are wrong.
 */

#include <stdint.h>
#include <string.h>

#include "gm_parse_int.h"


/* absent and null read the same: the API drops null optional fields */
json_t *
gm_field(json_t *obj, const char *key)
{
    json_t  *v;

    v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}


int
gm_get_object(gm_parse_ctx_t *ctx, json_t *obj, const char *key, json_t **out)
{
    json_t  *v;

    *out = NULL;

    v = gm_field(obj, key);
    if (v != NULL && !json_is_object(v)) {
        return gm_reject(ctx, key, "must be an object");
    }

    *out = v;

    return 0;
}


int
gm_get_array(gm_parse_ctx_t *ctx, json_t *obj, const char *key, size_t max,
    json_t **out)
{
    json_t  *v;

    *out = NULL;

    v = gm_field(obj, key);

    if (v != NULL && !json_is_array(v)) {
        return gm_reject(ctx, key, "must be an array");
    }

    if (json_array_size(v) > max) {
        return gm_reject(ctx, key, "must have at most %zu items", max);
    }

    *out = v;

    return 0;
}


int
gm_check_object(gm_parse_ctx_t *ctx, json_t *v)
{
    if (!json_is_object(v)) {
        return gm_reject(ctx, NULL, "must be an object");
    }

    return 0;
}


int
gm_check_string(gm_parse_ctx_t *ctx, const char *field, json_t *v, size_t min,
    size_t max, const char **s, size_t *len)
{
    size_t  n;

    if (!json_is_string(v)) {
        return gm_reject(ctx, field, "must be a string");
    }

    *s = json_string_value(v);
    *len = json_string_length(v);

    if (memchr(*s, '\0', *len) != NULL) {
        return gm_reject(ctx, field, "must not contain a NUL character");
    }

    n = gm_utf8_len(*s, *len);

    if (n < min) {
        if (min == 1) {
            return gm_reject(ctx, field, "must not be empty");
        }

        return gm_reject(ctx, field, "must be at least %zu characters", min);
    }

    if (n > max) {
        return gm_reject(ctx, field, "must be at most %zu characters", max);
    }

    return 0;
}


/* returns 1 when present, 0 when absent, -1 when invalid */
int
gm_get_cstr(gm_parse_ctx_t *ctx, json_t *obj, const char *key, size_t min,
    size_t max, const char **s, size_t *len)
{
    json_t  *v;

    v = gm_field(obj, key);
    if (v == NULL) {
        return 0;
    }

    return gm_check_string(ctx, key, v, min, max, s, len) == 0 ? 1 : -1;
}


/* absent reads as ""; out may be NULL to validate only */
int
gm_get_string(gm_parse_ctx_t *ctx, json_t *obj, const char *key, size_t min,
    size_t max, gm_str_t *out)
{
    int          rc;
    size_t       len;
    const char  *s;

    s = "";
    len = 0;

    rc = gm_get_cstr(ctx, obj, key, min, max, &s, &len);
    if (rc < 0 || out == NULL) {
        return rc;
    }

    return gm_strdup(ctx, out, s, len) == 0 ? rc : -1;
}


int
gm_check_int(gm_parse_ctx_t *ctx, const char *field, json_t *v, int64_t min,
    int64_t max, int64_t *out)
{
    json_int_t  n;

    *out = 0;

    if (!json_is_integer(v)) {
        return gm_reject(ctx, field, "must be an integer");
    }

    n = json_integer_value(v);

    if (n < min || n > max) {
        return gm_reject(ctx, field, "must be between %lld and %lld",
                         (long long) min, (long long) max);
    }

    *out = n;

    return 0;
}


int
gm_get_int(gm_parse_ctx_t *ctx, json_t *obj, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
    json_t  *v;

    v = gm_field(obj, key);
    if (v == NULL) {
        return 0;
    }

    return gm_check_int(ctx, key, v, min, max, out) == 0 ? 1 : -1;
}



/* a port number; *out stays 0 when absent; returns as gm_get_int() */
int
gm_get_port(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    uint16_t *out)
{
    int      rc;
    int64_t  port;

    *out = 0;

    rc = gm_get_int(ctx, obj, key, 1, GM_MAX_PORT, &port);
    if (rc == 1) {
        *out = (uint16_t) port;
    }

    return rc;
}


int
gm_get_bool(gm_parse_ctx_t *ctx, json_t *obj, const char *key, int *out)
{
    json_t  *v;

    v = gm_field(obj, key);
    if (v == NULL) {
        return 0;
    }

    if (!json_is_boolean(v)) {
        return gm_reject(ctx, key, "must be a boolean");
    }

    *out = json_is_true(v);

    return 1;
}


int
gm_get_enum(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    const char *const *values, int *out)
{
    int          i, rc;
    char         text[GM_LOG_VALUE_MAX];
    size_t       len;
    const char  *s;

    *out = 0;

    rc = gm_get_cstr(ctx, obj, key, 0, SIZE_MAX, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    for (i = 0; values[i] != NULL; i++) {
        if (strlen(values[i]) == len && memcmp(values[i], s, len) == 0) {
            *out = i;
            return 1;
        }
    }

    gm_sanitize(text, sizeof(text), s, len);

    return gm_reject(ctx, key, "unsupported value \"%s\"", text);
}


/* returns 1 when present, 0 when absent, -1 when invalid */
int
gm_get_name(gm_parse_ctx_t *ctx, json_t *obj, const char *key, gm_name_e type,
    int flags, gm_str_t *out)
{
    int          rc;
    size_t       len;
    const char  *s;

    s = "";
    len = 0;

    rc = gm_get_cstr(ctx, obj, key, 0, SIZE_MAX, &s, &len);
    if (rc < 0) {
        return -1;
    }

    if (rc == 0 && (flags & GM_REQUIRED)) {
        return gm_reject(ctx, key, "is required");
    }

    if (rc == 1
        && !(len == 0 && (flags & GM_EMPTY_OK))
        && gm_check_name(ctx, key, s, len, type) != 0)
    {
        return -1;
    }

    if (out != NULL && gm_name_dup(ctx, out, s, len) != 0) {
        return -1;
    }

    return rc;
}


int
gm_get_name_def(gm_parse_ctx_t *ctx, json_t *obj, const char *key,
    gm_name_e type, const char *def, gm_str_t *out)
{
    int  rc;

    rc = gm_get_name(ctx, obj, key, type, 0, out);
    if (rc < 0) {
        return -1;
    }

    return rc == 0 ? gm_str_set(ctx, out, def) : 0;
}


/* a reference's namespace defaults to the route's own */
int
gm_get_ns(gm_parse_ctx_t *ctx, json_t *obj, gm_str_t *out)
{
    int  rc;

    rc = gm_get_name(ctx, obj, "namespace", GM_NAME_LABEL, 0, out);
    if (rc < 0) {
        return -1;
    }

    if (rc == 0) {
        *out = ctx->meta->ns;
    }

    return 0;
}
