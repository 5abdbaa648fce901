/*
 * nginx-gamma: matching a request against a compiled route table, and the
 * weighted choice of a backend.  Runs on the event loop: no allocation
 * (PCRE2 keeps its backtracking frames in the matcher's match data, so
 * only a regex needing more than ever before grows them).  The regex
 * tests of one request share one budget (gm_regex_budget.c): a test it
 * cannot decide within what is left stops the match.
 *
 * Query parameters are split on '&' and '=' as they come, without
 * percent-decoding: a test value must be written as it appears on the
 * wire.  A parameter without '=' has the empty value; when a name repeats,
 * the first occurrence counts.
 *
 * The tests return 1 (matched), 0 (did not) or -1 (undecided: the regex
 * budget ran out).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_snapshot_int.h"
#include "gm_regex_budget.h"
#include "gm_match.h"


struct gm_matcher_s {
    gm_regex_budget_t     regex;
    const gm_rule_t      *exhausted;     /* of the last match, or NULL */
};


static int gm_match_rest(const gm_route_match_t *mt, const gm_request_t *r,
    gm_matcher_t *m) __attribute__((noinline));
static int gm_match_path(const gm_route_match_t *mt, const gm_str_t *path,
    gm_matcher_t *m);
static int gm_match_headers(const gm_route_match_t *mt,
    const gm_request_t *r, gm_matcher_t *m);
static int gm_match_query(const gm_route_match_t *mt, const gm_str_t *args,
    gm_matcher_t *m);
static int gm_match_value(const gm_value_test_t *t, const gm_str_t *value,
    gm_matcher_t *m);
static int gm_query_arg(const gm_str_t *args, const gm_str_t *name,
    gm_str_t *value);


gm_matcher_t *
gm_matcher_create(uint32_t budget, uint32_t depth_limit)
{
    gm_matcher_t  *m;

    m = calloc(1, sizeof(gm_matcher_t));
    if (m == NULL) {
        return NULL;
    }

    if (gm_regex_budget_init(&m->regex, budget, depth_limit) != 0) {
        free(m);
        return NULL;
    }

    return m;
}


void
gm_matcher_destroy(gm_matcher_t *m)
{
    if (m == NULL) {
        return;
    }

    gm_regex_budget_free(&m->regex);
    free(m);
}


const gm_rule_t *
gm_matcher_exhausted(const gm_matcher_t *m)
{
    return m->exhausted;
}


/* the rule a request matches, without its policy settings */
const gm_rule_t *
gm_route_table_match(const gm_route_table_t *t, const gm_request_t *r,
    gm_matcher_t *m)
{
    const gm_policy_set_t  *policy;

    return gm_route_table_match_policy(t, r, m, &policy);
}


/*
 * The tests of one match are ANDed, cheapest first: the path's length
 * (a path too short for a prefix, an exact path of another length: most
 * entries a request passes by), the method and the path here, the headers
 * and query parameters (rarer, and costlier) out of line, which keeps this
 * loop light for the common match on a path alone.  The rule of the entry
 * that matched, and its policy settings.
 */
const gm_rule_t *
gm_route_table_match_policy(const gm_route_table_t *t, const gm_request_t *r,
    gm_matcher_t *m, const gm_policy_set_t **policy)
{
    int                      rc;
    size_t                   plen;
    const gm_route_match_t  *mt;
    const gm_route_entry_t  *e, *last;

    *policy = NULL;

    gm_regex_budget_reset(&m->regex);
    m->exhausted = NULL;

    if (t == NULL) {
        return NULL;
    }

    plen = r->path.len;
    last = t->entries + t->nentries;

    for (e = t->entries; e < last; e++) {
        mt = e->match;

        if (mt->path_type == GM_MATCH_PREFIX
            ? plen < mt->path_len
            : mt->path_type == GM_MATCH_EXACT && plen != mt->path_len)
        {
            continue;
        }

        if (mt->method != 0
            && !gm_str_eq(&gm_route_methods[mt->method], &r->method))
        {
            continue;
        }

        rc = gm_match_path(mt, &r->path, m);

        if (rc == 1 && (mt->nheaders | mt->nquery) != 0) {
            rc = gm_match_rest(mt, r, m);
        }

        if (rc == 1) {
            *policy = e->policy;
            return e->rule;
        }

        if (rc < 0) {
            /* a later rule might not be the one this request is for */
            m->exhausted = e->rule;
            return NULL;
        }
    }

    return NULL;
}


