/*
 * nginx-gamma: the snapshot zone.  One process per nginx instance (the
 * helper) builds snapshots into a shared memory zone and publishes them;
 * every worker routes with the current one, in place.  nginx maps a
 * shared zone before it forks, at the same address in every process, so
 * the pointers inside a snapshot are valid everywhere.
 *
 * Reclamation is hazard-style: each process announces in its slot the
 * oldest generation it may still use (slot first, a full fence, then it
 * reads the current generation).  The helper frees a generation that is
 * not current and older than every live process's announcement.  A dead
 * process (kill(pid, 0) fails) pins nothing, and a respawned worker takes
 * its predecessor's slot (nginx respawns into the same process slot).
 */

#ifndef NGX_HTTP_GAMMA_ZONE_H
#define NGX_HTTP_GAMMA_ZONE_H


#include <ngx_config.h>
#include <ngx_core.h>

#include "gm_snapshot.h"


#define NGX_HTTP_GAMMA_ZONE_NAME       "gamma"
#define NGX_HTTP_GAMMA_ZONE_SIZE       (64 * 1024 * 1024)
/* the header with its process slots takes 16 KB */
#define NGX_HTTP_GAMMA_ZONE_MIN        (64 * 1024)
/* free runs of at least this many pages go back once a generation is freed */
#define NGX_HTTP_GAMMA_ZONE_RELEASE_PAGES  16
/* the directory the helper process's ngx_path_t names */
#define NGX_HTTP_GAMMA_HELPER_DIR      "gamma_temp"


/* a process's announcement: the oldest generation it may still use */
typedef struct ngx_http_gamma_slot_s {
    ngx_atomic_t               pid;          /* 0: the slot is free */
    ngx_atomic_t               oldest;       /* 0: it uses none */
} ngx_http_gamma_slot_t;

typedef struct ngx_http_gamma_live_s  ngx_http_gamma_live_t;

/* a published generation, not freed yet */
struct ngx_http_gamma_live_s {
    gm_snapshot_t             *snapshot;
    uint64_t                   generation;
    ngx_http_gamma_live_t     *next;         /* older */
};

typedef struct ngx_http_gamma_shm_s {
    ngx_atomic_t               current;      /* gm_snapshot_t *, 0: none */
    ngx_atomic_t               generation;   /* current's, stored after it */
    ngx_atomic_t               owner;        /* pid of the publishing helper */
    ngx_http_gamma_live_t     *live;         /* under the pool's mutex */
    /* the build under way: what it asked for, and whether it was refused */
    size_t                     build_bytes;
    ngx_uint_t                 build_nomem;
    /* session persistence tokens' key, made with the zone, kept by reloads */
    u_char                     session_key[GM_SESSION_KEY_LEN];
    ngx_http_gamma_slot_t      slots[NGX_MAX_PROCESSES];
} ngx_http_gamma_shm_t;


/* the publishing side, in the one process that runs the watcher */
typedef struct {
    ngx_log_t                 *log;
    ngx_shm_zone_t            *shm_zone;
    ngx_slab_pool_t           *shpool;
    ngx_http_gamma_shm_t      *sh;
} ngx_http_gamma_zone_t;


ngx_int_t ngx_http_gamma_zone_add(ngx_conf_t *cf, ngx_shm_zone_t **zone,
    size_t size);
ngx_http_gamma_shm_t *ngx_http_gamma_zone_shm(ngx_shm_zone_t *shm_zone);

/* the publisher: owns the zone from now on; returns the last generation */
uint64_t ngx_http_gamma_zone_own(ngx_http_gamma_zone_t *z);
/*
 * The snapshot's block allocator: the zone's slab pool, its data the pool
 * itself.  A snapshot keeps its allocator to free itself, and the helper
 * that frees it may not be the one that built it (a reload, a crash): the
 * data must mean the same in every process.
 */
void *ngx_http_gamma_zone_alloc(void *data, size_t size);
void ngx_http_gamma_zone_free(void *data, void *p);
/* an allocation of this build was refused (the publisher reports it) */
int ngx_http_gamma_zone_exhausted(void *data);
/* NGX_OK, NGX_DECLINED (no longer the owner), NGX_ERROR (zone full) */
ngx_int_t ngx_http_gamma_zone_publish(ngx_http_gamma_zone_t *z,
    gm_snapshot_t *s);
void ngx_http_gamma_zone_reclaim(ngx_http_gamma_zone_t *z);

/* bytes of the zone's pages in use, and its size */
size_t ngx_http_gamma_zone_used(ngx_shm_zone_t *shm_zone);
size_t ngx_http_gamma_zone_size(ngx_shm_zone_t *shm_zone);


#endif /* NGX_HTTP_GAMMA_ZONE_H */
