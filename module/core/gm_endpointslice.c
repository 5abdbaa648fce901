/*
 * nginx-gamma: parsing an EndpointSlice (discovery.k8s.io/v1): its
 * Service, ports, endpoints and their conditions.
 */

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "gm_parse_int.h"


static int gm_eps_service_name(gm_parse_ctx_t *ctx, json_t *json,
    gm_endpointslice_t *eps);
static int gm_eps_ports(gm_parse_ctx_t *ctx, json_t *json,
    gm_endpointslice_t *eps);
static int gm_eps_endpoints(gm_parse_ctx_t *ctx, json_t *json,
    gm_endpointslice_t *eps);
static int gm_eps_endpoint_parse(gm_parse_ctx_t *ctx, json_t *item, int family,
    gm_endpoint_t *ep);
static int gm_eps_conditions(gm_parse_ctx_t *ctx, json_t *item,
    gm_endpoint_t *ep);


static const char *const  gm_address_types[] = {
    "IPv4", "IPv6", "FQDN", NULL
};


int
gm_endpointslice_parse(gm_parse_ctx_t *ctx, json_t *json,
    gm_object_body_t *body)
{
    int                  rc, type;
    gm_endpointslice_t  *eps;

    eps = &body->endpointslice;

    rc = gm_get_enum(ctx, json, "addressType", gm_address_types, &type);
    if (rc < 0) {
        return -1;
    }

    if (rc == 0) {
        return gm_reject(ctx, "addressType", "is required");
    }

    if (type == 2) {
        return gm_reject(ctx, "addressType", "FQDN is not supported");
    }

    eps->family = type == 0 ? AF_INET : AF_INET6;

    if (gm_eps_service_name(ctx, json, eps) != 0
        || gm_eps_ports(ctx, json, eps) != 0
        || gm_eps_endpoints(ctx, json, eps) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gm_eps_service_name(gm_parse_ctx_t *ctx, json_t *json, gm_endpointslice_t *eps)
{
    json_t  *labels;

    (void) gm_path_push(ctx, "metadata");

    if (gm_get_object(ctx, gm_field(json, "metadata"), "labels", &labels)
        != 0)
    {
        return -1;
    }

    (void) gm_path_push(ctx, "labels");

    if (gm_get_name(ctx, labels, GM_SERVICE_NAME_LABEL, GM_NAME_LABEL,
                    GM_REQUIRED, &eps->service_name) < 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_eps_ports(gm_parse_ctx_t *ctx, json_t *json, gm_endpointslice_t *eps)
{
    size_t   i, n, old;
    json_t  *ports, *item;

    if (gm_get_array(ctx, json, "ports", GM_MAX_EPS_PORTS, &ports) != 0) {
        return -1;
    }

    n = json_array_size(ports);
    if (n == 0) {
        return 0;
    }

    eps->ports = gm_alloc(ctx, n, sizeof(gm_eps_port_t));
    if (eps->ports == NULL) {
        return -1;
    }

    eps->nports = n;

    json_array_foreach(ports, i, item) {
        old = gm_path_push(ctx, "ports[%zu]", i);

        if (gm_check_object(ctx, item) != 0
            || gm_get_name(ctx, item, "name", GM_NAME_LABEL, GM_EMPTY_OK,
                           &eps->ports[i].name) < 0)
        {
            return -1;
        }

        if (gm_get_port(ctx, item, "port", &eps->ports[i].port) < 0) {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_eps_endpoints(gm_parse_ctx_t *ctx, json_t *json, gm_endpointslice_t *eps)
{
    size_t   i, n, old;
    json_t  *endpoints, *item;

    if (gm_get_array(ctx, json, "endpoints", GM_MAX_EPS_ENDPOINTS,
                     &endpoints) != 0)
    {
        return -1;
    }

    n = json_array_size(endpoints);
    if (n == 0) {
        return 0;
    }

    eps->endpoints = gm_alloc(ctx, n, sizeof(gm_endpoint_t));
    if (eps->endpoints == NULL) {
        return -1;
    }

    eps->nendpoints = n;

    json_array_foreach(endpoints, i, item) {
        old = gm_path_push(ctx, "endpoints[%zu]", i);

        if (gm_eps_endpoint_parse(ctx, item, eps->family,
                                  &eps->endpoints[i]) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_eps_endpoint_parse(gm_parse_ctx_t *ctx, json_t *item, int family,
    gm_endpoint_t *ep)
{
    char         field[GM_FIELD_NAME_MAX];
    size_t       i, n, len;
    json_t      *addrs, *v;
    const char  *s;

    if (gm_check_object(ctx, item) != 0
        || gm_get_array(ctx, item, "addresses", GM_MAX_EPS_ADDRESSES, &addrs)
           != 0)
    {
        return -1;
    }

    n = json_array_size(addrs);
    if (n == 0) {
        return gm_reject(ctx, "addresses", "must have at least 1 item");
    }

    ep->addrs = gm_alloc(ctx, n, sizeof(gm_addr_t));
    if (ep->addrs == NULL) {
        return -1;
    }

    json_array_foreach(addrs, i, v) {
        snprintf(field, sizeof(field), "addresses[%zu]", i);

        if (gm_check_string(ctx, field, v, 1, GM_MAX_IP_TEXT, &s, &len) != 0) {
            return -1;
        }

        if (gm_addr_parse(&ep->addrs[i], s) != 0
            || ep->addrs[i].family != family)
        {
            return gm_reject(ctx, field, "must be an %s address",
                             family == AF_INET ? "IPv4" : "IPv6");
        }
    }

    ep->naddrs = n;

    return gm_eps_conditions(ctx, item, ep);
}


/* absent ready and serving mean true, absent terminating means false */
static int
gm_eps_conditions(gm_parse_ctx_t *ctx, json_t *item, gm_endpoint_t *ep)
{
    int      ready, serving, terminating;
    json_t  *cond;

    if (gm_get_object(ctx, item, "conditions", &cond) != 0) {
        return -1;
    }

    (void) gm_path_push(ctx, "conditions");

    ready = 1;
    serving = 1;
    terminating = 0;

    if (gm_get_bool(ctx, cond, "ready", &ready) < 0
        || gm_get_bool(ctx, cond, "serving", &serving) < 0
        || gm_get_bool(ctx, cond, "terminating", &terminating) < 0)
    {
        return -1;
    }

    ep->ready = ready ? 1 : 0;
    ep->serving = serving ? 1 : 0;
    ep->terminating = terminating ? 1 : 0;

    return 0;
}
