# GRPCRoute routing over the h2c mesh listener, with a real gRPC client and
# real gRPC servers (python3-grpcio): method matching (Exact, service-only,
# method-only, RegularExpression) and its precedence, header matching,
# named rules, the proxy's own answers as gRPC statuses, GRPCRoute over
# HTTPRoute on one Service port, consumer routes, weights; under
# gamma_reference_grants require, a cross-namespace backendRef needs a
# ReferenceGrant from GRPCRoutes (t/017 has HTTPRoute's).

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

# under gamma_reference_grants require: grpc-far in namespace colors
# (server a's pod), a GRPCRoute of faces sending to it, and grants in
# colors from routes of faces of a kind
our $Far = GammaGrpc::service('grpc-far', '127.10.0.25', '127.11.0.21',
                              'kubernetes.io/h2c')
           =~ s/namespace: faces/namespace: colors/gr;

our $FarRoute = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: far, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front, port: 18070}
  rules:
  - backendRefs:
    - {name: grpc-far, namespace: colors, port: 18070}
_EOY_

sub grant {
    my ($kind) = @_;
    return <<"_EOY_";
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-faces, namespace: colors}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: $kind, namespace: faces}
  to:
  - {group: "", kind: Service}
_EOY_
}

our $Refused = [
    qr{\[warn\] .*gamma: GRPCRoute faces/far/rule0: backendRef Service colors/grpc-far: no ReferenceGrant in namespace colors lets GRPCRoutes of faces refer to it, its share gets 500 \(gamma_reference_grants require\)},
    qr{status: GRPCRoute faces/far parentRef faces/grpc-front: ResolvedRefs=False RefNotPermitted}];

sub calls {
    my ($to, @methods) = @_;
    return [map { my ($m, $md) = split / /, $_, 2;
                  "GET /grpc/call?brief=1&to=$to&method=$m"
                  . ($md ? "&md=$md" : '') } @methods];
}

run_tests();

__DATA__

=== TEST 1: no route bound: the call goes to the Service's own endpoints, with the client's :authority
--- user_files eval
[["mesh/base.yaml", $main::Mesh]]
--- request
GET /grpc/call?to=127.10.0.20:18070&method=/shop.Cart/Get&md=x-a:1
--- response_body
code OK
server front
path /shop.Cart/Get
authority 127.10.0.20:18070
md x-a: 1
initial x-backend: front
initial x-drop: me
initial x-gamma-backend: faces/grpc-front:18070
initial x-gamma-grpc: shop.Cart/Get
trailing x-served-by: front
--- no_error_log
[error]



=== TEST 2: method matching: Exact service and method, service only, method only, RegularExpression; case-sensitive and anchored; the service outranks the method
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front, port: 18070}
  rules:
  - name: exact
    matches:
    - method: {service: shop.Cart, method: Get}
    backendRefs:
    - {name: grpc-a, port: 18070}
  - name: service
    matches:
    - method: {type: Exact, service: shop.Cart}
    backendRefs:
    - {name: grpc-b, port: 18070}
  - name: method
    matches:
    - method: {method: Ping}
    backendRefs:
    - {name: grpc-c, port: 18070}
  - name: regex
    matches:
    - method: {type: RegularExpression, service: 'shop\.(Order|Bill)s?', method: 'List.*'}
    backendRefs:
    - {name: grpc-front, port: 18070}
_EOY_
--- request eval
main::calls('127.10.0.20:18070', '/shop.Cart/Get', '/shop.Cart/Put',
            '/other.Svc/Ping', '/shop.Cart/Ping', '/shop.Orders/ListAll',
            '/shop.Bill/List', '/shop.Orders/listAll', '/Shop.Cart/Get',
            '/xshop.Orders/List', '/shop.Orders/a/List')
--- response_body eval
["code OK server a rule exact type grpc\n",
 "code OK server b rule service type grpc\n",
 "code OK server c rule method type grpc\n",
 "code OK server b rule service type grpc\n",
 "code OK server front rule regex type grpc\n",
 "code OK server front rule regex type grpc\n",
 "code UNIMPLEMENTED details gamma: no route rule matches the method\n",
 "code UNIMPLEMENTED details gamma: no route rule matches the method\n",
 "code UNIMPLEMENTED details gamma: no route rule matches the method\n",
 "code UNIMPLEMENTED details gamma: no route rule matches the method\n"]
