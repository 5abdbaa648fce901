/*
 * nginx-gamma: the policy stage's first half: the TrafficPolicies of the
 * store in the order of precedence among equals (older first, then
 * ns/name), each targetRef checked against the Services and routes of
 * this build and indexed by target, and the operator's nginx.conf lines,
 * most specific scope first.  gm_compile_policy.c merges them.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_policy_int.h"


static void gm_compile_add_policy(void *data, gm_object_t *obj);
static int gm_compile_policy_cmp(const void *one, const void *two);
static int gm_compile_route_cmp(const void *one, const void *two);
static int gm_compile_target_check(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp,
    const gm_cpolicy_t *p, const gm_policy_target_t *t);
static const gm_compile_route_t *gm_compile_find_route(gm_cpolicies_t *cp,
    const gm_str_t *ns, const gm_str_t *name);
static int gm_compile_target_cmp(const void *one, const void *two);
static int gm_compile_op_cmp(const void *one, const void *two);


int
gm_compile_policies_collect(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp)
{
    size_t  i, n;

    n = gm_store_count(ctx->store, GM_KIND_TRAFFICPOLICY);

    cp->policies = gm_arena_alloc(ctx->scratch,
                                  (n + 1) * sizeof(*cp->policies));
    cp->routes = gm_arena_alloc(ctx->scratch,
                                (ctx->nroutes + 1) * sizeof(*cp->routes));

    if (cp->policies == NULL || cp->routes == NULL) {
        return -1;
    }

    ctx->policies = cp;
    gm_store_foreach(ctx->store, GM_KIND_TRAFFICPOLICY, gm_compile_add_policy,
                     ctx);

    if (ctx->nomem) {
        return -1;
    }

    qsort(cp->policies, cp->npolicies, sizeof(gm_cpolicy_t),
          gm_compile_policy_cmp);

    for (i = 0; i < ctx->nroutes; i++) {
        cp->routes[i] = &ctx->routes[i];
    }

    cp->nroutes = ctx->nroutes;

    qsort(cp->routes, ctx->nroutes, sizeof(*cp->routes),
          gm_compile_route_cmp);

    return 0;
}


static void
gm_compile_add_policy(void *data, gm_object_t *obj)
{
    gm_cpolicy_t        *p;
    gm_cpolicies_t      *cp;
    gm_compile_ctx_t    *ctx;
    gm_trafficpolicy_t  *tp;

    ctx = data;
    cp = ctx->policies;
    tp = &obj->body->trafficpolicy;

    p = &cp->policies[cp->npolicies++];
    p->tp = tp;

    if (gm_compile_sprintf(ctx->scratch, &p->label, "%s/%s",
                           tp->meta.ns.data, tp->meta.name.data) != 0)
    {
        ctx->nomem = 1;
    }
}


/* the established policy first: the older, then ns/name */
static int
gm_compile_policy_cmp(const void *one, const void *two)
{
    const gm_cpolicy_t  *a, *b;

    a = one;
    b = two;

    if (a->tp->meta.created != b->tp->meta.created) {
        return (a->tp->meta.created < b->tp->meta.created) ? -1 : 1;
    }

    return gm_str_cmp(a->label.data, a->label.len, b->label.data,
                      b->label.len);
}


static int
gm_compile_route_cmp(const void *one, const void *two)
{
    int                        c;
    const gm_meta_t           *a, *b;

    a = &(*(const gm_compile_route_t *const *) one)->route->meta;
    b = &(*(const gm_compile_route_t *const *) two)->route->meta;

    c = gm_str_cmp(a->ns.data, a->ns.len, b->ns.data, b->ns.len);

    return c ? c : gm_str_cmp(a->name.data, a->name.len, b->name.data,
                              b->name.len);
}


int
gm_compile_policy_targets(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp)
{
    size_t               i, j, n;
    const gm_cpolicy_t  *p;

    n = 0;

    for (i = 0; i < cp->npolicies; i++) {
        n += cp->policies[i].tp->ntargets;
    }

    cp->targets = gm_arena_alloc(ctx->scratch, (n + 1) * sizeof(gm_ctarget_t));
    if (cp->targets == NULL) {
        return -1;
    }

    for (i = 0; i < cp->npolicies; i++) {
        p = &cp->policies[i];

        for (j = 0; j < p->tp->ntargets; j++) {
            if (gm_compile_target_check(ctx, cp, p, &p->tp->targets[j]) == 0)
            {
                cp->targets[cp->ntargets].order = (uint32_t) i;
                cp->ntargets++;
            }
        }
    }

    qsort(cp->targets, cp->ntargets, sizeof(gm_ctarget_t),
          gm_compile_target_cmp);

    return 0;
}


