/*
 * nginx-gamma: ReferenceGrants, for "gamma_reference_grants require".  A
 * backendRef (or RequestMirror) to a Service in another namespace than
 * its route's is permitted only by a ReferenceGrant in the Service's
 * namespace whose "from" names the route's kind (HTTPRoute, GRPCRoute) in
 * the route's namespace and
 * whose "to" names that Service or all Services (GEP-709).  Without the
 * option every reference is permitted: mesh routes only reshape traffic
 * to Services the client could reach anyway (GEP-1294).
 */

#include <string.h>

#include "gm_compile_int.h"


typedef struct {
    const char        *from_kind;
    const gm_str_t    *from_ns;
    const gm_str_t    *ns;
    const gm_str_t    *name;
    unsigned           permitted:1;
} gm_compile_grant_query_t;


static void gm_compile_grant_test(void *data, gm_object_t *obj);


int
gm_compile_ref_permitted(gm_compile_ctx_t *ctx, gm_kind_e from_kind,
    const gm_str_t *from_ns, const gm_str_t *ns, const gm_str_t *name)
{
    gm_compile_grant_query_t  q;

    if (!ctx->require_grants || gm_str_eq(from_ns, ns)) {
        return 1;
    }

    q.from_kind = gm_kind_name(from_kind);
    q.from_ns = from_ns;
    q.ns = ns;
    q.name = name;
    q.permitted = 0;

    gm_store_foreach(ctx->store, GM_KIND_REFERENCEGRANT,
                     gm_compile_grant_test, &q);

    return q.permitted;
}


static void
gm_compile_grant_test(void *data, gm_object_t *obj)
{
    gm_compile_grant_query_t *q = data;

    size_t                      i;
    unsigned                    from, to;
    const gm_referencegrant_t  *g;

    g = &obj->body->referencegrant;

    if (q->permitted || !gm_str_eq(&g->meta.ns, q->ns)) {
        return;
    }

    from = 0;
    to = 0;

    for (i = 0; i < g->nfrom; i++) {
        if (gm_str_eq_cstr(&g->from[i].group, "gateway.networking.k8s.io")
            && gm_str_eq_cstr(&g->from[i].kind, q->from_kind)
            && gm_str_eq(&g->from[i].ns, q->from_ns))
        {
            from = 1;
        }
    }

    for (i = 0; i < g->nto; i++) {
        if (g->to[i].group.len == 0
            && gm_str_eq_cstr(&g->to[i].kind, "Service")
            && (g->to[i].name.len == 0 || gm_str_eq(&g->to[i].name, q->name)))
        {
            to = 1;
        }
    }

    q->permitted = from && to;
}
