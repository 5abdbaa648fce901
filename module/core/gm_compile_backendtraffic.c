/*
 * nginx-gamma: XBackendTrafficPolicies attached to the backends (every
 * port) of the Services they target: a retry budget and a session
 * persistence, each field on its own.  Between policies on one Service
 * the older wins, then ns/name (GEP-713); the other is logged as
 * conflicted.  Also a route rule's own sessionPersistence, which beats
 * the policies' of its backends (spec 1.14).
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
static int gm_compile_xbtp_session(gm_compile_ctx_t *ctx, const gm_cxbtp_t *t,
    const gm_policy_target_t *ref);
static gm_session_t *gm_compile_session(gm_compile_ctx_t *ctx,
    const gm_session_t *src, const gm_str_t *policy);
static int gm_compile_session_path(gm_compile_ctx_t *ctx, gm_rule_t *rule,
    const gm_http_rule_t *hr);
static int gm_compile_session_flags(gm_compile_ctx_t *ctx);


int
gm_compile_backend_traffic(gm_compile_ctx_t *ctx)
{
    size_t            i, j, n;
    gm_cxbtp_list_t   list;

    n = gm_store_count(ctx->store, GM_KIND_XBACKENDTRAFFICPOLICY);
    if (n == 0) {
        return gm_compile_session_flags(ctx);
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
        for (j = 0; j < list.policies[i].p->ntargets; j++) {
            if ((list.policies[i].p->has_retry
                 && gm_compile_xbtp_target(ctx, &list.policies[i],
                                           &list.policies[i].p->targets[j])
                    != 0)
                || (list.policies[i].p->has_session
                    && gm_compile_xbtp_session(ctx, &list.policies[i],
                                               &list.policies[i].p->targets[j])
                       != 0))
            {
                return -1;
            }
        }
    }

    return gm_compile_session_flags(ctx);
}


/*
 * Once every backend has its session: a rule with none, its own or a
 * backend's, costs a request no session work (ngx_http_gamma_session.c),
 * and needs no cookie Path.  A patched snapshot copies the flag and the
 * Path with the rule: its backends keep their sessions
 * (gm_compile_patch.c changes only endpoints).
 */
