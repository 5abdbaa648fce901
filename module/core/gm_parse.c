/*
 * nginx-gamma: the context of parsing one object: where in the object
 * the parser is (the field path of error lines), how a rejection or an
 * invalid rule is reported, and allocation in the object's memory.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gm_parse_int.h"


/* the alignment of structures in an object's block */
#define GM_PARSE_ALIGN  8


static void *gm_parse_get(gm_parse_ctx_t *ctx, size_t size, size_t align);


/* names most objects write out: pointed to, never copied */
static const gm_str_t  gm_common_names[] = {
    { 7, (char *) "Service" },
    { 7, (char *) "Gateway" },
    { 4, (char *) "http" },
    { 5, (char *) "https" },
    { 4, (char *) "grpc" },
    { 4, (char *) "core" },
    { 7, (char *) "default" },
    { sizeof(GM_GATEWAY_GROUP) - 1, (char *) GM_GATEWAY_GROUP }
};


void
gm_parse_ctx_init(gm_parse_ctx_t *ctx, gm_object_t *obj, const gm_log_t *log)
{
    memset(ctx, 0, sizeof(gm_parse_ctx_t));

    ctx->arena = gm_object_arena(obj);
    ctx->block = ctx->arena ? NULL : (char *) obj->body
                                   + gm_object_body_size(obj);
    ctx->block_size = ctx->arena ? 0 : obj->size;
    ctx->log = log;
    ctx->kind = obj->body->meta.kind;
    ctx->meta = &obj->body->meta;
    strcpy(ctx->ns, "default");
    strcpy(ctx->name, "?");
}


size_t
gm_path_push(gm_parse_ctx_t *ctx, const char *fmt, ...)
{
    int      n;
    char     part[GM_FIELD_PATH_MAX];
    size_t   old, room;
    va_list  args;

    old = ctx->plen;
    room = sizeof(ctx->path) - old;

    va_start(args, fmt);
    vsnprintf(part, sizeof(part), fmt, args);
    va_end(args);

    n = snprintf(ctx->path + old, room, "%s%s",
                 (old && part[0] != '[') ? "." : "", part);

    if (n > 0) {
        ctx->plen += (size_t) n < room ? (size_t) n : room - 1;
    }

    return old;
}


void
gm_path_pop(gm_parse_ctx_t *ctx, size_t old)
{
    ctx->plen = old;
    ctx->path[old] = '\0';
}


/* a path cut at the end of buf still says where */
void
gm_path_format(gm_parse_ctx_t *ctx, const char *field, char *buf, size_t size)
{
    size_t  n, len;

    if (field == NULL) {
        field = "";
    }

    n = ctx->plen < size - 1 ? ctx->plen : size - 1;
    memcpy(buf, ctx->path, n);

    if (n && field[0] && field[0] != '[' && n < size - 1) {
        buf[n++] = '.';
    }

    len = strlen(field);
    len = len < size - 1 - n ? len : size - 1 - n;
    memcpy(buf + n, field, len);
    buf[n + len] = '\0';
}


int
gm_reject(gm_parse_ctx_t *ctx, const char *field, const char *fmt, ...)
{
    char     where[GM_FIELD_PATH_MAX], reason[GM_REASON_MAX];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(reason, sizeof(reason), fmt, args);
    va_end(args);

    gm_path_format(ctx, field, where, sizeof(where));

    gm_log(ctx->log, GM_LOG_ERR, "%s %s/%s rejected: %s: %s",
           gm_kind_name(ctx->kind), ctx->ns, ctx->name, where, reason);

    return -1;
}


/* the API server accepts this rule but we cannot serve it */
void
gm_rule_invalid(gm_parse_ctx_t *ctx, const char *fmt, ...)
{
    char                 reason[GM_REASON_MAX];
    gm_str_t             s;
    va_list              args;
    gm_http_rule_ext_t  *ext;

    if (ctx->rule == NULL) {
        return;
    }

    ctx->rule->invalid = 1;

    if (ctx->rule_reason[ctx->rule_index] != NULL) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(reason, sizeof(reason), fmt, args);
    va_end(args);

    s.data = gm_parse_strdup(ctx, reason, strlen(reason));
    ext = (s.data != NULL) ? gm_rule_ext_get(ctx, ctx->rule) : NULL;

    if (ext != NULL) {
        ctx->rule_reason[ctx->rule_index] = s.data;
        ext->reason = s.data;
    }
}


