/*
 * nginx-gamma: what the status writer's files share (gm_kube_status.c,
 * gm_kube_status_json.c, gm_kube_xmesh.c).
 */

#ifndef GM_KUBE_STATUS_INT_H
#define GM_KUBE_STATUS_INT_H


#include <jansson.h>

#include "gm_kube_status.h"


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
