# Backends whose Service port has appProtocol kubernetes.io/h2c: an
# HTTP/1.1 client's request goes on over h2c with the configuration of the
# server's "location @gamma_h2c" (grpc_pass to the same mesh upstream);
# other backends of the same route keep HTTP/1.1, also on one keep-alive
# client connection; bodies pass; without that location HTTP/1.1 is used.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaEcho;

no_shuffle();
log_level('info');
gamma_mesh_config();
GammaEcho::start();

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

    # the same without "location @gamma_h2c"
    server {
        listen 18072;

        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }
    }

    # an h2c pod: says which protocol it was spoken to in
    server {
        listen 127.11.0.31:18076 http2;
        access_log off;

        location / {
            return 200 "h2c pod $server_protocol $request_method $request_uri host=$host x=$http_x_added\n";
        }

        # the request as the pod got it, by the echo backend
        location /body {
            add_header X-Pod-Protocol $server_protocol;
            proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
        }
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
  - {name: other, port: 18072, targetPort: 18076, appProtocol: kubernetes.io/h2c}
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
- {name: other, port: 18076}
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



=== TEST 3: a request body reaches the h2c backend
--- http_config eval: $main::H2cConfig
--- user_files eval
[["mesh/base.yaml", $main::Mesh]]
--- request
POST /body
hello over h2c
--- more_headers
X-Test-To: 127.10.0.31:18071
--- response_headers
X-Pod-Protocol: HTTP/2.0
--- response_body_like: ^echo .*POST /body HTTP/1\.0.*body: hello over h2c$
--- no_error_log
[error]



=== TEST 4: one keep-alive client connection: h2c, HTTP/1.1, h2c again, each request to its own backend
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
    backendRefs:
    - {name: h2c-web, port: 18071}
  - backendRefs:
    - {name: front, port: 18071}
_EOY_
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.0.32:18071');
my @got = map { $c->request('GET', $_)->{body} } qw(/h2/a /b /h2/c);
$c->close;
Test::More::is_deeply(\@got,
    ["h2c pod HTTP/2.0 GET /h2/a host=127.10.0.32 x=\n",
     "pod 127.11.0.32:18090 GET /b host=127.10.0.32:18071\n",
     "h2c pod HTTP/2.0 GET /h2/c host=127.10.0.32 x=\n"],
    'each request of the connection goes its own way');
--- request
GET /h2/x
--- more_headers
X-Test-To: 127.10.0.32:18071
--- response_body
h2c pod HTTP/2.0 GET /h2/x host=127.10.0.32 x=
--- no_error_log
[error]



=== TEST 5: a server without "location @gamma_h2c" says so and speaks HTTP/1.1 (the h2c-only pod refuses it)
--- http_config eval: $main::H2cConfig
--- user_files eval
[["mesh/base.yaml", $main::Mesh]]
--- request
GET /p
--- more_headers
X-Test-To: 127.10.0.31:18072
--- ignore_response
--- error_log
gamma: backend faces/h2c-web:18072 speaks h2c, but this server has no "location @gamma_h2c": HTTP/1.1 is used
upstream sent no valid HTTP/1.0 header
