/*
 * nginx-gamma: multi-document YAML read into jansson values with libyaml
 * events, the YAML 1.2 core schema (quoted scalars are always strings),
 * anchors, aliases and "<<" merge keys, with bounds on nesting, anchors
 * and the nodes aliases stand for (no "billion laughs").
 */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "gm_manifest_int.h"


typedef struct {
    json_t     *node;           /* the object or array being filled */
    json_t     *key;            /* a mapping key waiting for its value */
    json_t     *merges;         /* "<<" sources, applied when it ends */
    char       *anchor;         /* registered when the node ends */
    size_t      weight;         /* nodes below, aliases expanded */
    unsigned    merge_key:1;
} gm_yaml_frame_t;

typedef struct {
    char       *name;
    json_t     *node;
    size_t      weight;
} gm_yaml_anchor_t;

typedef struct {
    yaml_parser_t        parser;
    json_t              *docs;
    json_t              *root;
    gm_manifest_err_t   *err;
    size_t               depth;
    size_t               nanchors;
    size_t               naliases;
    size_t               expanded;
    gm_yaml_frame_t      stack[GM_MANIFEST_MAX_DEPTH];
    gm_yaml_anchor_t     anchors[GM_MANIFEST_MAX_ANCHORS];
} gm_yaml_t;


