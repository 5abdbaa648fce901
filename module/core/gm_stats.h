/*
 * nginx-gamma: what the source and the compiler say about one snapshot,
 * for metrics and the status page.  The watcher fills it once per
 * published snapshot; it is copied into the snapshot's arena, so every
 * reader of a snapshot sees the state that built it.
 */

#ifndef GM_STATS_H
#define GM_STATS_H


#include <stddef.h>
#include <stdint.h>

#include "gm_object.h"
#include "gm_str.h"


/* why an object is (partly) out of the mesh; a bounded metric label */
typedef enum {
    GM_REJECT_INVALID = 0,            /* refused whole: not in the mesh */
    GM_REJECT_RULE,                   /* accepted, a rule or match left out */
    GM_REJECT_NOT_ATTACHED,           /* a parentRef names no Service port */
    GM_REJECT_BACKEND,                /* a backendRef cannot be served */
    GM_REJECT_CONFLICT,               /* a ClusterIP:port claimed twice */
    GM_REJECT_OTHER,
    GM_REJECT_MAX
} gm_reject_reason_e;


typedef struct {
    gm_kind_e            kind;
    gm_reject_reason_e   reason;
    gm_str_t             ns;
    gm_str_t             name;
    gm_str_t             message;     /* the log line that said so */
} gm_reject_t;


typedef struct gm_source_stats_s {
    /* "file" or "kubernetes": no pointer, the .so may move on a reload */
    char                 source[12];
    uint64_t             generation;
    unsigned             synced:1;        /* every input read once */
    int64_t              sync_time_ms;    /* unix ms this one was built */
    int64_t              first_sync_ms;   /* unix ms of generation 1 */
    uint64_t             compile_us;
    size_t               snapshot_bytes;
    size_t               objects[GM_KIND_MAX];   /* in the store */
    uint64_t             watch_restarts;  /* Kubernetes: watches reopened */
    uint64_t             relists;         /* Kubernetes: lists after 410 */
    size_t               rejected[GM_KIND_MAX][GM_REJECT_MAX];
    gm_reject_t         *rejects;
    size_t               nrejects;
} gm_source_stats_t;


const char *gm_reject_reason_name(gm_reject_reason_e reason);


#endif /* GM_STATS_H */
