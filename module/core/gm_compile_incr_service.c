/*
 * nginx-gamma: what a Service change allows the incremental compiler
 * (gm_compile_incr.c).  Modified with the same type, ClusterIPs,
 * creation time, port numbers, protocols and appProtocols: nothing to
 * compile when only metadata changed, its backends resolved again when
 * port names or targetPorts did.  Added or deleted when nothing names
 * it: its frontends join or leave the index.  Anything else, or
 * anything unsure: a full compile.
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "gm_compile_incr_int.h"


static int gm_compile_incr_same_str(const gm_str_t *a, const gm_str_t *b);
static int gm_compile_incr_ports_one(gm_compile_incr_t *ci,
    const gm_compile_key_t *key);
static int gm_compile_incr_policies(gm_compile_incr_t *ci,
    gm_compile_incr_policies_t *pol, const gm_compile_key_t *keys,
    size_t nkeys, unsigned any);
static void gm_compile_incr_policy(void *data, gm_object_t *obj);
static void gm_compile_incr_backend_refs(void *data, gm_object_t *obj);
static int gm_compile_incr_names(const gm_compile_incr_policies_t *pol,
    const gm_backend_ref_t *ref);
static void gm_compile_incr_claims(void *data, gm_object_t *obj);
static int gm_compile_incr_moved(void *data, gm_snapshot_t *s,
    uint32_t slot);


/*
 * A Service modified (old is the store's previous version): 0 when the
 * compiled snapshot stays right with what is noted here, -1 when only a
 * full compile can tell.  What the compiler reads of a Service: its
 * type, headless, ClusterIPs, creation time (which of two Services
 * keeps a ClusterIP:port), and per port its number, name, targetPort,
 * protocol and appProtocol; not its labels, annotations or
 * resourceVersion.  With the same type, ClusterIPs, creation time, port
 * numbers, protocols and appProtocols, the frontends, their keys and
 * the route status stay; other port names or targetPorts change only
 * which slice port each Service port's endpoints come from (resolved
 * again, as for a slice change) and what a sectionName names (checked
 * in gm_compile_incr_ports()).
 */

int
gm_compile_incr_service(gm_compile_incr_t *ci, const gm_service_t *old,
    const gm_service_t *svc)
{
    size_t                    i, j, n;
    unsigned                  named;
    const gm_service_port_t  *a, *b;

    if (old->type != svc->type || old->headless != svc->headless
        || old->meta.created != svc->meta.created
        || old->ncluster_ips != svc->ncluster_ips
        || old->nports != svc->nports)
    {
        return -1;
    }

    for (i = 0; i < svc->ncluster_ips; i++) {
        if (old->cluster_ips[i].family != svc->cluster_ips[i].family
            || memcmp(old->cluster_ips[i].addr, svc->cluster_ips[i].addr,
                      sizeof(svc->cluster_ips[i].addr))
               != 0)
        {
            return -1;
        }
    }

    named = 0;

    for (i = 0; i < svc->nports; i++) {
        a = &old->ports[i];
        b = &svc->ports[i];

        if (a->port != b->port || a->protocol != b->protocol
            || strcmp(a->app_protocol, b->app_protocol) != 0)
        {
            return -1;
        }

        if (a->target_port != b->target_port
            || !gm_compile_incr_same_str(&a->name, &b->name)
            || strcmp(a->target_port_name, b->target_port_name) != 0)
        {
            named = 1;
        }
    }

    if (!named) {
        /* labels, annotations, resourceVersion: nothing compiled */
        return 0;
    }

    /*
     * Other port names or targetPorts.  Only a Service with frontends of
     * its own for all its ports is patched (its backends are found
     * through them); one port number twice: which one resolves is the
     * compiler's order, left to it.
     */
    if (svc->headless || svc->type == GM_SERVICE_EXTERNAL_NAME) {
        return -1;
    }

    for (i = 0; i < svc->nports; i++) {
        for (j = 0; j < i; j++) {
            if (svc->ports[j].port == svc->ports[i].port) {
                return -1;
            }
        }
    }

    /* its backends resolved again, as for a slice change */
    n = ci->nkeys;

    if (gm_compile_incr_key(ci, ci->keys, &ci->nkeys, &svc->meta.ns,
                            &svc->meta.name)
        != 0)
    {
        return -1;
    }

    if (ci->nkeys > n) {
        ci->ready[n] = gm_compile_slices_ready(&ci->slices, &svc->meta.ns,
                                               &svc->meta.name);
    }

    return gm_compile_incr_key(ci, ci->svcs, &ci->nsvcs, &svc->meta.ns,
                               &svc->meta.name);
}


