/*
 * nginx-gamma: HTTPRoutes rejected, each with the log line that names the
 * route and the field (paths, matches, parentRefs, hostnames, backendRefs,
 * filters, retries, the limits of the lists and strings); and rules
 * ignored while the route stays (bad regexes, unsupported filters, the
 * filters' CEL rules, bad durations).
 */


#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tap_parse.h"
#include "gm_parse_int.h"


static void
test_route_reject(const char *spec, const char *expected, const char *what)
{
    char  *text, *line;

    if (asprintf(&text, ROUTE_HEAD "spec: %s\n", spec) < 0
        || asprintf(&line, "HTTPRoute ns/r rejected: %s", expected) < 0)
    {
        abort();
    }

    test_reject(text, line, what);

    free(text);
    free(line);
}


/* the route stays; its rule 0 is ignored with this reason */
static void
test_rule_ignored(const char *spec, const char *reason)
{
    char         *text, *line;
    gm_object_t  *obj;

    if (asprintf(&text, ROUTE_HEAD "spec: %s\n", spec) < 0
        || asprintf(&line, "HTTPRoute ns/r rule 0 ignored: %s", reason) < 0)
    {
        abort();
    }

    obj = test_parse(text);

    ok(obj != NULL, "%s: the route stays", reason);
    ok(obj && obj->body->httproute.rules[0].invalid,
       "%s: the rule is ignored", reason);
    is_int(test_lines.n, 1, "%s: one log line", reason);
    is_str(test_lines.line[0], line, "%s: log line", reason);

    gm_object_free(obj);
    free(text);
    free(line);
}


/*
 * A NUL is no valid path character.  The parsers refuse NUL in strings,
 * so only a direct call shows it (fuzz_values found it: strchr() matched
 * the NUL that ends the list of valid characters).
 */
static void
test_path_nul(void)
{
    gm_str_t        path;
    gm_parse_ctx_t  ctx;

    memset(&ctx, 0, sizeof(ctx));
    ctx.log = &test_logger;
    ctx.kind = GM_KIND_HTTPROUTE;
    strcpy(ctx.ns, "ns");
    strcpy(ctx.name, "r");

    path.data = "/a\0b";
    path.len = 4;

    test_log_reset();
    is_int(gm_path_value_check(&ctx, &path), -1, "a NUL in a path: refused");
    is_str(test_lines.n ? test_lines.line[0] : NULL,
           "HTTPRoute ns/r rejected: value: has an invalid character at "
           "offset 2", "a NUL in a path: log line");
}


static void
test_durations(void)
{
    test_rule_ignored("{rules: [{timeouts: {request: 1d}}]}",
                      "timeouts.request: \"1d\" is not a duration such as "
                      "\"1h30m\", \"10s\" or \"500ms\" (GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {request: \"1\"}}]}",
                      "timeouts.request: \"1\" is not a duration such as "
                      "\"1h30m\", \"10s\" or \"500ms\" (GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {request: 999999h}}]}",
                      "timeouts.request: \"999999h\" is not a duration "
                      "such as \"1h30m\", \"10s\" or \"500ms\" "
                      "(GEP-2257)");
    /* 20 digits: refused, not an overflow (fuzz_watch found it) */
    test_rule_ignored("{rules: [{timeouts: {request: "
                      "22222222222222222222s}}]}",
                      "timeouts.request: \"22222222222222222222s\" is not a "
                      "duration such as \"1h30m\", \"10s\" or \"500ms\" "
                      "(GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {request: 1h1m1s1ms1h}}]}",
                      "timeouts.request: \"1h1m1s1ms1h\" is not a duration "
                      "such as \"1h30m\", \"10s\" or \"500ms\" "
                      "(GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {backendRequest: 1.5s}}]}",
                      "timeouts.backendRequest: \"1.5s\" is not a duration "
                      "such as \"1h30m\", \"10s\" or \"500ms\" "
                      "(GEP-2257)");
    test_rule_ignored("{rules: [{timeouts: {request: 1s, "
                      "backendRequest: 1001ms}}]}",
                      "timeouts.backendRequest: must not be longer than "
                      "timeouts.request");
    test_rule_ignored("{rules: [{retry: {backoff: -1s}}]}",
                      "retry.backoff: \"-1s\" is not a duration such as "
                      "\"1h30m\", \"10s\" or \"500ms\" (GEP-2257)");
}


