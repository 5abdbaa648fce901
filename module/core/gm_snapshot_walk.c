/*
 * nginx-gamma: reading a whole snapshot for the status page and metrics.
 */

#include <stdint.h>
#include <string.h>

#include "gm_snapshot_int.h"
#include "gm_snapshot_walk.h"


typedef struct {
    gm_arena_t         *arena;
    gm_source_stats_t  *st;
    int                 failed;
} gm_walk_copy_t;


static void gm_walk_copy_store_reject(void *data, const gm_reject_t *r);
static void gm_walk_copy_reject(gm_walk_copy_t *wc, const gm_reject_t *r);
static void gm_walk_count_one(void *data, const gm_reject_t *r);


static char  gm_walk_slash[] = "/";


int
gm_snapshot_attach_stats(gm_snapshot_t *s, const gm_source_stats_t *st,
    gm_store_t *store, const gm_reject_list_t *compiled)
{
    size_t              i, n;
    gm_walk_copy_t      wc;
    gm_source_stats_t  *copy;

    copy = gm_arena_alloc(s->arena, sizeof(gm_source_stats_t));
    if (copy == NULL) {
        return -1;
    }

    *copy = *st;
    memset(copy->rejected, 0, sizeof(copy->rejected));
    copy->nrejects = 0;

    n = compiled ? compiled->nitems : 0;
    gm_store_foreach_reject(store, gm_walk_count_one, &n);

    copy->rejects = n ? gm_arena_alloc(s->arena, n * sizeof(gm_reject_t))
                      : NULL;

    if (n && copy->rejects == NULL) {
        return -1;
    }

    wc.arena = s->arena;
    wc.st = copy;
    wc.failed = 0;

    gm_store_foreach_reject(store, gm_walk_copy_store_reject, &wc);

    for (i = 0; compiled && i < compiled->nitems; i++) {
        gm_walk_copy_reject(&wc, &compiled->items[i]);
    }

    if (wc.failed) {
        return -1;
    }

    s->stats = copy;

    return 0;
}


const gm_source_stats_t *
gm_snapshot_stats(const gm_snapshot_t *s)
{
    return s->stats;
}


static void
gm_walk_count_one(void *data, const gm_reject_t *r)
{
    size_t  *n = data;

    (void) r;
    (*n)++;
}


static void
gm_walk_copy_store_reject(void *data, const gm_reject_t *r)
{
    gm_walk_copy_reject(data, r);
}


static void
gm_walk_copy_reject(gm_walk_copy_t *wc, const gm_reject_t *r)
{
    gm_reject_t  *dst;

    dst = &wc->st->rejects[wc->st->nrejects];
    *dst = *r;

    if (gm_arena_strdup(wc->arena, &dst->ns, r->ns.data, r->ns.len) != 0
        || gm_arena_strdup(wc->arena, &dst->name, r->name.data, r->name.len)
           != 0
        || gm_arena_strdup(wc->arena, &dst->message, r->message.data,
                           r->message.len)
           != 0)
    {
        wc->failed = 1;
        return;
    }

    wc->st->nrejects++;

    if ((unsigned) r->kind < GM_KIND_MAX
        && (unsigned) r->reason < GM_REJECT_MAX)
    {
        wc->st->rejected[r->kind][r->reason]++;
    }
}


size_t
gm_snapshot_index_size(const gm_snapshot_t *s)
{
    return s->nslots;
}


const gm_frontend_t *
gm_snapshot_index_entry(const gm_snapshot_t *s, size_t i, gm_addr_t *ip)
{
    const gm_frontend_slot_t  *slot;

    if (i >= s->nslots || s->slots[i].frontend == NULL) {
        return NULL;
    }

    slot = &s->slots[i];
    *ip = slot->addr;

    return slot->frontend;
}


size_t
gm_route_table_nentries(const gm_route_table_t *t)
{
    return t ? t->nentries : 0;
}


const gm_rule_t *
gm_route_table_entry(const gm_route_table_t *t, size_t i,
    gm_match_view_t *mv)
{
    const gm_route_match_t  *m;

    m = t->entries[i].match;

    mv->match = m;
    mv->path_type = m->path_type;
    mv->path.data = (char *) m->path;
    mv->path.len = m->path_len;
    mv->method = gm_route_methods[m->method];
    mv->nheaders = m->nheaders;
    mv->nquery = m->nquery;
    mv->policy = t->entries[i].policy;

    if (m->path_type == GM_MATCH_PREFIX && m->path_len == 0) {
        mv->path.data = gm_walk_slash;
        mv->path.len = 1;
    }

    return t->entries[i].rule;
}


void
gm_match_view_test(const gm_match_view_t *mv, int headers, size_t i,
    gm_test_view_t *tv)
{
    const gm_value_test_t   *t;
    const gm_route_match_t  *m;

    m = mv->match;
    t = headers ? &m->tests[i] : &m->tests[m->nheaders + i];

    tv->type = t->type;
    tv->name.data = (char *) t->name;
    tv->name.len = t->name_len;
    tv->value.data = (char *) t->value;
    tv->value.len = t->value_len;
}