static int gm_yaml_parser_fail(gm_yaml_t *y);
static int gm_yaml_fail(gm_yaml_t *y, yaml_event_t *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int gm_yaml_event(gm_yaml_t *y, yaml_event_t *ev);
static int gm_yaml_key_expected(gm_yaml_t *y);
static int gm_yaml_open(gm_yaml_t *y, yaml_event_t *ev, json_t *node,
    yaml_char_t *anchor);
static int gm_yaml_close(gm_yaml_t *y, yaml_event_t *ev);
static int gm_yaml_merge(gm_yaml_t *y, yaml_event_t *ev,
    gm_yaml_frame_t *f, json_t *node);
static int gm_yaml_add(gm_yaml_t *y, yaml_event_t *ev, json_t *node,
    size_t weight);
static int gm_yaml_scalar(gm_yaml_t *y, yaml_event_t *ev);
static int gm_yaml_key(gm_yaml_t *y, yaml_event_t *ev, json_t *key,
    int merge);
static int gm_yaml_alias(gm_yaml_t *y, yaml_event_t *ev);
static int gm_yaml_doc_end(gm_yaml_t *y);
static int gm_yaml_anchor_add(gm_yaml_t *y, yaml_event_t *ev,
    const char *name, json_t *node, size_t weight);
static gm_yaml_anchor_t *gm_yaml_anchor_find(gm_yaml_t *y, const char *name);
static void gm_yaml_anchors_clear(gm_yaml_t *y);
static void gm_yaml_cleanup(gm_yaml_t *y);
static json_t *gm_yaml_scalar_value(yaml_event_t *ev);
static json_t *gm_yaml_plain(const char *s, size_t len);
static int gm_yaml_is_null(const char *s, size_t len);
static int gm_yaml_int(const char *s, size_t len, json_int_t *out);
static int gm_yaml_is_float(const char *s, size_t len);
static size_t gm_sat_add(size_t a, size_t b);


int
gm_yaml_load(const char *buf, size_t len, json_t *docs,
    gm_manifest_err_t *err)
{
    int            rc, done;
    gm_yaml_t     *y;
    yaml_event_t   ev;

    y = calloc(1, sizeof(gm_yaml_t));
    if (y == NULL) {
        return gm_manifest_fail(err, 0, 0, "out of memory");
    }

    if (!yaml_parser_initialize(&y->parser)) {
        free(y);
        return gm_manifest_fail(err, 0, 0, "out of memory");
    }

    yaml_parser_set_input_string(&y->parser, (const unsigned char *) buf,
                                 len);
    y->docs = docs;
    y->err = err;

    rc = 0;
    done = 0;

    while (rc == 0 && !done) {
        if (!yaml_parser_parse(&y->parser, &ev)) {
            rc = gm_yaml_parser_fail(y);
            break;
        }

        done = ev.type == YAML_STREAM_END_EVENT;
        rc = gm_yaml_event(y, &ev);

        yaml_event_delete(&ev);
    }

    gm_yaml_cleanup(y);
    yaml_parser_delete(&y->parser);
    free(y);

    return rc;
}


static int
gm_yaml_parser_fail(gm_yaml_t *y)
{
    yaml_parser_t  *p;

    p = &y->parser;

    if (p->error == YAML_MEMORY_ERROR || p->problem == NULL) {
        return gm_manifest_fail(y->err, p->mark.line + 1, p->mark.column + 1,
                                "out of memory or unreadable input");
    }

    if (p->context != NULL) {
        return gm_manifest_fail(y->err, p->problem_mark.line + 1,
                                p->problem_mark.column + 1, "%s %s",
                                p->problem, p->context);
    }

    return gm_manifest_fail(y->err, p->problem_mark.line + 1,
                            p->problem_mark.column + 1, "%s", p->problem);
}


static int
gm_yaml_fail(gm_yaml_t *y, yaml_event_t *ev, const char *fmt, ...)
{
    va_list  args;

    y->err->line = ev->start_mark.line + 1;
    y->err->column = ev->start_mark.column + 1;

    va_start(args, fmt);
    vsnprintf(y->err->reason, sizeof(y->err->reason), fmt, args);
    va_end(args);

    return -1;
}


static int
gm_yaml_event(gm_yaml_t *y, yaml_event_t *ev)
{
    switch (ev->type) {

    case YAML_DOCUMENT_END_EVENT:
        return gm_yaml_doc_end(y);

    case YAML_SCALAR_EVENT:
        return gm_yaml_scalar(y, ev);

    case YAML_ALIAS_EVENT:
        return gm_yaml_alias(y, ev);

    case YAML_SEQUENCE_START_EVENT:
        return gm_yaml_open(y, ev, json_array(),
                            ev->data.sequence_start.anchor);

    case YAML_MAPPING_START_EVENT:
        return gm_yaml_open(y, ev, json_object(),
                            ev->data.mapping_start.anchor);

    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return gm_yaml_close(y, ev);

    default:
        return 0;
    }
}


static int
gm_yaml_key_expected(gm_yaml_t *y)
{
    gm_yaml_frame_t  *f;

    if (y->depth == 0) {
        return 0;
    }

    f = &y->stack[y->depth - 1];

    return json_is_object(f->node) && f->key == NULL;
}


static int
gm_yaml_open(gm_yaml_t *y, yaml_event_t *ev, json_t *node,
    yaml_char_t *anchor)
{
    gm_yaml_frame_t  *f;

    if (node == NULL) {
        return gm_yaml_fail(y, ev, "out of memory");
    }

    if (gm_yaml_key_expected(y)) {
        json_decref(node);
        return gm_yaml_fail(y, ev, "mapping keys must be scalars");
    }

    if (y->depth == GM_MANIFEST_MAX_DEPTH) {
        json_decref(node);
        return gm_yaml_fail(y, ev, "nested deeper than %d levels",
                            GM_MANIFEST_MAX_DEPTH);
    }

    f = &y->stack[y->depth++];
    memset(f, 0, sizeof(gm_yaml_frame_t));
    f->node = node;
    f->weight = 1;

    if (anchor != NULL) {
        f->anchor = strdup((char *) anchor);
        if (f->anchor == NULL) {
            return gm_yaml_fail(y, ev, "out of memory");
        }
    }

    return 0;
}


static int
gm_yaml_close(gm_yaml_t *y, yaml_event_t *ev)
{
    int               rc;
    size_t            i;
    json_t           *node, *src;
    gm_yaml_frame_t  *f;

    f = &y->stack[y->depth - 1];
    node = f->node;

    /* explicit keys win over merged ones, wherever "<<" stands */
    json_array_foreach(f->merges, i, src) {
        if (json_object_update_missing(node, src) != 0) {
            return gm_yaml_fail(y, ev, "out of memory");
        }
    }

    rc = 0;

    if (f->anchor != NULL) {
        rc = gm_yaml_anchor_add(y, ev, f->anchor, node, f->weight);
    }

    y->depth--;

    if (rc == 0) {
        rc = gm_yaml_add(y, ev, node, f->weight);
    } else {
        json_decref(node);
    }

    json_decref(f->key);
    json_decref(f->merges);
    free(f->anchor);
    memset(f, 0, sizeof(gm_yaml_frame_t));

    return rc;
}


static int
gm_yaml_merge(gm_yaml_t *y, yaml_event_t *ev, gm_yaml_frame_t *f,
    json_t *node)
{
    size_t   i;
    json_t  *src;

    if (f->merges == NULL) {
        f->merges = json_array();
    }

    if (json_is_object(node)) {
        return json_array_append(f->merges, node) == 0
               ? 0 : gm_yaml_fail(y, ev, "out of memory");
    }

    if (!json_is_array(node)) {
        return gm_yaml_fail(y, ev, "a \"<<\" merge needs a mapping or a "
                            "sequence of mappings");
    }

    json_array_foreach(node, i, src) {
        if (!json_is_object(src)) {
            return gm_yaml_fail(y, ev, "a \"<<\" merge needs a mapping or a "
                                "sequence of mappings");
        }

        if (json_array_append(f->merges, src) != 0) {
            return gm_yaml_fail(y, ev, "out of memory");
        }
    }

    return 0;
}


/* attaches a finished node to its parent; takes the reference */
static int
gm_yaml_add(gm_yaml_t *y, yaml_event_t *ev, json_t *node, size_t weight)
{
    int               rc;
    json_t           *key;
    gm_yaml_frame_t  *f;

    if (y->depth == 0) {
        json_decref(y->root);
        y->root = node;
        return 0;
    }

    f = &y->stack[y->depth - 1];
    f->weight = gm_sat_add(f->weight, weight);

    if (json_is_array(f->node)) {
        return json_array_append_new(f->node, node) == 0
               ? 0 : gm_yaml_fail(y, ev, "out of memory");
    }

    key = f->key;
    f->key = NULL;

    if (key == NULL) {
        rc = gm_yaml_fail(y, ev, "a mapping value without a key");

    } else if (f->merge_key) {
        f->merge_key = 0;
        rc = gm_yaml_merge(y, ev, f, node);

    } else if (json_object_getn(f->node, json_string_value(key),
                                json_string_length(key)) != NULL)
    {
        rc = gm_yaml_fail(y, ev, "duplicate mapping key \"%.64s\"",
                          json_string_value(key));

    } else {
        rc = json_object_setn_new(f->node, json_string_value(key),
                                  json_string_length(key), node);
        node = NULL;

        if (rc != 0) {
            rc = gm_yaml_fail(y, ev, "out of memory");
        }
    }

    json_decref(node);
    json_decref(key);

    return rc;
}


static int
gm_yaml_scalar(gm_yaml_t *y, yaml_event_t *ev)
{
    int          merge;
    json_t      *node;
    const char  *s;

    s = (const char *) ev->data.scalar.value;

    if (memchr(s, '\0', ev->data.scalar.length) != NULL) {
        return gm_yaml_fail(y, ev, "NUL character in a scalar");
    }

    if (gm_yaml_key_expected(y)) {
        node = json_stringn(s, ev->data.scalar.length);
        merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                && strcmp(s, "<<") == 0;

    } else {
        node = gm_yaml_scalar_value(ev);
        merge = -1;
    }

    if (node == NULL) {
        return gm_yaml_fail(y, ev, "out of memory or invalid UTF-8");
    }

    if (ev->data.scalar.anchor != NULL
        && gm_yaml_anchor_add(y, ev, (char *) ev->data.scalar.anchor, node, 1)
           != 0)
    {
        json_decref(node);
        return -1;
    }

    if (merge >= 0) {
        return gm_yaml_key(y, ev, node, merge);
    }

    return gm_yaml_add(y, ev, node, 1);
}


static int
gm_yaml_key(gm_yaml_t *y, yaml_event_t *ev, json_t *key, int merge)
{
    gm_yaml_frame_t  *f;

    if (!json_is_string(key)) {
        json_decref(key);
        return gm_yaml_fail(y, ev, "mapping keys must be scalars");
    }

    f = &y->stack[y->depth - 1];
    f->key = key;
    f->merge_key = merge ? 1 : 0;

    return 0;
}


static int
gm_yaml_alias(gm_yaml_t *y, yaml_event_t *ev)
{
    gm_yaml_anchor_t  *a;

    a = gm_yaml_anchor_find(y, (char *) ev->data.alias.anchor);
    if (a == NULL) {
        return gm_yaml_fail(y, ev, "unknown or unfinished anchor \"%.64s\"",
                            (char *) ev->data.alias.anchor);
    }

    /* shared, not copied; still bounded for whoever walks it later */
    y->expanded = gm_sat_add(y->expanded, a->weight);

    if (++y->naliases > GM_MANIFEST_MAX_ALIASES
        || y->expanded > GM_MANIFEST_MAX_EXPANDED)
    {
        return gm_yaml_fail(y, ev, "aliases expand to too many nodes");
    }

    if (gm_yaml_key_expected(y)) {
        return gm_yaml_key(y, ev, json_incref(a->node), 0);
    }

    return gm_yaml_add(y, ev, json_incref(a->node), a->weight);
}


static int
gm_yaml_doc_end(gm_yaml_t *y)
{
    int  rc;

    rc = 0;

    if (y->root != NULL && !json_is_null(y->root)) {
        rc = json_array_append(y->docs, y->root);
    }

    json_decref(y->root);
    y->root = NULL;

    gm_yaml_anchors_clear(y);
    y->naliases = 0;
    y->expanded = 0;

    if (rc != 0) {
        return gm_manifest_fail(y->err, 0, 0, "out of memory");
    }

    return 0;
}


/* an anchor is known once its node ends: no alias can make a cycle */
static int
gm_yaml_anchor_add(gm_yaml_t *y, yaml_event_t *ev, const char *name,
    json_t *node, size_t weight)
{
    gm_yaml_anchor_t  *a;

    if (y->nanchors == GM_MANIFEST_MAX_ANCHORS) {
        return gm_yaml_fail(y, ev, "more than %d anchors",
                            GM_MANIFEST_MAX_ANCHORS);
    }

    a = &y->anchors[y->nanchors];

    a->name = strdup(name);
    if (a->name == NULL) {
        return gm_yaml_fail(y, ev, "out of memory");
    }

    a->node = json_incref(node);
    a->weight = weight;
    y->nanchors++;

    return 0;
}


/* the latest definition of a name wins */
static gm_yaml_anchor_t *
gm_yaml_anchor_find(gm_yaml_t *y, const char *name)
{
    size_t  i;

    for (i = y->nanchors; i > 0; i--) {
        if (strcmp(y->anchors[i - 1].name, name) == 0) {
            return &y->anchors[i - 1];
        }
    }

    return NULL;
}


static void
gm_yaml_anchors_clear(gm_yaml_t *y)
{
    size_t  i;

    for (i = 0; i < y->nanchors; i++) {
        free(y->anchors[i].name);
        json_decref(y->anchors[i].node);
    }

    y->nanchors = 0;
}


static void
gm_yaml_cleanup(gm_yaml_t *y)
{
    gm_yaml_frame_t  *f;

    while (y->depth > 0) {
        f = &y->stack[--y->depth];
        json_decref(f->node);
        json_decref(f->key);
        json_decref(f->merges);
        free(f->anchor);
    }

    json_decref(y->root);
    y->root = NULL;

    gm_yaml_anchors_clear(y);
}


static json_t *
gm_yaml_scalar_value(yaml_event_t *ev)
{
    const char  *s, *tag;
    size_t       len;

    s = (const char *) ev->data.scalar.value;
    len = ev->data.scalar.length;
    tag = (const char *) ev->data.scalar.tag;

    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE
        || (tag != NULL
            && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0)))
    {
        return json_stringn(s, len);
    }

    return gm_yaml_plain(s, len);
}


