/*
 * nginx-gamma: rejected objects and their reasons, for the status page.
 * The parser and the compiler report a bad object by one log line that
 * starts with "<Kind> <ns>/<name>"; a tap on their gm_log_t keeps those
 * lines as a list while still logging them.
 */

#ifndef GM_REJECT_H
#define GM_REJECT_H


#include "gm_log.h"
#include "gm_stats.h"
#include "gm_store.h"


typedef struct {
    gm_reject_t   *items;             /* strings from malloc */
    size_t         nitems;
    size_t         cap;
} gm_reject_list_t;

typedef struct {
    gm_log_t           log;           /* give this one to the parser */
    const gm_log_t    *next;          /* where the lines go on to */
    gm_reject_list_t   list;
} gm_reject_tap_t;


void gm_reject_tap_init(gm_reject_tap_t *tap, const gm_log_t *next);
void gm_reject_tap_free(gm_reject_tap_t *tap);

/*
 * After a parse: notes the tapped reasons in the store next to the
 * object's key (gm_store_reject), then empties the tap.  Returns 1 when
 * it noted something.
 */
int gm_reject_tap_note(gm_reject_tap_t *tap, gm_store_t *store);

/* 0 when msg names an object; r's strings then point into msg */
int gm_reject_parse(const char *msg, gm_reject_t *r);

int gm_reject_list_add(gm_reject_list_t *list, const gm_reject_t *r);
void gm_reject_list_free(gm_reject_list_t *list);


#endif /* GM_REJECT_H */