/* a target that does not exist (yet) is logged; it applies once it does */
static int
gm_compile_target_check(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp,
    const gm_cpolicy_t *p, const gm_policy_target_t *t)
{
    size_t                      i;
    const char                 *what;
    gm_ctarget_t               *ct;
    gm_compile_service_t       *cs;
    const gm_compile_route_t   *cr;

    what = NULL;
    ct = &cp->targets[cp->ntargets];
    ct->kind = (t->kind.data[0] == 'S') ? 'S' : 'R';

    if (ct->kind == 'S') {
        cs = gm_compile_find_service(ctx, &t->ns, &t->name);

        for (i = 0; cs && t->section_name.len && i < cs->svc->nports; i++) {
            if (gm_str_eq(&cs->svc->ports[i].name, &t->section_name)) {
                break;
            }
        }

        what = (cs == NULL) ? "does not exist"
               : (t->section_name.len && i == cs->svc->nports)
                 ? "has no port of that name" : NULL;

    } else {
        cr = gm_compile_find_route(cp, &t->ns, &t->name);

        for (i = 0; cr && t->section_name.len && i < cr->route->nrules; i++) {
            if (gm_str_eq(&gm_http_rule_ext(&cr->route->rules[i])->name,
                          &t->section_name))
            {
                break;
            }
        }

        what = (cr == NULL) ? "does not exist"
               : (t->section_name.len && i == cr->route->nrules)
                 ? "has no rule of that name" : NULL;
    }

    if (what != NULL) {
        gm_log(ctx->log, GM_LOG_WARN, "TrafficPolicy %s: targetRef %s %s/%s%s"
               "%s %s, not applied", p->label.data, t->kind.data, t->ns.data,
               t->name.data, t->section_name.len ? " sectionName " : "",
               t->section_name.data, what);
        return -1;
    }

    ct->ns = &t->ns;
    ct->name = &t->name;
    ct->section = &t->section_name;
    ct->policy = p;
    ct->consumer = gm_str_eq(&t->ns, &p->tp->meta.ns) ? NULL
                                                      : &p->tp->meta.ns;

    return 0;
}


static const gm_compile_route_t *
gm_compile_find_route(gm_cpolicies_t *cp, const gm_str_t *ns,
    const gm_str_t *name)
{
    int               c;
    size_t            lo, hi, mid;
    const gm_meta_t  *m;

    lo = 0;
    hi = cp->nroutes;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        m = &cp->routes[mid]->route->meta;

        c = gm_str_cmp(ns->data, ns->len, m->ns.data, m->ns.len);
        if (c == 0) {
            c = gm_str_cmp(name->data, name->len, m->name.data, m->name.len);
        }

        if (c == 0) {
            return cp->routes[mid];
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/* by target, then in the policies' order */
static int
gm_compile_target_cmp(const void *one, const void *two)
{
    int                  c;
    const gm_ctarget_t  *a, *b;

    a = one;
    b = two;

    c = gm_compile_key_cmp(a->kind, a->ns, a->name, b);
    if (c != 0) {
        return c;
    }

    return (a->order < b->order) ? -1 : (a->order > b->order);
}


int
gm_compile_key_cmp(char kind, const gm_str_t *ns, const gm_str_t *name,
    const gm_ctarget_t *t)
{
    int  c;

    if (kind != t->kind) {
        return (kind < t->kind) ? -1 : 1;
    }

    c = gm_str_cmp(ns->data, ns->len, t->ns->data, t->ns->len);

    return c ? c : gm_str_cmp(name->data, name->len, t->name->data,
                              t->name->len);
}


/* the operator's lines, the most specific scope first */
void
gm_compile_operator(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp)
{
    size_t                     i;
    const gm_operator_conf_t  *oc;

    oc = gm_store_operator(ctx->store);

    if (oc == NULL || oc->nentries == 0) {
        return;
    }

    cp->ops = gm_arena_alloc(ctx->scratch,
                             oc->nentries * sizeof(gm_operator_entry_t *));
    if (cp->ops == NULL) {
        ctx->nomem = 1;
        return;
    }

    for (i = 0; i < oc->nentries; i++) {
        cp->ops[i] = &oc->entries[i];
    }

    cp->nops = oc->nentries;

    qsort(cp->ops, cp->nops, sizeof(gm_operator_entry_t *),
          gm_compile_op_cmp);
}


static int
gm_compile_op_cmp(const void *one, const void *two)
{
    const gm_operator_entry_t  *a, *b;

    a = *(const gm_operator_entry_t *const *) one;
    b = *(const gm_operator_entry_t *const *) two;

    if (a->scope != b->scope) {
        return (a->scope > b->scope) ? -1 : 1;
    }

    return (a < b) ? -1 : (a > b);
}


/*
 * The identity of a rateLimit's bucket, the same in every snapshot: the
 * policy and the target it names, or the operator line and its scope;
 * a line for "*" or a namespace counts each Service apart.  Every rule
 * that takes its rateLimit from there shares the bucket.
 */
uint64_t
gm_compile_source_key(const gm_str_t *policy, const gm_ctarget_t *t,
    const gm_operator_entry_t *e, const gm_frontend_t *f)
{
    uint64_t  a, b;

    if (e != NULL) {
        a = gm_compile_hash(&e->ns, &e->name,
                            e->scope | (e->override << 8)
                            | ((uint32_t) e->port << 16));
        b = gm_compile_hash(&e->rule, NULL, 'O');

        if (e->scope == GM_SCOPE_ALL || e->scope == GM_SCOPE_NAMESPACE) {
            b ^= gm_compile_hash(&f->passthrough->ns,
                                 &f->passthrough->name, 'F');
        }

    } else {
        a = gm_compile_hash(policy, t->ns, (unsigned char) t->kind);
        b = gm_compile_hash(t->name, t->section, 'P');
    }

    a ^= (b << 1) | (b >> 63);

    /* 0 means "no bucket" */
    return a ? a : 1;
}