/* "[x, x, ...]" with %d in fmt replaced by the index */
static char *
test_list(const char *fmt, int n)
{
    int     i;
    char   *buf, *p;
    size_t  size;

    size = (strlen(fmt) + 16) * (n + 1) + 4;
    buf = malloc(size);
    p = buf;
    *p++ = '[';

    for (i = 0; i < n; i++) {
        p += sprintf(p, i ? ", " : "");
        p += sprintf(p, fmt, i);
    }

    strcpy(p, "]");

    return buf;
}


static char *
test_string(char c, size_t n)
{
    char  *s;

    s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';

    return s;
}


static void
test_route_reject_all(void)
{
    size_t        i;
    char         *a, *b, spec[8192];
    gm_object_t  *obj;

    struct {
        const char  *spec;
        const char  *line;
    } cases[] = {
        { "{rules: [{matches: [{path: {type: Exact, value: foo}}]}]}",
          "spec.rules[0].matches[0].path.value: must start with \"/\"" },
        { "{rules: [{matches: [{path: {value: /a//b}}]}]}",
          "spec.rules[0].matches[0].path.value: must not contain \"//\"" },
        { "{rules: [{matches: [{path: {value: /a/../b}}]}]}",
          "spec.rules[0].matches[0].path.value: must not contain \"/../\"" },
        { "{rules: [{matches: [{path: {value: /a%2Fb}}]}]}",
          "spec.rules[0].matches[0].path.value: must not contain \"%2F\"" },
        { "{rules: [{matches: [{path: {value: /a/..}}]}]}",
          "spec.rules[0].matches[0].path.value: must not end with \"/.\" or "
          "\"/..\"" },
        { "{rules: [{matches: [{path: {value: \"/a b\"}}]}]}",
          "spec.rules[0].matches[0].path.value: has an invalid character at "
          "offset 2" },
        { "{rules: [{matches: [{path: {value: \"/a%zz\"}}]}]}",
          "spec.rules[0].matches[0].path.value: has an invalid character at "
          "offset 2" },
        { "{rules: [{matches: [{path: {type: Prefix}}]}]}",
          "spec.rules[0].matches[0].path.type: unsupported value "
          "\"Prefix\"" },
        { "{rules: [{matches: [{method: FETCH}]}]}",
          "spec.rules[0].matches[0].method: unsupported value \"FETCH\"" },
        { "{rules: []}", "spec.rules: must have at least 1 item" },
        { "{rules: 5}", "spec.rules: must be an array" },
        { "{rules: [5]}", "spec.rules[0]: must be an object" },
        { "{rules: [{matches: [{path: []}]}]}",
          "spec.rules[0].matches[0].path: must be an object" },
        { "{rules: [{matches: [{headers: [{name: \"a b\", value: c}]}]}]}",
          "spec.rules[0].matches[0].headers[0].name: must be a valid HTTP "
          "header name" },
        { "{rules: [{matches: [{headers: [{name: a}]}]}]}",
          "spec.rules[0].matches[0].headers[0].value: is required" },
        { "{rules: [{matches: [{headers: [{name: a, value: \"\"}]}]}]}",
          "spec.rules[0].matches[0].headers[0].value: must not be empty" },
        { "{rules: [{matches: [{headers: [{value: a}]}]}]}",
          "spec.rules[0].matches[0].headers[0].name: is required" },
        { "{rules: [{matches: [{headers: [{name: a, value: b, "
          "type: Prefix}]}]}]}",
          "spec.rules[0].matches[0].headers[0].type: unsupported value "
          "\"Prefix\"" },
        { "{rules: [{matches: [{queryParams: [{name: \":q\", value: b}]}]}]}",
          "spec.rules[0].matches[0].queryParams[0].name: must be a valid "
          "HTTP header name" },
        { "{parentRefs: [{namespace: a}]}",
          "spec.parentRefs[0].name: is required" },
        { "{parentRefs: [{name: a, namespace: Bad}]}",
          "spec.parentRefs[0].namespace: must be a lowercase RFC 1123 "
          "label" },
        { "{parentRefs: [{name: a, group: Core}]}",
          "spec.parentRefs[0].group: must be empty or a lowercase RFC 1123 "
          "subdomain" },
        { "{parentRefs: [{name: a, kind: 1Service}]}",
          "spec.parentRefs[0].kind: must start with a letter and hold only "
          "letters, digits and '-'" },
        { "{parentRefs: [{name: a, sectionName: Http}]}",
          "spec.parentRefs[0].sectionName: must be a lowercase RFC 1123 "
          "subdomain" },
        { "{parentRefs: [{name: a, port: 0}]}",
          "spec.parentRefs[0].port: must be between 1 and 65535" },
        { "{parentRefs: [{name: a, port: 80}, {name: a}]}",
          "spec.parentRefs[1]: sectionName or port must be specified when "
          "parentRefs includes 2 or more references to the same parent" },
        { "{parentRefs: [{name: a, port: 80}, {name: a, port: 80}]}",
          "spec.parentRefs[1]: sectionName or port must be unique when "
          "parentRefs includes 2 or more references to the same parent" },
        { "{hostnames: [1.2.3.4]}",
          "spec.hostnames[0]: must not be an IP address" },
        { "{hostnames: [Foo.com]}",
          "spec.hostnames[0]: must be a lowercase RFC 1123 hostname, "
          "optionally prefixed by \"*.\"" },
        { "{rules: [{backendRefs: [{name: a}]}]}",
          "spec.rules[0].backendRefs[0].port: is required for a Service "
          "reference" },
        { "{rules: [{backendRefs: [{port: 1}]}]}",
          "spec.rules[0].backendRefs[0].name: is required" },
        { "{rules: [{backendRefs: [{name: a, port: 1, weight: -1}]}]}",
          "spec.rules[0].backendRefs[0].weight: must be between 0 and "
          "1000000" },
        { "{rules: [{backendRefs: [{name: a, port: 1, weight: 1000001}]}]}",
          "spec.rules[0].backendRefs[0].weight: must be between 0 and "
          "1000000" },
        { "{rules: [{backendRefs: [{name: a, port: 1, weight: \"5\"}]}]}",
          "spec.rules[0].backendRefs[0].weight: must be an integer" },
        { "{rules: [{backendRefs: [{name: a, port: 1, weight: 1.5}]}]}",
          "spec.rules[0].backendRefs[0].weight: must be an integer" },
        { "{rules: [{filters: [{type: RequestHeaderModifier}]}]}",
          "spec.rules[0].filters[0].requestHeaderModifier: must be set when "
          "type is RequestHeaderModifier" },
        { "{rules: [{filters: [{type: CORS, cors: {}, urlRewrite: {}}]}]}",
          "spec.rules[0].filters[0].urlRewrite: must be unset when type is "
          "CORS" },
        { "{rules: [{filters: [{type: Rewrite}]}]}",
          "spec.rules[0].filters[0].type: unsupported value \"Rewrite\"" },
        { "{rules: [{filters: [{requestRedirect: {}}]}]}",
          "spec.rules[0].filters[0].type: is required" },
        { "{rules: [{filters: [{type: RequestRedirect, requestRedirect: {}}],"
          " backendRefs: [{name: a, port: 1}]}]}",
          "spec.rules[0]: RequestRedirect filter must not be used together "
          "with backendRefs" },
        { "{rules: [{filters: [{type: RequestRedirect, requestRedirect: "
          "{statusCode: 304}}]}]}",
          "spec.rules[0].filters[0].requestRedirect.statusCode: unsupported "
          "value 304" },
        { "{rules: [{filters: [{type: RequestRedirect, requestRedirect: "
          "{scheme: ftp}}]}]}",
          "spec.rules[0].filters[0].requestRedirect.scheme: unsupported "
          "value \"ftp\"" },
        { "{rules: [{matches: [{path: {type: Exact, value: /a}}], "
          "filters: [{type: URLRewrite, urlRewrite: {path: {type: "
          "ReplacePrefixMatch, replacePrefixMatch: /b}}}]}]}",
          "spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch: "
          "URLRewrite with replacePrefixMatch needs exactly one PathPrefix "
          "match in the rule" },
        { "{rules: [{filters: [{type: URLRewrite, urlRewrite: {path: {type: "
          "ReplaceFullPath, replacePrefixMatch: /b}}}]}]}",
          "spec.rules[0].filters[0].urlRewrite.path: the value set must be "
          "the one of type (replaceFullPath or replacePrefixMatch)" },
        { "{rules: [{filters: [{type: RequestHeaderModifier, "
          "requestHeaderModifier: {set: [{name: a}]}}]}]}",
          "spec.rules[0].filters[0].requestHeaderModifier.set[0].value: is "
          "required" },
        { "{rules: [{filters: [{type: RequestMirror, requestMirror: {}}]}]}",
          "spec.rules[0].filters[0].requestMirror.backendRef: is required" },
        { "{rules: [{filters: [{type: RequestMirror, requestMirror: "
          "{backendRef: {name: a, port: 1}, percent: 5, fraction: "
          "{numerator: 1}}}]}]}",
          "spec.rules[0].filters[0].requestMirror: only one of percent or "
          "fraction may be specified" },
        { "{rules: [{filters: [{type: RequestMirror, requestMirror: "
          "{backendRef: {name: a, port: 1}, fraction: {numerator: 3, "
          "denominator: 2}}}]}]}",
          "spec.rules[0].filters[0].requestMirror.fraction.numerator: must "
          "be less than or equal to denominator" },
        { "{rules: [{filters: [{type: CORS, cors: {allowMethods: [GET, "
          "\"*\"]}}]}]}",
          "spec.rules[0].filters[0].cors.allowMethods: cannot contain \"*\" "
          "alongside other values" },
        { "{rules: [{filters: [{type: CORS, cors: {maxAge: 0}}]}]}",
          "spec.rules[0].filters[0].cors.maxAge: must be between 1 and "
          "2147483647" },
        { "{rules: [{retry: {codes: [399]}}]}",
          "spec.rules[0].retry.codes[0]: must be between 400 and 599" },
        { "{rules: [{retry: {codes: [500, 600]}}]}",
          "spec.rules[0].retry.codes[1]: must be between 400 and 599" },
        { "{rules: [{retry: {codes: [500, 500]}}]}",
          "spec.rules[0].retry.codes[1]: duplicate value 500" },
        { "{rules: [{retry: {attempts: 0}}]}",
          "spec.rules[0].retry.attempts: must be between 1 and "
          "4294967295" },
        { "{rules: [{name: Rule}]}",
          "spec.rules[0].name: must be a lowercase RFC 1123 subdomain" },
        { "{rules: [{name: a}, {name: b}, {name: a}]}",
          "spec.rules[2].name: must be unique within the route" },
        { "{rules: [{backendRefs: [{name: a, port: 99999999999999}]}]}",
          "spec.rules[0].backendRefs[0].port: must be between 1 and 65535" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_route_reject(cases[i].spec, cases[i].line, cases[i].line);
    }

    test_reject(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: smiley-route, namespace: faces}\n"
        "spec:\n"
        "  rules:\n"
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /ok}\n"
        "    - path: {type: PathPrefix, value: smiley}\n",
        "HTTPRoute faces/smiley-route rejected: "
        "spec.rules[0].matches[1].path.value: must start with \"/\"",
        "the example of the brief");

    /* the list limits */

    a = test_list("{name: p%d}", 33);
    snprintf(spec, sizeof(spec), "{parentRefs: %s}", a);
    test_route_reject(spec, "spec.parentRefs: must have at most 32 items",
                      "33 parentRefs");
    free(a);

    a = test_list("h%d.example.com", 17);
    snprintf(spec, sizeof(spec), "{hostnames: %s}", a);
    test_route_reject(spec, "spec.hostnames: must have at most 16 items",
                      "17 hostnames");
    free(a);

    a = test_list("{name: r%d}", 17);
    snprintf(spec, sizeof(spec), "{rules: %s}", a);
    test_route_reject(spec, "spec.rules: must have at most 16 items",
                      "17 rules");
    free(a);

    a = test_list("{method: GET}", 65);
    snprintf(spec, sizeof(spec), "{rules: [{matches: %s}]}", a);
    test_route_reject(spec, "spec.rules[0].matches: must have at most 64 "
                      "items", "65 matches");
    free(a);

    a = test_list("{method: GET}", 43);
    snprintf(spec, sizeof(spec), "{rules: [{matches: %s}, {matches: %s}, "
             "{matches: %s}]}", a, a, a);
    test_route_reject(spec, "spec.rules: must have at most 128 matches in "
                      "total", "129 matches in all");
    free(a);

    a = test_list("{method: GET}", 42);
    snprintf(spec, sizeof(spec), ROUTE_HEAD "spec: {rules: [{matches: %s}, "
             "{matches: %s}, {matches: %s}, {}, {}]}\n", a, a, a);
    obj = test_parse(spec);
    ok(obj != NULL, "128 matches in all are fine");
    gm_object_free(obj);
    free(a);

    a = test_list("{name: h%d, value: v}", 17);
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{headers: %s}]}]}", a);
    test_route_reject(spec, "spec.rules[0].matches[0].headers: must have at "
                      "most 16 items", "17 headers");
    free(a);

    a = test_list("{name: q%d, value: v}", 17);
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{queryParams: %s}]}]}",
             a);
    test_route_reject(spec, "spec.rules[0].matches[0].queryParams: must "
                      "have at most 16 items", "17 query params");
    free(a);

    a = test_list("{name: b%d, port: 80}", 17);
    snprintf(spec, sizeof(spec), "{rules: [{backendRefs: %s}]}", a);
    test_route_reject(spec, "spec.rules[0].backendRefs: must have at most 16 "
                      "items", "17 backendRefs");
    free(a);

    a = test_list("{type: RequestMirror, requestMirror: {backendRef: "
                  "{name: m%d, port: 1}}}", 17);
    snprintf(spec, sizeof(spec), "{rules: [{filters: %s}]}", a);
    test_route_reject(spec, "spec.rules[0].filters: must have at most 16 "
                      "items", "17 filters");
    free(a);

    b = test_string('a', 4097);
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{headers: [{name: h, "
             "value: %s}]}]}]}", b);
    test_route_reject(spec, "spec.rules[0].matches[0].headers[0].value: must "
                      "be at most 4096 characters", "header value 4097");
    b[4096] = '\0';
    snprintf(spec, sizeof(spec), ROUTE_HEAD "spec: {rules: [{matches: "
             "[{headers: [{name: h, value: %s}]}]}]}\n", b);
    obj = test_parse(spec);
    ok(obj != NULL, "header value of 4096 is fine");
    gm_object_free(obj);
    b[1025] = '\0';
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{queryParams: [{name: "
             "h, value: %s}]}]}]}", b);
    test_route_reject(spec, "spec.rules[0].matches[0].queryParams[0].value: "
                      "must be at most 1024 characters", "query value 1025");
    b[1024] = '/';
    b[1025] = '\0';
    b[0] = '/';
    snprintf(spec, sizeof(spec), "{rules: [{matches: [{path: {value: %s}}]}]}",
             b);
    test_route_reject(spec, "spec.rules[0].matches[0].path.value: must be at "
                      "most 1024 characters", "path value 1025");
    b[254] = '\0';
    b[0] = 'a';
    snprintf(spec, sizeof(spec), "{parentRefs: [{name: %s}]}", b);
    test_route_reject(spec, "spec.parentRefs[0].name: must be at most 253 "
                      "characters", "parentRef name 254");
    b[64] = '\0';
    snprintf(spec, sizeof(spec), "{parentRefs: [{name: a, namespace: %s}]}",
             b);
    test_route_reject(spec, "spec.parentRefs[0].namespace: must be at most "
                      "63 characters", "namespace 64");
    free(b);
}


static void
test_route_rule_invalid(void)
{
    gm_object_t     *obj;
    gm_httproute_t  *route;

    obj = test_parse(
        ROUTE_HEAD
        "spec:\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /ok}}]\n"
        "  - matches: [{path: {type: RegularExpression, value: \"/(a\"}}]\n"
        "  - matches: [{headers: [{type: RegularExpression, name: h,\n"
        "                          value: \"[z-a]\"}]}]\n"
        "  - filters: [{type: ExtensionRef, extensionRef: {group: x.io,\n"
        "                                                  kind: K,\n"
        "                                                  name: n}}]\n"
        "  - backendRefs:\n"
        "    - name: a\n"
        "      port: 1\n"
        "      filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP,"
        "\n"
        "                 backendRef: {name: auth, port: 80}}}]\n"
        "  - filters:\n"
        "    - type: RequestHeaderModifier\n"
        "      requestHeaderModifier: {set: [{name: X-A, value: b}],\n"
        "                              remove: [x-a]}\n");

    ok(obj != NULL, "rule-level problems keep the route");
    if (obj == NULL) {
        return;
    }

    route = &obj->body->httproute;

    is_int(route->rules[0].invalid, 0, "rule 0 valid");
    is_int(route->rules[1].invalid, 1, "rule 1: bad path regex");
    is_int(route->rules[2].invalid, 1, "rule 2: bad header regex");
    is_int(route->rules[3].invalid, 1, "rule 3: ExtensionRef");
    is_int(route->rules[4].invalid, 1, "rule 4: ExternalAuth on a backend");
    is_int(route->rules[5].invalid, 1, "rule 5: two actions on one header");
    is_int(test_lines.n, 5, "one line per invalid rule");
    is_int(test_lines.level[0], GM_LOG_WARN, "logged as a warning");
    is_str(test_lines.line[0], "HTTPRoute ns/r rule 1 ignored: "
           "spec.rules[1].matches[0].path.value: invalid regular expression "
           "at offset 3: missing closing parenthesis", "path regex line");
    is_str(test_lines.line[1], "HTTPRoute ns/r rule 2 ignored: "
           "spec.rules[2].matches[0].headers[0].value: invalid regular "
           "expression at offset 3: range out of order in character class",
           "header regex line");
    is_str(test_lines.line[2], "HTTPRoute ns/r rule 3 ignored: filter "
           "ExtensionRef is not supported", "ExtensionRef line");
    is_str(test_lines.line[3], "HTTPRoute ns/r rule 4 ignored: filter "
           "ExternalAuth is not supported", "ExternalAuth line");
    is_str(test_lines.line[4], "HTTPRoute ns/r rule 5 ignored: "
           "spec.rules[5].filters[0].requestHeaderModifier: more than one "
           "action for the same header name", "header actions line");

    gm_object_free(obj);

    /* a rejected route logs its rejection only, not its bad rules */
    test_route_reject("{rules: [{matches: [{path: {type: RegularExpression, "
                      "value: \"(\"}}]}, {name: X}]}",
                      "spec.rules[1].name: must be a lowercase RFC 1123 "
                      "subdomain", "bad regex then bad rule name");

    obj = test_parse(ROUTE_HEAD "spec: {rules: [{matches: [{queryParams: "
                     "[{type: RegularExpression, name: q, value: \"a{2,1}\"}"
                     ", {type: RegularExpression, name: q, value: \"(\"}]}"
                     "]}]}\n");
    ok(obj && obj->body->httproute.rules[0].invalid == 1,
       "bad query regex marks the rule");
    ok(obj && obj->body->httproute.rules[0].matches[0].nquery == 1,
       "duplicate query dropped before its regex is checked");
    is_int(test_lines.n, 1, "one line for the rule");
    gm_object_free(obj);
}


/* the CEL rules of a filter list cost the rule, the other rules stay */
static void
test_route_filter_cel(void)
{
    gm_object_t     *obj;
    gm_httproute_t  *route;

    obj = test_parse(
        ROUTE_HEAD
        "spec:\n"
        "  rules:\n"
        "  - filters: [{type: RequestRedirect, requestRedirect: {}},\n"
        "              {type: URLRewrite, urlRewrite: {}}]\n"
        "  - filters: [{type: CORS, cors: {}}, {type: CORS, cors: {}}]\n"
        "  - backendRefs:\n"
        "    - name: a\n"
        "      port: 1\n"
        "      filters: [{type: URLRewrite, urlRewrite: {}},\n"
        "                {type: RequestRedirect, requestRedirect: {}}]\n"
        "  - filters: [{type: RequestMirror, requestMirror: {backendRef: "
        "{name: m, port: 80}}},\n"
        "              {type: RequestMirror, requestMirror: {backendRef: "
        "{name: n, port: 80}}}]\n");

    ok(obj != NULL, "filter CEL violations keep the route");
    if (obj == NULL) {
        return;
    }

    route = &obj->body->httproute;

    is_int(route->rules[0].invalid, 1, "rule 0: redirect and rewrite");
    is_int(route->rules[1].invalid, 1, "rule 1: CORS twice");
    is_int(route->rules[2].invalid, 1, "rule 2: backendRef filters");
    is_int(route->rules[3].invalid, 0, "rule 3: two mirrors are fine");
    is_int(test_lines.n, 3, "one line per invalid rule");
    is_str(test_lines.line[0], "HTTPRoute ns/r rule 0 ignored: "
           "spec.rules[0].filters: may specify either RequestRedirect or "
           "URLRewrite, but not both", "redirect and rewrite line");
    is_str(test_lines.line[1], "HTTPRoute ns/r rule 1 ignored: "
           "spec.rules[1].filters: CORS filter cannot be repeated",
           "CORS twice line");
    is_str(test_lines.line[2], "HTTPRoute ns/r rule 2 ignored: "
           "spec.rules[2].backendRefs[0].filters: may specify either "
           "RequestRedirect or URLRewrite, but not both",
           "backendRef filters line");

    gm_object_free(obj);
}


int
main(void)
{
    test_route_reject_all();
    test_route_rule_invalid();
    test_route_filter_cel();

    test_durations();
    test_path_nul();

    return done_testing();
}
