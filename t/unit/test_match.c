/*
 * nginx-gamma: matching requests against compiled route tables, match
 * precedence, and the weighted choice of a backend.
 */

#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"


typedef struct {
    gm_store_t     *store;
    gm_snapshot_t  *snap;
    gm_matcher_t   *matcher;
    fx_log_t        fl;
} env_t;


static void
env_init(env_t *e)
{
    memset(e, 0, sizeof(env_t));

    e->store = gm_store_create();
    e->matcher = gm_matcher_create(10000, 1000);

    gm_store_put(e->store, fx_service("ns", "svc", "10.96.0.1", "80"));
}


/* a producer route on ns/svc:80 */
static gm_object_t *
env_route(env_t *e, const char *name, int64_t created)
{
    gm_object_t  *rt;

    rt = fx_route("ns", name, created);
    fx_parent(rt, "ns", "svc", 0, NULL);
    gm_store_put(e->store, rt);

    return rt;
}


static void
env_build(env_t *e)
{
    gm_log_t  log;

    log = fx_logger(&e->fl);
    e->snap = gm_snapshot_build(e->store, &log);
}


static void
env_free(env_t *e)
{
    gm_snapshot_unref(e->snap);
    gm_matcher_destroy(e->matcher);
    gm_store_destroy(e->store);
}


static const gm_route_table_t *
env_table(env_t *e)
{
    gm_addr_t             ip;
    gm_table_kind_e       kind;
    const gm_frontend_t  *f;

    ip = fx_addr("10.96.0.1");
    f = gm_snapshot_find_frontend(e->snap, &ip, 80);

    return f ? gm_frontend_route_table(f, "ns", 2, &kind) : NULL;
}


/* the label of the matching rule, or NULL */
static const char *
go(env_t *e, const char *method, const char *path, const char *args,
    const char **headers)
{
    gm_request_t      r;
    const gm_rule_t  *rule;

    r = fx_request(method, path, args, headers);
    rule = gm_route_table_match(env_table(e), &r, e->matcher);

    return rule ? rule->label.data : NULL;
}


static void
test_paths(void)
{
    env_t        e;
    gm_object_t  *rt;

    env_init(&e);

    rt = env_route(&e, "paths", 1);
    fx_rule(rt, "v2");
    fx_match(rt, GM_MATCH_PREFIX, "/v2");
    fx_rule(rt, "v3");
    fx_match(rt, GM_MATCH_PREFIX, "/v3/");
    fx_rule(rt, "exact");
    fx_match(rt, GM_MATCH_EXACT, "/abc");

    rt = env_route(&e, "root", 2);
    fx_rule(rt, "root");
    fx_match(rt, GM_MATCH_PREFIX, "/");

    env_build(&e);

    is_str(go(&e, "GET", "/v2", NULL, NULL), "ns/paths/v2",
           "prefix /v2 matches /v2");
    is_str(go(&e, "GET", "/v2/", NULL, NULL), "ns/paths/v2",
           "prefix /v2 matches /v2/");
    is_str(go(&e, "GET", "/v2/x/y", NULL, NULL), "ns/paths/v2",
           "prefix /v2 matches /v2/x/y");
    is_str(go(&e, "GET", "/v2example", NULL, NULL), "ns/root/root",
           "prefix /v2 does not match /v2example: segment-wise");
    is_str(go(&e, "GET", "/V2", NULL, NULL), "ns/root/root",
           "prefix is case-sensitive");
    is_str(go(&e, "GET", "/v3", NULL, NULL), "ns/paths/v3",
           "prefix /v3/ behaves as /v3: matches /v3");
    is_str(go(&e, "GET", "/v3/a", NULL, NULL), "ns/paths/v3",
           "... and /v3/a");
    is_str(go(&e, "GET", "/v3x", NULL, NULL), "ns/root/root",
           "... not /v3x");
    is_str(go(&e, "GET", "/abc", NULL, NULL), "ns/paths/exact",
           "exact /abc");
    is_str(go(&e, "GET", "/abc/", NULL, NULL), "ns/root/root",
           "exact /abc does not match /abc/");
    is_str(go(&e, "GET", "/abcd", NULL, NULL), "ns/root/root",
           "exact /abc does not match /abcd");
    is_str(go(&e, "GET", "/Abc", NULL, NULL), "ns/root/root",
           "exact is case-sensitive");
    is_str(go(&e, "GET", "/anything/else", NULL, NULL), "ns/root/root",
           "prefix / matches everything");

    env_free(&e);
}


