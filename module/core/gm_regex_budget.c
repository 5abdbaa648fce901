/*
 * nginx-gamma: the regex budget of a request.  All the regex tests of one
 * request share one budget of PCRE2 match steps (the unit of PCRE2's
 * match limit: one backtracking frame), so that no request, however many
 * regexes its route table holds, keeps the worker longer than the budget
 * takes (GM_REGEX_BUDGET, about 3 ms).
 *
 * PCRE2 does not say how many steps a match took.  So a test runs under
 * a small limit first (GM_REGEX_FIRST_STEPS) and, when it hits it, again
 * under four times that, and so on, never above what the request has
 * left.  Each run is charged its limit: a run that hit the limit took
 * that many steps, the one that finished took at most that many.  The
 * work done is thus never more than the charge, and the charge is at most
 * four times the steps of the final run plus a third of them for the runs
 * before; a cheap test (most take a few steps) runs once, charged the
 * first limit.  A test that cannot finish within what is left is
 * undecided: the request fails (the router answers 400) rather than
 * falling through to a rule it might not have chosen.
 */

#include <stdint.h>
#include <stdlib.h>

#include "gm_limits.h"
#include "gm_regex_budget.h"


static void gm_regex_budget_warm_up(gm_regex_budget_t *b);
static int gm_regex_budget_run(gm_regex_budget_t *b, const pcre2_code *re,
    const gm_str_t *s, uint32_t limit, uint32_t depth);


int
gm_regex_budget_init(gm_regex_budget_t *b, uint32_t budget,
    uint32_t depth_limit)
{
    b->budget = budget;
    b->depth_limit = depth_limit;
    b->left = budget;

    /* only whether it matched counts: one pair of offsets is enough */
    b->data = pcre2_match_data_create(1, NULL);
    b->ctx = pcre2_match_context_create(NULL);

    if (b->data == NULL || b->ctx == NULL) {
        gm_regex_budget_free(b);
        return -1;
    }

    if (budget != 0) {
        pcre2_set_heap_limit(b->ctx, GM_REGEX_HEAP_LIMIT_KIB);
    }

    if (depth_limit != 0) {
        pcre2_set_depth_limit(b->ctx, depth_limit);
    }

    gm_regex_budget_warm_up(b);

    return 0;
}


void
gm_regex_budget_free(gm_regex_budget_t *b)
{
    pcre2_match_data_free(b->data);
    pcre2_match_context_free(b->ctx);
    b->data = NULL;
    b->ctx = NULL;
}


/*
 * PCRE2 allocates its backtracking frames on the first match and keeps
 * them in the match data: one match now spares the first request that.
 */

static void
gm_regex_budget_warm_up(gm_regex_budget_t *b)
{
    int          err;
    PCRE2_SIZE   off;
    pcre2_code  *re;

    re = pcre2_compile((PCRE2_SPTR) "a", 1, 0, &err, &off, NULL);

    if (re != NULL) {
        (void) pcre2_match(re, (PCRE2_SPTR) "a", 1, 0, 0, b->data, b->ctx);
        pcre2_code_free(re);
    }
}


int
gm_regex_budget_match(gm_regex_budget_t *b, const pcre2_code *re,
    const gm_str_t *s)
{
    int       rc;
    uint32_t  limit, depth;

    if (b->budget == 0) {
        /* no budget: PCRE2's own limits, any of them undecided */
        rc = gm_regex_budget_run(b, re, s, 0, 0);
        return rc >= 0 ? 1 : (rc == PCRE2_ERROR_NOMATCH ? 0 : -1);
    }

    limit = GM_REGEX_FIRST_STEPS;

    while (b->left != 0) {
        if (limit > b->left) {
            limit = b->left;
        }

        /* a frame is a step: no deeper than the steps this run may take */
        depth = b->depth_limit;

        if (depth == 0 || depth > limit) {
            depth = limit;
        }

        rc = gm_regex_budget_run(b, re, s, limit, depth);
        b->left -= limit;

        if (rc >= 0) {
            return 1;
        }

        if (rc == PCRE2_ERROR_NOMATCH) {
            return 0;
        }

        if (!(rc == PCRE2_ERROR_MATCHLIMIT
              || (rc == PCRE2_ERROR_DEPTHLIMIT && depth == limit))
            || limit > UINT32_MAX / 4)
        {
            /* the depth or heap limit itself, no memory: no next run */
            return -1;
        }

        limit *= 4;
    }

    return -1;
}


/* limit 0: the context's own limits */

static int
gm_regex_budget_run(gm_regex_budget_t *b, const pcre2_code *re,
    const gm_str_t *s, uint32_t limit, uint32_t depth)
{
    if (limit != 0) {
        pcre2_set_match_limit(b->ctx, limit);
        pcre2_set_depth_limit(b->ctx, depth);
    }

    return pcre2_match(re, (PCRE2_SPTR) (s->data ? s->data : ""), s->len, 0,
                       0, b->data, b->ctx);
}
