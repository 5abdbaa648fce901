/*
 * nginx-gamma: unit tests of the filter compiler (gm_filter_compile.c)
 * and its request-time helpers (gm_filter.c): what an HTTPRoute's filters
 * become in the snapshot, the ReplacePrefixMatch rules of the API, and
 * CORS origin matching.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_compile_int.h"
#include "gm_object_parse.h"


#define TEST_ROUTE_HEAD                                                      \
    "{\"apiVersion\": \"gateway.networking.k8s.io/v1\","                     \
    " \"kind\": \"HTTPRoute\","                                              \
    " \"metadata\": {\"name\": \"r\", \"namespace\": \"ns\"},"               \
    " \"spec\": {\"parentRefs\": [{\"group\": \"\", \"kind\": \"Service\","  \
    " \"name\": \"s\"}], \"rules\": [{"


typedef struct {
    gm_arena_t      *arena;
    gm_object_t     *obj;
    fx_log_t         fl;
    gm_log_t         log;
    gm_backend_t     backend;       /* what every mirror resolves to */
    char             asked[128];    /* the last ns/name:port resolved */
} test_ctx_t;


static const gm_filters_t *test_compile(test_ctx_t *t, const char *rule,
    int backend);
static void test_done(test_ctx_t *t);
static gm_backend_t *test_backend(void *data, const gm_str_t *ns,
    const gm_str_t *name, uint16_t port);
static int test_str(const gm_str_t *s, const char *want);

static void test_prefix_table(void);
static void test_header_mod(void);
static void test_header_refused(void);
static void test_redirect(void);
static void test_rewrite(void);
static void test_mirror(void);
static void test_cors(void);
static void test_cors_origins(void);
static void test_order(void);


int
main(void)
{
    test_prefix_table();
    test_header_mod();
    test_header_refused();
    test_redirect();
    test_rewrite();
    test_mirror();
    test_cors();
    test_cors_origins();
    test_order();

    return done_testing();
}


/*
 * Parses a route whose first rule is "{" rule "}" and compiles the filters
 * of that rule (backend 0) or of its first backendRef (backend 1).
 */
static const gm_filters_t *
test_compile(test_ctx_t *t, const char *rule, int backend)
{
    char                      text[8192];
    json_t                   *json;
    json_error_t              err;
    gm_http_rule_t           *hr;
    const gm_filters_t       *out;
    gm_filter_compile_ctx_t   cc;

    memset(t, 0, sizeof(test_ctx_t));
    t->log = fx_logger(&t->fl);
    t->arena = gm_arena_create(4096);

    snprintf(text, sizeof(text), "%s%s}]}}", TEST_ROUTE_HEAD, rule);

    json = json_loads(text, 0, &err);
    if (json == NULL) {
        printf("# bad test JSON: %s\n", err.text);
        return NULL;
    }

    t->obj = gm_object_parse(json, &t->log, NULL);
    json_decref(json);

    if (t->obj == NULL || t->obj->body->httproute.rules[0].invalid) {
        printf("# route rejected: %s\n", t->fl.last);
        return NULL;
    }

    hr = &t->obj->body->httproute.rules[0];

    t->backend.status = GM_BACKEND_OK;
    t->backend.ext = &gm_backend_ext_none;
    t->backend.label.data = (char *) "ns/mirror:80";
    t->backend.label.len = strlen(t->backend.label.data);

    cc.arena = t->arena;
    cc.log = &t->log;
    cc.label = "ns/r/rule0";
    cc.rule = hr;
    cc.backend = test_backend;
    cc.data = t;

    if (backend) {
        if (gm_filters_compile(&cc, hr->backends[0].filters,
                               hr->backends[0].nfilters, &out) != 0)
        {
            return NULL;
        }

    } else if (gm_filters_compile(&cc, hr->filters, hr->nfilters, &out)
               != 0)
    {
        return NULL;
    }

    return out;
}


static void
test_done(test_ctx_t *t)
{
    gm_object_free(t->obj);
    gm_arena_destroy(t->arena);
}