static void
test_regex(void)
{
    env_t                  e;
    gm_object_t           *rt;
    static const char     *h_ok[] = { "X-Version", "v12", NULL };
    static const char     *h_partial[] = { "x-version", "v12-beta", NULL };
    static const char     *h_empty[] = { "x-version", "", NULL };

    env_init(&e);

    rt = env_route(&e, "re", 1);
    fx_rule(rt, "path");
    fx_match(rt, GM_MATCH_REGEX, "/v[0-9]+");
    fx_rule(rt, "alt");
    fx_match(rt, GM_MATCH_REGEX, "/a|/ab");
    fx_rule(rt, "header");
    fx_match(rt, GM_MATCH_PREFIX, "/h");
    fx_header(rt, GM_MATCH_REGEX, "x-version", "v[0-9]+");
    fx_rule(rt, "query");
    fx_match(rt, GM_MATCH_PREFIX, "/q");
    fx_query(rt, GM_MATCH_REGEX, "id", "[0-9]{3}");

    env_build(&e);

    is_str(go(&e, "GET", "/v12", NULL, NULL), "ns/re/path",
           "regex path matches the whole path");
    is_str(go(&e, "GET", "/v12/x", NULL, NULL), NULL,
           "no partial match at the end");
    is_str(go(&e, "GET", "/x/v12", NULL, NULL), NULL,
           "no partial match at the start");
    is_str(go(&e, "GET", "/ab", NULL, NULL), "ns/re/alt",
           "an alternation still finds the full match");

    is_str(go(&e, "GET", "/h", NULL, h_ok), "ns/re/header",
           "regex header value");
    is_str(go(&e, "GET", "/h", NULL, h_partial), NULL,
           "regex header value must match in full");
    is_str(go(&e, "GET", "/h", NULL, h_empty), NULL,
           "an empty value does not match v[0-9]+");
    is_str(go(&e, "GET", "/h", NULL, NULL), NULL, "missing header");

    is_str(go(&e, "GET", "/q", "id=123", NULL), "ns/re/query",
           "regex query value");
    is_str(go(&e, "GET", "/q", "id=1234", NULL), NULL,
           "regex query value must match in full");

    env_free(&e);
}


static void
test_headers_query_method(void)
{
    env_t               e;
    gm_object_t        *rt;
    static const char  *h_both[] = { "x-a", "1", "X-B", "two", NULL };
    static const char  *h_case[] = { "x-a", "1", "x-b", "TWO", NULL };
    static const char  *h_a[] = { "x-a", "1", NULL };

    env_init(&e);

    rt = env_route(&e, "hq", 1);
    fx_rule(rt, "headers");
    fx_match(rt, GM_MATCH_PREFIX, "/h");
    fx_header(rt, GM_MATCH_EXACT, "x-a", "1");
    fx_header(rt, GM_MATCH_EXACT, "x-b", "two");
    fx_rule(rt, "query");
    fx_match(rt, GM_MATCH_PREFIX, "/q");
    fx_query(rt, GM_MATCH_EXACT, "a", "1");
    fx_query(rt, GM_MATCH_EXACT, "flag", "");
    fx_rule(rt, "method");
    fx_match(rt, GM_MATCH_PREFIX, "/m");
    fx_method(rt, "POST");
    fx_rule(rt, "any-of");
    fx_match(rt, GM_MATCH_EXACT, "/one");
    fx_match(rt, GM_MATCH_EXACT, "/two");

    env_build(&e);

    is_str(go(&e, "GET", "/h", NULL, h_both), "ns/hq/headers",
           "both headers match (names case-insensitive)");
    is_str(go(&e, "GET", "/h", NULL, h_case), NULL,
           "header values are case-sensitive");
    is_str(go(&e, "GET", "/h", NULL, h_a), NULL, "all headers must match");

    is_str(go(&e, "GET", "/q", "a=1&flag", NULL), "ns/hq/query",
           "query params, one without '='");
    is_str(go(&e, "GET", "/q", "x=9&flag=&a=1", NULL), "ns/hq/query",
           "in any order, empty value");
    is_str(go(&e, "GET", "/q", "a=2&a=1&flag", NULL), NULL,
           "the first occurrence of a name wins");
    is_str(go(&e, "GET", "/q", "a=1&flag=x", NULL), NULL,
           "an exact empty value");
    is_str(go(&e, "GET", "/q", "aa=1&flag", NULL), NULL,
           "names compare in full");
    is_str(go(&e, "GET", "/q", "A=1&flag", NULL), NULL,
           "names are case-sensitive");
    is_str(go(&e, "GET", "/q", "a=1&&flag&", NULL), "ns/hq/query",
           "empty pieces are skipped");
    is_str(go(&e, "GET", "/q", "a=%31&flag", NULL), NULL,
           "no percent-decoding");
    is_str(go(&e, "GET", "/q", NULL, NULL), NULL, "no query string");

    is_str(go(&e, "POST", "/m", NULL, NULL), "ns/hq/method", "method");
    is_str(go(&e, "GET", "/m", NULL, NULL), NULL, "other method");
    is_str(go(&e, "post", "/m", NULL, NULL), NULL, "method case");

    is_str(go(&e, "GET", "/one", NULL, NULL), "ns/hq/any-of",
           "a rule matches if any of its matches does (1)");
    is_str(go(&e, "GET", "/two", NULL, NULL), "ns/hq/any-of", "... (2)");

    env_free(&e);
}


