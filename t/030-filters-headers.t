# HTTPRoute filters: RequestHeaderModifier and ResponseHeaderModifier, at
# rule and backendRef level, on proxied responses and on the ones the
# module generates.  The echo backend answers with the request head it
# received, so bodies show every header line exactly.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaEcho;

no_shuffle();
log_level('info');
gamma_mesh_config();
GammaEcho::start();

our $Mesh = $GammaTest::Base . $GammaEcho::Mesh;

run_tests();

__DATA__

=== TEST 1: set replaces every instance whatever its case, add gives old,new, remove drops all
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Set, value: new}, {name: X-Absent, value: here}]
        add: [{name: X-Add, value: two}, {name: X-New, value: "1"}]
        remove: [X-Gone]
    backendRefs:
    - {name: echo, port: 18080}
_EOY_
--- request
GET /h?q=1
--- more_headers
X-Test-To: 127.10.0.6:18080
x-set: old1
X-Keep: k
X-SET: old2
X-Add: one
x-gone: a
X-Gone: b
--- response_body
echo 127.11.0.6:18092
GET /h?q=1 HTTP/1.1
Host: 127.10.0.6:18080
X-Set: new
X-Keep: k
X-Add: one,two
X-Absent: here
X-New: 1
--- no_error_log
[error]



=== TEST 2: Host is set through $gamma_upstream_host; hop-by-hop and framing headers are left alone, with a warning
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - {name: host, value: smiley.faces.svc}
        - {name: Keep-Alive, value: "timeout=1"}
        - {name: Content-Length, value: "5"}
        add: [{name: Transfer-Encoding, value: chunked}]
        remove: [Connection, TE]
    backendRefs:
    - {name: echo, port: 18080}
_EOY_
--- request
POST /h
body
--- more_headers
X-Test-To: 127.10.0.6:18080
--- response_body
echo 127.11.0.6:18092
POST /h HTTP/1.1
Host: smiley.faces.svc
Content-Length: 4
body: body
--- error_log
HTTPRoute faces/echo-route/rule0: header "Keep-Alive" is hop-by-hop or framing, a filter cannot change it: ignored
HTTPRoute faces/echo-route/rule0: header "Content-Length" is hop-by-hop or framing, a filter cannot change it: ignored
HTTPRoute faces/echo-route/rule0: header "Transfer-Encoding" is hop-by-hop or framing, a filter cannot change it: ignored
HTTPRoute faces/echo-route/rule0: header "Connection" is hop-by-hop or framing, a filter cannot change it: ignored
--- no_error_log
[error]



=== TEST 3: a backendRef's filters run only when that backend is chosen, after the rule's
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Rule, value: "1"}, {name: X-Order, value: rule}]
    backendRefs:
    - name: echo
      port: 18080
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: X-Via, value: echo}, {name: X-Order, value: echo}]
    - name: shadow
      port: 18080
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          add: [{name: X-Via, value: shadow}]
_EOY_
--- request eval
[("GET /b") x 20]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 20]
--- response_body_like eval
[(qr{\Aecho 127\.11\.0\.6:18092\nGET /b HTTP/1\.1\nHost: 127\.10\.0\.6:18080\nX-Rule: 1\nX-Order: echo\nX-Via: echo\n\z|\Aecho 127\.11\.0\.7:18092\nGET /b HTTP/1\.1\nHost: 127\.10\.0\.6:18080\nX-Rule: 1\nX-Order: rule\nX-Via: shadow\n\z}) x 20]



=== TEST 4: ResponseHeaderModifier sets, adds to, removes the backend's headers, Content-Type included
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set:
        - {name: x-backend-a, value: A2}
        - {name: Content-Type, value: application/x-test}
        add: [{name: X-Backend-B, value: b2}, {name: X-New, value: n}]
        remove: [cache-control]
    backendRefs:
    - {name: echo, port: 18080}
_EOY_
--- request
GET /r
--- more_headers
X-Test-To: 127.10.0.6:18080
--- response_headers
X-Backend-A: A2
X-Backend-B: b,b2
X-New: n
Content-Type: application/x-test
!Cache-Control
--- no_error_log
[error]



=== TEST 5: ResponseHeaderModifier applies to the 500, 503 and redirects the module answers, not to a 404 without a rule
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: gen, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - matches: [{path: {type: Exact, value: /503}}]
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: X-Mod, value: rule}]}
    backendRefs:
    - name: empty
      port: 18080
      filters:
      - type: ResponseHeaderModifier
        responseHeaderModifier: {set: [{name: X-Backend, value: empty}]}
  - matches: [{path: {type: Exact, value: /500}}]
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: X-Mod, value: rule}]}
    backendRefs:
    - {name: nosuch, port: 18080}
  - matches: [{path: {type: Exact, value: /redirect}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: face.faces}
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: X-Mod, value: rule}]
        add: [{name: Location, value: x}]
_EOY_
--- request eval
["GET /503", "GET /500", "GET /redirect", "GET /404"]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 4]
--- error_code eval
[503, 500, 302, 404]
--- response_headers eval
["X-Mod: rule\n!X-Backend",
 "X-Mod: rule",
 "X-Mod: rule\nLocation: http://face.faces:18080/redirect,x",
 "!X-Mod"]



=== TEST 6: rule and backendRef ResponseHeaderModifier both apply, the backendRef's last
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: X-Level, value: rule}, {name: X-Rule, value: "1"}]
    backendRefs:
    - name: echo
      port: 18080
      filters:
      - type: ResponseHeaderModifier
        responseHeaderModifier:
          set: [{name: X-Level, value: backend}]
          remove: [X-Backend-A]
_EOY_
--- request
GET /r
--- more_headers
X-Test-To: 127.10.0.6:18080
--- response_headers
X-Level: backend
X-Rule: 1
!X-Backend-A
X-Backend-B: b
