/*
 * nginx-gamma: the targetRefs of a policy (GEP-713): targetRefs[], or the
 * older single targetRef.  Which kinds a policy may target is the
 * policy's to say; a target of another kind rejects the policy.
 */

#include <stdint.h>
#include <string.h>

#include "gm_parse_int.h"


static int gm_policy_target_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_policy_target_t *t, unsigned flags);
static int gm_policy_target_kind(gm_parse_ctx_t *ctx, gm_policy_target_t *t,
    unsigned flags);


int
gm_policy_targets_parse(gm_parse_ctx_t *ctx, json_t *spec, unsigned flags,
    gm_policy_target_t **out, size_t *nout)
{
    size_t   i, n, old;
    json_t  *refs, *one, *item;

    if (gm_get_array(ctx, spec, "targetRefs", GM_MAX_POLICY_TARGETS, &refs)
        != 0
        || gm_get_object(ctx, spec, "targetRef", &one) != 0)
    {
        return -1;
    }

    n = refs ? json_array_size(refs) : (one != NULL);

    if (n == 0) {
        return gm_reject(ctx, "targetRefs", "must have at least 1 item");
    }

    *out = gm_alloc(ctx, n, sizeof(gm_policy_target_t));
    if (*out == NULL) {
        return -1;
    }

    *nout = n;

    for (i = 0; i < n; i++) {
        item = refs ? json_array_get(refs, i) : one;
        old = refs ? gm_path_push(ctx, "targetRefs[%zu]", i)
                   : gm_path_push(ctx, "targetRef");

        if (gm_policy_target_parse(ctx, item, &(*out)[i], flags) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_policy_target_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_policy_target_t *t, unsigned flags)
{
    if (gm_check_object(ctx, item) != 0
        || gm_get_name_def(ctx, item, "group", GM_NAME_GROUP, "", &t->group)
           != 0
        || gm_get_name(ctx, item, "kind", GM_NAME_KIND, GM_REQUIRED, &t->kind)
           < 0
        || gm_get_name(ctx, item, "name", GM_NAME_OBJECT, GM_REQUIRED,
                       &t->name) < 0
        || gm_get_name(ctx, item, "sectionName", GM_NAME_SUBDOMAIN, 0,
                       &t->section_name) < 0)
    {
        return -1;
    }

    if (!(flags & GM_TARGET_NAMESPACED)
        && gm_field(item, "namespace") != NULL)
    {
        return gm_reject(ctx, "namespace", "is not allowed: the target must "
                         "be in the policy's namespace");
    }

    if (gm_get_ns(ctx, item, &t->ns) != 0) {
        return -1;
    }

    return gm_policy_target_kind(ctx, t, flags);
}


static int
gm_policy_target_kind(gm_parse_ctx_t *ctx, gm_policy_target_t *t,
    unsigned flags)
{
    char  text[GM_LOG_VALUE_MAX];

    if ((t->group.len == 0 || gm_str_eq_cstr(&t->group, "core"))
        && gm_str_eq_cstr(&t->kind, "Service"))
    {
        t->group.len = 0;
        t->group.data = (char *) "";
        return 0;
    }

    if ((flags & GM_TARGET_HTTPROUTE)
        && gm_str_eq_cstr(&t->group, GM_GATEWAY_GROUP)
        && gm_str_eq_cstr(&t->kind, "HTTPRoute"))
    {
        return 0;
    }

    gm_sanitize(text, sizeof(text), t->kind.data, t->kind.len);

    return gm_reject(ctx, "kind", "unsupported target kind \"%s\" of group "
                     "\"%s\" (%s)", text, t->group.data,
                     (flags & GM_TARGET_HTTPROUTE)
                     ? "a Service or an HTTPRoute" : "a Service");
}
