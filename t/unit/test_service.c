/*
 * nginx-gamma: Services and EndpointSlices parsed (gm_object_parse()):
 * their fields and defaults, creation timestamps, the addresses they hold
 * (gm_addr_parse()), and the log line of each rejection.
 */


#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "tap.h"
#include "tap_parse.h"


static void
test_service(void)
{
    gm_object_t        *obj;
    gm_service_t       *svc;
    gm_service_port_t  *p;

    obj = test_parse(
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata:\n"
        "  name: web\n"
        "  namespace: shop\n"
        "  uid: 9b1d7f0e\n"
        "  resourceVersion: \"4810\"\n"
        "  creationTimestamp: \"2024-01-02T03:04:05Z\"\n"
        "spec:\n"
        "  type: ClusterIP\n"
        "  clusterIP: 10.96.12.34\n"
        "  clusterIPs: [10.96.12.34, \"fd00::1\"]\n"
        "  ports:\n"
        "  - name: http\n"
        "    port: 80\n"
        "    targetPort: 8080\n"
        "    appProtocol: http\n"
        "  - name: grpc\n"
        "    protocol: TCP\n"
        "    port: 9090\n"
        "    targetPort: grpc-port\n"
        "    appProtocol: kubernetes.io/h2c\n"
        "  - {name: dns, protocol: UDP, port: 9090, targetPort: \"53\"}\n");

    ok(obj != NULL, "service: parsed");
    if (obj == NULL) {
        return;
    }

    svc = &obj->body->service;

    is_int(svc->meta.kind, GM_KIND_SERVICE, "service: kind");
    is_str(svc->meta.ns.data, "shop", "service: namespace");
    is_str(svc->meta.name.data, "web", "service: name");
    is_str(svc->meta.resource_version, "4810", "service: rv");
    is_int(svc->meta.created, 1704164645, "service: creationTimestamp");
    is_int(svc->type, GM_SERVICE_CLUSTER_IP, "service: type");
    is_int(svc->headless, 0, "service: not headless");
    is_int(svc->ncluster_ips, 2, "service: two cluster IPs");
    is_int(svc->cluster_ips[0].family, AF_INET, "service: IPv4 first");
    is_int(svc->cluster_ips[0].addr[0], 10, "service: 10.x");
    is_int(svc->cluster_ips[1].family, AF_INET6, "service: IPv6 second");
    is_int(svc->nports, 3, "service: three ports");

    p = &svc->ports[0];
    is_str(p->name.data, "http", "service: port name");
    is_int(p->port, 80, "service: port");
    is_int(p->target_port, 8080, "service: numeric targetPort");
    is_str(p->target_port_name, "", "service: no named targetPort");
    is_int(p->protocol, GM_PROTOCOL_TCP,
           "service: protocol defaults to TCP");
    is_str(p->app_protocol, "http", "service: appProtocol");

    p = &svc->ports[1];
    is_int(p->target_port, 0, "service: named targetPort has no number");
    is_str(p->target_port_name, "grpc-port", "service: named targetPort");

    p = &svc->ports[2];
    is_int(p->target_port, 53, "service: quoted targetPort read as a number");
    is_int(p->protocol, GM_PROTOCOL_UDP,
           "service: UDP on a TCP port number");
    is_int(test_lines.n, 0, "service: nothing logged");

    gm_object_free(obj);

    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: h}\n"
                     "spec: {clusterIP: None, ports: [{port: 80}]}\n");
    ok(obj && obj->body->service.headless, "service: None is headless");
    ok(obj && obj->body->service.ncluster_ips == 0, "service: no IPs");
    ok(obj && strcmp(obj->body->meta.ns.data, "default") == 0,
       "service: namespace defaults to default");
    ok(obj && obj->body->meta.created == 0, "service: no timestamp is 0");
    ok(obj && obj->body->service.ports[0].name.len == 0
       && obj->body->service.ports[0].name.data != NULL,
       "service: unnamed port is an empty string");
    gm_object_free(obj);

    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: x, "
                     "creationTimestamp: \"2024-01-02T05:04:05.5+02:00\"}\n"
                     "spec: {type: ExternalName, externalName: a.b}\n");
    ok(obj && obj->body->service.type == GM_SERVICE_EXTERNAL_NAME,
       "service: ExternalName");
    ok(obj && obj->body->meta.created == 1704164645,
       "service: timestamp with fraction and offset");
    gm_object_free(obj);

    /* 32 bits of seconds: the times outside them keep their order */
    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: x, "
                     "creationTimestamp: \"1969-12-31T23:59:59Z\"}\n"
                     "spec: {type: ExternalName, externalName: a.b}\n");
    ok(obj && obj->body->meta.created == 0, "service: before 1970 is 0");
    gm_object_free(obj);

    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: x, "
                     "creationTimestamp: \"2106-02-07T06:28:16Z\"}\n"
                     "spec: {type: ExternalName, externalName: a.b}\n");
    ok(obj && obj->body->meta.created == UINT32_MAX,
       "service: after 2106-02-07T06:28:15Z is the last second");
    gm_object_free(obj);

    obj = test_parse("apiVersion: v1\nkind: Service\nmetadata: {name: x, "
                     "creationTimestamp: \"2106-02-07T06:28:15Z\"}\n"
                     "spec: {type: ExternalName, externalName: a.b}\n");
    ok(obj && obj->body->meta.created == UINT32_MAX,
       "service: 2106-02-07T06:28:15Z is UINT32_MAX");
    gm_object_free(obj);
}


