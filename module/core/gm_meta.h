/*
 * nginx-gamma: what every object has: its kind and its metadata, and
 * the address type Services and EndpointSlices share.
 */

#ifndef GM_META_H
#define GM_META_H


#include <stdint.h>

#include "gm_str.h"


typedef enum {
    GM_KIND_SERVICE = 0,
    GM_KIND_ENDPOINTSLICE,
    GM_KIND_HTTPROUTE,
    GM_KIND_REFERENCEGRANT,
    GM_KIND_GRPCROUTE,                /* parsed into a gm_httproute_t */
    GM_KIND_TRAFFICPOLICY,
    GM_KIND_BACKENDTLSPOLICY,
    GM_KIND_CONFIGMAP,
    GM_KIND_XBACKENDTRAFFICPOLICY,
    GM_KIND_MAX
} gm_kind_e;


/* an IPv4 or IPv6 address, network byte order */
typedef struct {
    int       family;                 /* AF_INET or AF_INET6 */
    uint8_t   addr[16];               /* first 4 bytes used for AF_INET */
} gm_addr_t;


typedef struct {
    gm_str_t     ns;
    gm_str_t     name;
    int64_t      generation;          /* 0 when absent */
    /* compared and copied whole: its length is not kept (issue 12) */
    const char  *resource_version;    /* "" when absent */
    /*
     * creationTimestamp, unix seconds, 0 when absent; 32 bits (memory,
     * issue 12): a time before 1970 is 0, one after 2106 UINT32_MAX (only
     * the order of objects reads it)
     */
    uint32_t     created;
    /* metadata.uid is checked (a string), not kept: nothing reads it */
    gm_kind_e    kind;
} gm_meta_t;


#endif /* GM_META_H */
