/*
 * nginx-gamma: matching a request against a compiled route table.
 * Allocation-free; runs on the event loop.
 */

#ifndef GM_MATCH_H
#define GM_MATCH_H


#include "gm_snapshot.h"


/*
 * Looks up the first instance of a request header.  lname is lowercase.
 * Returns 1 and sets *value when present, else 0.
 */
typedef int (*gm_header_pt)(void *ctx, const gm_str_t *lname,
    gm_str_t *value);

typedef struct {
    gm_str_t       method;
    gm_str_t       path;              /* decoded, normalized, no query */
    gm_str_t       args;              /* raw query string, no '?' */
    gm_header_pt   header;
    void          *ctx;
} gm_request_t;

/* per-thread regex scratch: PCRE2 match data and the regex budget */
typedef struct gm_matcher_s  gm_matcher_t;


/*
 * budget: the PCRE2 match steps all regex tests of one request may take
 * together (GM_REGEX_BUDGET in gm_limits.h); depth_limit: the backtracking
 * depth of one test.  0 keeps PCRE2's defaults (no budget).
 */
gm_matcher_t *gm_matcher_create(uint32_t budget, uint32_t depth_limit);
void gm_matcher_destroy(gm_matcher_t *m);
/*
 * After gm_route_table_match() returned NULL: the rule whose regex test
 * the budget could not decide (the match stopped there), else NULL (no
 * rule matched).
 */
const gm_rule_t *gm_matcher_exhausted(const gm_matcher_t *m);

/*
 * The highest-precedence matching rule, or NULL (404, or see
 * gm_matcher_exhausted()); t may be NULL.  Each call is one request: the
 * whole regex budget again.
 * Header and query values: Exact is a case-sensitive comparison, a
 * RegularExpression must match the whole value.  Query parameters are
 * not percent-decoded; the first occurrence of a name counts.
 */
const gm_rule_t *gm_route_table_match(const gm_route_table_t *t,
    const gm_request_t *r, gm_matcher_t *m);

/* the same, and the rule's policy settings in this table */
const gm_rule_t *gm_route_table_match_policy(const gm_route_table_t *t,
    const gm_request_t *r, gm_matcher_t *m, const gm_policy_set_t **policy);


#endif /* GM_MATCH_H */
