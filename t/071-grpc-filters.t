# GRPCRoute filters with a real gRPC client and server: RequestHeaderModifier
# (seen by the server as metadata) and ResponseHeaderModifier (seen by the
# client as response metadata) at rule and backendRef level, RequestMirror.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaGrpc;

no_shuffle();
log_level('info');
GammaGrpc::config();
gamma_mesh_config();
GammaGrpc::start();

our $Mesh = $GammaTest::Base . $GammaGrpc::Mesh;

run_tests();

__DATA__

=== TEST 1: RequestHeaderModifier at rule level: set replaces, add gives old,new, remove drops; the server sees it
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Set, value: new}, {name: x-absent, value: here}]
        add: [{name: X-Add, value: two}]
        remove: [x-gone]
    backendRefs:
    - {name: grpc-a, port: 18070}
_EOY_
--- request
GET /grpc/call?to=127.10.0.20:18070&method=/shop.Cart/Get&md=x-set:old&md=x-add:one&md=x-gone:a&md=x-keep:k
--- response_body
code OK
server a
path /shop.Cart/Get
authority 127.10.0.20:18070
md x-absent: here
md x-add: one,two
md x-keep: k
md x-set: new
initial x-backend: a
initial x-drop: me
initial x-gamma-backend: faces/grpc-a:18070
initial x-gamma-grpc: shop.Cart/Get
initial x-gamma-route-type: grpc
initial x-gamma-route: faces/shop
trailing x-served-by: a
--- no_error_log
[error]



=== TEST 2: backendRef filters run only for their backend, after the rule's; ResponseHeaderModifier on both levels
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - name: one
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-order, value: rule}]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: x-resp, value: rule}]
        remove: [x-drop]
    backendRefs:
    - name: grpc-b
      port: 18070
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: x-order, value: backend}]
          add: [{name: x-via, value: b}]
      - type: ResponseHeaderModifier
        responseHeaderModifier:
          add: [{name: x-resp-b, value: "yes"}]
_EOY_
--- request
GET /grpc/call?to=127.10.0.20:18070&method=/shop.Cart/Get
--- response_body
code OK
server b
path /shop.Cart/Get
authority 127.10.0.20:18070
md x-order: backend
md x-via: b
initial x-backend: b
initial x-gamma-backend: faces/grpc-b:18070
initial x-gamma-grpc: shop.Cart/Get
initial x-gamma-route-type: grpc
initial x-gamma-route: faces/shop
initial x-gamma-rule: one
initial x-resp-b: yes
initial x-resp: rule
trailing x-served-by: b
--- no_error_log
[error]



=== TEST 3: RequestMirror: the mirror backend gets a copy of the call, the client the answer of the backend
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-mirrored, value: "1"}]
    - type: RequestMirror
      requestMirror:
        backendRef: {name: grpc-c, port: 18070}
    backendRefs:
    - {name: grpc-a, port: 18070}
_EOY_
--- request eval
["GET /grpc/seen?server=c&wait=0",
 "GET /grpc/call?brief=1&to=127.10.0.20:18070&method=/shop.Cart/Get&md=x-n:1",
 "GET /grpc/seen?server=c"]
--- response_body eval
["nothing\n",
 "code OK server a rule - type grpc\n",
 "path /shop.Cart/Get authority 127.10.0.20:18070 md x-mirrored: 1 md x-n: 1\n"]
--- no_error_log
[error]
