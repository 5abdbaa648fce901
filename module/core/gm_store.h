/*
 * nginx-gamma: the object store, keyed by kind, namespace and name.
 * Owned by the watcher thread; not thread-safe.
 */

#ifndef GM_STORE_H
#define GM_STORE_H


#include "gm_object.h"


typedef struct gm_store_s  gm_store_t;

typedef void (*gm_store_iter_pt)(void *data, gm_object_t *obj);


gm_store_t *gm_store_create(void);
void gm_store_destroy(gm_store_t *store);

/* takes ownership; replaces (and frees) an object with the same key */
int gm_store_put(gm_store_t *store, gm_object_t *obj);
/* returns 1 if an object was deleted, 0 if there was none */
int gm_store_delete(gm_store_t *store, gm_kind_e kind, const char *ns,
    const char *name);
gm_object_t *gm_store_get(gm_store_t *store, gm_kind_e kind, const char *ns,
    const char *name);
size_t gm_store_count(gm_store_t *store, gm_kind_e kind);
/* unspecified order; the callback must not modify the store */
void gm_store_foreach(gm_store_t *store, gm_kind_e kind, gm_store_iter_pt cb,
    void *data);
/* bumped by every put and delete */
uint64_t gm_store_version(gm_store_t *store);


#endif /* GM_STORE_H */