--- no_error_log
[error]



=== TEST 3: no matching rule is UNIMPLEMENTED as a trailers-only answer, logged with the grpc-status
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - matches:
    - method: {service: shop.Cart, method: Get}
    backendRefs:
    - {name: grpc-a, port: 18070}
_EOY_
--- request
GET /grpc/call?to=127.10.0.20:18070&method=/shop.Cart/Put
--- response_body
code UNIMPLEMENTED
details gamma: no route rule matches the method
trailing x-gamma-grpc-status: 12
trailing x-gamma-grpc: shop.Cart/Put
--- error_log
gamma: no producer route of faces/grpc-front:18070 matches, answering 404
gamma: HTTP 404 answered as grpc-status 12
--- no_error_log
[error]



=== TEST 4: a backendRef to a missing Service or one with no ready endpoint is UNAVAILABLE; a weight-0 missing one does no harm
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - matches:
    - method: {method: Missing}
    backendRefs:
    - {name: grpc-nowhere, port: 18070}
  - matches:
    - method: {method: NotReady}
    backendRefs:
    - {name: grpc-none, port: 18070}
  - matches:
    - method: {method: Get}
    backendRefs:
    - {name: grpc-a, port: 18070}
    - {name: grpc-nowhere, port: 18070, weight: 0}
  - matches:
    - method: {method: Nothing}
_EOY_
--- request eval
main::calls('127.10.0.20:18070', '/s.S/Missing', '/s.S/NotReady', '/s.S/Get',
            '/s.S/Nothing')
--- response_body eval
["code UNAVAILABLE details gamma: no valid backend\n",
 "code UNAVAILABLE details gamma: no ready endpoint\n",
 "code OK server a rule - type grpc\n",
 "code UNAVAILABLE details gamma: no valid backend\n"]



=== TEST 5: header matching: Exact and RegularExpression, ANDed, names case-insensitive; more header matches win
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - name: plain
    matches:
    - method: {service: shop.Cart}
    backendRefs:
    - {name: grpc-a, port: 18070}
  - name: canary
    matches:
    - method: {service: shop.Cart}
      headers:
      - {name: X-Env, value: canary}
    backendRefs:
    - {name: grpc-b, port: 18070}
  - name: both
    matches:
    - method: {service: shop.Cart}
      headers:
      - {name: x-env, value: canary}
      - {type: RegularExpression, name: x-version, value: 'v[0-9]+'}
    backendRefs:
    - {name: grpc-c, port: 18070}
_EOY_
--- request eval
main::calls('127.10.0.20:18070', '/shop.Cart/Get',
            '/shop.Cart/Get x-env:canary', '/shop.Cart/Get x-env:Canary',
            '/shop.Cart/Get x-env:canary&md=x-version:v12',
            '/shop.Cart/Get x-env:canary&md=x-version:v12a')
--- response_body eval
["code OK server a rule plain type grpc\n",
 "code OK server b rule canary type grpc\n",
 "code OK server a rule plain type grpc\n",
 "code OK server c rule both type grpc\n",
 "code OK server b rule canary type grpc\n"]
--- no_error_log
[error]



=== TEST 6: a GRPCRoute and an HTTPRoute on one Service port: the GRPCRoute wins, the HTTPRoute is logged Conflicted and ignored there, its parentRef's status Accepted=False Conflicted
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  - {group: "", kind: Service, name: grpc-c}
  rules:
  - backendRefs:
    - {name: grpc-b, port: 18070}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - name: grpc
    backendRefs:
    - {name: grpc-a, port: 18070}
_EOY_
--- request
GET /grpc/call?brief=1&to=127.10.0.20:18070&method=/shop.Cart/Get
--- response_body
code OK server a rule grpc type grpc
--- error_log eval
["HTTPRoute faces/web: Conflicted: GRPCRoute faces/shop is bound to Service faces/grpc-front:18070 too and wins there; the HTTPRoute is ignored on that port",
 "status: HTTPRoute faces/web parentRef faces/grpc-front: Accepted=False Conflicted: GRPCRoute faces/shop is bound to Service faces/grpc-front too",
 "status: HTTPRoute faces/web parentRef faces/grpc-c: Accepted=True Accepted: Route accepted for Service faces/grpc-c"]



