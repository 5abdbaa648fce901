/*
 * nginx-gamma: what the status writer's files share (gm_kube_status.c,
 * gm_kube_status_table.c, gm_kube_status_json.c, gm_kube_xmesh.c).
 */

#ifndef GM_KUBE_STATUS_INT_H
#define GM_KUBE_STATUS_INT_H


#include <jansson.h>

#include "gm_kube_status.h"


/* an object we have entries of */
typedef struct {
    uint64_t    key;                  /* 0: a free slot */
    uint64_t    hash;                 /* of the entries */
    uint64_t    written;              /* hash last written or found */
    uint64_t    batch;                /* the last update it was in */
    int64_t     generation;
    int64_t     retry_ms;
    int64_t     cleared_ms;           /* when its entries became [] */
    char       *path;                 /* the object's */
    char       *entries;              /* JSON array of ours */
    unsigned    ancestors:1;
    unsigned    dirty:1;
} gm_status_obj_t;

/* the writer's objects by key (open addressing), under its lock */
typedef struct {
    gm_status_obj_t    *objs;
    size_t              size;         /* a power of two */
    size_t              n;
    size_t              ndirty;
    uint64_t            batch;
    int64_t             now_ms;       /* of this update, set by the writer */
    int64_t             expired_ms;   /* the last gm_status_table_expire() */
    gm_status_delta_t  *delta;        /* the chunks of the last update */
} gm_status_table_t;

/* -1: out of memory */
int gm_status_table_init(gm_status_table_t *t);
void gm_status_table_free(gm_status_table_t *t);
/*
 * The entries of a new snapshot: an object whose entries changed is
 * dirty, one without entries now gets [] and is dirty
 * (gm_kube_status_table.c).
 */
void gm_status_table_update(gm_status_table_t *t,
    const gm_status_list_t *list);
/*
 * A new holder: every object is dirty until checked (those forgotten are
 * not: nothing of ours is left on them).
 */
void gm_status_table_lead(gm_status_table_t *t);
/*
 * The write of key's entries of hash ended: ok, the object says them (or
 * it is gone, a 404); else tried again at retry_ms.  An object whose []
 * is written is forgotten (its key is new if it comes back).
 */
void gm_status_table_done(gm_status_table_t *t, uint64_t key, uint64_t hash,
    int ok, int64_t retry_ms);
/*
 * Not the holder: an object whose entries have been [] for grace_ms is
 * forgotten (the holder wrote that [] long ago), at most every grace_ms / 2;
 * without it a process that never holds keeps every route it ever saw.
 */
void gm_status_table_expire(gm_status_table_t *t, int64_t grace_ms);
/* the slot holding key, or the free slot where it belongs */
gm_status_obj_t *gm_status_table_slot(gm_status_table_t *t, uint64_t key);

/*
 * Our entries of an object as JSON (an array, no lastTransitionTime);
 * NULL: out of memory.
 */
char *gm_status_entries_json(const gm_status_entry_t *e, size_t n);

/*
 * Puts our entries into obj's status (others' entries kept as they are,
 * ours carry their lastTransitionTime while their status stays).
 * Returns 1 when obj changed and must be written, 0 when it already says
 * that, -1 on bad input.
 */
int gm_status_merge(json_t *obj, const char *field, const char *entries);

/* the XMesh: starts what is due; 1 while it is not done */
typedef struct gm_status_xmesh_s  gm_status_xmesh_t;

gm_status_xmesh_t *gm_status_xmesh_create(gm_kube_client_t *c,
    const gm_log_t *log);
void gm_status_xmesh_destroy(gm_status_xmesh_t *x);
/* from the start again: a new holder checks it */
void gm_status_xmesh_reset(gm_status_xmesh_t *x);
int gm_status_xmesh_run(gm_status_xmesh_t *x);


#endif /* GM_KUBE_STATUS_INT_H */