static gm_backend_t *
test_backend(void *data, const gm_str_t *ns, const gm_str_t *name,
    uint16_t port)
{
    test_ctx_t  *t = data;

    snprintf(t->asked, sizeof(t->asked), "%s/%s:%u", ns->data, name->data,
             (unsigned) port);

    if (strcmp(name->data, "nosuch") == 0) {
        t->backend.status = GM_BACKEND_NOT_FOUND;
        t->backend.label.data = (char *) "ns/nosuch:80";
        t->backend.label.len = strlen(t->backend.label.data);
    }

    return &t->backend;
}


static int
test_str(const gm_str_t *s, const char *want)
{
    return s->data != NULL && s->len == strlen(want)
           && memcmp(s->data, want, s->len) == 0
           && s->data[s->len] == '\0';
}


/* the table of HTTPPathModifier.ReplacePrefixMatch, and a few more */
static void
test_prefix_table(void)
{
    char           out[256];
    size_t         i;
    ssize_t        n;
    gm_path_mod_t  pm;

    static const struct {
        const char  *path;
        const char  *prefix;      /* as matched: trailing '/' stripped */
        const char  *value;       /* as compiled: trailing '/' stripped */
        const char  *want;
    } cases[] = {
        { "/foo/bar", "/foo", "/xyz", "/xyz/bar" },
        { "/foo/bar", "/foo", "/xyz", "/xyz/bar" },       /* "/xyz/" */
        { "/foo", "/foo", "/xyz", "/xyz" },
        { "/foo/", "/foo", "/xyz", "/xyz/" },
        { "/foo/bar", "/foo", "", "/bar" },
        { "/foo/", "/foo", "", "/" },
        { "/foo", "/foo", "", "/" },                       /* "" and "/" */
        { "/prefix", "/prefix", "", "/" },
        { "/prefix/", "/prefix", "", "/" },
        { "/prefix/one", "/prefix", "", "/one" },
        { "/prefix", "/prefix", "/other", "/other" },      /* "/other/" */
        { "/prefix/", "/prefix", "/other", "/other/" },
        { "/prefix/one", "/prefix", "/other", "/other/one" },
        { "/", "", "/api", "/api/" },                      /* prefix "/" */
        { "/x/y", "", "/api", "/api/x/y" },
        { "/a/b/c", "/a/b", "/z", "/z/c" },
    };

    pm.type = GM_PATH_PREFIX;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pm.prefix.data = (char *) cases[i].prefix;
        pm.prefix.len = strlen(cases[i].prefix);
        pm.value.data = (char *) cases[i].value;
        pm.value.len = strlen(cases[i].value);

        n = gm_path_replace_prefix(&pm, cases[i].path,
                                   strlen(cases[i].path), out);

        ok(n == (ssize_t) strlen(cases[i].want)
           && strcmp(out, cases[i].want) == 0,
           "prefix %s: %s with %s -> %s", cases[i].prefix, cases[i].path,
           cases[i].value, cases[i].want);
    }

    pm.prefix.data = (char *) "/foo";
    pm.prefix.len = 4;

    is_int(gm_path_replace_prefix(&pm, "/foobar", 7, out), -1,
           "prefix: /foobar is not under /foo");
    is_int(gm_path_replace_prefix(&pm, "/fo", 3, out), -1,
           "prefix: /fo is not under /foo");
}


