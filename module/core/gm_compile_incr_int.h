/*
 * nginx-gamma: the incremental compiler's state, shared by
 * gm_compile_incr.c (the store watched, patch or full compile) and
 * gm_compile_incr_service.c (what a Service change allows).
 */

#ifndef GM_COMPILE_INCR_INT_H
#define GM_COMPILE_INCR_INT_H


#include "gm_compile_int.h"


struct gm_compile_incr_s {
    gm_store_t                    *store;
    gm_snapshot_t                 *prev;        /* the last build, held */
    const gm_operator_conf_t      *operator_conf;   /* prev's */
    unsigned                       require_grants:1;  /* prev's */
    unsigned                       full:1;      /* a change not patchable */
    unsigned                       deps_read:1;
    gm_compile_deps_t              deps;        /* prev's, once read */
    /* the last serial given to a status chunk (gm_route_status.h) */
    uint64_t                       status_serial;
    /* the store's slices and routes by Service, always */
    gm_compile_slices_t            slices;
    gm_arena_t                    *keys_arena;  /* the keys' strings */
    gm_compile_key_t               keys[GM_INCR_MAX_SERVICES];
    /* which of their slice ports had ready addresses before */
    uint64_t                       ready[GM_INCR_MAX_SERVICES];
    size_t                         nkeys;
    /* changed routes and the Services they name as parents */
    gm_compile_rkey_t              routes[GM_INCR_MAX_SERVICES];
    size_t                         nroutes;
    gm_compile_key_t               parents[GM_INCR_MAX_SERVICES];
    size_t                         nparents;
    /* modified Services whose port names or targetPorts changed */
    gm_compile_key_t               svcs[GM_INCR_MAX_SERVICES];
    size_t                         nsvcs;
    /* Services added */
    gm_compile_key_t               added[GM_INCR_MAX_SERVICES];
    size_t                         nadded;
    /* Services deleted, the frontends each had, their (ClusterIP, port)s */
    gm_compile_key_t               deleted[GM_INCR_MAX_SERVICES];
    uint32_t                       deleted_frontends[GM_INCR_MAX_SERVICES];
    size_t                         ndeleted;
    gm_frontend_slot_t            *gone;        /* frontend unused */
    size_t                         ngone;
    size_t                         gone_size;
    /* the routes the last full compile had notes about */
    gm_compile_rkey_t             *noted;
    size_t                         nnoted;
    size_t                         noted_size;
    gm_arena_t                    *noted_arena;
    const gm_log_t                *log;         /* of the full compile */
};

/* a pass over the TrafficPolicies or routes for those Services */
typedef struct {
    const gm_compile_incr_t       *ci;
    const gm_compile_key_t        *keys;
    size_t                         nkeys;
    unsigned                       any:1;     /* sectionName or not */
    unsigned                       refuse:1;
} gm_compile_incr_policies_t;


/* ns/name once in keys; keys NULL: only the arena made */
int gm_compile_incr_key(gm_compile_incr_t *ci, gm_compile_key_t *keys,
    size_t *n, const gm_str_t *ns, const gm_str_t *name);
int gm_compile_incr_has(const gm_compile_key_t *keys, size_t n,
    const gm_str_t *ns, const gm_str_t *name);

/* a Service modified, added, deleted, from the store's watch; -1: full */
int gm_compile_incr_service(gm_compile_incr_t *ci, const gm_service_t *old,
    const gm_service_t *svc);
int gm_compile_incr_deleted(gm_compile_incr_t *ci, const gm_service_t *svc);

/* at build time: 0 patchable, 1 a full compile, -1 out of memory */
int gm_compile_incr_ports(gm_compile_incr_t *ci);
int gm_compile_incr_added(gm_compile_incr_t *ci);
int gm_compile_incr_deleted_check(gm_compile_incr_t *ci);
int gm_compile_incr_remove(gm_compile_incr_t *ci, gm_snapshot_t *s);


#endif /* GM_COMPILE_INCR_INT_H */
