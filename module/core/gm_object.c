/*
 * nginx-gamma: Services, EndpointSlices and HTTPRoutes read from their
 * JSON form and checked against the limits the Kubernetes API enforces,
 * so that nothing the API server would refuse reaches the snapshot.
 *
 * This file is the entry point: the kind table maps kind and apiVersion
 * to the parser of that kind (gm_service.c, gm_endpointslice.c,
 * gm_httproute.c), and metadata, common to all kinds, is read here.  A
 * new kind is one parsing file and one table entry.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_parse_int.h"


typedef int (*gm_kind_parse_pt)(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body);

typedef struct {
    const char         *kind;
    const char         *api_version;
    gm_kind_e           type;
    gm_kind_parse_pt    parse;        /* the spec, after metadata */
} gm_kind_def_t;


static const gm_kind_def_t *gm_kind_detect(json_t *json);
static gm_object_t *gm_object_parse_in(const gm_kind_def_t *def,
    json_t *json, const gm_log_t *log, size_t block, size_t *used);
static gm_object_t *gm_object_create(gm_kind_e kind, size_t block);
static size_t gm_body_size(gm_kind_e kind);
static void gm_meta_log_names(gm_parse_ctx_t *ctx, json_t *md);
static int gm_meta_parse(gm_parse_ctx_t *ctx, json_t *json);
static int gm_meta_time(gm_parse_ctx_t *ctx, json_t *md);


/* the first entry of a kind names it */
static const gm_kind_def_t  gm_kinds[] = {
    { "Service", "v1", GM_KIND_SERVICE, gm_service_parse },
    { "EndpointSlice", "discovery.k8s.io/v1", GM_KIND_ENDPOINTSLICE,
      gm_endpointslice_parse },
    { "HTTPRoute", GM_GATEWAY_GROUP "/v1", GM_KIND_HTTPROUTE,
      gm_httproute_parse },
    { "HTTPRoute", GM_GATEWAY_GROUP "/v1beta1", GM_KIND_HTTPROUTE,
      gm_httproute_parse },
    { "ReferenceGrant", GM_GATEWAY_GROUP "/v1beta1", GM_KIND_REFERENCEGRANT,
      gm_referencegrant_parse },
    { "ReferenceGrant", GM_GATEWAY_GROUP "/v1", GM_KIND_REFERENCEGRANT,
      gm_referencegrant_parse },
    { "GRPCRoute", GM_GATEWAY_GROUP "/v1", GM_KIND_GRPCROUTE,
      gm_grpcroute_parse },
    { "TrafficPolicy", GM_POLICY_GROUP "/v1alpha1", GM_KIND_TRAFFICPOLICY,
      gm_trafficpolicy_parse },
    { "BackendTLSPolicy", GM_GATEWAY_GROUP "/v1", GM_KIND_BACKENDTLSPOLICY,
      gm_backendtlspolicy_parse },
    { "BackendTLSPolicy", GM_GATEWAY_GROUP "/v1alpha3",
      GM_KIND_BACKENDTLSPOLICY, gm_backendtlspolicy_parse },
    { "ConfigMap", "v1", GM_KIND_CONFIGMAP, gm_configmap_parse },
    { "XBackendTrafficPolicy", GM_XBTP_GROUP "/v1alpha1",
      GM_KIND_XBACKENDTRAFFICPOLICY, gm_backendtrafficpolicy_parse }
};


const char *
gm_kind_name(gm_kind_e kind)
{
    size_t  i;

    for (i = 0; i < gm_nelems(gm_kinds); i++) {
        if (gm_kinds[i].type == kind) {
            return gm_kinds[i].kind;
        }
    }

    return "Unknown";
}


