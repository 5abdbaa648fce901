/*
 * nginx-gamma: TrafficPolicies and the operator's nginx.conf defaults and
 * overrides, merged once per snapshot into the settings of every rule of
 * every route table, and of every frontend's passthrough.  A request only
 * follows a pointer (and, where consumer policies exist, looks up its
 * namespace).
 *
 * Per field, the first source that sets it wins, in this order:
 *
 *   1. gamma_override, the most specific scope first (rule, route,
 *      Service port, Service, namespace, "*");
 *   2. policy overrides, the highest target first (Service, Service port,
 *      HTTPRoute, rule), at one target the producer's before the
 *      consumer's;
 *   3. the route rule's own field;
 *   4. policy defaults, the lowest target first (rule, HTTPRoute, Service
 *      port, Service), at one target the consumer's before the producer's;
 *   5. gamma_default, the most specific scope first.
 *
 * Among policies at one target and side, the older wins, then ns/name
 * (GEP-713's established policy).  A policy in another namespace than
 * its target (a consumer policy) counts for the clients of its own
 * namespace only.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_compile_policy_int.h"

static int gm_compile_frontend_policies(gm_compile_ctx_t *ctx,
    gm_cpolicies_t *cp, gm_frontend_t *f);
static int gm_compile_table_policies(gm_compile_ctx_t *ctx,
    gm_cpolicies_t *cp, gm_cscope_t *sc, gm_route_table_t *t,
    const gm_str_t *client);
static void gm_compile_candidates(gm_cpolicies_t *cp, const gm_cscope_t *sc);
static void gm_compile_candidates_of(gm_cpolicies_t *cp, char kind,
    const gm_str_t *ns, const gm_str_t *name, const gm_cscope_t *sc);
static gm_policy_set_t *gm_compile_policy_set(gm_compile_ctx_t *ctx,
    gm_cpolicies_t *cp, const gm_cscope_t *sc, const gm_str_t *client);
static int gm_compile_set_variants(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp,
    const gm_cscope_t *sc, gm_policy_set_t *set);
static const gm_effective_t *gm_compile_effective(gm_compile_ctx_t *ctx,
    gm_cpolicies_t *cp, const gm_cscope_t *sc, const gm_str_t *client);
static void gm_compile_sources(gm_cpolicies_t *cp, const gm_cscope_t *sc,
    const gm_str_t *client, const gm_policy_values_t *own);
static void gm_compile_add_ops(gm_cpolicies_t *cp, const gm_cscope_t *sc,
    unsigned override);
static int gm_compile_op_applies(const gm_operator_entry_t *e,
    const gm_cscope_t *sc);
static void gm_compile_add_level(gm_cpolicies_t *cp, gm_tlevel_e level,
    const gm_str_t *client, unsigned override, unsigned consumer);
static void gm_compile_rule_values(const gm_rule_t *rule,
    gm_policy_values_t *v);
static int gm_compile_effective_copy(gm_compile_ctx_t *ctx,
    gm_effective_t *e, const gm_str_t **labels, size_t n);
static void gm_compile_effective_from(gm_cpolicies_t *cp, gm_effective_t *e,
    size_t n);
static int gm_compile_label_cmp(const void *one, const void *two);


int
gm_compile_policies(gm_compile_ctx_t *ctx)
{
    size_t           i;
    gm_cpolicies_t  *cp;

    cp = gm_arena_calloc(ctx->scratch, sizeof(gm_cpolicies_t));
    if (cp == NULL) {
        return -1;
    }

    cp->empty = gm_arena_calloc(ctx->arena, sizeof(gm_policy_set_t));
    if (cp->empty == NULL) {
        return -1;
    }

    cp->empty->all = gm_arena_calloc(ctx->arena, sizeof(gm_effective_t));
    if (cp->empty->all == NULL) {
        return -1;
    }

    gm_policy_values_init((gm_policy_values_t *) &cp->empty->all->v);
    ((gm_effective_t *) cp->empty->all)->policies.data = (char *) "";

    if (gm_compile_policies_collect(ctx, cp) != 0
        || gm_compile_policy_targets(ctx, cp) != 0)
    {
        return -1;
    }

    gm_compile_operator(ctx, cp);

    for (i = 0; i < ctx->nfrontends; i++) {
        if (gm_compile_frontend_policies(ctx, cp, &ctx->frontends[i]) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
gm_compile_frontend_policies(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp,
    gm_frontend_t *f)
{
    size_t                 i;
    gm_cscope_t            sc;
    gm_compile_service_t  *cs;

    sc.f = f;
    sc.rule = NULL;
    sc.port_name = NULL;

    cs = gm_compile_find_service(ctx, &f->passthrough->ns,
                                 &f->passthrough->name);

    for (i = 0; cs && i < cs->svc->nports; i++) {
        if (cs->svc->ports[i].port == f->port) {
            sc.port_name = &cs->svc->ports[i].name;
            break;
        }
    }

    f->passthrough_policy = gm_compile_policy_set(ctx, cp, &sc, NULL);
    if (f->passthrough_policy == NULL) {
        return -1;
    }

    if (f->producer != NULL
        && gm_compile_table_policies(ctx, cp, &sc, f->producer, NULL) != 0)
    {
        return -1;
    }

    for (i = 0; i < f->nconsumers; i++) {
        if (gm_compile_table_policies(ctx, cp, &sc, f->consumer[i],
                                      &f->consumer_ns[i])
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* the entries of one rule share its settings */
static int
gm_compile_table_policies(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp,
    gm_cscope_t *sc, gm_route_table_t *t, const gm_str_t *client)
{
    size_t  i, j;

    for (i = 0; i < t->nentries; i++) {
        for (j = 0; j < i; j++) {
            if (t->entries[j].rule == t->entries[i].rule) {
                t->entries[i].policy = t->entries[j].policy;
                break;
            }
        }

        if (j < i) {
            continue;
        }

        sc->rule = t->entries[i].rule;
        t->entries[i].policy = gm_compile_policy_set(ctx, cp, sc, client);

        if (t->entries[i].policy == NULL) {
            return -1;
        }
    }

    sc->rule = NULL;

    return 0;
}


