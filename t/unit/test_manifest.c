/*
 * nginx-gamma: gm_manifest_parse(): YAML documents (YAML 1.2 scalars,
 * anchors and merge keys, the limits against alias bombs and depth),
 * concatenated JSON, List kinds expanded into their items, and the error
 * lines that name the file, the line and the column.
 */


#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tap_parse.h"


static void
test_count(void *data, json_t *doc, size_t index)
{
    (void) doc;
    (void) index;

    (*(int *) data)++;
}


static void
test_manifest_yaml(void)
{
    json_t  *docs, *d;

    test_log_reset();
    docs = test_load(
        "# leading comment\n"
        "---\n"
        "---\n"
        "# only a comment\n"
        "---\n"
        "a: 1\n"
        "b: \"1\"\n"
        "c: true\n"
        "d: 'true'\n"
        "e: ~\n"
        "f: 0x1F\n"
        "g: 0o17\n"
        "h: 1.5\n"
        "i: yes\n"
        "j: 1e3\n"
        "k: .inf\n"
        "l: 99999999999999999999\n"
        "m: -7\n"
        "n:\n"
        "o: !!str 5\n"
        "p: 012\n"
        "q: \"\"\n"
        "r: False\n"
        "s: +12\n"
        "t: 1_000\n"
        "...\n"
        "--- {x: [1, {y: z}]}\n"
        "--- just text\n"
        "--- [{a: 1}, {b: 2}]\n");

    ok(docs != NULL, "yaml: parsed");
    if (docs == NULL) {
        return;
    }

    is_int(json_array_size(docs), 4, "yaml: empty docs and scalars skipped, "
           "top-level sequence expanded");

    d = json_array_get(docs, 0);
    ok(json_integer_value(json_object_get(d, "a")) == 1, "yaml: int");
    ok(json_is_string(json_object_get(d, "b")), "yaml: quoted int is text");
    ok(json_is_true(json_object_get(d, "c")), "yaml: true");
    ok(json_is_string(json_object_get(d, "d")), "yaml: quoted bool is text");
    ok(json_is_null(json_object_get(d, "e")), "yaml: ~ is null");
    ok(json_integer_value(json_object_get(d, "f")) == 31, "yaml: hex");
    ok(json_integer_value(json_object_get(d, "g")) == 15, "yaml: octal");
    ok(json_real_value(json_object_get(d, "h")) == 1.5, "yaml: float");
    is_str(json_string_value(json_object_get(d, "i")), "yes",
           "yaml: yes is text in YAML 1.2");
    ok(json_real_value(json_object_get(d, "j")) == 1000, "yaml: exponent");
    is_str(json_string_value(json_object_get(d, "k")), ".inf",
           "yaml: .inf stays text");
    ok(json_is_real(json_object_get(d, "l")), "yaml: huge int is a real");
    ok(json_integer_value(json_object_get(d, "m")) == -7, "yaml: negative");
    ok(json_is_null(json_object_get(d, "n")), "yaml: empty is null");
    is_str(json_string_value(json_object_get(d, "o")), "5", "yaml: !!str");
    ok(json_integer_value(json_object_get(d, "p")) == 12,
       "yaml: leading zero is decimal");
    is_str(json_string_value(json_object_get(d, "q")), "", "yaml: \"\"");
    ok(json_is_false(json_object_get(d, "r")), "yaml: False");
    ok(json_integer_value(json_object_get(d, "s")) == 12, "yaml: +12");
    ok(json_is_string(json_object_get(d, "t")), "yaml: 1_000 is text");

    d = json_array_get(docs, 1);
    is_str(json_string_value(json_object_get(json_array_get(json_object_get(
           d, "x"), 1), "y")), "z", "yaml: flow style nests");

    d = json_array_get(docs, 3);
    ok(json_integer_value(json_object_get(d, "b")) == 2,
       "yaml: sequence items are documents");

    is_int(test_lines.n, 0, "yaml: nothing logged");
    json_decref(docs);
}