static void
test_header_mod(void)
{
    test_ctx_t               t;
    const gm_filters_t      *fs;
    const gm_header_mod_t   *hm;

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"RequestHeaderModifier\","
        " \"requestHeaderModifier\": {"
        "  \"set\": [{\"name\": \"X-Set\", \"value\": \"a b\"}],"
        "  \"add\": [{\"name\": \"X-Add\", \"value\": \"1\"},"
        "            {\"name\": \"x-two\", \"value\": \"2\"}],"
        "  \"remove\": [\"X-GONE\"]}},"
        " {\"type\": \"ResponseHeaderModifier\","
        "  \"responseHeaderModifier\": {\"set\": [{\"name\": \"Server\","
        "                               \"value\": \"mesh\"}]}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs != NULL, "header modifiers compile");
    if (fs == NULL) {
        test_done(&t);
        return;
    }

    is_int(fs->nfilters, 2, "headers: two filters");
    is_int(fs->response, 1, "headers: a response filter is flagged");
    is_int(fs->filters[0].type, GM_FILTER_REQUEST_HEADER_MODIFIER,
           "headers: request first");

    hm = &fs->filters[0].u.header;

    is_int(hm->nset, 1, "headers: one set");
    ok(test_str(&hm->set[0].name, "X-Set"), "headers: name as written");
    ok(test_str(&hm->set[0].lname, "x-set"), "headers: name lowercased");
    ok(test_str(&hm->set[0].value, "a b"), "headers: value");
    is_int(hm->nadd, 2, "headers: two adds");
    ok(test_str(&hm->add[1].lname, "x-two"), "headers: second add");
    is_int(hm->nremove, 1, "headers: one remove");
    ok(test_str(&hm->remove[0].lname, "x-gone"), "headers: remove name");
    ok(test_str(&hm->remove[0].value, ""), "headers: remove has no value");

    hm = &fs->filters[1].u.header;
    ok(test_str(&hm->set[0].lname, "server"), "headers: response set");
    is_int(t.fl.n, 0, "headers: nothing logged");

    test_done(&t);
}


/* hop-by-hop and framing names, and values that would break a message */
static void
test_header_refused(void)
{
    test_ctx_t               t;
    const gm_filters_t      *fs;
    const gm_header_mod_t   *hm;

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"RequestHeaderModifier\","
        " \"requestHeaderModifier\": {"
        "  \"set\": [{\"name\": \"Connection\", \"value\": \"close\"},"
        "           {\"name\": \"X-Ok\", \"value\": \"fine\"},"
        "           {\"name\": \"X-Bad\", \"value\": \"a\\r\\nX-Evil: 1\"}],"
        "  \"add\": [{\"name\": \"Transfer-Encoding\", \"value\": \"x\"}],"
        "  \"remove\": [\"Content-Length\", \"host\"]}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs != NULL, "refused headers compile");
    if (fs == NULL) {
        test_done(&t);
        return;
    }

    hm = &fs->filters[0].u.header;

    is_int(hm->nset, 1, "refused: only X-Ok is kept in set");
    ok(test_str(&hm->set[0].name, "X-Ok"), "refused: X-Ok");
    is_int(hm->nadd, 0, "refused: Transfer-Encoding left out");
    is_int(hm->nremove, 1, "refused: Host kept (the glue ignores it)");
    ok(test_str(&hm->remove[0].lname, "host"), "refused: host");
    is_int(t.fl.nwarn, 4, "refused: four warnings");
    is_str(t.fl.last, "HTTPRoute ns/r/rule0: header \"Content-Length\" is "
           "hop-by-hop or framing, a filter cannot change it: ignored",
           "refused: the last warning");

    test_done(&t);

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"ResponseHeaderModifier\","
        " \"responseHeaderModifier\": {"
        "  \"add\": [{\"name\": \"X-Tab\", \"value\": \"a\\tb\"},"
        "           {\"name\": \"X-Nul\", \"value\": \"a\\u0001b\"}]}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs && fs->filters[0].u.header.nadd == 1,
       "refused: a tab is fine, a control character is not");
    is_str(t.fl.last, "HTTPRoute ns/r/rule0: the value of header \"X-Nul\" "
           "has control characters: ignored", "refused: control line");

    test_done(&t);
}


