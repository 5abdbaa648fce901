/*
 * nginx-gamma: BackendTLSPolicies attached to the backends they target
 * (a Service, or one port of it by sectionName).  The CA bundle is copied
 * into the snapshot from the ConfigMaps the policy names; a bundle that
 * cannot be had leaves the backend with the reason, and its requests fail
 * (502) instead of going out in plain text.  Between policies on one
 * backend the older wins, then ns/name (GEP-713).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_int.h"


typedef struct {
    const gm_backendtlspolicy_t  *p;
    gm_str_t                      label;
} gm_ctls_t;

typedef struct {
    gm_compile_ctx_t             *ctx;
    gm_ctls_t                    *policies;
    size_t                        n;
} gm_ctls_list_t;


static void gm_compile_add_tls(void *data, gm_object_t *obj);
static int gm_compile_tls_cmp(const void *one, const void *two);
static int gm_compile_tls_target(gm_compile_ctx_t *ctx, const gm_ctls_t *t,
    const gm_policy_target_t *ref);
static int gm_compile_tls(gm_compile_ctx_t *ctx, const gm_ctls_t *t,
    gm_backend_t *b);
static int gm_compile_tls_ca(gm_compile_ctx_t *ctx, const gm_ctls_t *t,
    gm_backend_tls_t *tls);


int
gm_compile_backend_tls(gm_compile_ctx_t *ctx)
{
    size_t           i, j, n;
    gm_ctls_list_t   list;

    n = gm_store_count(ctx->store, GM_KIND_BACKENDTLSPOLICY);
    if (n == 0) {
        return 0;
    }

    list.ctx = ctx;
    list.n = 0;
    list.policies = gm_arena_alloc(ctx->scratch, n * sizeof(gm_ctls_t));
    if (list.policies == NULL) {
        return -1;
    }

    gm_store_foreach(ctx->store, GM_KIND_BACKENDTLSPOLICY, gm_compile_add_tls,
                     &list);

    if (ctx->nomem) {
        return -1;
    }

    qsort(list.policies, list.n, sizeof(gm_ctls_t), gm_compile_tls_cmp);

    for (i = 0; i < list.n; i++) {
        for (j = 0; j < list.policies[i].p->ntargets; j++) {
            if (gm_compile_tls_target(ctx, &list.policies[i],
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
gm_compile_add_tls(void *data, gm_object_t *obj)
{
    gm_ctls_t       *t;
    gm_ctls_list_t  *list;

    list = data;
    t = &list->policies[list->n++];
    t->p = &obj->body->backendtlspolicy;

    if (gm_compile_sprintf(list->ctx->arena, &t->label, "%s/%s",
                           t->p->meta.ns.data, t->p->meta.name.data) != 0)
    {
        list->ctx->nomem = 1;
    }
}


static int
gm_compile_tls_cmp(const void *one, const void *two)
{
    const gm_ctls_t  *a, *b;

    a = one;
    b = two;

    if (a->p->meta.created != b->p->meta.created) {
        return (a->p->meta.created < b->p->meta.created) ? -1 : 1;
    }

    return gm_str_cmp(a->label.data, a->label.len, b->label.data,
                      b->label.len);
}


/* every port the target names; a port already taken is a conflict */
static int
gm_compile_tls_target(gm_compile_ctx_t *ctx, const gm_ctls_t *t,
    const gm_policy_target_t *ref)
{
    size_t                 p, n;
    gm_backend_t          *b;
    gm_compile_service_t  *cs;

    cs = gm_compile_find_service(ctx, &ref->ns, &ref->name);

    if (cs == NULL) {
        gm_log(ctx->log, GM_LOG_WARN, "BackendTLSPolicy %s: targetRef "
               "Service %s/%s does not exist, not applied", t->label.data,
               ref->ns.data, ref->name.data);
        return 0;
    }

    n = 0;

    for (p = 0; p < cs->svc->nports; p++) {
        if (ref->section_name.len
            && !gm_str_eq(&ref->section_name, &cs->svc->ports[p].name))
        {
            continue;
        }

        n++;

        b = gm_compile_port_backend(ctx, cs, p);
        if (b == NULL) {
            return -1;
        }

        if (b->ext->tls != NULL) {
            gm_log(ctx->log, GM_LOG_WARN, "BackendTLSPolicy %s: %s already "
                   "has the older BackendTLSPolicy %s, conflicted",
                   t->label.data, b->label.data, b->ext->tls->policy.data);
            continue;
        }

        if (gm_compile_tls(ctx, t, b) != 0) {
            return -1;
        }
    }

    if (n == 0) {
        gm_log(ctx->log, GM_LOG_WARN, "BackendTLSPolicy %s: Service %s/%s "
               "has no port named \"%s\", not applied", t->label.data,
               ref->ns.data, ref->name.data, ref->section_name.data);
    }

    return 0;
}