gm_object_t *
gm_object_parse(json_t *json, const gm_log_t *log, int *ignored)
{
    size_t                 used;
    gm_object_t           *obj, *exact;
    const gm_kind_def_t   *def;

    if (ignored != NULL) {
        *ignored = 0;
    }

    def = gm_kind_detect(json);
    if (def == NULL) {
        if (ignored != NULL) {
            *ignored = 1;
        }

        return NULL;
    }

    obj = gm_object_parse_in(def, json, log, 0, &used);
    if (obj == NULL) {
        return NULL;
    }

    /*
     * The store keeps objects for as long as they exist: parsed again
     * (the same document, the same allocations, nothing more to log) into
     * one block of the size the first parse counted, an object keeps none
     * of a growing arena's slack, headers and alignment.
     */
    exact = gm_object_parse_in(def, json, NULL, used, &used);
    if (exact != NULL) {
        gm_object_free(obj);
        obj = exact;
    }

    return obj;
}


void
gm_object_free(gm_object_t *obj)
{
    if (obj == NULL) {
        return;
    }

    /* the object itself lives in its arena, or in its block */
    if (obj->in_arena) {
        gm_arena_destroy(gm_object_arena(obj));

    } else {
        free(obj);
    }
}


static const gm_kind_def_t *
gm_kind_detect(json_t *json)
{
    size_t       i;
    const char  *k, *v;

    k = json_string_value(json_object_get(json, "kind"));
    v = json_string_value(json_object_get(json, "apiVersion"));

    if (k == NULL || v == NULL) {
        return NULL;
    }

    for (i = 0; i < gm_nelems(gm_kinds); i++) {
        if (strcmp(k, gm_kinds[i].kind) == 0
            && strcmp(v, gm_kinds[i].api_version) == 0)
        {
            return &gm_kinds[i];
        }
    }

    return NULL;
}


/*
 * Into an arena (block 0), or into one block of that size; *used: what
 * the block takes.  NULL when the document is invalid (logged) or memory
 * ran out.
 */
static gm_object_t *
gm_object_parse_in(const gm_kind_def_t *def, json_t *json,
    const gm_log_t *log, size_t block, size_t *used)
{
    int              rc;
    gm_object_t     *obj;
    gm_parse_ctx_t   ctx;

    obj = gm_object_create(def->type, block);
    if (obj == NULL) {
        gm_log(log, GM_LOG_ERR, "%s: out of memory", def->kind);
        return NULL;
    }

    gm_parse_ctx_init(&ctx, obj, log);

    rc = gm_meta_parse(&ctx, json);
    if (rc == 0) {
        rc = def->parse(&ctx, json, obj->body);
    }

    if (rc != 0) {
        gm_object_free(obj);
        return NULL;
    }

    *used = ctx.used + ctx.sused;

    return obj;
}


static gm_object_t *
gm_object_create(gm_kind_e kind, size_t block)
{
    size_t        body;
    gm_arena_t   *arena;
    gm_object_t  *obj;

    body = gm_body_size(kind);

    if (block != 0) {
        if (block > INT32_MAX) {
            return NULL;
        }

        obj = gm_malloc(sizeof(gm_object_t) + body + block);
        if (obj == NULL) {
            return NULL;
        }

        memset(obj, 0, sizeof(gm_object_t) + body);
        obj->body = (gm_object_body_t *) (obj + 1);
        obj->size = (uint32_t) block;
        obj->body->meta.kind = kind;

        return obj;
    }

    arena = gm_arena_create(GM_OBJECT_ARENA_PROBE);
    if (arena == NULL) {
        return NULL;
    }

    obj = gm_object_in_arena(arena, body);
    if (obj == NULL) {
        gm_arena_destroy(arena);
        return NULL;
    }

    obj->body->meta.kind = kind;

    return obj;
}


/* an object in an arena: the arena's pointer, then the object */
typedef struct {
    gm_arena_t   *arena;
    gm_object_t   obj;
} gm_object_arena_t;


gm_object_t *
gm_object_in_arena(gm_arena_t *arena, size_t body)
{
    gm_object_arena_t  *oa;

    oa = gm_arena_calloc(arena, sizeof(gm_object_arena_t));
    if (oa == NULL) {
        return NULL;
    }

    oa->arena = arena;
    oa->obj.in_arena = 1;
    oa->obj.body = gm_arena_calloc(arena, body);

    return oa->obj.body ? &oa->obj : NULL;
}


gm_arena_t *
gm_object_arena(const gm_object_t *obj)
{
    if (!obj->in_arena) {
        return NULL;
    }

    return ((const gm_object_arena_t *) ((const char *) obj
               - offsetof(gm_object_arena_t, obj)))->arena;
}


