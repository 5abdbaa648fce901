/*
 * nginx-gamma: the regex budget of a request (gm_regex_budget.c), used by
 * the matcher (gm_match.c).
 */

#ifndef GM_REGEX_BUDGET_H
#define GM_REGEX_BUDGET_H


#include <stdint.h>

#include "gm_snapshot_int.h"


typedef struct {
    pcre2_match_data     *data;
    pcre2_match_context  *ctx;
    uint32_t              budget;        /* steps per request, 0: none */
    uint32_t              depth_limit;   /* 0: PCRE2's default */
    uint32_t              left;          /* steps the request has left */
} gm_regex_budget_t;


/* 0, or -1 when memory runs out */
int gm_regex_budget_init(gm_regex_budget_t *b, uint32_t budget,
    uint32_t depth_limit);
void gm_regex_budget_free(gm_regex_budget_t *b);

/* a new request: the whole budget again */
#define gm_regex_budget_reset(b)  ((b)->left = (b)->budget)

/*
 * Runs one anchored regex test against s and charges the request's budget.
 * 1: matched; 0: did not match; -1: undecided, the budget ran out (or a
 * depth, memory or other PCRE2 limit was hit).
 */
int gm_regex_budget_match(gm_regex_budget_t *b, const pcre2_code *re,
    const gm_str_t *s);


#endif /* GM_REGEX_BUDGET_H */