static int
gm_compile_tls(gm_compile_ctx_t *ctx, const gm_ctls_t *t, gm_backend_t *b)
{
    size_t             i;
    gm_san_t          *sans;
    gm_backend_ext_t  *x;
    gm_backend_tls_t  *tls;

    tls = gm_arena_calloc(ctx->arena, sizeof(gm_backend_tls_t));
    if (tls == NULL) {
        return -1;
    }

    tls->policy = t->label;
    tls->system_ca = t->p->system_ca;
    tls->error.data = (char *) "";
    tls->ca_pem.data = (char *) "";

    if (gm_compile_intern(ctx, &tls->hostname, &t->p->hostname) != 0) {
        return -1;
    }

    if (t->p->nsans) {
        sans = gm_arena_alloc(ctx->arena, t->p->nsans * sizeof(gm_san_t));
        if (sans == NULL) {
            return -1;
        }

        for (i = 0; i < t->p->nsans; i++) {
            sans[i].type = t->p->sans[i].type;

            if (gm_compile_intern(ctx, &sans[i].value, &t->p->sans[i].value)
                != 0)
            {
                return -1;
            }
        }

        tls->sans = sans;
        tls->nsans = t->p->nsans;
    }

    if (!tls->system_ca && gm_compile_tls_ca(ctx, t, tls) != 0) {
        return -1;
    }

    if (tls->error.len) {
        gm_log(ctx->log, GM_LOG_WARN, "BackendTLSPolicy %s: %s, requests "
               "to %s fail", t->label.data, tls->error.data, b->label.data);
    }

    x = gm_compile_backend_ext(ctx, b);
    if (x == NULL) {
        return -1;
    }

    x->tls = tls;

    return 0;
}


/* the bundles of every ConfigMap named, one after another */
static int
gm_compile_tls_ca(gm_compile_ctx_t *ctx, const gm_ctls_t *t,
    gm_backend_tls_t *tls)
{
    char                   *p;
    size_t                  i, len;
    gm_object_t            *obj;
    const gm_configmap_t   *cm[GM_MAX_CA_REFS];

    if (t->p->bad_ca_kind) {
        return gm_compile_sprintf(ctx->arena, &tls->error, "a "
                                  "caCertificateRef is not a ConfigMap");
    }

    len = 0;

    for (i = 0; i < t->p->nca_refs; i++) {
        obj = gm_store_get(ctx->store, GM_KIND_CONFIGMAP, t->p->meta.ns.data,
                           t->p->ca_refs[i].data);

        if (obj == NULL || obj->body->configmap.ca_crt.len == 0) {
            return gm_compile_sprintf(ctx->arena, &tls->error, "CA "
                                      "ConfigMap %s/%s %s",
                                      t->p->meta.ns.data,
                                      t->p->ca_refs[i].data,
                                      obj ? "has no \"ca.crt\""
                                          : "does not exist");
        }

        cm[i] = &obj->body->configmap;
        len += cm[i]->ca_crt.len + 1;
    }

    p = gm_arena_alloc(ctx->arena, len + 1);
    if (p == NULL) {
        return -1;
    }

    tls->ca_pem.data = p;

    for (i = 0; i < t->p->nca_refs; i++) {
        memcpy(p, cm[i]->ca_crt.data, cm[i]->ca_crt.len);
        p += cm[i]->ca_crt.len;
        *p++ = '\n';
    }

    *p = '\0';
    tls->ca_pem.len = p - tls->ca_pem.data;
    tls->ca_id = gm_compile_hash(&tls->ca_pem, NULL, 0);

    return 0;
}
