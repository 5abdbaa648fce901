/*
 * nginx-gamma: the route subset's state, shared by gm_compile_subset.c
 * (the frontends) and gm_compile_subset_status.c (the route status).
 */

#ifndef GM_COMPILE_SUBSET_INT_H
#define GM_COMPILE_SUBSET_INT_H

#include "gm_compile_int.h"


/* the previous entries of one route, [lo, hi) */
typedef struct {
    size_t                         lo;
    size_t                         hi;
} gm_subset_range_t;

typedef struct {
    gm_snapshot_t                 *prev;
    gm_snapshot_t                 *snap;
    const gm_compile_rkey_t       *routes;
    size_t                         nroutes;
    const gm_frontend_t          **old;         /* replaced frontends */
    size_t                         nold;
    size_t                         old_size;
    uint32_t                      *slots;       /* the slots replaced */
    size_t                         nslots;
    size_t                         slots_size;
    const gm_status_entry_t       *mini;        /* the subset's routes' */
    size_t                         nmini;
    const gm_compile_rkey_t       *noted;
    size_t                         nnoted;
    const gm_compile_key_t        *added;       /* new Services */
    size_t                         nadded;
    gm_store_t                    *store;
    gm_subset_range_t             *ranges;      /* of prev's entries */
    size_t                         nranges;
    size_t                         ranges_size;
} gm_subset_t;


/* 0 (entries merged or shared), 1 (refused: a full compile), -1 (memory) */
int gm_compile_subset_status(gm_subset_t *st);

#endif /* GM_COMPILE_SUBSET_INT_H */
