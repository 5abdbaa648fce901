/*
 * nginx-gamma: the watcher thread.  It owns the source, the store and the
 * compiler, and hands every new snapshot to a publish callback.
 */

#ifndef GM_WATCHER_H
#define GM_WATCHER_H


#include "gm_kube_source.h"
#include "gm_kube_status.h"
#include "gm_log.h"
#include "gm_snapshot.h"


typedef struct gm_watcher_s  gm_watcher_t;

/*
 * Called in the watcher thread; takes over the snapshot's reference.  s is
 * NULL when a build ran out of memory (the allocator's, possibly a full
 * shared memory zone): the previous snapshot stays.
 */
typedef void (*gm_publish_pt)(void *data, gm_snapshot_t *s);

typedef struct {
    const char            *file_path;     /* the file source, or */
    const gm_kube_conf_t  *kube;          /* the Kubernetes API source */
    gm_log_t               log;
    gm_publish_pt          publish;
    void                  *publish_data;
    /* the least time between two snapshots (a change after one waits) */
    unsigned               interval_ms;
    /* where snapshots are built; NULL: malloc() */
    const gm_allocator_t  *allocator;
    /* the last generation published before: numbering continues after it */
    uint64_t               generation;
    /* with kube: the status writer's (gm_kube_status.h), or NULL */
    const gm_status_writer_conf_t  *status;
    /* gamma_reference_grants require (gm_compile_opts_t) */
    unsigned               reference_grants:1;
    /* nginx.conf's gamma_default and gamma_override, or NULL */
    const gm_operator_conf_t  *operator_conf;
} gm_watcher_conf_t;


/* starts the thread; NULL (with errno) when it could not be started */
gm_watcher_t *gm_watcher_start(const gm_watcher_conf_t *conf);
/* asks the thread to stop, joins it and frees everything it owned */
void gm_watcher_stop(gm_watcher_t *w);


#endif /* GM_WATCHER_H */