static int
gm_compile_incr_same_str(const gm_str_t *a, const gm_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


/*
 * The Services whose port names or targetPorts changed, at build time:
 * 1 (a full compile) when a policy may name one of their ports (a
 * BackendTLSPolicy's sectionName, a TrafficPolicy's), or a port has no
 * frontend of its own in the previous generation; their frontends
 * compiled again (the route subset) when a route bound to them names a
 * port by sectionName.  -1: out of memory.
 */

int
gm_compile_incr_ports(gm_compile_incr_t *ci)
{
    int                          rc;
    size_t                       i;
    gm_compile_incr_policies_t   pol;

    if (gm_compile_incr_policies(ci, &pol, ci->svcs, ci->nsvcs, 0)) {
        return 1;
    }

    for (i = 0; i < ci->nsvcs; i++) {
        rc = gm_compile_incr_ports_one(ci, &ci->svcs[i]);

        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


static int
gm_compile_incr_ports_one(gm_compile_incr_t *ci, const gm_compile_key_t *key)
{
    size_t                          p, i, r;
    gm_object_t                    *obj;
    const gm_service_t             *svc;
    const gm_frontend_t            *f;
    const gm_httproute_t           *route;
    const gm_parent_ref_t          *ref;
    const gm_compile_svc_slices_t  *idx;

    obj = gm_store_get(ci->store, GM_KIND_SERVICE, key->ns.data,
                       key->name.data);
    if (obj == NULL) {
        return 1;
    }

    svc = &obj->body->service;

    for (p = 0; p < svc->nports; p++) {
        f = NULL;

        for (i = 0; f == NULL && i < svc->ncluster_ips; i++) {
            f = gm_snapshot_find_frontend(ci->prev, &svc->cluster_ips[i],
                                          svc->ports[p].port);

            if (f != NULL
                && (!gm_str_eq(&f->passthrough->name, &svc->meta.name)
                    || !gm_str_eq(&f->passthrough->ns, &svc->meta.ns)))
            {
                f = NULL;
            }
        }

        if (f == NULL) {
            return 1;
        }
    }

    idx = gm_compile_slices_find(&ci->slices, &key->ns, &key->name);

    for (r = 0; idx != NULL && r < idx->nroutes; r++) {
        route = &idx->objs[idx->nobjs + r]->body->httproute;

        for (p = 0; p < route->nparents; p++) {
            ref = &route->parents[p];

            if (ref->section_name[0] != '\0'
                && gm_compile_is_service_parent(ref)
                && gm_str_eq(&ref->name, &key->name)
                && gm_str_eq(&ref->ns, &key->ns))
            {
                return gm_compile_incr_key(ci, ci->parents, &ci->nparents,
                                           &key->ns, &key->name);
            }
        }
    }

    return 0;
}


/* a TrafficPolicy naming a port of one of those Services */

/*
 * 1 when the policies refuse a patch of the Services in keys: any
 * BackendTLSPolicy or XBackendTrafficPolicy, a TrafficPolicy that
 * targets one of them (any: whatever its sectionName; else one that
 * names a port), or slices the index could not follow; pol is then the
 * pass the routes may go on with.
 */
static int
gm_compile_incr_policies(gm_compile_incr_t *ci,
    gm_compile_incr_policies_t *pol, const gm_compile_key_t *keys,
    size_t nkeys, unsigned any)
{
    if (ci->slices.broken
        || gm_store_count(ci->store, GM_KIND_BACKENDTLSPOLICY) != 0
        || gm_store_count(ci->store, GM_KIND_XBACKENDTRAFFICPOLICY) != 0)
    {
        return 1;
    }

    pol->ci = ci;
    pol->keys = keys;
    pol->nkeys = nkeys;
    pol->any = any;
    pol->refuse = 0;

    gm_store_foreach(ci->store, GM_KIND_TRAFFICPOLICY, gm_compile_incr_policy,
                     pol);

    return pol->refuse;
}


static void
gm_compile_incr_policy(void *data, gm_object_t *obj)
{
    size_t                        i, k;
    const gm_policy_target_t     *t;
    const gm_trafficpolicy_t     *tp;
    gm_compile_incr_policies_t   *pol;

    pol = data;
    tp = &obj->body->trafficpolicy;

    for (i = 0; i < tp->ntargets; i++) {
        t = &tp->targets[i];

        if (t->section_name.len == 0 && !pol->any) {
            continue;
        }

        for (k = 0; k < pol->nkeys; k++) {
            if (gm_str_eq(&t->name, &pol->keys[k].name)
                && gm_str_eq(&t->ns, &pol->keys[k].ns))
            {
                pol->refuse = 1;
            }
        }
    }
}


/*
 * New Services, at build time: 1 (a full compile) when something may
 * name one of them, whose compile would change: a backendRef or a
 * RequestMirror of any route (their rules and status say "no such
 * Service" now; a pass over the routes, the one part of this patch in
 * proportion to the mesh), a TrafficPolicy's targetRef, any
 * BackendTLSPolicy or XBackendTrafficPolicy.  The routes naming one as
 * a parent are the route subset's (its parents): their notes about the
 * missing parent refuse it.
 */

int
gm_compile_incr_added(gm_compile_incr_t *ci)
{
    gm_compile_incr_policies_t  pol;

    if (gm_compile_incr_policies(ci, &pol, ci->added, ci->nadded, 1)) {
        return 1;
    }

    gm_store_foreach(ci->store, GM_KIND_HTTPROUTE,
                     gm_compile_incr_backend_refs, &pol);
    gm_store_foreach(ci->store, GM_KIND_GRPCROUTE,
                     gm_compile_incr_backend_refs, &pol);

    return pol.refuse ? 1 : 0;
}


static void
gm_compile_incr_backend_refs(void *data, gm_object_t *obj)
{
    size_t                       r, b, f;
    const gm_http_rule_t        *rule;
    const gm_httproute_t        *route;
    const gm_backend_ref_t      *ref;
    gm_compile_incr_policies_t  *pol;

    pol = data;
    route = &obj->body->httproute;

    for (r = 0; !pol->refuse && r < route->nrules; r++) {
        rule = &route->rules[r];

        for (f = 0; f < rule->nfilters; f++) {
            if (rule->filters[f].type == GM_FILTER_REQUEST_MIRROR
                && gm_compile_incr_names(pol,
                                         &rule->filters[f].u.mirror.backend))
            {
                pol->refuse = 1;
            }
        }

        for (b = 0; b < rule->nbackends; b++) {
            ref = &rule->backends[b];

            if (gm_compile_incr_names(pol, ref)) {
                pol->refuse = 1;
            }

            for (f = 0; f < ref->nfilters; f++) {
                if (ref->filters[f].type == GM_FILTER_REQUEST_MIRROR
                    && gm_compile_incr_names(pol,
                                             &ref->filters[f].u.mirror.backend))
                {
                    pol->refuse = 1;
                }
            }
        }
    }
}


/* by ns/name whatever its kind: another kind of the same name is rare */

static int
gm_compile_incr_names(const gm_compile_incr_policies_t *pol,
    const gm_backend_ref_t *ref)
{
    size_t  k;

    for (k = 0; k < pol->nkeys; k++) {
        if (gm_str_eq(&ref->name, &pol->keys[k].name)
            && gm_str_eq(&ref->ns, &pol->keys[k].ns))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * A Service deleted: its name, how many frontends a full compile counted
 * for it, and its (ClusterIP, port) keys, which leave the index; -1: a
 * full compile (it was added in this batch, or too many).
 */

int
gm_compile_incr_deleted(gm_compile_incr_t *ci, const gm_service_t *svc)
{
    size_t               i, p, n;
    gm_frontend_slot_t  *g;

    if (gm_compile_incr_has(ci->added, ci->nadded, &svc->meta.ns,
                            &svc->meta.name))
    {
        return -1;
    }

    n = ci->ndeleted;

    if (gm_compile_incr_key(ci, ci->deleted, &ci->ndeleted, &svc->meta.ns,
                            &svc->meta.name)
        != 0
        || ci->ndeleted == n)
    {
        return -1;
    }

    ci->deleted_frontends[n] = (svc->headless
                                || svc->type == GM_SERVICE_EXTERNAL_NAME)
                               ? 0 : svc->nports;

    if (ci->deleted_frontends[n] == 0) {
        return 0;
    }

    for (i = 0; i < svc->ncluster_ips; i++) {
        if (svc->cluster_ips[i].family != AF_INET
            && svc->cluster_ips[i].family != AF_INET6)
        {
            continue;
        }

        for (p = 0; p < svc->nports; p++) {
            if (gm_compile_reserve((void **) &ci->gone, &ci->gone_size,
                                   ci->ngone + 1, sizeof(gm_frontend_slot_t))
                != 0)
            {
                return -1;
            }

            g = &ci->gone[ci->ngone++];
            memset(g, 0, sizeof(gm_frontend_slot_t));
            g->addr = svc->cluster_ips[i];
            g->port = svc->ports[p].port;
        }
    }

    return 0;
}


int
gm_compile_incr_has(const gm_compile_key_t *keys, size_t n,
    const gm_str_t *ns, const gm_str_t *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (gm_str_eq(&keys[i].name, name) && gm_str_eq(&keys[i].ns, ns)) {
            return 1;
        }
    }

    return 0;
}


/*
 * Deleted Services, at build time: 1 (a full compile) when their going
 * changes more than their own frontends: a route names one (a parent, a
 * backendRef, a RequestMirror), a TrafficPolicy targets one, any
 * BackendTLSPolicy or XBackendTrafficPolicy, one of their keys was not
 * theirs or had tables in the last generation, or another Service
 * claims it too (it would take the key: a pass over the Services).
 */

int
gm_compile_incr_deleted_check(gm_compile_incr_t *ci)
{
    size_t                          k, j;
    const gm_frontend_t            *f;
    gm_compile_incr_policies_t      pol;
    const gm_compile_svc_slices_t  *idx;

    if (ci->slices.broken
        || gm_store_count(ci->store, GM_KIND_BACKENDTLSPOLICY) != 0
        || gm_store_count(ci->store, GM_KIND_XBACKENDTRAFFICPOLICY) != 0)
    {
        return 1;
    }

    for (k = 0; k < ci->ndeleted; k++) {
        idx = gm_compile_slices_find(&ci->slices, &ci->deleted[k].ns,
                                     &ci->deleted[k].name);

        if ((idx != NULL && idx->nroutes != 0)
            || gm_store_get(ci->store, GM_KIND_SERVICE,
                            ci->deleted[k].ns.data, ci->deleted[k].name.data)
               != NULL)
        {
            return 1;
        }
    }

    for (j = 0; j < ci->ngone; j++) {
        f = gm_snapshot_find_frontend(ci->prev, &ci->gone[j].addr,
                                      ci->gone[j].port);

        if (f == NULL || f->producer != NULL || f->nconsumers != 0
            || !gm_compile_incr_has(ci->deleted, ci->ndeleted,
                                    &f->passthrough->ns,
                                    &f->passthrough->name))
        {
            return 1;
        }
    }

    pol.ci = ci;
    pol.keys = ci->deleted;
    pol.nkeys = ci->ndeleted;
    pol.any = 1;
    pol.refuse = 0;

    gm_store_foreach(ci->store, GM_KIND_TRAFFICPOLICY, gm_compile_incr_policy,
                     &pol);
    gm_store_foreach(ci->store, GM_KIND_HTTPROUTE,
                     gm_compile_incr_backend_refs, &pol);
    gm_store_foreach(ci->store, GM_KIND_GRPCROUTE,
                     gm_compile_incr_backend_refs, &pol);

    if (!pol.refuse && ci->ngone != 0) {
        gm_store_foreach(ci->store, GM_KIND_SERVICE, gm_compile_incr_claims,
                         &pol);
    }

    return pol.refuse ? 1 : 0;
}


/* another Service with a key of a deleted one */

static void
gm_compile_incr_claims(void *data, gm_object_t *obj)
{
    size_t                       i, p, j, alen;
    const gm_service_t          *svc;
    const gm_frontend_slot_t    *g;
    gm_compile_incr_policies_t  *pol;

    pol = data;
    svc = &obj->body->service;

    if (pol->refuse || svc->headless
        || svc->type == GM_SERVICE_EXTERNAL_NAME)
    {
        return;
    }

    for (j = 0; j < pol->ci->ngone; j++) {
        g = &pol->ci->gone[j];
        alen = (g->addr.family == AF_INET) ? 4 : 16;

        for (i = 0; i < svc->ncluster_ips; i++) {
            if (svc->cluster_ips[i].family != g->addr.family
                || memcmp(svc->cluster_ips[i].addr, g->addr.addr, alen) != 0)
            {
                continue;
            }

            for (p = 0; p < svc->nports; p++) {
                if (svc->ports[p].port == g->port) {
                    pol->refuse = 1;
                    return;
                }
            }
        }
    }
}


/* the deleted Services' keys out of the new generation's own index */

int
gm_compile_incr_remove(gm_compile_incr_t *ci, gm_snapshot_t *s)
{
    int     rc;
    size_t  j, k;

    for (j = 0; j < ci->ngone; j++) {
        rc = gm_snapshot_remove_frontend(s, &ci->gone[j].addr,
                                         ci->gone[j].port,
                                         gm_compile_incr_moved, ci);
        if (rc != 0) {
            return rc;
        }
    }

    for (k = 0; k < ci->ndeleted; k++) {
        s->nservices--;
        s->nfrontends -= ci->deleted_frontends[k];
    }

    return 0;
}


/* a key moved up: the frontend's dependencies name its slot now */

static int
gm_compile_incr_moved(void *data, gm_snapshot_t *s, uint32_t slot)
{
    gm_compile_incr_t  *ci;

    ci = data;

    return gm_compile_deps_update(&ci->deps, s->slots[slot].frontend, slot);
}
