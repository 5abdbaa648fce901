/*
 * nginx-gamma: a ReferenceGrant (gateway.networking.k8s.io v1beta1, v1),
 * parsed (gm_referencegrant.c): which kinds of which namespaces may refer
 * to which objects of the grant's own namespace.  Read only for
 * "gamma_reference_grants require".
 */

#ifndef GM_REFERENCEGRANT_H
#define GM_REFERENCEGRANT_H


#include "gm_meta.h"


typedef struct {
    gm_str_t    group;                /* "" for the core group */
    gm_str_t    kind;
    gm_str_t    ns;
} gm_grant_from_t;

typedef struct {
    gm_str_t    group;
    gm_str_t    kind;
    gm_str_t    name;                 /* empty: every object of the kind */
} gm_grant_to_t;

typedef struct {
    gm_meta_t         meta;
    gm_grant_from_t  *from;
    size_t            nfrom;
    gm_grant_to_t    *to;
    size_t            nto;
} gm_referencegrant_t;


#endif /* GM_REFERENCEGRANT_H */
