/*
 * nginx-gamma: rejected objects and their reasons, taken from the lines
 * the parser and the compiler log about them.
 */

#include <stdlib.h>
#include <string.h>

#include "gm_reject.h"


static void gm_reject_tap_handler(void *data, gm_log_level_e level,
    const char *msg);
static gm_reject_reason_e gm_reject_classify(const char *rest);
static int gm_reject_strdup(gm_str_t *dst, const char *src, size_t len);


static const char  *gm_reject_reason_names[] = {
    "invalid", "rule", "not_attached", "backend", "conflict", "other"
};


const char *
gm_reject_reason_name(gm_reject_reason_e reason)
{
    return (unsigned) reason < GM_REJECT_MAX
           ? gm_reject_reason_names[reason] : "other";
}


void
gm_reject_tap_init(gm_reject_tap_t *tap, const gm_log_t *next)
{
    memset(tap, 0, sizeof(gm_reject_tap_t));

    tap->log.handler = gm_reject_tap_handler;
    tap->log.data = tap;
    tap->next = next;
}


void
gm_reject_tap_free(gm_reject_tap_t *tap)
{
    gm_reject_list_free(&tap->list);
}


int
gm_reject_tap_note(gm_reject_tap_t *tap, gm_store_t *store)
{
    size_t        i;
    int           noted;
    gm_reject_t  *r;

    noted = 0;

    /* a key's new reasons replace the ones of its previous version */
    for (i = 0; i < tap->list.nitems; i++) {
        r = &tap->list.items[i];
        noted |= gm_store_unreject(store, r->kind, r->ns.data, r->ns.len,
                                   r->name.data, r->name.len);
    }

    for (i = 0; i < tap->list.nitems; i++) {
        if (gm_store_reject(store, &tap->list.items[i]) == 0) {
            noted = 1;
        }
    }

    gm_reject_list_free(&tap->list);

    return noted;
}


/* warnings and errors that name an object are kept; everything goes on */
static void
gm_reject_tap_handler(void *data, gm_log_level_e level, const char *msg)
{
    gm_reject_tap_t  *tap = data;

    gm_reject_t  r;

    if (level <= GM_LOG_NOTICE && gm_reject_parse(msg, &r) == 0) {
        (void) gm_reject_list_add(&tap->list, &r);
    }

    if (tap->next && tap->next->handler) {
        tap->next->handler(tap->next->data, level, msg);
    }
}


/* "<Kind> <ns>/<name>" then " ", ":" or "/" (a rule label goes on) */
int
gm_reject_parse(const char *msg, gm_reject_t *r)
{
    int          k;
    size_t       len;
    const char  *p, *kind;

    p = strchr(msg, ' ');
    if (p == NULL) {
        return -1;
    }

    for (k = 0; k < GM_KIND_MAX; k++) {
        kind = gm_kind_name(k);
        len = strlen(kind);

        if ((size_t) (p - msg) == len && memcmp(msg, kind, len) == 0) {
            break;
        }
    }

    if (k == GM_KIND_MAX) {
        return -1;
    }

    r->kind = (gm_kind_e) k;
    r->ns.data = (char *) ++p;
    r->ns.len = strcspn(p, "/ :");

    if (r->ns.len == 0 || p[r->ns.len] != '/') {
        return -1;
    }

    p += r->ns.len + 1;
    r->name.data = (char *) p;
    r->name.len = strcspn(p, "/ :");

    if (r->name.len == 0) {
        return -1;
    }

    r->message.data = (char *) msg;
    r->message.len = strlen(msg);
    r->reason = gm_reject_classify(p + r->name.len);

    return 0;
}


/* the words the parser and compiler use, kept in one place */
static gm_reject_reason_e
gm_reject_classify(const char *rest)
{
    if (strncmp(rest, " rejected: ", 11) == 0) {
        return GM_REJECT_INVALID;
    }

    if (strstr(rest, "not attached")) {
        return GM_REJECT_NOT_ATTACHED;
    }

    if (strstr(rest, "also claimed")) {
        return GM_REJECT_CONFLICT;
    }

    if (strstr(rest, "backendRef")) {
        return GM_REJECT_BACKEND;
    }

    if (strstr(rest, " ignored") || strstr(rest, "left out")) {
        return GM_REJECT_RULE;
    }

    return GM_REJECT_OTHER;
}


int
gm_reject_list_add(gm_reject_list_t *list, const gm_reject_t *r)
{
    size_t        cap;
    gm_reject_t  *items, *dst;

    if (list->nitems == list->cap) {
        cap = list->cap ? list->cap * 2 : 8;

        items = realloc(list->items, cap * sizeof(gm_reject_t));
        if (items == NULL) {
            return -1;
        }

        list->items = items;
        list->cap = cap;
    }

    dst = &list->items[list->nitems];
    *dst = *r;
    dst->ns.data = NULL;
    dst->name.data = NULL;

    if (gm_reject_strdup(&dst->ns, r->ns.data, r->ns.len) != 0
        || gm_reject_strdup(&dst->name, r->name.data, r->name.len) != 0
        || gm_reject_strdup(&dst->message, r->message.data, r->message.len)
           != 0)
    {
        free(dst->ns.data);
        free(dst->name.data);
        return -1;
    }

    list->nitems++;

    return 0;
}


void
gm_reject_list_free(gm_reject_list_t *list)
{
    size_t  i;

    for (i = 0; i < list->nitems; i++) {
        free(list->items[i].ns.data);
        free(list->items[i].name.data);
        free(list->items[i].message.data);
    }

    free(list->items);
    memset(list, 0, sizeof(gm_reject_list_t));
}


static int
gm_reject_strdup(gm_str_t *dst, const char *src, size_t len)
{
    dst->data = malloc(len + 1);
    if (dst->data == NULL) {
        return -1;
    }

    memcpy(dst->data, src, len);
    dst->data[len] = '\0';
    dst->len = len;

    return 0;
}
