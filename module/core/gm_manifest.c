/*
 * nginx-gamma: the documents of a manifest file, JSON or multi-document
 * YAML, as jansson values.  This file reads JSON and hands out the
 * documents, list items one by one; gm_manifest_yaml.c reads YAML.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_manifest_int.h"


static int gm_manifest_load(const char *buf, size_t len, json_t *docs,
    gm_manifest_err_t *err);
static int gm_manifest_is_json(const char *buf, size_t len);
static void gm_manifest_emit(json_t *doc, gm_manifest_doc_pt cb, void *data,
    size_t *index, int depth);
static json_t *gm_manifest_list_items(json_t *doc);
static void gm_manifest_item_kind(json_t *list, json_t *item);
static int gm_manifest_json_load(const char *buf, size_t len, json_t *docs,
    gm_manifest_err_t *err);
static size_t gm_manifest_skip_space(const char *buf, size_t len, size_t off);
static int gm_manifest_json_fail(const char *buf, size_t off,
    json_error_t *jerr, gm_manifest_err_t *err);


int
gm_manifest_parse(const char *buf, size_t len, const char *source_name,
    gm_manifest_doc_pt cb, void *data, const gm_log_t *log)
{
    size_t             i, index;
    json_t            *docs, *doc;
    gm_manifest_err_t  err;

    if (source_name == NULL) {
        source_name = "(manifest)";
    }

    /* libyaml asserts on a NULL input */
    if (buf == NULL) {
        buf = "";
        len = 0;
    }

    memset(&err, 0, sizeof(gm_manifest_err_t));

    docs = json_array();

    if (docs == NULL || gm_manifest_load(buf, len, docs, &err) != 0) {
        if (docs == NULL) {
            strcpy(err.reason, "out of memory");
        }

        gm_log(log, GM_LOG_ERR, "manifest %s: line %zu, column %zu: %s",
               source_name, err.line, err.column, err.reason);
        json_decref(docs);
        return -1;
    }

    index = 0;

    json_array_foreach(docs, i, doc) {
        gm_manifest_emit(doc, cb, data, &index, 0);
    }

    json_decref(docs);

    return 0;
}


static int
gm_manifest_load(const char *buf, size_t len, json_t *docs,
    gm_manifest_err_t *err)
{
    if (gm_manifest_is_json(buf, len)) {
        return gm_manifest_json_load(buf, len, docs, err);
    }

    return gm_yaml_load(buf, len, docs, err);
}


static int
gm_manifest_is_json(const char *buf, size_t len)
{
    size_t  off;

    off = 0;

    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        off = 3;
    }

    off = gm_manifest_skip_space(buf, len, off);

    return off < len && (buf[off] == '{' || buf[off] == '[');
}


static void
gm_manifest_emit(json_t *doc, gm_manifest_doc_pt cb, void *data,
    size_t *index, int depth)
{
    size_t   i;
    json_t  *items, *item;

    if (depth == 0 && json_is_array(doc)) {
        json_array_foreach(doc, i, item) {
            gm_manifest_emit(item, cb, data, index, depth + 1);
        }

        return;
    }

    items = gm_manifest_list_items(doc);

    if (items != NULL && depth < GM_MANIFEST_MAX_LIST_DEPTH) {
        json_array_foreach(items, i, item) {
            gm_manifest_item_kind(doc, item);
            gm_manifest_emit(item, cb, data, index, depth + 1);
        }

        return;
    }

    if (json_is_object(doc)) {
        cb(data, doc, (*index)++);
    }
}


/* the items of "List" and of any "<Kind>List" */
static json_t *
gm_manifest_list_items(json_t *doc)
{
    size_t       len;
    json_t      *items;
    const char  *kind;

    kind = json_string_value(json_object_get(doc, "kind"));
    if (kind == NULL) {
        return NULL;
    }

    len = strlen(kind);
    items = json_object_get(doc, "items");

    if (len < 4 || strcmp(kind + len - 4, "List") != 0
        || !json_is_array(items))
    {
        return NULL;
    }

    return items;
}


/* the API server leaves kind and apiVersion out of built-in list items */
static void
gm_manifest_item_kind(json_t *list, json_t *item)
{
    size_t       len;
    json_t      *version;
    const char  *kind;

    kind = json_string_value(json_object_get(list, "kind"));
    len = strlen(kind) - 4;

    if (!json_is_object(item) || len == 0) {
        return;
    }

    if (json_object_get(item, "kind") == NULL) {
        json_object_set_new(item, "kind", json_stringn(kind, len));
    }

    version = json_object_get(list, "apiVersion");

    if (json_object_get(item, "apiVersion") == NULL && version != NULL) {
        json_object_set(item, "apiVersion", version);
    }
}


int
gm_manifest_fail(gm_manifest_err_t *err, size_t line, size_t column,
    const char *fmt, ...)
{
    va_list  args;

    err->line = line;
    err->column = column;

    va_start(args, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, args);
    va_end(args);

    return -1;
}


/* one or more JSON values, one after the other */
static int
gm_manifest_json_load(const char *buf, size_t len, json_t *docs,
    gm_manifest_err_t *err)
{
    size_t        off;
    json_t       *doc;
    json_error_t  jerr;

    off = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

    for ( ;; ) {
        off = gm_manifest_skip_space(buf, len, off);
        if (off == len) {
            return 0;
        }

        doc = json_loadb(buf + off, len - off,
                         JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES,
                         &jerr);
        if (doc == NULL) {
            return gm_manifest_json_fail(buf, off, &jerr, err);
        }

        if (json_array_append_new(docs, doc) != 0) {
            return gm_manifest_fail(err, 0, 0, "out of memory");
        }

        if (jerr.position <= 0) {
            return gm_manifest_fail(err, 0, 0, "JSON parser made no "
                                    "progress");
        }

        off += (size_t) jerr.position;
    }
}


static size_t
gm_manifest_skip_space(const char *buf, size_t len, size_t off)
{
    while (off < len
           && (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\r'
               || buf[off] == '\n'))
    {
        off++;
    }

    return off;
}


/* jansson counts from the start of the value: make it the file's */
static int
gm_manifest_json_fail(const char *buf, size_t off, json_error_t *jerr,
    gm_manifest_err_t *err)
{
    size_t  i, line, column;

    line = 1;
    column = 0;

    for (i = 0; i < off; i++) {
        column = buf[i] == '\n' ? 0 : column + 1;
        line += buf[i] == '\n';
    }

    if (jerr->line > 1) {
        line += (size_t) jerr->line - 1;
        column = 0;
    }

    if (jerr->column > 0) {
        column += (size_t) jerr->column;
    }

    return gm_manifest_fail(err, line, column, "%s", jerr->text);
}