/* YAML 1.2 core schema; .inf and .nan have no JSON form and stay text */
static json_t *
gm_yaml_plain(const char *s, size_t len)
{
    json_t      *real;
    json_int_t   n;

    if (gm_yaml_is_null(s, len)) {
        return json_null();
    }

    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0
        || strcmp(s, "TRUE") == 0)
    {
        return json_true();
    }

    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0
        || strcmp(s, "FALSE") == 0)
    {
        return json_false();
    }

    if (gm_yaml_int(s, len, &n)) {
        return json_integer(n);
    }

    if (gm_yaml_is_float(s, len)) {
        real = json_real(strtod(s, NULL));
        return real ? real : json_stringn(s, len);
    }

    return json_stringn(s, len);
}


static int
gm_yaml_is_null(const char *s, size_t len)
{
    return len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0
           || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}


/* [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+; out of range is not an int */
static int
gm_yaml_int(const char *s, size_t len, json_int_t *out)
{
    int          base;
    char        *end;
    const char  *digits, *set;

    base = 10;
    digits = s;
    set = "0123456789";

    if (len > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        base = s[1] == 'o' ? 8 : 16;
        digits = s + 2;
        set = s[1] == 'o' ? "01234567" : "0123456789abcdefABCDEF";

    } else if (len > 1 && (s[0] == '-' || s[0] == '+')) {
        digits = s + 1;
    }

    if (*digits == '\0' || strspn(digits, set) != len - (digits - s)) {
        return 0;
    }

    errno = 0;
    *out = strtoll(base == 10 ? s : digits, &end, base);

    return errno == 0 && *end == '\0';
}


/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int
gm_yaml_is_float(const char *s, size_t len)
{
    size_t  i, digits, exp;

    i = (len > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;

    for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        digits++;
    }

    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            digits++;
        }
    }

    if (digits == 0) {
        return 0;
    }

    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;

        if (i < len && (s[i] == '-' || s[i] == '+')) {
            i++;
        }

        for (exp = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            exp++;
        }

        if (exp == 0) {
            return 0;
        }
    }

    return i == len;
}


static size_t
gm_sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}
