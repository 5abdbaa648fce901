/*
 * nginx-gamma: the Kubernetes objects the mesh is built from, as parsed
 * and validated C structures: one header per kind (gm_service.h,
 * gm_endpointslice.h, gm_httproute.h, gm_trafficpolicy.h,
 * gm_backendtlspolicy.h, gm_configmap.h) and the object that holds any of
 * them.  Each object is one block that holds the object and everything
 * it points to.  No JSON here: the parsers (gm_object_parse.h) type
 * everything once, at import.
 */

#ifndef GM_OBJECT_H
#define GM_OBJECT_H


#include "gm_arena.h"
#include "gm_backendtlspolicy.h"
#include "gm_backendtrafficpolicy.h"
#include "gm_configmap.h"
#include "gm_endpointslice.h"
#include "gm_httproute.h"
#include "gm_log.h"
#include "gm_meta.h"
#include "gm_referencegrant.h"
#include "gm_service.h"
#include "gm_trafficpolicy.h"


typedef union {
    gm_meta_t            meta;
    gm_service_t         service;
    gm_endpointslice_t   endpointslice;
    gm_referencegrant_t  referencegrant;
    gm_httproute_t       httproute;   /* HTTPRoute and GRPCRoute */
    gm_trafficpolicy_t   trafficpolicy;
    gm_backendtlspolicy_t  backendtlspolicy;
    gm_configmap_t       configmap;
    gm_backendtrafficpolicy_t  backendtrafficpolicy;
} gm_object_body_t;

typedef struct gm_object_s  gm_object_t;

/*
 * An object in the store is one block: this header, the body of its kind
 * (not the whole union) and everything the body points to.  An object
 * from the first parse of a document lives in a growing arena instead.
 */
struct gm_object_s {
    gm_object_body_t   *body;         /* body->meta.kind tells the member */
    /* the store's: the next object of the bucket, the hash of the key */
    gm_object_t        *next;
    uint32_t            hash;
    /*
     * of the block behind the body; in_arena: the object lives in an
     * arena, whose pointer is just before it (gm_object_arena()): 24
     * bytes an object, not 32 (memory, issue 12)
     */
    uint32_t            size:31;
    uint32_t            in_arena:1;
};


const char *gm_kind_name(gm_kind_e kind);

/* gm_object_parse(), from JSON, is in gm_object_parse.h */

void gm_object_free(gm_object_t *obj);
/* the arena the object lives in; NULL: one block */
gm_arena_t *gm_object_arena(const gm_object_t *obj);
/*
 * A zeroed object and a zeroed body of that size in the arena, which
 * gm_object_free() destroys (the first parse, the tests' fixtures).
 */
gm_object_t *gm_object_in_arena(gm_arena_t *arena, size_t body);
/* the body of the object's kind (its member of the union) takes */
size_t gm_object_body_size(const gm_object_t *obj);

/* parses an IPv4/IPv6 literal; returns -1 if it is not one */
int gm_addr_parse(gm_addr_t *addr, const char *s);


#endif /* GM_OBJECT_H */