static void
test_precedence(void)
{
    env_t               e;
    gm_object_t        *rt;
    static const char  *h1[] = { "x-a", "1", NULL };
    static const char  *h2[] = { "x-a", "1", "x-b", "2", NULL };

    env_init(&e);

    /* written in the reverse order of precedence, in an older route */
    rt = env_route(&e, "old", 1);
    fx_rule(rt, "prefix-short");
    fx_match(rt, GM_MATCH_PREFIX, "/p");
    fx_rule(rt, "prefix-long");
    fx_match(rt, GM_MATCH_PREFIX, "/p/q");
    fx_rule(rt, "regex");
    fx_match(rt, GM_MATCH_REGEX, "/p/q/[a-z]");
    fx_rule(rt, "exact");
    fx_match(rt, GM_MATCH_EXACT, "/p/q/r");

    fx_rule(rt, "plain");
    fx_match(rt, GM_MATCH_PREFIX, "/m");
    fx_rule(rt, "one-header");
    fx_match(rt, GM_MATCH_PREFIX, "/m");
    fx_header(rt, GM_MATCH_EXACT, "x-a", "1");
    fx_rule(rt, "two-headers");
    fx_match(rt, GM_MATCH_PREFIX, "/m");
    fx_header(rt, GM_MATCH_EXACT, "x-a", "1");
    fx_header(rt, GM_MATCH_EXACT, "x-b", "2");
    fx_rule(rt, "method");
    fx_match(rt, GM_MATCH_PREFIX, "/m");
    fx_method(rt, "GET");

    fx_rule(rt, "one-query");
    fx_match(rt, GM_MATCH_PREFIX, "/q");
    fx_query(rt, GM_MATCH_EXACT, "a", "1");
    fx_rule(rt, "two-headers-q");
    fx_match(rt, GM_MATCH_PREFIX, "/q");
    fx_header(rt, GM_MATCH_EXACT, "x-a", "1");
    fx_header(rt, GM_MATCH_EXACT, "x-b", "2");
    fx_rule(rt, "two-query");
    fx_match(rt, GM_MATCH_PREFIX, "/q");
    fx_query(rt, GM_MATCH_EXACT, "a", "1");
    fx_query(rt, GM_MATCH_EXACT, "b", "2");

    rt = env_route(&e, "regexes", 2);
    fx_rule(rt, "short");
    fx_match(rt, GM_MATCH_REGEX, "/r/.*");
    fx_rule(rt, "long");
    fx_match(rt, GM_MATCH_REGEX, "/r/[a-z]+");

    env_build(&e);

    is_str(go(&e, "GET", "/p/q/r", NULL, NULL), "ns/old/exact",
           "Exact beats RegularExpression and PathPrefix");
    is_str(go(&e, "GET", "/p/q/x", NULL, NULL), "ns/old/regex",
           "RegularExpression beats PathPrefix, even a longer one");
    is_str(go(&e, "GET", "/p/q", NULL, NULL), "ns/old/prefix-long",
           "where the regex fails, the longest prefix wins");
    is_str(go(&e, "GET", "/p", NULL, NULL), "ns/old/prefix-short",
           "then the shorter prefix");

    is_str(go(&e, "GET", "/m", NULL, h2), "ns/old/method",
           "a method match beats two header matches");
    is_str(go(&e, "PUT", "/m", NULL, h2), "ns/old/two-headers",
           "then more header matches");
    is_str(go(&e, "PUT", "/m", NULL, h1), "ns/old/one-header",
           "then fewer header matches");
    is_str(go(&e, "PUT", "/m", NULL, NULL), "ns/old/plain",
           "then none");

    is_str(go(&e, "GET", "/q", "a=1&b=2", h2), "ns/old/two-headers-q",
           "two header matches beat two query matches");
    is_str(go(&e, "GET", "/q", "a=1&b=2", NULL), "ns/old/two-query",
           "two query matches beat one");
    is_str(go(&e, "GET", "/q", "a=1", NULL), "ns/old/one-query",
           "then one");

    is_str(go(&e, "GET", "/r/abc", NULL, NULL), "ns/regexes/long",
           "among regexes the longer pattern first");
    is_str(go(&e, "GET", "/r/ABC", NULL, NULL), "ns/regexes/short",
           "then the shorter");

    env_free(&e);
}


