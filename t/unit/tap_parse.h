/*
 * nginx-gamma: the parser tests' helpers: a log that keeps its lines with
 * their levels, a manifest's documents, the one document of a text parsed
 * as an object, and a rejection checked.  Header-only, as tap.h is: ok()
 * counts in the file that calls it, so what asserts cannot be compiled
 * apart like fixture.c.  test_parse() and test_reject() are marked unused:
 * not every file that includes this calls them.
 */

#ifndef GM_TAP_PARSE_H
#define GM_TAP_PARSE_H


#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "gm_manifest.h"
#include "gm_object_parse.h"


#define TEST_MAX_LINES  16

#define ROUTE_HEAD                                                           \
    "apiVersion: gateway.networking.k8s.io/v1\n"                             \
    "kind: HTTPRoute\n"                                                      \
    "metadata: {name: r, namespace: ns}\n"


typedef struct {
    int     n;
    int     level[TEST_MAX_LINES];
    char    line[TEST_MAX_LINES][1024];
} test_log_t;


static test_log_t  test_lines;
static gm_log_t    test_logger = { NULL, &test_lines };


static void
test_log_handler(void *data, gm_log_level_e level, const char *msg)
{
    test_log_t  *l;

    l = data;

    if (l->n < TEST_MAX_LINES) {
        l->level[l->n] = level;
        snprintf(l->line[l->n], sizeof(l->line[0]), "%s", msg);
    }

    l->n++;
}


static void
test_log_reset(void)
{
    memset(&test_lines, 0, sizeof(test_lines));
    test_logger.handler = test_log_handler;
}


static void
test_collect(void *data, json_t *doc, size_t index)
{
    (void) index;

    json_array_append(data, doc);
}


/* the documents of a manifest, or NULL when it fails */
static json_t *
test_load(const char *text)
{
    json_t  *docs;

    docs = json_array();

    if (gm_manifest_parse(text, strlen(text), "test.yaml", test_collect,
                          docs, &test_logger) != 0)
    {
        json_decref(docs);
        return NULL;
    }

    return docs;
}


/* the only document of text as an object; logs are reset first */
static gm_object_t * __attribute__((unused))
test_parse(const char *text)
{
    json_t       *docs;
    gm_object_t  *obj;

    test_log_reset();

    docs = test_load(text);
    if (docs == NULL || json_array_size(docs) != 1) {
        json_decref(docs);
        return NULL;
    }

    obj = gm_object_parse(json_array_get(docs, 0), &test_logger, NULL);
    json_decref(docs);

    return obj;
}


static void __attribute__((unused))
test_reject(const char *text, const char *expected, const char *what)
{
    gm_object_t  *obj;

    obj = test_parse(text);

    ok(obj == NULL, "%s: rejected", what);
    is_int(test_lines.n, 1, "%s: one log line", what);
    is_int(test_lines.level[0], GM_LOG_ERR, "%s: logged as an error", what);
    is_str(test_lines.line[0], expected, "%s: log line", what);

    gm_object_free(obj);
}


#endif /* GM_TAP_PARSE_H */