static void
test_redirect(void)
{
    test_ctx_t             t;
    const gm_filters_t    *fs;
    const gm_redirect_t   *rd;

    fs = test_compile(&t,
        "\"matches\": [{\"path\": {\"type\": \"PathPrefix\","
        "                          \"value\": \"/old/\"}}],"
        "\"filters\": [{\"type\": \"RequestRedirect\", \"requestRedirect\": {"
        " \"scheme\": \"https\", \"hostname\": \"a.example\", \"port\": 8443,"
        " \"statusCode\": 308, \"path\": {\"type\": \"ReplacePrefixMatch\","
        " \"replacePrefixMatch\": \"/n%20ew/\"}}}]", 0);

    ok(fs != NULL, "redirect compiles");
    if (fs == NULL) {
        test_done(&t);
        return;
    }

    rd = &fs->filters[0].u.redirect;

    ok(test_str(&rd->scheme, "https"), "redirect: scheme");
    ok(test_str(&rd->hostname, "a.example"), "redirect: hostname");
    is_int(rd->port, 8443, "redirect: port");
    is_int(rd->status, 308, "redirect: status");
    is_int(rd->path.type, GM_PATH_PREFIX, "redirect: prefix path");
    ok(test_str(&rd->path.value, "/n ew"), "redirect: value decoded, "
       "trailing slash dropped");
    ok(test_str(&rd->path.prefix, "/old"), "redirect: the rule's prefix");
    is_int(fs->response, 0, "redirect: no response filter");
    test_done(&t);

    fs = test_compile(&t, "\"filters\": [{\"type\": \"RequestRedirect\","
                          " \"requestRedirect\": {}}]", 0);

    ok(fs != NULL, "empty redirect compiles");
    if (fs != NULL) {
        rd = &fs->filters[0].u.redirect;
        is_int(rd->status, 302, "redirect: 302 by default");
        is_int(rd->port, 0, "redirect: no port");
        ok(test_str(&rd->scheme, "") && test_str(&rd->hostname, ""),
           "redirect: scheme and hostname from the request");
        is_int(rd->path.type, GM_PATH_KEEP, "redirect: path kept");
    }

    test_done(&t);
}


static void
test_rewrite(void)
{
    test_ctx_t            t;
    const gm_filters_t   *fs;
    const gm_rewrite_t   *rw;

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"URLRewrite\", \"urlRewrite\": {"
        " \"hostname\": \"b.example\", \"path\": {\"type\":"
        " \"ReplaceFullPath\", \"replaceFullPath\": \"/a%2fb%zz%4\"}}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs != NULL, "rewrite compiles");
    if (fs != NULL) {
        rw = &fs->filters[0].u.rewrite;
        ok(test_str(&rw->hostname, "b.example"), "rewrite: hostname");
        is_int(rw->path.type, GM_PATH_FULL, "rewrite: full path");
        ok(test_str(&rw->path.value, "/a/b%zz%4"),
           "rewrite: escapes decoded, malformed ones kept");
    }

    test_done(&t);

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"URLRewrite\", \"urlRewrite\": {"
        " \"path\": {\"type\": \"ReplaceFullPath\","
        " \"replaceFullPath\": \"\"}}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs && test_str(&fs->filters[0].u.rewrite.path.value, "/"),
       "rewrite: an empty full path is /");
    test_done(&t);

    fs = test_compile(&t,
        "\"matches\": [{\"path\": {\"type\": \"PathPrefix\","
        "                          \"value\": \"/\"}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80, \"filters\": ["
        " {\"type\": \"URLRewrite\", \"urlRewrite\": {\"path\": {\"type\":"
        " \"ReplacePrefixMatch\", \"replacePrefixMatch\": \"/\"}}}]}]", 1);

    ok(fs != NULL, "backendRef rewrite compiles");
    if (fs != NULL) {
        rw = &fs->filters[0].u.rewrite;
        ok(test_str(&rw->path.prefix, "") && test_str(&rw->path.value, ""),
           "rewrite: prefix \"/\" and value \"/\" are empty");
    }

    test_done(&t);
}


