#!/usr/bin/perl
# Writes a mesh of N Services, N EndpointSlices and N HTTPRoutes as one
# multi-document YAML file, for the scale measurements.
#
#   bench/gen-mesh.pl 10000 > /tmp/mesh/mesh.yaml
#
# Service i: faces-<i % 100>/svc-<i>, ClusterIP 127.(100 + i / 65536 % 100)
# .(i / 256 % 256).(i % 256), port 8080 -> pods 127.200.x.y:18090 (two each);
# route i sends /v2 to Service i+1 and everything else to Service i.

use strict;
use warnings;

my $n = shift // 1000;

sub ip {
    my ($base, $i) = @_;
    return sprintf "127.%d.%d.%d", $base + int($i / 65536) % 50,
                   int($i / 256) % 256, $i % 256;
}

for my $i (0 .. $n - 1) {
    my $ns = "faces-" . ($i % 100);
    my $next = ($i + 1) % $n;
    my $nns = "faces-" . ($next % 100);
    my $cip = ip(100, $i);
    my $pod = ip(200, $i);

    print <<"_EOY_";
---
apiVersion: v1
kind: Service
metadata: {name: svc-$i, namespace: $ns}
spec:
  clusterIP: $cip
  ports:
  - {name: http, port: 8080, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc-$i-abcde
  namespace: $ns
  labels: {kubernetes.io/service-name: svc-$i}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [$pod]
  conditions: {ready: true}
- addresses: [127.0.0.1]
  conditions: {ready: true}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-$i, namespace: $ns}
spec:
  parentRefs:
  - {group: "", kind: Service, name: svc-$i, port: 8080}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /v2}
      headers:
      - {name: x-canary, value: "yes"}
    backendRefs:
    - {name: svc-$next, namespace: $nns, port: 8080}
  - backendRefs:
    - {name: svc-$i, port: 8080, weight: 90}
    - {name: svc-$next, namespace: $nns, port: 8080, weight: 10}
_EOY_
}
