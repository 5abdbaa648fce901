/*
 * nginx-gamma: parsing a TrafficPolicy (policy.nginx-gamma.dev/v1alpha1),
 * our own policy kind in the GEP-713 shape: targetRefs, and spec.default
 * and spec.override with the same fields.  Each leaf is read as text and
 * checked by gm_policy_value_parse(), the parser of the nginx.conf form.
 */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gm_parse_int.h"


static int gm_policy_section_parse(gm_parse_ctx_t *ctx, json_t *spec,
    const char *key, gm_policy_values_t *v);
static int gm_policy_object_walk(gm_parse_ctx_t *ctx, json_t *obj,
    char *path, size_t plen, gm_policy_values_t *v);
static int gm_policy_leaf(gm_parse_ctx_t *ctx, json_t *leaf,
    const char *path, const char *key, gm_policy_values_t *v);
static int gm_policy_leaf_text(json_t *leaf, uint32_t bit, char *buf,
    size_t size);
static int gm_policy_values_check(gm_parse_ctx_t *ctx, const char *key,
    const gm_policy_values_t *v);
static void *gm_policy_parse_alloc(void *pool, size_t size);


int
gm_trafficpolicy_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body)
{
    json_t              *spec;
    gm_trafficpolicy_t  *tp;

    tp = &body->trafficpolicy;
    gm_policy_values_init(&tp->defaults);
    gm_policy_values_init(&tp->overrides);

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    if (spec == NULL) {
        return gm_reject(ctx, "spec", "is required");
    }

    (void) gm_path_push(ctx, "spec");

    if (gm_policy_targets_parse(ctx, spec,
                                GM_TARGET_NAMESPACED|GM_TARGET_HTTPROUTE,
                                &tp->targets, &tp->ntargets) != 0
        || gm_policy_section_parse(ctx, spec, "default", &tp->defaults) != 0
        || gm_policy_section_parse(ctx, spec, "override", &tp->overrides)
           != 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_policy_section_parse(gm_parse_ctx_t *ctx, json_t *spec, const char *key,
    gm_policy_values_t *v)
{
    char     path[GM_FIELD_PATH_MAX];
    size_t   old;
    json_t  *section;

    if (gm_get_object(ctx, spec, key, &section) != 0) {
        return -1;
    }

    if (section == NULL) {
        return 0;
    }

    old = gm_path_push(ctx, "%s", key);
    path[0] = '\0';

    if (gm_policy_object_walk(ctx, section, path, 0, v) != 0) {
        return -1;
    }

    gm_path_pop(ctx, old);

    return gm_policy_values_check(ctx, key, v);
}


/* objects nest the field path: timeouts.request, loadBalancer.type */
static int
gm_policy_object_walk(gm_parse_ctx_t *ctx, json_t *obj, char *path,
    size_t plen, gm_policy_values_t *v)
{
    int          n;
    size_t       old;
    json_t      *value;
    const char  *key;

    json_object_foreach(obj, key, value) {
        if (json_is_null(value)) {
            continue;
        }

        n = snprintf(path + plen, GM_FIELD_PATH_MAX - plen, "%s%s",
                     plen ? "." : "", key);
        if (n < 0 || plen + n >= GM_FIELD_PATH_MAX) {
            return gm_reject(ctx, key, "unknown field");
        }

        if (json_is_object(value)) {
            old = gm_path_push(ctx, "%s", key);

            if (gm_policy_object_walk(ctx, value, path, plen + n, v) != 0) {
                return -1;
            }

            gm_path_pop(ctx, old);

        } else if (gm_policy_leaf(ctx, value, path, key, v) != 0) {
            return -1;
        }

        path[plen] = '\0';
    }

    return 0;
}


static int
gm_policy_leaf(gm_parse_ctx_t *ctx, json_t *leaf, const char *path,
    const char *key, gm_policy_values_t *v)
{
    char      text[GM_POLICY_MAX_CODES * 4 + 1], err[GM_POLICY_ERROR_MAX];
    uint32_t  bit;

    bit = gm_policy_field(path, strlen(path));

    if (bit == 0) {
        return gm_reject(ctx, key, "unknown field");
    }

    if (gm_policy_leaf_text(leaf, bit, text, sizeof(text)) != 0) {
        return gm_reject(ctx, key, "must be %s",
                         bit == GM_PF_RETRY_CODES ? "an array of integers"
                         : (bit & (GM_PF_RETRY_ATTEMPTS|GM_PF_RATE_REQUESTS
                                   |GM_PF_RATE_BURST))
                           ? "an integer" : "a string");
    }

    if (gm_policy_value_parse(v, bit, text, strlen(text),
                              gm_policy_parse_alloc, ctx, err, sizeof(err))
        != 0)
    {
        return gm_reject(ctx, key, "%s", err);
    }

    return 0;
}


/* a JSON leaf in the text form of the nginx.conf directives */
static int
gm_policy_leaf_text(json_t *leaf, uint32_t bit, char *buf, size_t size)
{
    size_t   i, n;
    json_t  *item;

    if (bit & (GM_PF_RETRY_ATTEMPTS|GM_PF_RATE_REQUESTS|GM_PF_RATE_BURST)) {
        if (!json_is_integer(leaf) || json_integer_value(leaf) < 0) {
            return -1;
        }

        snprintf(buf, size, "%" PRId64, (int64_t) json_integer_value(leaf));
        return 0;
    }

    if (bit != GM_PF_RETRY_CODES) {
        if (!json_is_string(leaf) || json_string_length(leaf) >= size
            || memchr(json_string_value(leaf), '\0',
                      json_string_length(leaf)) != NULL)
        {
            return -1;
        }

        memcpy(buf, json_string_value(leaf), json_string_length(leaf) + 1);
        return 0;
    }

    if (!json_is_array(leaf) || json_array_size(leaf) == 0
        || json_array_size(leaf) > GM_POLICY_MAX_CODES)
    {
        return -1;
    }

    n = 0;

    json_array_foreach(leaf, i, item) {
        if (!json_is_integer(item) || json_integer_value(item) < 0
            || json_integer_value(item) > 9999)
        {
            return -1;
        }

        n += snprintf(buf + n, size - n, "%s%d", i ? "," : "",
                      (int) json_integer_value(item));
    }

    return 0;
}


/* what the CRD's CEL rules say about the fields together */
static int
gm_policy_values_check(gm_parse_ctx_t *ctx, const char *key,
    const gm_policy_values_t *v)
{
    int  hash;

    if ((v->set & GM_PF_TIMEOUT_REQUEST) && (v->set & GM_PF_TIMEOUT_BACKEND)
        && v->timeout_request_ms > 0
        && v->timeout_backend_ms > v->timeout_request_ms)
    {
        return gm_reject(ctx, key, "timeouts.backendRequest must not be "
                         "longer than timeouts.request");
    }

    hash = (v->set & GM_PF_LB_HEADER) != 0;
    hash += (v->set & GM_PF_LB_COOKIE) != 0;

    if (hash > 1) {
        return gm_reject(ctx, key, "loadBalancer.consistentHash takes a "
                         "header or a cookie, not both");
    }

    if ((v->set & GM_PF_LB_TYPE) && v->lb_type == GM_LB_CONSISTENT_HASH
        && hash == 0)
    {
        return gm_reject(ctx, key, "loadBalancer ConsistentHash needs "
                         "consistentHash.header or consistentHash.cookie");
    }

    if (hash && (!(v->set & GM_PF_LB_TYPE)
                 || v->lb_type != GM_LB_CONSISTENT_HASH))
    {
        return gm_reject(ctx, key, "loadBalancer.consistentHash needs type "
                         "ConsistentHash");
    }

    return 0;
}


static void *
gm_policy_parse_alloc(void *pool, size_t size)
{
    return gm_alloc(pool, 1, size);
}