static gm_policy_set_t *
gm_compile_policy_set(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp,
    const gm_cscope_t *sc, const gm_str_t *client)
{
    gm_policy_set_t     *set;
    gm_policy_values_t   own;

    gm_compile_candidates(cp, sc);

    if (sc->rule != NULL) {
        gm_compile_rule_values(sc->rule, &own);
    }

    /* nothing says anything: the shared empty set */
    if (cp->ncand == 0 && cp->nops == 0
        && (sc->rule == NULL || own.set == 0))
    {
        return cp->empty;
    }

    set = gm_arena_calloc(ctx->arena, sizeof(gm_policy_set_t));
    if (set == NULL) {
        return NULL;
    }

    set->all = gm_compile_effective(ctx, cp, sc, client);
    if (set->all == NULL) {
        return NULL;
    }

    /* a consumer table's client is known; a producer table's is not */
    if (client == NULL && gm_compile_set_variants(ctx, cp, sc, set) != 0) {
        return NULL;
    }

    return set;
}


/* one variant per namespace whose consumer policies apply here */
static int
gm_compile_set_variants(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp,
    const gm_cscope_t *sc, gm_policy_set_t *set)
{
    size_t           i, j, k, n;
    gm_str_t        *ns;
    const gm_str_t  *c, *uniq[GM_COMPILE_POLICY_CANDIDATES];

    n = 0;

    for (i = 0; i < cp->ncand; i++) {
        c = cp->cand[i].t->consumer;

        for (j = 0; c && j < n && !gm_str_eq(uniq[j], c); j++) {
            /* void */
        }

        if (c != NULL && j == n) {
            uniq[n++] = c;
        }
    }

    if (n == 0) {
        return 0;
    }

    /* sorted, for the lookup by the client's namespace */
    for (i = 1; i < n; i++) {
        for (k = i; k > 0 && gm_str_cmp(uniq[k]->data, uniq[k]->len,
                                        uniq[k - 1]->data,
                                        uniq[k - 1]->len) < 0; k--)
        {
            c = uniq[k];
            uniq[k] = uniq[k - 1];
            uniq[k - 1] = c;
        }
    }

    ns = gm_arena_alloc(ctx->arena, n * sizeof(gm_str_t));
    set->by_ns = gm_arena_alloc(ctx->arena, n * sizeof(gm_effective_t *));

    if (ns == NULL || set->by_ns == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (gm_compile_intern(ctx, &ns[i], uniq[i]) != 0) {
            return -1;
        }

        /* the candidates stay those of this scope */
        set->by_ns[i] = gm_compile_effective(ctx, cp, sc, uniq[i]);
        if (set->by_ns[i] == NULL) {
            return -1;
        }
    }

    set->ns = ns;
    set->nns = n;

    return 0;
}