void
gm_rules_report(gm_parse_ctx_t *ctx, gm_httproute_t *route)
{
    size_t       i;
    const char  *reason;

    for (i = 0; i < route->nrules; i++) {
        if (!route->rules[i].invalid) {
            continue;
        }

        reason = ctx->rule_reason[i] ? ctx->rule_reason[i] : "out of memory";

        gm_log(ctx->log, GM_LOG_WARN, "%s %s/%s rule %zu ignored: %s",
               gm_kind_name(ctx->kind), ctx->ns, ctx->name, i, reason);
    }
}


/* user text in a log line: printable ASCII only, and bounded */
void
gm_sanitize(char *dst, size_t size, const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len && i + 1 < size; i++) {
        c = (unsigned char) s[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }

    dst[i] = '\0';

    if (i < len && size > 4) {
        memcpy(dst + size - 4, "...", 4);
    }
}


void *
gm_alloc(gm_parse_ctx_t *ctx, size_t n, size_t size)
{
    void  *p;

    if (n == 0) {
        n = 1;
    }

    if (n > SIZE_MAX / size) {
        gm_reject(ctx, NULL, "out of memory");
        return NULL;
    }

    p = gm_parse_get(ctx, n * size, GM_PARSE_ALIGN);
    if (p == NULL) {
        gm_reject(ctx, NULL, "out of memory");
        return NULL;
    }

    memset(p, 0, n * size);

    return p;
}


char *
gm_parse_strdup(gm_parse_ctx_t *ctx, const char *s, size_t len)
{
    char      *p;
    gm_str_t   str;

    if (ctx->arena != NULL) {
        if (gm_arena_strdup(ctx->arena, &str, s, len) != 0) {
            return NULL;
        }

        /* what the block will take: the arena shares empty strings too */
        ctx->sused += len ? len + 1 : 0;

        return str.data;
    }

    if (len == 0) {
        return (char *) "";
    }

    /* strings fill the block from its end, after the last structure */
    if (ctx->block_size - ctx->used - ctx->sused < len + 1) {
        return NULL;
    }

    ctx->sused += len + 1;
    p = ctx->block + ctx->block_size - ctx->sused;

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


int
gm_strdup(gm_parse_ctx_t *ctx, gm_str_t *out, const char *s, size_t len)
{
    /* never written to: every empty string can be this one */
    static char  empty[1];

    if (len == 0) {
        out->data = empty;
        out->len = 0;
        return 0;
    }

    out->data = gm_parse_strdup(ctx, s, len);
    if (out->data == NULL) {
        return gm_reject(ctx, NULL, "out of memory");
    }

    out->len = len;

    return 0;
}


/* s is static (a literal, a table's): pointed to, not copied */
int
gm_str_set(gm_parse_ctx_t *ctx, gm_str_t *out, const char *s)
{
    (void) ctx;

    out->data = (char *) s;
    out->len = strlen(s);

    return 0;
}


/*
 * Both parses of a document (gm_object_parse()) make the same copies in
 * the same order, so they share the same names and the block still fits.
 */
int
gm_name_dup(gm_parse_ctx_t *ctx, gm_str_t *out, const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < gm_nelems(gm_common_names); i++) {
        if (gm_common_names[i].len == len
            && memcmp(gm_common_names[i].data, s, len) == 0)
        {
            *out = gm_common_names[i];
            return 0;
        }
    }

    for (i = 0; i < ctx->nnames; i++) {
        if (ctx->names[i].len == len
            && memcmp(ctx->names[i].data, s, len) == 0)
        {
            *out = ctx->names[i];
            return 0;
        }
    }

    if (gm_strdup(ctx, out, s, len) != 0) {
        return -1;
    }

    if (len != 0 && ctx->nnames < GM_PARSE_NAMES) {
        ctx->names[ctx->nnames++] = *out;
    }

    return 0;
}


/*
 * The block is laid out as the arena's memory was counted: structures on
 * 8 bytes (no member needs more) from its start, strings packed from its
 * end (gm_parse_strdup()).  The same allocations in the same order fill
 * it exactly.
 */
static void *
gm_parse_get(gm_parse_ctx_t *ctx, size_t size, size_t align)
{
    void    *p;
    size_t   off;

    off = (ctx->used + align - 1) & ~(align - 1);

    if (ctx->arena == NULL) {
        if (off > ctx->block_size - ctx->sused
            || ctx->block_size - ctx->sused - off < size)
        {
            return NULL;
        }

        p = ctx->block + off;

    } else {
        p = gm_arena_alloc(ctx->arena, size);
    }

    if (p != NULL) {
        ctx->used = off + size;
    }

    return p;
}