static void
test_service_reject(void)
{
    size_t       i;
    char         text[512], line[512];
    const char  *h;

    struct {
        const char  *body;
        const char  *line;
    } cases[] = {
        { "metadata: {name: s, namespace: Bad_Ns}\n",
          "Service Bad_Ns/s rejected: metadata.namespace: must be a "
          "lowercase RFC 1123 label" },
        { "metadata: {name: s, creationTimestamp: yesterday}\n",
          "Service default/s rejected: metadata.creationTimestamp: must be "
          "an RFC 3339 time" },
        { "metadata: {name: s}\nspec: {ports: [{port: 0}]}\n",
          "Service default/s rejected: spec.ports[0].port: must be between 1 "
          "and 65535" },
        { "metadata: {name: s}\nspec: {ports: [{port: 65536}]}\n",
          "Service default/s rejected: spec.ports[0].port: must be between 1 "
          "and 65535" },
        { "metadata: {name: s}\nspec: {ports: [{name: a}]}\n",
          "Service default/s rejected: spec.ports[0].port: is required" },
        { "metadata: {name: s}\nspec: {ports: [{name: a, port: 1}, "
          "{port: 2}]}\n",
          "Service default/s rejected: spec.ports[1].name: is required when "
          "the Service has several ports" },
        { "metadata: {name: s}\nspec: {ports: [{name: a, port: 1}, "
          "{name: a, port: 2}]}\n",
          "Service default/s rejected: spec.ports[1].name: duplicate port "
          "name" },
        { "metadata: {name: s}\nspec: {ports: [{name: a, port: 1}, "
          "{name: b, port: 1, protocol: TCP}]}\n",
          "Service default/s rejected: spec.ports[1].port: duplicate port "
          "and protocol" },
        { "metadata: {name: s}\nspec: {ports: [{port: 1, targetPort: "
          "\"99999\"}]}\n",
          "Service default/s rejected: spec.ports[0].targetPort: must be "
          "between 1 and 65535" },
        { "metadata: {name: s}\nspec: {ports: [{port: 1, targetPort: "
          "Bad_Port}]}\n",
          "Service default/s rejected: spec.ports[0].targetPort: must be an "
          "IANA service name" },
        { "metadata: {name: s}\nspec: {ports: [{port: 1, targetPort: "
          "[1]}]}\n",
          "Service default/s rejected: spec.ports[0].targetPort: must be an "
          "integer or a string" },
        { "metadata: {name: s}\nspec: {ports: [{port: 1, protocol: "
          "HTTP}]}\n",
          "Service default/s rejected: spec.ports[0].protocol: unsupported "
          "value \"HTTP\"" },
        { "metadata: {name: s}\nspec: {clusterIP: banana}\n",
          "Service default/s rejected: spec.clusterIP: must be a valid IP "
          "address" },
        { "metadata: {name: s}\nspec: {clusterIPs: [1.2.3.4, None]}\n",
          "Service default/s rejected: spec.clusterIPs[1]: \"None\" must be "
          "the only entry" },
        { "metadata: {name: s}\nspec: {type: Mesh}\n",
          "Service default/s rejected: spec.type: unsupported value "
          "\"Mesh\"" },
        { "metadata: {name: s}\nspec: [1]\n",
          "Service default/s rejected: spec: must be an object" },
        { "metadata: {name: s, uid: [1]}\n",
          "Service default/s rejected: metadata.uid: must be a string" },
        { "metadata: {name: \"a\\nb\"}\n",
          "Service default/a?b rejected: metadata.name: must be a lowercase "
          "RFC 1123 subdomain" },
    };

    h = "apiVersion: v1\nkind: Service\n";

    test_reject("apiVersion: v1\nkind: Service\nmetadata: {namespace: a}\n",
                "Service a/? rejected: metadata.name: is required",
                "service without a name");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", h, cases[i].body);
        test_reject(text, cases[i].line, cases[i].line);
    }

    /* a long name is cut in the log line */
    snprintf(text, sizeof(text), "%smetadata: {name: \"%0300d\"}\n", h, 0);
    snprintf(line, sizeof(line), "Service default/%068d... rejected: "
             "metadata.name: must be at most 253 characters", 0);
    test_reject(text, line, "long name cut in the log line");
}


