/*
 * nginx-gamma: a Service (v1), parsed (gm_service.c): type, ClusterIPs
 * and ports.
 */

#ifndef GM_SERVICE_H
#define GM_SERVICE_H


#include "gm_meta.h"


typedef enum {
    GM_SERVICE_CLUSTER_IP = 0,
    GM_SERVICE_NODE_PORT,
    GM_SERVICE_LOAD_BALANCER,
    GM_SERVICE_EXTERNAL_NAME
} gm_service_type_e;

/* the order of the names in gm_service.c */
typedef enum {
    GM_PROTOCOL_TCP = 0,
    GM_PROTOCOL_UDP,
    GM_PROTOCOL_SCTP
} gm_protocol_e;

typedef struct {
    gm_str_t    name;                 /* empty when unnamed */
    /* C strings, 8 bytes each, not 16 (memory, issue 12): no NUL inside */
    const char *target_port_name;     /* "" unless targetPort is a name */
    const char *app_protocol;         /* "" when absent */
    /* numbers last: no padding between them (memory, issue 12) */
    uint16_t    port;
    uint16_t    target_port;          /* 0 when unset or named */
    uint8_t     protocol;             /* gm_protocol_e; TCP when absent */
} gm_service_port_t;

typedef struct {
    gm_meta_t           meta;
    gm_addr_t          *cluster_ips;  /* clusterIPs, or clusterIP alone */
    gm_service_port_t  *ports;
    /* counts and flags last: no padding between them (memory, issue 12) */
    uint32_t            ncluster_ips;
    uint32_t            nports;
    gm_service_type_e   type;
    unsigned            headless:1;   /* clusterIP: None */
} gm_service_t;


#endif /* GM_SERVICE_H */
