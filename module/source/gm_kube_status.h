/*
 * nginx-gamma: the status writer.  With gamma_status_writer on, each
 * nginx instance's watcher starts one: a thread of its own, with its own
 * API client, that competes for the status Lease and, while it holds it,
 * writes the compiler's conditions into status.parents[] (routes) and
 * status.ancestors[] (policies) through the /status subresource, and the
 * XMesh object's supportedFeatures.  Routing never waits on it.
 */

#ifndef GM_KUBE_STATUS_H
#define GM_KUBE_STATUS_H


#include "gm_kube_lease.h"
#include "gm_kube_source.h"
#include "gm_route_status.h"


#define GM_STATUS_LEASE_NAME  "nginx-gamma-status"
#define GM_STATUS_XMESH_NAME  "nginx-gamma"
/* a write that failed (not a 409) is tried again after this */
#define GM_STATUS_RETRY_MS    1000
/* not the holder: a route's [] is forgotten this long after (the holder's) */
#define GM_STATUS_FORGET_MS   600000
/* 409s in a row before an object waits for the retry time */
#define GM_STATUS_CONFLICTS   5


typedef struct gm_status_writer_s  gm_status_writer_t;

typedef struct {
    const gm_kube_conf_t  *kube;      /* url, token, CA */
    const char            *lease_ns;
    const char            *lease_name;
    gm_kube_lease_conf_t   lease;     /* ns, name and change are set here */
    gm_log_t               log;
} gm_status_writer_conf_t;


gm_status_writer_t *gm_status_writer_start(
    const gm_status_writer_conf_t *conf);
/* the entries of a new snapshot (the watcher thread; copies what it needs) */
void gm_status_writer_update(gm_status_writer_t *sw,
    const gm_status_list_t *list);
/* releases the Lease if held, stops the thread, frees everything */
void gm_status_writer_stop(gm_status_writer_t *sw);


#endif /* GM_KUBE_STATUS_H */
