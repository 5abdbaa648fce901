/*
 * nginx-gamma: ReferenceGrants read from JSON, checked against the CRD
 * (spec.from and spec.to: 1 to 16 entries each; group, kind, namespace
 * and name as the API spells them).
 */

#include <stdio.h>

#include "gm_parse_int.h"


static int gm_grant_from_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_grant_from_t *f);
static int gm_grant_to_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_grant_to_t *t);
static int gm_grant_list(gm_parse_ctx_t *ctx, json_t *spec, const char *key,
    json_t **out);


int
gm_referencegrant_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body)
{
    size_t                i, old;
    json_t               *spec, *from, *to, *item;
    gm_referencegrant_t  *g;

    g = &body->referencegrant;

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    if (spec == NULL) {
        return gm_reject(ctx, "spec", "is required");
    }

    (void) gm_path_push(ctx, "spec");

    if (gm_grant_list(ctx, spec, "from", &from) != 0
        || gm_grant_list(ctx, spec, "to", &to) != 0)
    {
        return -1;
    }

    g->nfrom = json_array_size(from);
    g->nto = json_array_size(to);
    g->from = gm_alloc(ctx, g->nfrom, sizeof(gm_grant_from_t));
    g->to = gm_alloc(ctx, g->nto, sizeof(gm_grant_to_t));

    if (g->from == NULL || g->to == NULL) {
        return -1;
    }

    json_array_foreach(from, i, item) {
        old = gm_path_push(ctx, "from[%zu]", i);

        if (gm_grant_from_parse(ctx, item, &g->from[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    json_array_foreach(to, i, item) {
        old = gm_path_push(ctx, "to[%zu]", i);

        if (gm_grant_to_parse(ctx, item, &g->to[i]) != 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_grant_list(gm_parse_ctx_t *ctx, json_t *spec, const char *key,
    json_t **out)
{
    if (gm_get_array(ctx, spec, key, GM_MAX_GRANT_REFS, out) != 0) {
        return -1;
    }

    if (json_array_size(*out) == 0) {
        return gm_reject(ctx, key, "must have at least 1 item");
    }

    return 0;
}


static int
gm_grant_from_parse(gm_parse_ctx_t *ctx, json_t *item, gm_grant_from_t *f)
{
    if (gm_check_object(ctx, item) != 0
        || gm_get_name(ctx, item, "group", GM_NAME_GROUP,
                       GM_REQUIRED | GM_EMPTY_OK, &f->group) < 0
        || gm_get_name(ctx, item, "kind", GM_NAME_KIND, GM_REQUIRED,
                       &f->kind) < 0
        || gm_get_name(ctx, item, "namespace", GM_NAME_LABEL, GM_REQUIRED,
                       &f->ns) < 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_grant_to_parse(gm_parse_ctx_t *ctx, json_t *item, gm_grant_to_t *t)
{
    if (gm_check_object(ctx, item) != 0
        || gm_get_name(ctx, item, "group", GM_NAME_GROUP,
                       GM_REQUIRED | GM_EMPTY_OK, &t->group) < 0
        || gm_get_name(ctx, item, "kind", GM_NAME_KIND, GM_REQUIRED,
                       &t->kind) < 0
        || gm_get_name(ctx, item, "name", GM_NAME_OBJECT, 0, &t->name) < 0)
    {
        return -1;
    }

    return 0;
}