static void
test_regex_limits(void)
{
    env_t          e;
    gm_object_t   *rt;
    char           path[64];
    gm_request_t   r;
    gm_matcher_t  *big;

    env_init(&e);

    rt = env_route(&e, "evil", 1);
    fx_rule(rt, "evil");
    fx_match(rt, GM_MATCH_REGEX, "/(a+)+(bIxJ|)");
    fx_rule(rt, "fallback");

    env_build(&e);

    memset(path, 'a', sizeof(path));
    path[0] = '/';
    path[sizeof(path) - 2] = 'b';
    path[sizeof(path) - 1] = '\0';

    is_str(go(&e, "GET", "/aaabIxJ", NULL, NULL), "ns/evil/evil",
           "the regex matches normally");
    ok(gm_matcher_exhausted(e.matcher) == NULL, "nothing exhausted");
    is_str(go(&e, "GET", path, NULL, NULL), NULL,
           "a catastrophic backtrack runs out of the budget: no rule, not "
           "the fallback");
    ok(gm_matcher_exhausted(e.matcher) != NULL
       && strcmp(gm_matcher_exhausted(e.matcher)->label.data, "ns/evil/evil")
          == 0, "the rule whose test ran out is named");
    is_str(go(&e, "GET", "/x", NULL, NULL), "ns/evil/fallback",
           "the next request has its whole budget");
    ok(gm_matcher_exhausted(e.matcher) == NULL, "and nothing exhausted");

    big = gm_matcher_create(0, 0);
    r = fx_request("GET", "/aaaa", NULL, NULL);
    ok(gm_route_table_match(env_table(&e), &r, big) != NULL,
       "a matcher with PCRE2's default limits");
    gm_matcher_destroy(big);

    ok(gm_route_table_match(NULL, &r, e.matcher) == NULL,
       "no table: no rule");

    env_free(&e);
}


