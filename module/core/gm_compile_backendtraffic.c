/*
 * nginx-gamma: XBackendTrafficPolicies attached to the backends (every
 * port) of the Services they target.  Between policies on one Service the
 * older wins, then ns/name (GEP-713); the other is logged as conflicted.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


typedef struct {
    const gm_backendtrafficpolicy_t  *p;
    gm_str_t                          label;
    uint64_t                          created;
} gm_cxbtp_t;

typedef struct {
    gm_compile_ctx_t                 *ctx;
    gm_cxbtp_t                       *policies;
    size_t                            n;
} gm_cxbtp_list_t;


static void gm_compile_add_xbtp(void *data, gm_object_t *obj);
static int gm_compile_xbtp_cmp(const void *one, const void *two);
static int gm_compile_xbtp_target(gm_compile_ctx_t *ctx, const gm_cxbtp_t *t,
    const gm_policy_target_t *ref);


int
gm_compile_backend_traffic(gm_compile_ctx_t *ctx)
{
    size_t            i, j, n;
    gm_cxbtp_list_t   list;

    n = gm_store_count(ctx->store, GM_KIND_XBACKENDTRAFFICPOLICY);
    if (n == 0) {
        return 0;
    }

    list.ctx = ctx;
    list.n = 0;
    list.policies = gm_arena_alloc(ctx->scratch, n * sizeof(gm_cxbtp_t));
    if (list.policies == NULL) {
        return -1;
    }

    gm_store_foreach(ctx->store, GM_KIND_XBACKENDTRAFFICPOLICY,
                     gm_compile_add_xbtp, &list);

    if (ctx->nomem) {
        return -1;
    }

    qsort(list.policies, list.n, sizeof(gm_cxbtp_t), gm_compile_xbtp_cmp);

    for (i = 0; i < list.n; i++) {
        if (list.policies[i].p->has_session) {
            gm_log(ctx->log, GM_LOG_WARN, "XBackendTrafficPolicy %s: "
                   "sessionPersistence is not supported yet, ignored",
                   list.policies[i].label.data);
        }

        if (!list.policies[i].p->has_retry) {
            continue;
        }

        for (j = 0; j < list.policies[i].p->ntargets; j++) {
            if (gm_compile_xbtp_target(ctx, &list.policies[i],
                                       &list.policies[i].p->targets[j])
                != 0)
            {
                return -1;
            }
        }
    }

    return 0;
}


static void
gm_compile_add_xbtp(void *data, gm_object_t *obj)
{
    gm_cxbtp_t       *t;
    gm_cxbtp_list_t  *list;

    list = data;
    t = &list->policies[list->n++];
    t->p = &obj->body->backendtrafficpolicy;
    t->created = (uint64_t) t->p->meta.created;

    if (gm_compile_sprintf(list->ctx->arena, &t->label, "%s/%s",
                           t->p->meta.ns.data, t->p->meta.name.data) != 0)
    {
        list->ctx->nomem = 1;
    }
}


static int
gm_compile_xbtp_cmp(const void *one, const void *two)
{
    const gm_cxbtp_t  *a, *b;

    a = one;
    b = two;

    if (a->created != b->created) {
        return (a->created < b->created) ? -1 : 1;
    }

    return gm_str_cmp(a->label.data, a->label.len, b->label.data,
                      b->label.len);
}


/* every port of the Service shares one budget */
static int
gm_compile_xbtp_target(gm_compile_ctx_t *ctx, const gm_cxbtp_t *t,
    const gm_policy_target_t *ref)
{
    size_t                  p;
    uint64_t                key;
    gm_backend_t           *b;
    gm_backend_traffic_t   *tr;
    gm_compile_service_t   *cs;

    cs = gm_compile_find_service(ctx, &ref->ns, &ref->name);

    if (cs == NULL) {
        gm_log(ctx->log, GM_LOG_WARN, "XBackendTrafficPolicy %s: targetRef "
               "Service %s/%s does not exist, not applied", t->label.data,
               ref->ns.data, ref->name.data);
        return 0;
    }

    tr = gm_arena_calloc(ctx->arena, sizeof(gm_backend_traffic_t));
    if (tr == NULL) {
        return -1;
    }

    key = gm_compile_hash(&t->label, &ref->ns, 'X')
          ^ gm_compile_hash(&ref->name, NULL, 'B');

    tr->policy = t->label;
    tr->key = key ? key : 1;
    tr->percent = t->p->percent;
    tr->interval_ms = t->p->interval_ms;
    tr->min_count = t->p->min_count;
    tr->min_interval_ms = t->p->min_interval_ms;

    for (p = 0; p < cs->svc->nports; p++) {
        b = gm_compile_port_backend(ctx, cs, p);
        if (b == NULL) {
            return -1;
        }

        if (b->traffic != NULL) {
            gm_log(ctx->log, GM_LOG_WARN, "XBackendTrafficPolicy %s: %s "
                   "already has the older XBackendTrafficPolicy %s, "
                   "conflicted", t->label.data, b->label.data,
                   b->traffic->policy.data);
            continue;
        }

        b->traffic = tr;
    }

    return 0;
}