static int
gm_compile_session_flags(gm_compile_ctx_t *ctx)
{
    size_t      i, j, k, nrules;
    gm_rule_t  *rule;

    for (i = 0; i < ctx->nroutes; i++) {
        if (ctx->routes[i].rules == NULL) {
            continue;
        }

        nrules = ctx->routes[i].route->nrules ? ctx->routes[i].route->nrules
                                              : 1;

        for (j = 0; j < nrules; j++) {
            rule = &ctx->routes[i].rules[j];
            rule->has_session = (rule->ext->session != NULL);

            for (k = 0; !rule->has_session && k < rule->nbackends; k++) {
                rule->has_session = (rule->backends[k].backend->ext->session
                                     != NULL);
            }

            if (rule->has_session
                && gm_compile_session_path(ctx, rule,
                       gm_compile_http_rule(&ctx->routes[i], (uint32_t) j))
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
    gm_backend_ext_t       *x;
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

        if (b->ext->traffic != NULL) {
            gm_log(ctx->log, GM_LOG_WARN, "XBackendTrafficPolicy %s: %s "
                   "already has the older XBackendTrafficPolicy %s, "
                   "conflicted", t->label.data, b->label.data,
                   b->ext->traffic->policy.data);
            continue;
        }

        x = gm_compile_backend_ext(ctx, b);
        if (x == NULL) {
            return -1;
        }

        x->traffic = tr;
    }

    return 0;
}


static int
gm_compile_xbtp_session(gm_compile_ctx_t *ctx, const gm_cxbtp_t *t,
    const gm_policy_target_t *ref)
{
    size_t                  p;
    gm_backend_t           *b;
    gm_session_t           *sp;
    gm_backend_ext_t       *x;
    gm_compile_service_t   *cs;

    cs = gm_compile_find_service(ctx, &ref->ns, &ref->name);

    if (cs == NULL) {
        if (!t->p->has_retry) {
            gm_log(ctx->log, GM_LOG_WARN, "XBackendTrafficPolicy %s: "
                   "targetRef Service %s/%s does not exist, not applied",
                   t->label.data, ref->ns.data, ref->name.data);
        }

        return 0;
    }

    sp = gm_compile_session(ctx, &t->p->session, &t->label);
    if (sp == NULL) {
        return -1;
    }

    for (p = 0; p < cs->svc->nports; p++) {
        b = gm_compile_port_backend(ctx, cs, p);
        if (b == NULL) {
            return -1;
        }

        if (b->ext->session != NULL) {
            gm_log(ctx->log, GM_LOG_WARN, "XBackendTrafficPolicy %s: %s "
                   "already has the sessionPersistence of the older "
                   "XBackendTrafficPolicy %s, conflicted", t->label.data,
                   b->label.data, b->ext->session->policy.data);
            continue;
        }

        x = gm_compile_backend_ext(ctx, b);
        if (x == NULL) {
            return -1;
        }

        x->session = sp;
    }

    return 0;
}


/* a copy in the snapshot's memory: the store's may go first */
static gm_session_t *
gm_compile_session(gm_compile_ctx_t *ctx, const gm_session_t *src,
    const gm_str_t *policy)
{
    gm_session_t  *s;

    s = gm_arena_calloc(ctx->arena, sizeof(gm_session_t));
    if (s == NULL) {
        return NULL;
    }

    s->type = src->type;
    s->permanent = src->permanent;
    s->absolute_ms = src->absolute_ms;

    if (gm_arena_strdup(ctx->arena, &s->name, src->name.data, src->name.len)
        != 0
        || gm_arena_strdup(ctx->arena, &s->lname, src->lname.data,
                           src->lname.len) != 0
        || gm_arena_strdup(ctx->arena, &s->path, src->path.data,
                           src->path.len) != 0
        || gm_arena_strdup(ctx->arena, &s->policy,
                           policy ? policy->data : "",
                           policy ? policy->len : 0) != 0)
    {
        return NULL;
    }

    return s;
}


/* rx: the rule's own ext, made when the rule has sessionPersistence */

int
gm_compile_rule_session(gm_compile_ctx_t *ctx, gm_rule_ext_t *rx,
    const gm_http_rule_t *hr)
{
    const gm_session_t  *session;

    session = gm_http_rule_ext(hr)->session;

    if (session != NULL) {
        rx->session = gm_compile_session(ctx, session, NULL);
        if (rx->session == NULL) {
            return -1;
        }
    }

    return 0;
}


/*
 * The Path of the rule's cookies when sessionPersistence names none: the
 * path its matches share (a PathPrefix without its trailing "/"), else
 * "/" (empty).  A path a cookie cannot carry is "/" too.
 */
static int
gm_compile_session_path(gm_compile_ctx_t *ctx, gm_rule_t *rule,
    const gm_http_rule_t *hr)
{
    size_t                  i, len;
    gm_str_t                prefix, interned;
    gm_rule_ext_t          *rx;
    const gm_str_t         *path;
    const gm_http_match_t  *m;

    path = NULL;

    for (i = 0; i < hr->nmatches; i++) {
        m = &hr->matches[i];

        if (m->path_type == GM_MATCH_REGEX
            || (path != NULL && !gm_str_eq(path, &m->path)))
        {
            return 0;
        }

        path = &m->path;
    }

    if (path == NULL) {
        return 0;
    }

    len = path->len;

    while (len > 1 && path->data[len - 1] == '/') {
        len--;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) path->data[i] <= 0x20
            || (unsigned char) path->data[i] >= 0x7f
            || path->data[i] == ';')
        {
            return 0;
        }
    }

    if (len <= 1 || path->data[0] != '/') {
        return 0;
    }

    /* many rules have the same: one copy */
    prefix.data = path->data;
    prefix.len = len;

    if (gm_compile_intern(ctx, &interned, &prefix) != 0) {
        return -1;
    }

    /* a rule without an ext of its own gets one for the Path */
    rx = gm_compile_rule_own_ext(ctx, rule);
    if (rx == NULL) {
        return -1;
    }

    rx->session_path = interned.data;
    rx->session_path_len = (uint16_t) interned.len;

    return 0;
}
