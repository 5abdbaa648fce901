# Backends whose Service port has appProtocol kubernetes.io/h2c: an
# HTTP/1.1 client's request goes on over h2c, through the server's
# "location @gamma_h2c" (grpc_pass to the same mesh upstream); other
# backends of the same route keep HTTP/1.1.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

no_shuffle();
log_level('info');
gamma_mesh_config();

our $H2cConfig = <<'_EOC_';
    # an HTTP mesh listener that can hand requests on to h2c backends
    server {
        listen 18071;

        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }

        location @gamma_h2c {
            gamma on;
            grpc_pass grpc://gamma_mesh;
        }
    }

    # an h2c pod: says which protocol it was spoken to in
    server {
        listen 127.11.0.31:18076 http2;
        access_log off;
        return 200 "h2c pod $server_protocol $request_method $request_uri host=$host x=$http_x_added\n";
    }
_EOC_

our $Mesh = $GammaTest::Base . <<'_EOY_';
---
apiVersion: v1
kind: Service
metadata: {name: h2c-web, namespace: faces}
spec:
  clusterIP: 127.10.0.31
  ports:
  - {name: http, port: 18071, targetPort: 18076, appProtocol: kubernetes.io/h2c}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: h2c-web-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: h2c-web}
addressType: IPv4
ports:
- {name: http, port: 18076}
endpoints:
- addresses: [127.11.0.31]
---
apiVersion: v1
kind: Service
metadata: {name: front, namespace: faces}
spec:
  clusterIP: 127.10.0.32
  ports:
  - {name: http, port: 18071, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: front-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: front}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.0.32]
_EOY_

run_tests();

__DATA__

=== TEST 1: no route: the Service's own h2c port is reached over HTTP/2, the client's Host kept
--- http_config eval: $main::H2cConfig
--- user_files eval
[["mesh/base.yaml", $main::Mesh]]
--- request
GET /p?q=1
--- more_headers
X-Test-To: 127.10.0.31:18071
--- response_body
h2c pod HTTP/2.0 GET /p?q=1 host=127.10.0.31 x=
--- no_error_log
[error]



=== TEST 2: an HTTPRoute sends one path to the h2c backend, with its filters, the rest to an HTTP/1.1 backend
--- http_config eval: $main::H2cConfig
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: front}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /h2}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Added, value: "yes"}]
    backendRefs:
    - {name: h2c-web, port: 18071}
  - backendRefs:
    - {name: front, port: 18071}
_EOY_
--- request eval
["GET /h2/x", "GET /other"]
--- more_headers eval
["X-Test-To: 127.10.0.32:18071", "X-Test-To: 127.10.0.32:18071"]
--- response_body eval
["h2c pod HTTP/2.0 GET /h2/x host=127.10.0.32 x=yes\n",
 "pod 127.11.0.32:18090 GET /other host=127.10.0.32:18071\n"]
--- no_error_log
[error]
