/*
 * nginx-gamma: rejected objects: the log lines that name an object, their
 * reason classes, and the store's notes that live until the next version.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "gm_reject.h"


typedef struct {
    int     n;
    char    last[512];
} seen_t;


static void
seen_log(void *data, gm_log_level_e level, const char *msg)
{
    seen_t  *s = data;

    (void) level;
    s->n++;
    snprintf(s->last, sizeof(s->last), "%s", msg);
}


static void
count_reject(void *data, const gm_reject_t *r)
{
    (void) r;
    (*(int *) data)++;
}


static const char *
reason_of(const char *msg)
{
    gm_reject_t  r;

    if (gm_reject_parse(msg, &r) != 0) {
        return NULL;
    }

    return gm_reject_reason_name(r.reason);
}


static void
test_parse(void)
{
    gm_reject_t  r;

    is_int(gm_reject_parse("HTTPRoute faces/broken rejected: spec.parentRefs:"
                           " must be an array", &r), 0, "a rejection line");
    is_int(r.kind, GM_KIND_HTTPROUTE, "its kind");
    ok(r.ns.len == 5 && memcmp(r.ns.data, "faces", 5) == 0, "its namespace");
    ok(r.name.len == 6 && memcmp(r.name.data, "broken", 6) == 0, "its name");

    is_int(gm_reject_parse("HTTPRoute faces/r/rule0: backendRef Service "
                           "faces/x:80: no such Service or port, its share "
                           "gets 500", &r), 0, "a rule label names the route");
    ok(r.name.len == 1 && r.name.data[0] == 'r', "the route of the rule");

    is_str(reason_of("Service a/b rejected: spec.ports: is required"),
           "invalid", "rejected: invalid");
    is_str(reason_of("HTTPRoute a/b rule 0 ignored: bad timeout"), "rule",
           "a rule left out");
    is_str(reason_of("HTTPRoute a/b: parentRef Service a/c does not exist, "
                     "not attached"), "not_attached", "not attached");
    is_str(reason_of("HTTPRoute a/b/rule0: backendRef Service a/c:80 is an "
                     "ExternalName Service, its share gets 500"), "backend",
           "a backendRef");
    is_str(reason_of("Service a/b: ClusterIP 10.0.0.1 port 80 is also "
                     "claimed by Service a/c; a/c keeps it"), "conflict",
           "a ClusterIP conflict");

    ok(gm_reject_parse("snapshot: out of memory", &r) != 0,
       "a line naming no object");
    ok(gm_reject_parse("Gateway a/b rejected: x", &r) != 0,
       "a kind that is not ours");
    ok(gm_reject_parse("Service ab rejected: x", &r) != 0,
       "no namespace/name");
}


static void
test_tap_and_notes(void)
{
    int              n;
    seen_t           seen;
    gm_log_t         next;
    gm_store_t      *store;
    gm_reject_tap_t  tap;

    memset(&seen, 0, sizeof(seen_t));
    next.handler = seen_log;
    next.data = &seen;

    store = gm_store_create();

    gm_reject_tap_init(&tap, &next);
    gm_log(&tap.log, GM_LOG_ERR, "HTTPRoute faces/r rejected: spec: %s",
           "must be an object");
    gm_log(&tap.log, GM_LOG_INFO, "HTTPRoute faces/r: only informing");
    is_int(seen.n, 2, "every line goes on to the log");
    is_str(seen.last, "HTTPRoute faces/r: only informing", "as it was");
    is_int(tap.list.nitems, 1, "the tap keeps the warning, not the info");

    is_int(gm_reject_tap_note(&tap, store), 1, "noted in the store");
    is_int(tap.list.nitems, 0, "the tap is empty again");

    n = 0;
    gm_store_foreach_reject(store, count_reject, &n);
    is_int(n, 1, "one rejection");

    gm_log(&tap.log, GM_LOG_ERR, "HTTPRoute faces/r rejected: spec: other");
    gm_reject_tap_note(&tap, store);
    n = 0;
    gm_store_foreach_reject(store, count_reject, &n);
    is_int(n, 1, "a new reason replaces the old one");

    gm_store_put(store, fx_route("faces", "r", 0));
    n = 0;
    gm_store_foreach_reject(store, count_reject, &n);
    is_int(n, 0, "the next version clears it");

    gm_log(&tap.log, GM_LOG_ERR, "Service faces/s rejected: spec: x");
    gm_reject_tap_note(&tap, store);
    is_int(gm_store_delete(store, GM_KIND_SERVICE, "faces", "s"), 1,
           "deleting a key with only a rejection changes the store");
    n = 0;
    gm_store_foreach_reject(store, count_reject, &n);
    is_int(n, 0, "and drops it");

    gm_log(&tap.log, GM_LOG_WARN, "Service faces/t rejected: spec: x");
    gm_reject_tap_note(&tap, store);
    gm_reject_tap_free(&tap);
    gm_store_destroy(store);
    ok(1, "a store with notes is destroyed (leaks: see ASan)");
}


int
main(void)
{
    test_parse();
    test_tap_and_notes();

    return done_testing();
}
