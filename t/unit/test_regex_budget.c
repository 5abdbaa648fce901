/*
 * nginx-gamma: the regex budget of a request (gm_regex_budget.c): all
 * regex tests of one request share it, a test it cannot decide stops the
 * match, cheap tests cost little of it, and a table of hostile regexes
 * takes no more time than the budget allows.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "fixture.h"
#include "gm_limits.h"


/* /(a+)+(bIxJ|) against "/" + 10 "a" + "b" takes 4606 steps (PCRE2 10.42) */
#define EVIL_RE     "/(a+)+(bIxJ|)"
#define EVIL_PATH   "/aaaaaaaaaab"
/* ... charged 16 + 64 + 256 + 1024 + 4096 + 16384 */
#define EVIL_COST   21840


typedef struct {
    gm_store_t     *store;
    gm_snapshot_t  *snap;
    fx_log_t        fl;
} env_t;


static void
env_init(env_t *e)
{
    memset(e, 0, sizeof(env_t));

    e->store = gm_store_create();
    gm_store_put(e->store, fx_service("ns", "svc", "10.96.0.1", "80"));
}


static gm_object_t *
env_route(env_t *e, const char *name, int64_t created)
{
    gm_object_t  *rt;

    rt = fx_route("ns", name, created);
    fx_parent(rt, "ns", "svc", 0, NULL);
    gm_store_put(e->store, rt);

    return rt;
}


static const gm_route_table_t *
env_build(env_t *e)
{
    gm_log_t              log;
    gm_addr_t             ip;
    gm_table_kind_e       kind;
    const gm_frontend_t  *f;

    log = fx_logger(&e->fl);
    e->snap = gm_snapshot_build(e->store, &log);

    ip = fx_addr("10.96.0.1");
    f = gm_snapshot_find_frontend(e->snap, &ip, 80);

    return f ? gm_frontend_route_table(f, "ns", 2, &kind) : NULL;
}


static void
env_free(env_t *e)
{
    gm_snapshot_unref(e->snap);
    gm_store_destroy(e->store);
}


static const char *
label(const gm_rule_t *rule)
{
    return rule ? rule->label.data : NULL;
}


static const char *
go(const gm_route_table_t *t, gm_matcher_t *m, const char *path,
    const char *args, const char **headers)
{
    gm_request_t  r;

    r = fx_request("GET", path, args, headers);

    return label(gm_route_table_match(t, &r, m));
}


/* n rules of the evil regex on one route, then a catch-all */
static const gm_route_table_t *
evil_table(env_t *e, int n)
{
    int           i;
    char          name[16];
    gm_object_t  *rt;

    env_init(e);
    rt = env_route(e, "evil", 1);

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "e%d", i);
        fx_rule(rt, name);
        fx_match(rt, GM_MATCH_REGEX, EVIL_RE);
    }

    fx_rule(rt, "fallback");

    return env_build(e);
}


static void
test_shared(void)
{
    env_t                    e;
    gm_matcher_t            *m;
    const gm_route_table_t  *t;

    t = evil_table(&e, 3);

    m = gm_matcher_create(2 * EVIL_COST, GM_REGEX_DEPTH_LIMIT);
    is_str(go(t, m, EVIL_PATH, NULL, NULL), NULL,
           "two tests fit a budget of two, the third does not");
    is_str(label(gm_matcher_exhausted(m)), "ns/evil/e2",
           "the third rule is the one that ran out");
    gm_matcher_destroy(m);

    m = gm_matcher_create(3 * EVIL_COST, GM_REGEX_DEPTH_LIMIT);
    is_str(go(t, m, EVIL_PATH, NULL, NULL), "ns/evil/fallback",
           "three fit a budget of three: decided, none matched");
    ok(gm_matcher_exhausted(m) == NULL, "nothing exhausted");
    is_str(go(t, m, EVIL_PATH, NULL, NULL), "ns/evil/fallback",
           "the same again: each request has the whole budget");
    is_str(go(t, m, "/aaaaaaaaaabIxJ", NULL, NULL), "ns/evil/e0",
           "a path the regex matches");
    gm_matcher_destroy(m);

    m = gm_matcher_create(0, 0);
    is_str(go(t, m, EVIL_PATH, NULL, NULL), "ns/evil/fallback",
           "no budget: PCRE2's own limits decide all three");
    gm_matcher_destroy(m);

    env_free(&e);
}