static void
test_pick(void)
{
    int                     i, n, counts[3];
    uint32_t                rnd;
    gm_rule_t               rule;
    gm_backend_t            b[3];
    gm_weighted_backend_t   wb[3], *got;

    memset(&rule, 0, sizeof(gm_rule_t));
    memset(b, 0, sizeof(b));
    memset(counts, 0, sizeof(counts));

    wb[0].backend = &b[0];
    wb[0].weight = 1;
    wb[1].backend = &b[1];
    wb[1].weight = 3;
    wb[2].backend = &b[2];
    wb[2].weight = 6;

    rule.backends = wb;
    rule.nbackends = 3;
    rule.total_weight = 10;

    ok(gm_rule_pick_backend(&rule, 0) == &wb[0], "rnd 0: the first");
    ok(gm_rule_pick_backend(&rule, UINT32_MAX) == &wb[2],
       "rnd 2^32-1: the last");
    ok(gm_rule_pick_backend(&rule, 429496729) == &wb[0],
       "just below 1/10: the first");
    ok(gm_rule_pick_backend(&rule, 429496730) == &wb[1],
       "at 1/10: the second");

    /* an even sweep over [0, 2^32) */
    n = 100000;

    for (i = 0; i < n; i++) {
        rnd = (uint32_t) (((uint64_t) i << 32) / n);
        got = gm_rule_pick_backend(&rule, rnd);
        counts[got - wb]++;
    }

    ok(counts[0] - n / 10 <= 1 && n / 10 - counts[0] <= 1,
       "weight 1 of 10: 10%% (%d)", counts[0]);
    ok(counts[1] - n * 3 / 10 <= 1 && n * 3 / 10 - counts[1] <= 1,
       "weight 3 of 10: 30%% (%d)", counts[1]);
    ok(counts[2] - n * 6 / 10 <= 1 && n * 6 / 10 - counts[2] <= 1,
       "weight 6 of 10: 60%% (%d)", counts[2]);

    /* pseudo-random values, as the glue would pass */
    memset(counts, 0, sizeof(counts));
    rnd = 12345;

    for (i = 0; i < n; i++) {
        rnd = rnd * 1664525 + 1013904223;
        counts[gm_rule_pick_backend(&rule, rnd) - wb]++;
    }

    ok(counts[0] > n / 10 - 1000 && counts[0] < n / 10 + 1000,
       "random: about 10%% (%d)", counts[0]);
    ok(counts[2] > n * 6 / 10 - 1000 && counts[2] < n * 6 / 10 + 1000,
       "random: about 60%% (%d)", counts[2]);

    rule.nbackends = 1;
    rule.total_weight = 1000000;
    wb[0].weight = 1000000;
    ok(gm_rule_pick_backend(&rule, UINT32_MAX) == &wb[0],
       "one backend takes everything");

    rule.nbackends = 0;
    rule.total_weight = 0;
    ok(gm_rule_pick_backend(&rule, 7) == NULL, "no backends: NULL");
}


static void
test_pick_compiled(void)
{
    env_t                   e;
    int                     i, counts[2];
    uint32_t                rnd;
    gm_object_t            *rt;
    gm_request_t            r;
    const gm_rule_t        *rule;
    gm_weighted_backend_t  *wb;

    env_init(&e);
    gm_store_put(e.store, fx_service("ns", "a", "10.96.0.2", "80"));
    gm_store_put(e.store, fx_service("ns", "b", "10.96.0.3", "80"));

    rt = env_route(&e, "split", 1);
    fx_rule(rt, NULL);
    fx_backend(rt, "ns", "a", 80, 0);
    fx_backend(rt, "ns", "b", 80, 1);
    fx_backend(rt, "ns", "missing", 80, 1);

    env_build(&e);

    r = fx_request("GET", "/", NULL, NULL);
    rule = gm_route_table_match(env_table(&e), &r, e.matcher);
    ok(rule != NULL, "the rule");

    memset(counts, 0, sizeof(counts));
    rnd = 1;

    for (i = 0; i < 10000; i++) {
        rnd = rnd * 1664525 + 1013904223;
        wb = gm_rule_pick_backend(rule, rnd);

        if (strcmp(wb->backend->name.data, "a") == 0) {
            counts[0]++;

        } else if (wb->backend->status == GM_BACKEND_NOT_FOUND) {
            counts[1]++;
        }
    }

    is_int(counts[0], 0, "weight 0 is never chosen");
    ok(counts[1] > 4500 && counts[1] < 5500,
       "the missing backend keeps its share (%d of 10000: 500s)",
       counts[1]);

    env_free(&e);
}


int
main(void)
{
    test_paths();
    test_regex();
    test_headers_query_method();
    test_precedence();
    test_regex_limits();
    test_pick();
    test_pick_compiled();

    return done_testing();
}
