/*
 * nginx-gamma: parsing a Service (v1): type, ClusterIPs and ports.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm_parse_int.h"


static int gm_service_cluster_ips(gm_parse_ctx_t *ctx, json_t *spec,
    gm_service_t *svc);
static int gm_service_cluster_ip(gm_parse_ctx_t *ctx, json_t *spec,
    gm_service_t *svc);
static int gm_service_ip(gm_parse_ctx_t *ctx, const char *field, json_t *v,
    gm_service_t *svc, size_t n);
static int gm_service_ports(gm_parse_ctx_t *ctx, json_t *spec,
    gm_service_t *svc);
static int gm_service_port_parse(gm_parse_ctx_t *ctx, json_t *item,
    gm_service_port_t *sp);
static int gm_service_target_port(gm_parse_ctx_t *ctx, json_t *item,
    gm_service_port_t *sp);
static int gm_service_port_unique(gm_parse_ctx_t *ctx, gm_service_t *svc,
    size_t i);


static const char *const  gm_service_types[] = {
    "ClusterIP", "NodePort", "LoadBalancer", "ExternalName", NULL
};

static const char *const  gm_protocols[] = { "TCP", "UDP", "SCTP", NULL };


int
gm_service_parse(gm_parse_ctx_t *ctx, json_t *json, gm_object_body_t *body)
{
    int            rc, type;
    json_t        *spec;
    gm_service_t  *svc;

    svc = &body->service;

    if (gm_get_object(ctx, json, "spec", &spec) != 0) {
        return -1;
    }

    (void) gm_path_push(ctx, "spec");

    rc = gm_get_enum(ctx, spec, "type", gm_service_types, &type);
    if (rc < 0) {
        return -1;
    }

    svc->type = rc ? (gm_service_type_e) type : GM_SERVICE_CLUSTER_IP;

    if (gm_service_cluster_ips(ctx, spec, svc) != 0
        || gm_service_ports(ctx, spec, svc) != 0)
    {
        return -1;
    }

    gm_path_pop(ctx, 0);

    return 0;
}


static int
gm_service_cluster_ips(gm_parse_ctx_t *ctx, json_t *spec, gm_service_t *svc)
{
    char     field[GM_FIELD_NAME_MAX];
    size_t   i, n;
    json_t  *ips, *ip;

    if (gm_get_array(ctx, spec, "clusterIPs", GM_MAX_CLUSTER_IPS, &ips) != 0)
    {
        return -1;
    }

    n = json_array_size(ips);
    if (n == 0) {
        return gm_service_cluster_ip(ctx, spec, svc);
    }

    svc->cluster_ips = gm_alloc(ctx, n, sizeof(gm_addr_t));
    if (svc->cluster_ips == NULL) {
        return -1;
    }

    json_array_foreach(ips, i, ip) {
        snprintf(field, sizeof(field), "clusterIPs[%zu]", i);

        if (gm_service_ip(ctx, field, ip, svc, n) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
gm_service_cluster_ip(gm_parse_ctx_t *ctx, json_t *spec, gm_service_t *svc)
{
    json_t  *ip;

    ip = gm_field(spec, "clusterIP");
    if (ip == NULL || (json_is_string(ip) && json_string_length(ip) == 0)) {
        return 0;
    }

    svc->cluster_ips = gm_alloc(ctx, 1, sizeof(gm_addr_t));
    if (svc->cluster_ips == NULL) {
        return -1;
    }

    return gm_service_ip(ctx, "clusterIP", ip, svc, 1);
}


static int
gm_service_ip(gm_parse_ctx_t *ctx, const char *field, json_t *v,
    gm_service_t *svc, size_t n)
{
    size_t       len;
    const char  *s;

    if (gm_check_string(ctx, field, v, 1, GM_MAX_IP_TEXT, &s, &len) != 0) {
        return -1;
    }

    if (strcmp(s, "None") == 0) {
        if (n != 1) {
            return gm_reject(ctx, field, "\"None\" must be the only entry");
        }

        svc->headless = 1;
        return 0;
    }

    if (gm_addr_parse(&svc->cluster_ips[svc->ncluster_ips], s) != 0) {
        return gm_reject(ctx, field, "must be a valid IP address");
    }

    svc->ncluster_ips++;

    return 0;
}


static int
gm_service_ports(gm_parse_ctx_t *ctx, json_t *spec, gm_service_t *svc)
{
    size_t   i, n, old;
    json_t  *ports, *item;

    if (gm_get_array(ctx, spec, "ports", SIZE_MAX, &ports) != 0) {
        return -1;
    }

    n = json_array_size(ports);
    if (n == 0) {
        return 0;
    }

    svc->ports = gm_alloc(ctx, n, sizeof(gm_service_port_t));
    if (svc->ports == NULL) {
        return -1;
    }

    svc->nports = n;

    json_array_foreach(ports, i, item) {
        old = gm_path_push(ctx, "ports[%zu]", i);

        if (gm_service_port_parse(ctx, item, &svc->ports[i]) != 0
            || gm_service_port_unique(ctx, svc, i) != 0)
        {
            return -1;
        }

        gm_path_pop(ctx, old);
    }

    return 0;
}


static int
gm_service_port_parse(gm_parse_ctx_t *ctx, json_t *item, gm_service_port_t *sp)
{
    int       rc, proto;
    gm_str_t  ap;

    if (gm_check_object(ctx, item) != 0
        || gm_get_name(ctx, item, "name", GM_NAME_LABEL, GM_EMPTY_OK,
                       &sp->name) < 0)
    {
        return -1;
    }

    rc = gm_get_port(ctx, item, "port", &sp->port);
    if (rc <= 0) {
        return rc < 0 ? -1 : gm_reject(ctx, "port", "is required");
    }

    rc = gm_get_enum(ctx, item, "protocol", gm_protocols, &proto);
    sp->protocol = (uint8_t) (rc > 0 ? proto : GM_PROTOCOL_TCP);

    if (rc < 0
        || gm_service_target_port(ctx, item, sp) != 0
        || gm_get_string(ctx, item, "appProtocol", 0, GM_MAX_APP_PROTOCOL,
                         &ap) < 0)
    {
        return -1;
    }

    sp->app_protocol = ap.data;

    return 0;
}


static int
gm_service_target_port(gm_parse_ctx_t *ctx, json_t *item, gm_service_port_t *sp)
{
    int64_t      port;
    json_t      *v;
    size_t       len;
    gm_str_t     name;
    const char  *s;

    sp->target_port_name = "";

    v = gm_field(item, "targetPort");

    if (v == NULL) {
        return 0;
    }

    if (json_is_integer(v)) {
        /* 0 is the zero value of IntOrString: "same as port" */
        if (gm_check_int(ctx, "targetPort", v, 0, GM_MAX_PORT, &port) != 0) {
            return -1;
        }

        sp->target_port = (uint16_t) port;
        return 0;
    }

    if (!json_is_string(v)) {
        return gm_reject(ctx, "targetPort",
                         "must be an integer or a string");
    }

    s = json_string_value(v);
    len = json_string_length(v);

    /* a quoted number: kubectl refuses it, we read it as the number */
    if (len > 0 && len <= 5 && strspn(s, "0123456789") == len) {
        port = atoi(s);

        if (port < 1 || port > GM_MAX_PORT) {
            return gm_reject(ctx, "targetPort",
                             "must be between 1 and 65535");
        }

        sp->target_port = (uint16_t) port;
        return 0;
    }

    if (gm_check_name(ctx, "targetPort", s, len, GM_NAME_SVC_PORT) != 0) {
        return -1;
    }

    if (gm_strdup(ctx, &name, s, len) != 0) {
        return -1;
    }

    sp->target_port_name = name.data;

    return 0;
}


static int
gm_service_port_unique(gm_parse_ctx_t *ctx, gm_service_t *svc, size_t i)
{
    size_t              j;
    gm_service_port_t  *a, *b;

    a = &svc->ports[i];

    if (svc->nports > 1 && a->name.len == 0) {
        return gm_reject(ctx, "name",
                         "is required when the Service has several ports");
    }

    for (j = 0; j < i; j++) {
        b = &svc->ports[j];

        if (a->name.len && gm_str_eq(&a->name, &b->name)) {
            return gm_reject(ctx, "name", "duplicate port name");
        }

        if (a->port == b->port && a->protocol == b->protocol) {
            return gm_reject(ctx, "port", "duplicate port and protocol");
        }
    }

    return 0;
}