static void
test_manifest_anchors(void)
{
    char    *text, *p;
    int      i, j;
    json_t  *docs, *d;

    test_log_reset();
    docs = test_load(
        "base: &b {x: 1, y: 2}\n"
        "copy: *b\n"
        "merged:\n"
        "  <<: *b\n"
        "  y: 3\n"
        "many:\n"
        "  z: 4\n"
        "  <<: [*b, {w: 5, x: 9}]\n"
        "list: &l [1, 2]\n"
        "again: *l\n"
        "key: &k name\n"
        "*k : value\n");

    ok(docs != NULL && json_array_size(docs) == 1, "anchors: parsed");
    if (docs == NULL) {
        return;
    }

    d = json_array_get(docs, 0);
    ok(json_integer_value(json_object_get(json_object_get(d, "copy"), "y"))
       == 2, "anchors: alias");
    ok(json_integer_value(json_object_get(json_object_get(d, "merged"), "y"))
       == 3, "anchors: explicit key beats merge");
    ok(json_integer_value(json_object_get(json_object_get(d, "merged"), "x"))
       == 1, "anchors: merged key");
    ok(json_integer_value(json_object_get(json_object_get(d, "many"), "x"))
       == 1, "anchors: first merge source wins");
    ok(json_integer_value(json_object_get(json_object_get(d, "many"), "w"))
       == 5, "anchors: second merge source");
    ok(json_object_get(json_object_get(d, "many"), "<<") == NULL,
       "anchors: no \"<<\" key left");
    is_int(json_array_size(json_object_get(d, "again")), 2,
           "anchors: sequence alias");
    is_str(json_string_value(json_object_get(d, "name")), "value",
           "anchors: alias as a key");
    json_decref(docs);

    /* billion laughs: 9 levels of 10 aliases each */
    text = malloc(4096);
    p = text + sprintf(text, "a0: &a0 [x]\n");

    for (i = 1; i < 10; i++) {
        p += sprintf(p, "a%d: &a%d [", i, i);
        for (j = 0; j < 10; j++) {
            p += sprintf(p, "%s*a%d", j ? ", " : "", i - 1);
        }
        p += sprintf(p, "]\n");
    }

    test_log_reset();
    docs = test_load(text);
    ok(docs == NULL, "anchors: billion laughs rejected");
    is_int(test_lines.n, 1, "anchors: one line");
    ok(strstr(test_lines.line[0], "aliases expand to too many nodes") != NULL,
       "anchors: the reason");
    json_decref(docs);
    free(text);

    test_log_reset();
    docs = test_load("a: &a [1, *a]\n");
    ok(docs == NULL, "anchors: recursive alias rejected");
    is_str(test_lines.line[0], "manifest test.yaml: line 1, column 11: "
           "unknown or unfinished anchor \"a\"",
           "anchors: recursive alias line");

    test_log_reset();
    docs = test_load("a: *nope\n");
    ok(docs == NULL && test_lines.n == 1, "anchors: unknown anchor rejected");

    test_log_reset();
    docs = test_load("a: {<<: 5}\n");
    ok(docs == NULL && test_lines.n == 1,
       "anchors: merge of a scalar rejected");
}


static void
test_manifest_errors(void)
{
    int          called, i;
    char         deep[256];
    json_t      *docs;
    const char  *bad;

    called = 0;
    test_log_reset();

    /* the first document is fine: still nothing may be handed out */
    bad = "a: 1\n---\nb: [1,\nc: 2\n  d: ]\n";
    i = gm_manifest_parse(bad, strlen(bad), "/etc/mesh/bad.yaml", test_count,
                          &called, &test_logger);
    is_int(i, -1, "broken yaml: -1");
    is_int(called, 0, "broken yaml: no document handed out");
    is_int(test_lines.n, 1, "broken yaml: one line");
    is_int(test_lines.level[0], GM_LOG_ERR, "broken yaml: an error");
    is_str(test_lines.line[0], "manifest /etc/mesh/bad.yaml: line 5, column 4: "
           "did not find expected ',' or ']' while parsing a flow sequence",
           "broken yaml: file, line and reason");

    test_log_reset();
    docs = test_load("a: 1\na: 2\n");
    ok(docs == NULL, "duplicate key rejected");
    is_str(test_lines.line[0], "manifest test.yaml: line 2, column 4: "
           "duplicate mapping key \"a\"", "duplicate key line");

    test_log_reset();
    docs = test_load("? [a]\n: b\n");
    ok(docs == NULL && test_lines.n == 1, "complex key rejected");

    test_log_reset();
    docs = test_load("a: \"x\\0y\"\n");
    ok(docs == NULL && test_lines.n == 1, "NUL in a scalar rejected");

    /* a mapping and 63 sequences: 64 levels */
    strcpy(deep, "a: ");
    memset(deep + 3, '[', 63);
    memset(deep + 66, ']', 63);
    deep[129] = '\0';

    test_log_reset();
    docs = test_load(deep);
    ok(docs != NULL, "yaml: 64 levels are fine");
    json_decref(docs);

    strcpy(deep, "a: ");
    memset(deep + 3, '[', 64);
    memset(deep + 67, ']', 64);
    deep[131] = '\0';

    test_log_reset();
    docs = test_load(deep);
    ok(docs == NULL, "yaml: 65 levels rejected");
    is_str(test_lines.line[0], "manifest test.yaml: line 1, column 67: nested "
           "deeper than 64 levels", "yaml: depth line");

    test_log_reset();
    docs = test_load(deep + 3);
    ok(docs != NULL, "json: jansson has its own, larger depth limit");
    json_decref(docs);

    test_log_reset();
    docs = test_load("{\"kind\": \"Service\",\n \"x\": }\n");
    ok(docs == NULL, "broken json rejected");
    is_int(test_lines.n, 1, "broken json: one line");
    is_str(test_lines.line[0], "manifest test.yaml: line 2, column 7: "
           "unexpected token near '}'", "broken json: line");

    test_log_reset();
    docs = test_load("{\"a\": 1}\n\n {\"b\": 2, \"b\": 3}\n");
    ok(docs == NULL, "json: duplicate key rejected");
    is_str(test_lines.line[0], "manifest test.yaml: line 3, column 13: "
           "duplicate object key near '\"b\"'",
           "json: line of the second document");

    test_log_reset();
    called = 0;
    ok(gm_manifest_parse("", 0, "empty", test_count, &called, &test_logger) == 0
       && test_lines.n == 0 && called == 0,
       "empty file: no documents, no error");
    ok(gm_manifest_parse(NULL, 0, "null", test_count, &called, &test_logger)
       == 0 && called == 0, "NULL buffer: an empty file");
    ok(gm_manifest_parse("\x01\x02", 2, NULL, test_count, &called, &test_logger)
       == -1 && test_lines.n == 1 && called == 0, "binary: rejected");
}


