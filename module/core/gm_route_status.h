/*
 * nginx-gamma: the status conditions the compiler computes, one entry
 * per (route, parentRef to a Service) and per (policy, ancestor), kept in
 * the snapshot (gm_route_status.c).  The Kubernetes status writer and the
 * file source's log read them; nothing here knows JSON or the API.
 */

#ifndef GM_ROUTE_STATUS_H
#define GM_ROUTE_STATUS_H


#include <stdint.h>

#include "gm_httproute.h"
#include "gm_log.h"


#define GM_STATUS_CONTROLLER      "nginx-gamma.dev/mesh"
#define GM_STATUS_MAX_CONDITIONS  3
#define GM_STATUS_MESSAGE_MAX     1024


struct gm_snapshot_s;

typedef struct {
    const char        *type;          /* Accepted, ResolvedRefs, ... */
    const char        *reason;
    /*
     * never empty; NULL: "Route accepted for Service ns/name", the
     * entry's parentRef, made by gm_condition_message() (memory, issue 12)
     */
    const char        *message;
    uint32_t           message_len;
    unsigned           status:1;      /* 1: "True", 0: "False" */
} gm_condition_t;

/*
 * One entry of status.parents[] (routes) or status.ancestors[]
 * (policies); ref is the parentRef or ancestorRef echoed back.  The
 * conditions are an array of their own, as long as there are conditions
 * (at most GM_STATUS_MAX_CONDITIONS).
 */
typedef struct {
    const char        *kind;          /* "HTTPRoute", "GRPCRoute", a policy */
    gm_str_t           ns;
    gm_str_t           name;
    const char        *resource_version;  /* "" when absent */
    int64_t            generation;
    const gm_condition_t  *conds;
    gm_parent_ref_t    ref;
    /* counts and flags last: no padding between them (memory, issue 12) */
    uint32_t           index;         /* of the ref in the object */
    uint16_t           nconds;
    unsigned           ancestors:1;   /* status.ancestors[], a policy */
} gm_status_entry_t;

/*
 * The entries of a snapshot, sorted by kind, namespace, name, index, are
 * kept in chunks of about GM_STATUS_CHUNK entries, an object's entries in
 * one chunk: a patch copies the chunks it changes and the directory, the
 * others are the previous generation's (issue 12: a Kubernetes route's
 * every PUT changes its entry, its resourceVersion).
 */
#define GM_STATUS_CHUNK  64

typedef struct {
    const gm_status_entry_t  *entries;
    uint32_t                  n;
    uint32_t                  first;  /* the index of entries[0] */
    /*
     * Given by the incremental compiler to a chunk it made, kept by the
     * patches that share it, never given again (a released generation's
     * addresses are reused): a reader knows the chunks it walked before
     * (gm_status_delta_t).  0: not numbered, never the same.
     */
    uint64_t                  serial;
} gm_status_chunk_t;

typedef struct {
    const gm_status_chunk_t  *chunks; /* a new directory: something changed */
    size_t                    nchunks;
    size_t                    n;      /* entries */
} gm_status_list_t;

/*
 * What an object's entries were when last written (or logged), by a hash
 * of their content: an unchanged object is not written again.
 */
typedef struct gm_status_seen_s  gm_status_seen_t;


void gm_snapshot_status(const struct gm_snapshot_s *s,
    gm_status_list_t *list);

/*
 * The message of condition c of entry e in *msg: the condition's own, or
 * one made in buf (GM_STATUS_MESSAGE_MAX bytes).
 */
void gm_condition_message(const gm_status_entry_t *e, const gm_condition_t *c,
    char *buf, gm_str_t *msg);

/* entry i (< list->n); an object's entries follow it in memory */
const gm_status_entry_t *gm_status_at(const gm_status_list_t *list,
    size_t i);
/* the entries of one object start at i; returns how many there are */
size_t gm_status_object_len(const gm_status_list_t *list, size_t i);
/*
 * Cuts n sorted entries into chunks of about GM_STATUS_CHUNK at objects'
 * boundaries, numbered from first; returns how many (chunks NULL: counts).
 */
size_t gm_status_chunks(const gm_status_entry_t *e, size_t n,
    gm_status_chunk_t *chunks, size_t first);
/* a hash of n entries' content (not of their resourceVersion) */
uint64_t gm_status_hash(const gm_status_entry_t *e, size_t n);

gm_status_seen_t *gm_status_seen_create(void);
void gm_status_seen_destroy(gm_status_seen_t *seen);
/* 1 when the object's entries differ from what was recorded */
int gm_status_seen_changed(gm_status_seen_t *seen,
    const gm_status_entry_t *e, size_t n);
/* records them; -1: out of memory */
int gm_status_seen_set(gm_status_seen_t *seen, const gm_status_entry_t *e,
    size_t n);
/* forgets everything (a new leader checks every object again) */
void gm_status_seen_clear(gm_status_seen_t *seen);

/*
 * Logs the entries of objects whose status changed since the last call
 * (the chunks of the last list are not read again).
 */
void gm_status_log_changes(gm_status_seen_t *seen,
    const gm_status_list_t *list, const gm_log_t *log);

/*
 * The chunks of the list a reader walked last, by serial, with the keys
 * of their objects: a chunk of the next list that is one of them has the
 * same entries, its objects are not walked again (issue 12: the status
 * writer hashed every object of every snapshot, 2-4 ms at 10,000 routes,
 * 0.06-0.09 ms after a route patch now).  A reader reads the snapshots
 * of one incremental compiler.
 */
typedef struct gm_status_delta_s  gm_status_delta_t;

typedef struct {
    /* an object of a chunk not walked last: its key (not 0), 0: failed */
    uint64_t  (*object)(void *data, const gm_status_entry_t *e, size_t n);
    /*
     * Then each object of a chunk walked last that the list no longer
     * has (object() may have seen it in another); -1: failed.  NULL: no
     * keys are kept.
     */
    int       (*gone)(void *data, uint64_t key);
    void       *data;
} gm_status_walk_t;

gm_status_delta_t *gm_status_delta_create(void);
void gm_status_delta_destroy(gm_status_delta_t *d);
/* the next walk reads every object */
void gm_status_delta_reset(gm_status_delta_t *d);
/*
 * Walks the objects of the chunks of list that the last walk did not
 * read, in order, then gone() the objects of its chunks list does not
 * have.  Returns 1 when it read every object and did not call gone():
 * the first walk, and the one after a reset or a failure (the reader
 * compares with all it has), 0 when it read the new chunks only.
 */
int gm_status_delta_walk(gm_status_delta_t *d, const gm_status_list_t *list,
    const gm_status_walk_t *walk);


#endif /* GM_ROUTE_STATUS_H */