/*
 * rnd is mapped onto [0, total_weight) by a multiply-shift, done in two
 * halves so that no total can overflow; then the cumulative walk.
 */

gm_weighted_backend_t *
gm_rule_pick_backend(const gm_rule_t *rule, uint32_t rnd)
{
    size_t    i;
    uint64_t  x, total;

    total = rule->total_weight;

    if (total == 0 || rule->nbackends == 0) {
        return NULL;
    }

    x = (uint64_t) rnd * (total >> 32)
        + (((uint64_t) rnd * (total & 0xffffffff)) >> 32);

    for (i = 0; i + 1 < rule->nbackends; i++) {
        if (x < rule->backends[i].weight) {
            break;
        }

        x -= rule->backends[i].weight;
    }

    return &rule->backends[i];
}


static int
gm_match_rest(const gm_route_match_t *mt, const gm_request_t *r,
    gm_matcher_t *m)
{
    int  rc;

    rc = gm_match_headers(mt, r, m);
    if (rc != 1) {
        return rc;
    }

    return gm_match_query(mt, &r->args, m);
}


static int
gm_match_path(const gm_route_match_t *mt, const gm_str_t *path,
    gm_matcher_t *m)
{
    size_t  len;

    /* tests, not a switch: the commonest type is answered first */
    if (mt->path_type != GM_MATCH_PREFIX) {
        return (mt->path_type == GM_MATCH_EXACT)
               ? (path->len == mt->path_len
                  && memcmp(path->data, mt->path, mt->path_len) == 0)
               : gm_regex_budget_match(&m->regex, mt->path_re, path);
    }

    /* PathPrefix compares whole segments: "/v2" is no prefix of "/v2x" */
    len = mt->path_len;

    if (len == 0) {
        return 1;
    }

    return path->len >= len
           && memcmp(path->data, mt->path, len) == 0
           && (path->len == len || path->data[len] == '/');
}


static int
gm_match_headers(const gm_route_match_t *mt, const gm_request_t *r,
    gm_matcher_t *m)
{
    int       rc;
    size_t    i;
    gm_str_t  name, value;

    for (i = 0; i < mt->nheaders; i++) {
        name.data = (char *) mt->tests[i].name;
        name.len = mt->tests[i].name_len;

        if (r->header == NULL || !r->header(r->ctx, &name, &value)) {
            return 0;
        }

        rc = gm_match_value(&mt->tests[i], &value, m);
        if (rc != 1) {
            return rc;
        }
    }

    return 1;
}


static int
gm_match_query(const gm_route_match_t *mt, const gm_str_t *args,
    gm_matcher_t *m)
{
    int                     rc;
    size_t                  i;
    gm_str_t                name, value;
    const gm_value_test_t  *t;

    for (i = 0; i < mt->nquery; i++) {
        t = &mt->tests[mt->nheaders + i];
        name.data = (char *) t->name;
        name.len = t->name_len;

        if (!gm_query_arg(args, &name, &value)) {
            return 0;
        }

        rc = gm_match_value(t, &value, m);
        if (rc != 1) {
            return rc;
        }
    }

    return 1;
}


/* Exact is case-sensitive; a regex must match the whole value */

static int
gm_match_value(const gm_value_test_t *t, const gm_str_t *value,
    gm_matcher_t *m)
{
    if (t->type == GM_MATCH_REGEX) {
        return gm_regex_budget_match(&m->regex, t->re, value);
    }

    return t->value_len == value->len
           && (value->len == 0
               || memcmp(t->value, value->data, value->len) == 0);
}


static int
gm_query_arg(const gm_str_t *args, const gm_str_t *name, gm_str_t *value)
{
    const char  *p, *end, *amp, *eq, *name_end;

    if (args->len == 0) {
        return 0;
    }

    p = args->data;
    end = p + args->len;

    for ( ;; ) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);
        name_end = eq ? eq : amp;

        if ((size_t) (name_end - p) == name->len
            && memcmp(p, name->data, name->len) == 0)
        {
            value->data = (char *) (eq ? eq + 1 : amp);
            value->len = amp - value->data;
            return 1;
        }

        if (amp == end) {
            return 0;
        }

        p = amp + 1;
    }
}
