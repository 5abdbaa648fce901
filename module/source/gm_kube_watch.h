/*
 * nginx-gamma: one list+watch loop, for one resource in one namespace (or
 * all), modelled on client-go's reflector: list in pages, watch from the
 * list's resourceVersion, resume from the last one seen, list again on
 * 410, back off on errors.
 */

#ifndef GM_KUBE_WATCH_H
#define GM_KUBE_WATCH_H


#include <stdint.h>

#include "gm_kube_client.h"
#include "gm_kube_resource.h"
#include "gm_kube_source.h"


/* what every loop of a source shares */
typedef struct {
    gm_kube_client_t      *client;
    gm_store_t            *store;
    const gm_log_t        *log;
    const gm_kube_conf_t  *conf;      /* defaults filled in */
    gm_log_limit_t         limit;     /* for rejected objects */
    uint64_t               rnd;       /* xorshift state for jitter */
    uint64_t               watch_restarts;   /* for metrics */
    uint64_t               relists;
    unsigned               changed:1; /* the store changed */
} gm_kube_env_t;

typedef struct gm_kube_watch_s  gm_kube_watch_t;


/* ns NULL: all namespaces; selector NULL: none */
gm_kube_watch_t *gm_kube_watch_create(gm_kube_env_t *env,
    const gm_kube_resource_t *res, const char *ns, const char *selector);
void gm_kube_watch_destroy(gm_kube_watch_t *w);

/* starts the request that is due, if any */
void gm_kube_watch_step(gm_kube_watch_t *w, int64_t now);
/* when the next request is due; -1 while one is in flight */
int64_t gm_kube_watch_due(gm_kube_watch_t *w);
/* listed (or found absent) at least once */
int gm_kube_watch_synced(gm_kube_watch_t *w);


#endif /* GM_KUBE_WATCH_H */