static void
test_manifest_json(void)
{
    json_t  *docs;

    test_log_reset();
    docs = test_load("\xef\xbb\xbf {\"a\": 1} {\"b\": [1]}\n[{\"c\": 1}, "
                     "{\"d\": 1}, 5]");
    ok(docs != NULL, "json: concatenated values");
    is_int(json_array_size(docs), 4, "json: arrays expanded, scalars skipped");
    ok(json_object_get(json_array_get(docs, 3), "d") != NULL,
       "json: order kept");
    json_decref(docs);

    test_log_reset();
    docs = test_load("{a: [1, 2], b: 'c'}\n");
    ok(docs == NULL && test_lines.n == 1,
       "json: '{' means JSON, not YAML flow");
}


static void
test_manifest_list(void)
{
    int            ignored;
    size_t         i;
    json_t        *docs;
    gm_object_t   *obj;

    test_log_reset();
    docs = test_load(
        "apiVersion: v1\n"
        "kind: List\n"
        "items:\n"
        "- apiVersion: v1\n"
        "  kind: Service\n"
        "  metadata: {name: a}\n"
        "- apiVersion: v1\n"
        "  kind: ServiceList\n"
        "  items:\n"
        "  - metadata: {name: b}\n"
        "  - metadata: {name: c}\n"
        "    kind: Secret\n"
        "---\n"
        "{\"kind\": \"EndpointSliceList\", \"apiVersion\": "
        "\"discovery.k8s.io/v1\", \"metadata\": {\"resourceVersion\": \"5\"},"
        " \"items\": [{\"metadata\": {\"name\": \"s\", \"labels\": "
        "{\"kubernetes.io/service-name\": \"b\"}}, \"addressType\": "
        "\"IPv4\"}]}\n");

    ok(docs != NULL, "list: parsed");
    is_int(json_array_size(docs), 4, "list: items expanded");

    for (i = 0; i < 4; i++) {
        obj = gm_object_parse(json_array_get(docs, i), &test_logger, &ignored);

        if (i == 2) {
            ok(obj == NULL && ignored, "list: item kind kept");

        } else {
            ok(obj != NULL, "list: item %zu parsed", i);
        }

        if (i == 1) {
            ok(obj && strcmp(obj->body->meta.name.data, "b") == 0
               && obj->body->meta.kind == GM_KIND_SERVICE,
               "list: kind taken from ServiceList");
        }

        if (i == 3) {
            ok(obj && obj->body->meta.kind == GM_KIND_ENDPOINTSLICE,
               "list: kind taken from EndpointSliceList");
        }

        gm_object_free(obj);
    }

    is_int(test_lines.n, 0, "list: nothing logged");
    json_decref(docs);
}


int
main(void)
{
    test_manifest_yaml();
    test_manifest_anchors();
    test_manifest_errors();
    test_manifest_json();
    test_manifest_list();

    return done_testing();
}