static void
gm_compile_candidates(gm_cpolicies_t *cp, const gm_cscope_t *sc)
{
    cp->ncand = 0;

    gm_compile_candidates_of(cp, 'S', &sc->f->passthrough->ns,
                             &sc->f->passthrough->name, sc);

    if (sc->rule != NULL) {
        gm_compile_candidates_of(cp, 'R', &sc->rule->route->ns,
                                 &sc->rule->route->name, sc);
    }
}


static void
gm_compile_candidates_of(gm_cpolicies_t *cp, char kind, const gm_str_t *ns,
    const gm_str_t *name, const gm_cscope_t *sc)
{
    int                  c;
    size_t               lo, hi, mid;
    gm_str_t             rname;
    gm_tlevel_e          level;
    const gm_str_t      *sec;
    const gm_ctarget_t  *t;

    lo = 0;
    hi = cp->ntargets;

    /* the first target of this key */
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = gm_compile_key_cmp(kind, ns, name, &cp->targets[mid]);

        if (c <= 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    for ( ; lo < cp->ntargets; lo++) {
        t = &cp->targets[lo];

        if (gm_compile_key_cmp(kind, ns, name, t) != 0) {
            break;
        }

        sec = t->section;

        if (kind == 'S') {
            if (sec->len && (sc->port_name == NULL
                             || !gm_str_eq(sec, sc->port_name)))
            {
                continue;
            }

            level = sec->len ? GM_TLEVEL_SERVICE_PORT : GM_TLEVEL_SERVICE;

        } else {
            gm_rule_name(sc->rule, &rname);

            if (sec->len && !gm_str_eq(sec, &rname)) {
                continue;
            }

            level = sec->len ? GM_TLEVEL_RULE : GM_TLEVEL_ROUTE;
        }

        if (cp->ncand < GM_COMPILE_POLICY_CANDIDATES) {
            cp->cand[cp->ncand].t = t;
            cp->cand[cp->ncand].level = level;
            cp->ncand++;
        }
    }
}


static const gm_effective_t *
gm_compile_effective(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp,
    const gm_cscope_t *sc, const gm_str_t *client)
{
    size_t               f, i, n;
    uint32_t             bit;
    gm_effective_t      *e;
    gm_policy_values_t   own;

    e = gm_arena_calloc(ctx->arena, sizeof(gm_effective_t));
    if (e == NULL) {
        return NULL;
    }

    gm_policy_values_init(&e->v);
    gm_policy_values_init(&own);

    if (sc->rule != NULL) {
        gm_compile_rule_values(sc->rule, &own);
    }

    gm_compile_sources(cp, sc, client, &own);

    n = 0;

    for (f = 0, bit = 1; bit & GM_PF_ALL; f++, bit <<= 1) {
        cp->field_label[f] = NULL;

        for (i = 0; i < cp->nsrc; i++) {
            if (cp->src[i].v->set & bit) {
                gm_policy_value_take(&e->v, cp->src[i].v, bit);
                e->origin[f] = cp->src[i].origin;
                cp->field_label[f] = cp->src[i].label;

                if (cp->src[i].label != NULL) {
                    cp->labels[n++] = cp->src[i].label;
                }

                if (bit == GM_PF_RATE_REQUESTS) {
                    e->rate_key = cp->src[i].key;
                }

                break;
            }
        }
    }

    if (gm_compile_effective_copy(ctx, e, cp->labels, n) != 0) {
        return NULL;
    }

    gm_compile_effective_from(cp, e, n);

    return e;
}


/* a field's policy: its index among the sorted, distinct contributors */
static void
gm_compile_effective_from(gm_cpolicies_t *cp, gm_effective_t *e, size_t n)
{
    size_t  f, i, k;

    for (f = 0; f < GM_PF_COUNT; f++) {
        if (cp->field_label[f] == NULL) {
            continue;
        }

        for (i = 0, k = 0; i < n; i++) {
            if (gm_str_eq(cp->labels[i], cp->field_label[f])) {
                break;
            }

            if (i == 0 || !gm_str_eq(cp->labels[i], cp->labels[i - 1])) {
                k++;
            }
        }

        /* sorted: the k distinct names before it are the smaller ones */
        e->from[f] = (uint8_t) k;
    }
}


static void
gm_compile_sources(gm_cpolicies_t *cp, const gm_cscope_t *sc,
    const gm_str_t *client, const gm_policy_values_t *own)
{
    int  level;

    cp->nsrc = 0;

    gm_compile_add_ops(cp, sc, 1);

    for (level = GM_TLEVEL_SERVICE; level < GM_TLEVEL_MAX; level++) {
        gm_compile_add_level(cp, level, client, 1, 0);
        gm_compile_add_level(cp, level, client, 1, 1);
    }

    if (own->set) {
        cp->src[cp->nsrc].v = own;
        cp->src[cp->nsrc].label = NULL;
        cp->src[cp->nsrc].key = 0;
        cp->src[cp->nsrc].origin = GM_ORIGIN_RULE;
        cp->nsrc++;
    }

    for (level = GM_TLEVEL_RULE; level >= GM_TLEVEL_SERVICE; level--) {
        gm_compile_add_level(cp, level, client, 0, 1);
        gm_compile_add_level(cp, level, client, 0, 0);
    }

    gm_compile_add_ops(cp, sc, 0);
}


static void
gm_compile_add_ops(gm_cpolicies_t *cp, const gm_cscope_t *sc,
    unsigned override)
{
    size_t                      i;
    const gm_operator_entry_t  *e;

    for (i = 0; i < cp->nops && cp->nsrc < GM_COMPILE_POLICY_SOURCES; i++) {
        e = cp->ops[i];

        if (e->override == override && gm_compile_op_applies(e, sc)) {
            cp->src[cp->nsrc].v = &e->v;
            cp->src[cp->nsrc].label = NULL;
            cp->src[cp->nsrc].key = gm_compile_source_key(NULL, NULL, e,
                                                          sc->f);
            cp->src[cp->nsrc].origin = (uint8_t) ((override
                                                   ? GM_ORIGIN_OP_OVERRIDE
                                                   : GM_ORIGIN_OP_DEFAULT)
                                                  | (e->scope << 3));
            cp->nsrc++;
        }
    }
}


/* namespace: is the namespace of the Service the request is addressed to */
static int
gm_compile_op_applies(const gm_operator_entry_t *e, const gm_cscope_t *sc)
{
    gm_str_t              name;
    const gm_rule_t      *r;
    const gm_frontend_t  *f;

    f = sc->f;
    r = sc->rule;

    switch (e->scope) {

    case GM_SCOPE_ALL:
        return 1;

    case GM_SCOPE_NAMESPACE:
        return gm_str_eq(&e->ns, &f->passthrough->ns);

    case GM_SCOPE_SERVICE:
    case GM_SCOPE_SERVICE_PORT:
        return gm_str_eq(&e->ns, &f->passthrough->ns)
               && gm_str_eq(&e->name, &f->passthrough->name)
               && (e->scope == GM_SCOPE_SERVICE || e->port == f->port);

    default:
        break;
    }

    if (r == NULL || !gm_str_eq(&e->ns, &r->route->ns)
        || !gm_str_eq(&e->name, &r->route->name))
    {
        return 0;
    }

    if (e->scope == GM_SCOPE_ROUTE) {
        return 1;
    }

    /* a rule by its name, an unnamed one as "rule<index>" */
    gm_rule_name(r, &name);

    return name.len ? gm_str_eq(&e->rule, &name)
           : (r->label.len > e->rule.len
              && memcmp(r->label.data + r->label.len - e->rule.len,
                        e->rule.data, e->rule.len) == 0
              && r->label.data[r->label.len - e->rule.len - 1] == '/');
}


static void
gm_compile_add_level(gm_cpolicies_t *cp, gm_tlevel_e level,
    const gm_str_t *client, unsigned override, unsigned consumer)
{
    size_t               i;
    const gm_ctarget_t  *t;
    const gm_trafficpolicy_t  *tp;

    for (i = 0; i < cp->ncand && cp->nsrc < GM_COMPILE_POLICY_SOURCES; i++) {
        if (cp->cand[i].level != level) {
            continue;
        }

        t = cp->cand[i].t;

        if (consumer) {
            if (t->consumer == NULL || client == NULL
                || !gm_str_eq(t->consumer, client))
            {
                continue;
            }

        } else if (t->consumer != NULL) {
            continue;
        }

        tp = t->policy->tp;
        cp->src[cp->nsrc].v = override ? &tp->overrides : &tp->defaults;
        cp->src[cp->nsrc].label = &t->policy->label;
        cp->src[cp->nsrc].key = gm_compile_source_key(&t->policy->label, t,
                                                      NULL, NULL);
        cp->src[cp->nsrc].origin = (uint8_t) ((override ? GM_ORIGIN_OVERRIDE
                                                        : GM_ORIGIN_DEFAULT)
                                              | (level << 3)
                                              | (consumer << 6));
        cp->nsrc++;
    }
}


static void
gm_compile_rule_values(const gm_rule_t *rule, gm_policy_values_t *v)
{
    gm_policy_values_init(v);

    if (rule->ext->timeout_request_ms != GM_DURATION_UNSET) {
        v->timeout_request_ms = rule->ext->timeout_request_ms;
        v->set |= GM_PF_TIMEOUT_REQUEST;
    }

    if (rule->ext->timeout_backend_ms != GM_DURATION_UNSET) {
        v->timeout_backend_ms = rule->ext->timeout_backend_ms;
        v->set |= GM_PF_TIMEOUT_BACKEND;
    }

    if (!rule->has_retry) {
        return;
    }

    v->set |= GM_PF_RETRY_STANZA;

    if (rule->ext->retry_attempts != 0) {
        v->retry_attempts = rule->ext->retry_attempts;
        v->set |= GM_PF_RETRY_ATTEMPTS;
    }

    if (rule->ext->nretry_codes != 0) {
        v->retry_codes = rule->ext->retry_codes;
        v->nretry_codes = rule->ext->nretry_codes;
        v->set |= GM_PF_RETRY_CODES;
    }

    if (rule->ext->retry_backoff_ms != GM_DURATION_UNSET) {
        v->retry_backoff_ms = rule->ext->retry_backoff_ms;
        v->set |= GM_PF_RETRY_BACKOFF;
    }
}


/*
 * What the snapshot keeps must live in its arena: the store's objects
 * may go before the snapshot does.  The contributors' names are joined,
 * sorted and once each.
 */
static int
gm_compile_effective_copy(gm_compile_ctx_t *ctx, gm_effective_t *e,
    const gm_str_t **labels, size_t n)
{
    char      *p;
    size_t     i, len;
    uint16_t  *codes;

    if (e->v.nretry_codes) {
        codes = gm_arena_alloc(ctx->arena,
                               e->v.nretry_codes * sizeof(uint16_t));
        if (codes == NULL) {
            return -1;
        }

        memcpy(codes, e->v.retry_codes, e->v.nretry_codes * sizeof(uint16_t));
        e->v.retry_codes = codes;
    }

    if ((e->v.lb_header.len
         && gm_compile_intern(ctx, &e->v.lb_header, &e->v.lb_header) != 0)
        || (e->v.lb_cookie.len
            && gm_compile_intern(ctx, &e->v.lb_cookie, &e->v.lb_cookie) != 0))
    {
        return -1;
    }

    e->policies.data = (char *) "";

    if (n == 0) {
        return 0;
    }

    qsort(labels, n, sizeof(gm_str_t *), gm_compile_label_cmp);

    len = 0;

    for (i = 0; i < n; i++) {
        len += labels[i]->len + 1;
    }

    p = gm_arena_alloc(ctx->arena, len + 1);
    if (p == NULL) {
        return -1;
    }

    e->policies.data = p;

    for (i = 0; i < n; i++) {
        if (i > 0 && gm_str_eq(labels[i], labels[i - 1])) {
            continue;
        }

        if (p != e->policies.data) {
            *p++ = ',';
        }

        memcpy(p, labels[i]->data, labels[i]->len);
        p += labels[i]->len;
    }

    *p = '\0';
    e->policies.len = p - e->policies.data;

    return 0;
}


static int
gm_compile_label_cmp(const void *one, const void *two)
{
    const gm_str_t  *a, *b;

    a = *(const gm_str_t *const *) one;
    b = *(const gm_str_t *const *) two;

    return gm_str_cmp(a->data, a->len, b->data, b->len);
}