static void
test_mirror(void)
{
    test_ctx_t           t;
    const gm_filters_t  *fs;
    const gm_mirror_t   *m;

    fs = test_compile(&t,
        "\"filters\": ["
        " {\"type\": \"RequestMirror\", \"requestMirror\": {\"backendRef\":"
        "  {\"name\": \"m\", \"port\": 80}}},"
        " {\"type\": \"RequestMirror\", \"requestMirror\": {\"backendRef\":"
        "  {\"name\": \"m\", \"namespace\": \"other\", \"port\": 81},"
        "  \"percent\": 42}},"
        " {\"type\": \"RequestMirror\", \"requestMirror\": {\"backendRef\":"
        "  {\"name\": \"m\", \"port\": 80}, \"fraction\": {\"numerator\": 1}}},"
        " {\"type\": \"RequestMirror\", \"requestMirror\": {\"backendRef\":"
        "  {\"name\": \"m\", \"port\": 80},"
        "  \"fraction\": {\"numerator\": 3, \"denominator\": 7}}},"
        " {\"type\": \"RequestMirror\", \"requestMirror\": {\"backendRef\":"
        "  {\"group\": \"x.io\", \"kind\": \"Bucket\", \"name\": \"m\"}}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs != NULL, "mirrors compile");
    if (fs == NULL) {
        test_done(&t);
        return;
    }

    m = &fs->filters[0].u.mirror;
    ok(m->backend == &t.backend, "mirror: resolved by the compiler");
    ok(m->numerator == 1 && m->denominator == 1, "mirror: 100%% by default");

    m = &fs->filters[1].u.mirror;
    ok(m->numerator == 42 && m->denominator == 100, "mirror: percent");

    m = &fs->filters[2].u.mirror;
    ok(m->numerator == 1 && m->denominator == 100,
       "mirror: fraction, denominator 100 by default");

    m = &fs->filters[3].u.mirror;
    ok(m->numerator == 3 && m->denominator == 7, "mirror: fraction");

    m = &fs->filters[4].u.mirror;
    ok(m->backend == NULL, "mirror: not a Service, never sent");
    is_str(t.fl.last, "HTTPRoute ns/r/rule0: RequestMirror to group "
           "\"x.io\" kind \"Bucket\" is not supported, not mirrored",
           "mirror: kind line");
    is_str(t.asked, "ns/m:80", "mirror: the route's namespace by default");

    test_done(&t);

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"RequestMirror\", \"requestMirror\": {"
        " \"backendRef\": {\"name\": \"nosuch\", \"port\": 80}}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs && fs->filters[0].u.mirror.backend != NULL,
       "mirror: a missing Service stays, to be skipped per request");
    is_str(t.fl.last, "HTTPRoute ns/r/rule0: RequestMirror to ns/nosuch:80: "
           "no such Service or port, not mirrored", "mirror: missing line");

    test_done(&t);
}


static void
test_cors(void)
{
    test_ctx_t           t;
    const gm_cors_t     *c;
    const gm_filters_t  *fs;

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"CORS\", \"cors\": {"
        " \"allowOrigins\": [\"https://www.foo.com\", \"https://*.bar.com\","
        "                    \"http://a.b:8080\", \"nonsense\"],"
        " \"allowMethods\": [\"GET\", \"OPTIONS\"],"
        " \"allowHeaders\": [\"x-header-1\", \"x-header-2\"],"
        " \"exposeHeaders\": [\"x-3\", \"*\"],"
        " \"allowCredentials\": true, \"maxAge\": 3600}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs != NULL, "CORS compiles");
    if (fs == NULL) {
        test_done(&t);
        return;
    }

    c = &fs->filters[0].u.cors;

    is_int(fs->response, 1, "cors: a response filter");
    is_int(c->norigins, 3, "cors: three origins, one left out");
    is_str(t.fl.last, "HTTPRoute ns/r/rule0: CORS origin \"nonsense\" is not "
           "scheme://host[:port]: ignored", "cors: bad origin line");
    ok(test_str(&c->origins[1].host, ".bar.com") && c->origins[1].wildcard,
       "cors: wildcard host");
    is_int(c->origins[1].port, 443, "cors: https means 443");
    is_int(c->origins[2].port, 8080, "cors: explicit port");
    ok(test_str(&c->methods, "GET, OPTIONS"), "cors: methods joined");
    ok(test_str(&c->headers, "x-header-1, x-header-2"), "cors: headers");
    ok(test_str(&c->expose, "x-3") && c->any_expose,
       "cors: expose wildcard flagged, names kept");
    ok(c->credentials && !c->any_origin && !c->any_method,
       "cors: credentials, no wildcards");
    ok(test_str(&c->max_age, "3600"), "cors: max age");

    test_done(&t);

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"CORS\", \"cors\": {"
        " \"allowOrigins\": [\"*\"], \"allowMethods\": [\"*\"],"
        " \"allowHeaders\": [\"*\"]}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs != NULL, "CORS wildcards compile");
    if (fs != NULL) {
        c = &fs->filters[0].u.cors;
        ok(c->any_origin && c->any_method && c->any_header && !c->any_expose,
           "cors: wildcards");
        ok(test_str(&c->methods, "") && test_str(&c->max_age, "5"),
           "cors: empty list, max age 5 by default");
        ok(gm_cors_origin_allowed(c, "null", 4), "cors: \"*\" allows all");
    }

    test_done(&t);
}


