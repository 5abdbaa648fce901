/*
 * nginx-gamma: an EndpointSlice (discovery.k8s.io/v1), parsed
 * (gm_endpointslice.c): its Service, ports and endpoints.
 */

#ifndef GM_ENDPOINTSLICE_H
#define GM_ENDPOINTSLICE_H


#include "gm_meta.h"


typedef struct {
    gm_str_t    name;                 /* empty when unnamed */
    uint16_t    port;                 /* 0 when unset */
} gm_eps_port_t;

typedef struct {
    gm_addr_t  *addrs;
    uint32_t    naddrs;
    /* conditions; an absent ready counts as ready (API semantics) */
    unsigned    ready:1;
    unsigned    serving:1;
    unsigned    terminating:1;
} gm_endpoint_t;

typedef struct {
    gm_meta_t       meta;
    gm_str_t        service_name;     /* label kubernetes.io/service-name */
    gm_eps_port_t  *ports;
    gm_endpoint_t  *endpoints;
    /* counts last: no padding between them (memory, issue 12) */
    uint32_t        nports;
    uint32_t        nendpoints;
    int             family;           /* AF_INET, AF_INET6; FQDN rejected */
} gm_endpointslice_t;


#endif /* GM_ENDPOINTSLICE_H */