=== TEST 7: ... while the same HTTPRoute still applies on a Service port no GRPCRoute is bound to, gRPC calls and all
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  - {group: "", kind: Service, name: grpc-c}
  rules:
  - backendRefs:
    - {name: grpc-b, port: 18070}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - name: grpc
    backendRefs:
    - {name: grpc-a, port: 18070}
_EOY_
--- request
GET /grpc/call?brief=1&to=127.10.0.23:18070&method=/shop.Cart/Get
--- response_body
code OK server b rule - type http
--- no_error_log
grpc-c:18070 too



=== TEST 8: a consumer GRPCRoute applies to its own namespace only; others get the producer route
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - name: producer
    backendRefs:
    - {name: grpc-a, port: 18070}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: mine, namespace: fast-clients}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front, namespace: faces, port: 18070}
  rules:
  - name: consumer
    matches:
    - method: {service: shop.Cart}
    backendRefs:
    - {name: grpc-b, namespace: faces, port: 18070}
_EOY_
--- request eval
main::calls('127.10.0.20:18070', '/shop.Cart/Get x-client-ns:fast-clients',
            '/shop.Order/Get x-client-ns:fast-clients',
            '/shop.Cart/Get x-client-ns:slow-clients', '/shop.Cart/Get')
--- response_body eval
["code OK server b rule consumer type grpc\n",
 "code UNIMPLEMENTED details gamma: no route rule matches the method\n",
 "code OK server a rule producer type grpc\n",
 "code OK server a rule producer type grpc\n"]
--- no_error_log
[error]



=== TEST 9: weights per call on one channel: 500 calls split 3:1 within 5%, a weight-0 missing backend never chosen
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front, sectionName: grpc}
  rules:
  - backendRefs:
    - {name: grpc-a, port: 18070, weight: 75}
    - {name: grpc-b, port: 18070, weight: 25}
    - {name: grpc-nowhere, port: 18070, weight: 0}
_EOY_
--- request
GET /grpc/call?to=127.10.0.20:18070&method=/shop.Cart/Get&n=500&expect=a:75,b:25&tol=0.05
--- response_body
calls 500
code OK 500
a within 5% of 75%
b within 5% of 25%
--- timeout: 30
--- no_error_log
[error]



=== TEST 10: gamma_reference_grants require, no ReferenceGrant: a GRPCRoute's backendRef to another namespace is refused (UNAVAILABLE)
--- http_config
    gamma_reference_grants require;
--- user_files eval
[["mesh/base.yaml", $main::Mesh . $main::Far],
 ["mesh/route.yaml", $main::FarRoute]]
--- request
GET /grpc/call?brief=1&to=127.10.0.20:18070&method=/shop.Cart/Get
--- response_body
code UNAVAILABLE details gamma: no valid backend
--- error_log eval
$main::Refused



=== TEST 11: require: a ReferenceGrant from HTTPRoutes does not let a GRPCRoute refer
--- http_config
    gamma_reference_grants require;
--- user_files eval
[["mesh/base.yaml", $main::Mesh . $main::Far],
 ["mesh/route.yaml", $main::FarRoute],
 ["mesh/grant.yaml", main::grant('HTTPRoute')]]
--- request
GET /grpc/call?brief=1&to=127.10.0.20:18070&method=/shop.Cart/Get
--- response_body
code UNAVAILABLE details gamma: no valid backend
--- error_log eval
$main::Refused



=== TEST 12: require: a ReferenceGrant from GRPCRoutes of faces permits it
--- http_config
    gamma_reference_grants require;
--- user_files eval
[["mesh/base.yaml", $main::Mesh . $main::Far],
 ["mesh/route.yaml", $main::FarRoute],
 ["mesh/grant.yaml", main::grant('GRPCRoute')]]
--- request
GET /grpc/call?brief=1&to=127.10.0.20:18070&method=/shop.Cart/Get
--- response_body
code OK server a rule - type grpc
--- error_log
status: GRPCRoute faces/far parentRef faces/grpc-front: ResolvedRefs=True ResolvedRefs: All references resolved
--- no_error_log
no ReferenceGrant
[error]