static void
test_cors_origins(void)
{
    size_t               i;
    test_ctx_t           t;
    const gm_cors_t     *c;
    const gm_filters_t  *fs;

    static const struct {
        const char  *origin;
        int          allowed;
    } cases[] = {
        { "https://www.foo.com", 1 },
        { "HTTPS://WWW.FOO.COM", 1 },
        { "https://www.foo.com:443", 1 },
        { "https://www.foo.com:8443", 0 },
        { "http://www.foo.com", 1 },              /* any http host */
        { "http://www.foo.com:8080", 0 },
        { "https://foo.com", 0 },
        { "https://a.bar.com", 1 },
        { "https://x.y.bar.com", 1 },
        { "https://bar.com", 0 },
        { "https://foobar.com", 0 },
        { "https://a.bar.com:444", 0 },
        { "http://any.host", 1 },
        { "http://any.host:80", 1 },
        { "http://any.host:81", 0 },
        { "http://[::1]:9000", 1 },
        { "http://[::1]", 1 },                    /* any http host */
        { "http://[::1]:9001", 0 },
        { "null", 0 },
        { "https://", 0 },
        { "https://www.foo.com/", 0 },
        { "https://www.foo.com:0", 0 },
        { "https://www.foo.com:99999", 0 },
        { "https://www.foo.com:x", 0 },
        { "", 0 },
    };

    fs = test_compile(&t,
        "\"filters\": [{\"type\": \"CORS\", \"cors\": {"
        " \"allowOrigins\": [\"https://www.foo.com\", \"https://*.bar.com\","
        "                    \"http://*\", \"http://[::1]:9000\"]}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs != NULL, "CORS origins compile");
    if (fs == NULL) {
        test_done(&t);
        return;
    }

    c = &fs->filters[0].u.cors;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(gm_cors_origin_allowed(c, cases[i].origin,
                                      strlen(cases[i].origin)),
               cases[i].allowed, "origin \"%s\"", cases[i].origin);
    }

    test_done(&t);
}


/* filters keep the order listed; no filters, no list */
static void
test_order(void)
{
    test_ctx_t           t;
    const gm_filters_t  *fs;

    fs = test_compile(&t,
        "\"filters\": ["
        " {\"type\": \"URLRewrite\", \"urlRewrite\": {\"hostname\": \"a\"}},"
        " {\"type\": \"RequestMirror\", \"requestMirror\": {\"backendRef\":"
        "  {\"name\": \"m\", \"port\": 80}}},"
        " {\"type\": \"CORS\", \"cors\": {}},"
        " {\"type\": \"RequestHeaderModifier\","
        "  \"requestHeaderModifier\": {}}],"
        "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]", 0);

    ok(fs && fs->nfilters == 4
       && fs->filters[0].type == GM_FILTER_URL_REWRITE
       && fs->filters[1].type == GM_FILTER_REQUEST_MIRROR
       && fs->filters[2].type == GM_FILTER_CORS
       && fs->filters[3].type == GM_FILTER_REQUEST_HEADER_MODIFIER,
       "order: as listed");
    test_done(&t);

    fs = test_compile(&t, "\"backendRefs\": [{\"name\": \"b\", \"port\": 80}]",
                      0);
    ok(fs == NULL && t.obj != NULL, "order: no filters compile to NULL");
    test_done(&t);

    {
        gm_str_t  s;

        s.data = (char *) "keep-alive";
        s.len = 10;
        ok(gm_header_is_hop_by_hop(&s), "keep-alive is hop-by-hop");

        s.data = (char *) "x-keep";
        s.len = 6;
        ok(!gm_header_is_hop_by_hop(&s), "x-keep is not");
    }
}
