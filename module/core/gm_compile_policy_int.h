/*
 * nginx-gamma: what the two files of the policy stage share: the
 * policies and targets found in the store (gm_compile_policy_target.c)
 * and the merge that reads them (gm_compile_policy.c).
 */

#ifndef GM_COMPILE_POLICY_INT_H
#define GM_COMPILE_POLICY_INT_H


#include "gm_compile_int.h"


/* the level of a target, in the order overrides are taken */
typedef enum {
    GM_TLEVEL_SERVICE = 0,
    GM_TLEVEL_SERVICE_PORT,
    GM_TLEVEL_ROUTE,
    GM_TLEVEL_RULE,
    GM_TLEVEL_MAX
} gm_tlevel_e;

typedef struct {
    const gm_trafficpolicy_t    *tp;
    gm_str_t                     label;       /* "ns/name", scratch */
} gm_cpolicy_t;

/* one targetRef of one policy, found in the store */
typedef struct {
    char                         kind;        /* 'S'ervice, 'R'oute */
    const gm_str_t              *ns;
    const gm_str_t              *name;
    const gm_str_t              *section;
    const gm_str_t              *consumer;    /* NULL: a producer policy */
    const gm_cpolicy_t          *policy;
    uint32_t                     order;       /* of the policy */
} gm_ctarget_t;

/* a target that applies to the rule being resolved */
typedef struct {
    const gm_ctarget_t          *t;
    gm_tlevel_e                  level;
} gm_ccand_t;

/* one source of values, in precedence order */
typedef struct {
    const gm_policy_values_t    *v;
    const gm_str_t              *label;       /* NULL: not a policy */
    uint64_t                     key;         /* source and target */
    uint8_t                      origin;      /* gm_effective_t.origin */
} gm_csource_t;

typedef struct gm_cpolicies_s {
    gm_cpolicy_t                *policies;
    size_t                       npolicies;
    gm_ctarget_t                *targets;
    size_t                       ntargets;
    const gm_compile_route_t   **routes;      /* sorted by ns/name */
    size_t                       nroutes;
    const gm_operator_entry_t  **ops;         /* most specific first */
    size_t                       nops;
    gm_ccand_t                   cand[GM_COMPILE_POLICY_CANDIDATES];
    size_t                       ncand;
    gm_csource_t                 src[GM_COMPILE_POLICY_SOURCES];
    size_t                       nsrc;
    const gm_str_t              *labels[GM_COMPILE_POLICY_SOURCES];
    const gm_str_t              *field_label[GM_PF_COUNT];
    gm_policy_set_t             *empty;
} gm_cpolicies_t;

/* what is being resolved: a frontend, a rule of it (or passthrough) */
typedef struct {
    const gm_frontend_t         *f;
    const gm_str_t              *port_name;
    const gm_rule_t             *rule;        /* NULL: passthrough */
} gm_cscope_t;


/* gm_compile_policy_target.c */
int gm_compile_policies_collect(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp);
int gm_compile_policy_targets(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp);
int gm_compile_key_cmp(char kind, const gm_str_t *ns, const gm_str_t *name,
    const gm_ctarget_t *t);
void gm_compile_operator(gm_compile_ctx_t *ctx, gm_cpolicies_t *cp);
uint64_t gm_compile_source_key(const gm_str_t *policy, const gm_ctarget_t *t,
    const gm_operator_entry_t *e, const gm_frontend_t *f);


#endif /* GM_COMPILE_POLICY_INT_H */