size_t
gm_object_body_size(const gm_object_t *obj)
{
    return gm_body_size(obj->body->meta.kind);
}


/* the body of a kind: its member of the union, not the largest one */
static size_t
gm_body_size(gm_kind_e kind)
{
    switch (kind) {

    case GM_KIND_SERVICE:
        return sizeof(gm_service_t);

    case GM_KIND_ENDPOINTSLICE:
        return sizeof(gm_endpointslice_t);

    case GM_KIND_HTTPROUTE:
    case GM_KIND_GRPCROUTE:
        return sizeof(gm_httproute_t);

    case GM_KIND_REFERENCEGRANT:
        return sizeof(gm_referencegrant_t);

    case GM_KIND_TRAFFICPOLICY:
        return sizeof(gm_trafficpolicy_t);

    case GM_KIND_BACKENDTLSPOLICY:
        return sizeof(gm_backendtlspolicy_t);

    case GM_KIND_CONFIGMAP:
        return sizeof(gm_configmap_t);

    case GM_KIND_XBACKENDTRAFFICPOLICY:
        return sizeof(gm_backendtrafficpolicy_t);

    default:
        return sizeof(gm_object_body_t);
    }
}


/* the names as written, for the log line of a rejection */
static void
gm_meta_log_names(gm_parse_ctx_t *ctx, json_t *md)
{
    json_t  *v;

    v = json_object_get(md, "name");
    if (json_is_string(v)) {
        gm_sanitize(ctx->name, sizeof(ctx->name), json_string_value(v),
                    json_string_length(v));
    }

    v = json_object_get(md, "namespace");
    if (json_is_string(v) && json_string_length(v) > 0) {
        gm_sanitize(ctx->ns, sizeof(ctx->ns), json_string_value(v),
                    json_string_length(v));
    }
}


static int
gm_meta_parse(gm_parse_ctx_t *ctx, json_t *json)
{
    int         rc;
    json_t     *md;
    gm_str_t    rv;
    gm_meta_t  *meta;

    meta = ctx->meta;
    meta->resource_version = "";
    md = gm_field(json, "metadata");

    gm_meta_log_names(ctx, md);

    if (md != NULL && gm_check_object(ctx, md) != 0) {
        return -1;
    }

    (void) gm_path_push(ctx, "metadata");

    if (gm_get_name(ctx, md, "name", GM_NAME_SUBDOMAIN, GM_REQUIRED,
                    &meta->name) < 0)
    {
        return -1;
    }

    rc = gm_get_name(ctx, md, "namespace", GM_NAME_LABEL, GM_EMPTY_OK,
                     &meta->ns);
    if (rc < 0) {
        return -1;
    }

    if (meta->ns.len == 0 && gm_str_set(ctx, &meta->ns, "default") != 0) {
        return -1;
    }

    rv.len = 0;
    rv.data = NULL;

    if (gm_get_string(ctx, md, "resourceVersion", 0, GM_MAX_META_VALUE,
                      &rv) < 0
        || gm_get_string(ctx, md, "uid", 0, GM_MAX_META_VALUE, NULL) < 0
        || gm_get_int(ctx, md, "generation", 0, INT64_MAX,
                      &meta->generation) < 0
        || gm_meta_time(ctx, md) != 0)
    {
        return -1;
    }

    meta->resource_version = rv.len ? rv.data : "";

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_meta_time(gm_parse_ctx_t *ctx, json_t *md)
{
    int          rc;
    size_t       len;
    int64_t      t;
    const char  *s;

    rc = gm_get_cstr(ctx, md, "creationTimestamp", 0,
                     GM_MAX_TIMESTAMP, &s, &len);
    if (rc <= 0) {
        return rc;
    }

    if (gm_time_parse(s, len, &t) != 0) {
        return gm_reject(ctx, "creationTimestamp",
                         "must be an RFC 3339 time");
    }

    ctx->meta->created = (t < 0) ? 0
                         : (t > (int64_t) UINT32_MAX) ? UINT32_MAX
                         : (uint32_t) t;

    return 0;
}
