/*
 * nginx-gamma: reading a whole snapshot, for the status page and the
 * metrics: its frontends with their ClusterIPs, the route tables in
 * precedence order with their matches, and the stats it was built with.
 * Read-only; the request path never uses it.
 */

#ifndef GM_SNAPSHOT_WALK_H
#define GM_SNAPSHOT_WALK_H


#include "gm_reject.h"
#include "gm_snapshot.h"
#include "gm_stats.h"


/* one HTTPRouteMatch as compiled */
typedef struct {
    const void         *match;        /* for gm_match_view_test() */
    gm_match_type_e     path_type;
    gm_str_t            path;         /* as written: PathPrefix keeps "/" */
    gm_str_t            method;       /* empty: any */
    size_t              nheaders;
    size_t              nquery;
    const gm_policy_set_t  *policy;   /* the rule's merged settings here */
} gm_match_view_t;

/* a header or query parameter test */
typedef struct {
    gm_match_type_e     type;
    gm_str_t            name;
    gm_str_t            value;
} gm_test_view_t;


/*
 * Copies the stats, the store's rejections and the compiler's into the
 * snapshot's arena.  Returns -1 when memory runs out (then the snapshot
 * has no stats).
 */
int gm_snapshot_attach_stats(gm_snapshot_t *s, const gm_source_stats_t *st,
    gm_store_t *store, const gm_reject_list_t *compiled);
/* NULL when none were attached */
const gm_source_stats_t *gm_snapshot_stats(const gm_snapshot_t *s);

/* the (ClusterIP, port) index: slot i's frontend or NULL, and its IP */
size_t gm_snapshot_index_size(const gm_snapshot_t *s);
const gm_frontend_t *gm_snapshot_index_entry(const gm_snapshot_t *s,
    size_t i, gm_addr_t *ip);

/* table entries in precedence order: the rule and one of its matches */
size_t gm_route_table_nentries(const gm_route_table_t *t);
const gm_rule_t *gm_route_table_entry(const gm_route_table_t *t, size_t i,
    gm_match_view_t *mv);
/* header tests when headers is 1, else query parameter tests */
void gm_match_view_test(const gm_match_view_t *mv, int headers, size_t i,
    gm_test_view_t *tv);


#endif /* GM_SNAPSHOT_WALK_H */
