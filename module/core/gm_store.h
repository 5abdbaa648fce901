/*
 * nginx-gamma: the object store, keyed by kind, namespace and name.
 * Owned by the watcher thread; not thread-safe.
 */

#ifndef GM_STORE_H
#define GM_STORE_H


#include "gm_object.h"
#include "gm_stats.h"


typedef struct gm_store_s  gm_store_t;

typedef void (*gm_store_iter_pt)(void *data, gm_object_t *obj);
typedef void (*gm_store_reject_iter_pt)(void *data, const gm_reject_t *r);
/* a put or a delete: old is the object replaced or dropped, obj the new */
typedef void (*gm_store_watch_pt)(void *data, const gm_object_t *old,
    const gm_object_t *obj);


gm_store_t *gm_store_create(void);
void gm_store_destroy(gm_store_t *store);

/* takes ownership; replaces (and frees) an object with the same key */
int gm_store_put(gm_store_t *store, gm_object_t *obj);
/* returns 1 if an object or a rejection was dropped, 0 if there was none */
int gm_store_delete(gm_store_t *store, gm_kind_e kind, const char *ns,
    const char *name);
gm_object_t *gm_store_get(gm_store_t *store, gm_kind_e kind, const char *ns,
    const char *name);
size_t gm_store_count(gm_store_t *store, gm_kind_e kind);
/* unspecified order; the callback must not modify the store */
void gm_store_foreach(gm_store_t *store, gm_kind_e kind, gm_store_iter_pt cb,
    void *data);
/*
 * Why the object of this key was rejected (strings copied), until its
 * next put or delete: a key may have rejections and no object.  Returns
 * 0 when noted.
 */
int gm_store_reject(gm_store_t *store, const gm_reject_t *r);
/* drops the rejections of a key; returns 1 when there were some */
int gm_store_unreject(gm_store_t *store, gm_kind_e kind, const char *ns,
    size_t ns_len, const char *name, size_t name_len);
void gm_store_foreach_reject(gm_store_t *store, gm_store_reject_iter_pt cb,
    void *data);

/*
 * Tells cb of every later put and delete, before the old object is freed
 * (the incremental compiler, gm_compile_incr.c); cb NULL: no more.
 */
void gm_store_watch(gm_store_t *store, gm_store_watch_pt cb, void *data);

/* bumped by every put and delete */
uint64_t gm_store_version(gm_store_t *store);

/* the operator's nginx.conf defaults and overrides the compiler merges */
void gm_store_set_operator(gm_store_t *store, const gm_operator_conf_t *conf);
const gm_operator_conf_t *gm_store_operator(gm_store_t *store);


#endif /* GM_STORE_H */