static void
test_endpointslice(void)
{
    gm_object_t         *obj;
    gm_endpointslice_t  *eps;

    obj = test_parse(
        "{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
        " \"metadata\":{\"name\":\"web-q8d2m\",\"namespace\":\"shop\","
        "  \"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
        " \"addressType\":\"IPv4\","
        " \"endpoints\":["
        "  {\"addresses\":[\"10.244.1.7\"],\"conditions\":{\"ready\":true,"
        "   \"serving\":true,\"terminating\":false}},"
        "  {\"addresses\":[\"10.244.2.9\"],\"conditions\":{\"ready\":false,"
        "   \"serving\":true,\"terminating\":true}},"
        "  {\"addresses\":[\"10.244.3.4\"],\"conditions\":{}},"
        "  {\"addresses\":[\"10.244.3.5\"]}],"
        " \"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080},"
        "  {\"name\":\"\",\"port\":null}]}");

    ok(obj != NULL, "endpointslice: parsed");
    if (obj == NULL) {
        return;
    }

    eps = &obj->body->endpointslice;

    is_str(eps->service_name.data, "web", "endpointslice: service name");
    is_int(eps->family, AF_INET, "endpointslice: IPv4");
    is_int(eps->nports, 2, "endpointslice: ports");
    is_str(eps->ports[0].name.data, "http", "endpointslice: port name");
    is_int(eps->ports[0].port, 8080, "endpointslice: port");
    is_int(eps->ports[1].port, 0, "endpointslice: null port is 0");
    is_int(eps->nendpoints, 4, "endpointslice: endpoints");
    is_int(eps->endpoints[0].naddrs, 1, "endpointslice: addresses");
    is_int(eps->endpoints[0].addrs[0].addr[3], 7, "endpointslice: address");
    ok(eps->endpoints[0].ready && eps->endpoints[0].serving
       && !eps->endpoints[0].terminating, "endpointslice: ready");
    ok(!eps->endpoints[1].ready && eps->endpoints[1].serving
       && eps->endpoints[1].terminating, "endpointslice: terminating");
    ok(eps->endpoints[2].ready && eps->endpoints[2].serving
       && !eps->endpoints[2].terminating,
       "endpointslice: empty conditions read as ready");
    ok(eps->endpoints[3].ready, "endpointslice: no conditions is ready");

    gm_object_free(obj);

    obj = test_parse("kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\n"
                     "metadata: {name: a, labels: "
                     "{kubernetes.io/service-name: b}}\n"
                     "addressType: IPv6\nendpoints: [{addresses: ['fd00::7']}]"
                     "\n");
    ok(obj && obj->body->endpointslice.family == AF_INET6,
       "endpointslice: IPv6");
    gm_object_free(obj);
}


static void
test_endpointslice_reject(void)
{
    size_t       i;
    char         text[512];
    const char  *h;

    struct {
        const char  *body;
        const char  *line;
    } cases[] = {
        { "addressType: FQDN\n",
          "EndpointSlice n/a rejected: addressType: FQDN is not supported" },
        { "endpoints: []\n",
          "EndpointSlice n/a rejected: addressType: is required" },
        { "addressType: IPv4\nendpoints: [{addresses: ['fd00::1']}]\n",
          "EndpointSlice n/a rejected: endpoints[0].addresses[0]: must be an "
          "IPv4 address" },
        { "addressType: IPv4\nendpoints: [{addresses: []}]\n",
          "EndpointSlice n/a rejected: endpoints[0].addresses: must have at "
          "least 1 item" },
        { "addressType: IPv4\nendpoints: [{addresses: [1.1.1.1], "
          "conditions: {ready: \"yes\"}}]\n",
          "EndpointSlice n/a rejected: endpoints[0].conditions.ready: must "
          "be a boolean" },
        { "addressType: IPv4\nports: [{port: -1}]\n",
          "EndpointSlice n/a rejected: ports[0].port: must be between 1 and "
          "65535" },
    };

    h = "kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\n"
        "metadata: {name: a, namespace: n, labels: "
        "{kubernetes.io/service-name: b}}\n";

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", h, cases[i].body);
        test_reject(text, cases[i].line, cases[i].line);
    }

    test_reject("kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\n"
                "metadata: {name: a, namespace: n, labels: {app: b}}\n"
                "addressType: IPv4\n",
                "EndpointSlice n/a rejected: "
                "metadata.labels.kubernetes.io/service-name: is required",
                "endpointslice without its service label");
}


static void
test_addr(void)
{
    gm_addr_t  a;

    ok(gm_addr_parse(&a, "192.168.1.2") == 0 && a.family == AF_INET
       && a.addr[3] == 2, "addr: IPv4");
    ok(gm_addr_parse(&a, "::1") == 0 && a.family == AF_INET6
       && a.addr[15] == 1, "addr: IPv6");
    ok(gm_addr_parse(&a, "1.2.3") != 0, "addr: short IPv4");
    ok(gm_addr_parse(&a, "01.2.3.4") != 0, "addr: leading zero");
    ok(gm_addr_parse(&a, "fe80::1%eth0") != 0, "addr: zone");
    ok(gm_addr_parse(&a, "") != 0, "addr: empty");
    ok(gm_addr_parse(&a, NULL) != 0, "addr: NULL");
}


int
main(void)
{
    test_service();
    test_service_reject();
    test_endpointslice();
    test_endpointslice_reject();
    test_addr();

    return done_testing();
}
