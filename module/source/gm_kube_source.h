/*
 * nginx-gamma: the Kubernetes API source.  Lists then watches every kind
 * the mesh uses, in the watcher thread, over one libcurl multi handle.
 */

#ifndef GM_KUBE_SOURCE_H
#define GM_KUBE_SOURCE_H


#include <stdint.h>

#include "gm_log.h"
#include "gm_object.h"
#include "gm_store.h"


/* zero or NULL in any field means its default */
typedef struct {
    const char   *url;                /* https://host:port */
    const char   *token_file;         /* NULL: no Authorization header */
    const char   *ca_file;            /* NULL: the system's CA store */
    const char  **namespaces;         /* NULL-terminated; NULL: all */
    const char   *selectors[GM_KIND_MAX];     /* labelSelector per kind */
    unsigned      watch_timeout_s;    /* timeoutSeconds in [t, 2t) */
    unsigned      stall_timeout_ms;   /* no byte for this long: reconnect */
    unsigned      watch_idle_timeout_ms;  /* a watch silent this long too */
    unsigned      backoff_initial_ms;
    unsigned      backoff_max_ms;     /* also the retry of an absent CRD */
    unsigned      page_size;          /* list limit */
    unsigned      reference_grants:1; /* ReferenceGrants are watched */
} gm_kube_conf_t;

#define GM_KUBE_WATCH_TIMEOUT_S     300
#define GM_KUBE_WATCH_IDLE_MS       60000
#define GM_KUBE_BACKOFF_INITIAL_MS  800
#define GM_KUBE_BACKOFF_MAX_MS      30000
#define GM_KUBE_PAGE_SIZE           500


typedef struct gm_kube_source_s  gm_kube_source_t;


gm_kube_source_t *gm_kube_source_create(const gm_kube_conf_t *conf,
    gm_store_t *store, const gm_log_t *log);
void gm_kube_source_destroy(gm_kube_source_t *ks);

/*
 * Waits for network activity, a due timer or stop_fd, at most timeout_ms
 * (-1: no limit of its own).  Returns -1 when stop_fd became readable.
 */
int gm_kube_source_wait(gm_kube_source_t *ks, int stop_fd, int timeout_ms);

/* does the due work; returns 1 when the store changed */
int gm_kube_source_run(gm_kube_source_t *ks);

/* 1 once every watched kind was listed (or found absent) at least once */
int gm_kube_source_synced(gm_kube_source_t *ks);

/* watches opened again after a failure, lists after a 410 or failure */
void gm_kube_source_counters(gm_kube_source_t *ks, uint64_t *restarts,
    uint64_t *relists);


#endif /* GM_KUBE_SOURCE_H */