static void
test_headers_query(void)
{
    env_t                    e;
    gm_object_t             *rt;
    gm_matcher_t            *m;
    const gm_route_table_t  *t;
    static const char       *evil_header[] = { "x-a", EVIL_PATH, NULL };

    env_init(&e);
    rt = env_route(&e, "kv", 1);
    fx_rule(rt, "both");
    fx_match(rt, GM_MATCH_PREFIX, "/kv");
    /* matches, but only after the evil branch failed */
    fx_header(rt, GM_MATCH_REGEX, "x-a", EVIL_RE "|.*");
    fx_query(rt, GM_MATCH_REGEX, "q", EVIL_RE);
    fx_rule(rt, "fallback");
    t = env_build(&e);

    /* after the header test, too little for the query test to finish */
    m = gm_matcher_create(EVIL_COST + 8000, GM_REGEX_DEPTH_LIMIT);

    is_str(go(t, m, "/kv", "q=" EVIL_PATH, evil_header), NULL,
           "a header and a query test share the budget");
    is_str(label(gm_matcher_exhausted(m)), "ns/kv/both", "the rule named");
    is_str(go(t, m, "/kv", "q=/ab", evil_header), "ns/kv/fallback",
           "the header test alone fits: decided");
    is_str(go(t, m, "/other", "q=" EVIL_PATH, evil_header),
           "ns/kv/fallback", "a path that does not match tests no regex");

    gm_matcher_destroy(m);
    env_free(&e);
}


/* 200 cheap regex tests fit the default budget many times over */
static void
test_cheap(void)
{
    int                      i, j;
    char                     name[16], re[32];
    env_t                    e;
    gm_object_t             *rt;
    gm_matcher_t            *m;
    const gm_route_table_t  *t;

    env_init(&e);

    for (i = 0; i < 13; i++) {
        snprintf(name, sizeof(name), "r%02d", i);
        rt = env_route(&e, name, 1 + i);

        for (j = 0; j < GM_MAX_RULES - 1; j++) {
            fx_rule(rt, NULL);
            snprintf(re, sizeof(re), "/r%d/v[0-9]+/.*", i * 100 + j);
            fx_match(rt, GM_MATCH_REGEX, re);
        }
    }

    rt = env_route(&e, "zz", 100);
    fx_rule(rt, "fallback");
    t = env_build(&e);

    m = gm_matcher_create(GM_REGEX_BUDGET, GM_REGEX_DEPTH_LIMIT);
    is_str(go(t, m, "/r1214/v2/users/1234/profile", NULL, NULL),
           "ns/r12/rule14", "the last of 195 regexes is reached");
    is_str(go(t, m, "/none/v2/x", NULL, NULL), "ns/zz/fallback",
           "none of 195 matches: the fallback");
    ok(gm_matcher_exhausted(m) == NULL, "within the budget");

    gm_matcher_destroy(m);
    env_free(&e);
}


/* the finding: 20 routes x 16 rules of the hostile regex, 41 bytes */
static void
test_bounded_time(void)
{
    int                      i, j;
    char                     name[16];
    double                   ms, best;
    env_t                    e;
    const char              *rule;
    gm_object_t             *rt;
    gm_matcher_t            *m;
    struct timespec          t0, t1;
    const gm_route_table_t  *t;

    env_init(&e);

    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "evil%02d", i);
        rt = env_route(&e, name, 1 + i);

        for (j = 0; j < GM_MAX_RULES; j++) {
            fx_rule(rt, NULL);
            fx_match(rt, GM_MATCH_REGEX, EVIL_RE);
        }
    }

    t = env_build(&e);
    m = gm_matcher_create(GM_REGEX_BUDGET, GM_REGEX_DEPTH_LIMIT);

    /* the best of three: a loaded machine preempts now and then */
    best = 1e9;

    for (i = 0; i < 3; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rule = go(t, m, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", NULL,
                  NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);

        ms = (t1.tv_sec - t0.tv_sec) * 1e3
             + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        best = ms < best ? ms : best;
    }

    is_str(rule, NULL, "320 hostile regexes: undecided");

    is_str(label(gm_matcher_exhausted(m)), "ns/evil00/rule0",
           "the first rule took the whole budget");
    ok(best < 150, "in %.1f ms (without the budget: 0.6-0.8 s)", best);

    gm_matcher_destroy(m);
    env_free(&e);
}


int
main(void)
{
    test_shared();
    test_headers_query();
    test_cheap();
    test_bounded_time();

    return done_testing();
}
