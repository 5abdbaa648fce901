# Mesh routing from manifest files: Service by ClusterIP:port, consumer over
# producer routes, matches and precedence, passthrough, 404/500/503.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

no_shuffle();
log_level('info');
gamma_mesh_config();
run_tests();

__DATA__

=== TEST 1: a Service without routes passes through to its ready endpoints
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- request
GET /hello?x=1
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_body
pod 127.11.0.3:18090 GET /hello?x=1 host=127.10.0.3:18080
--- response_headers
X-Gamma-Service: faces/face:18080
X-Gamma-Route-Kind: none
X-Gamma-Backend: faces/face:18080
!X-Gamma-Route
--- no_error_log
[error]



=== TEST 2: the producer route applies to a client of another namespace
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, port: 18080}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /heart}
    backendRefs:
    - {name: smiley2, port: 18080}
  - backendRefs:
    - {name: smiley, port: 18080}
_EOY_
--- request
GET /heart/beat
--- more_headers
X-Test-From: 127.20.0.2
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.2:18090 GET /heart/beat host=127.10.0.1:18080
--- response_headers
X-Gamma-Service: faces/smiley:18080
X-Gamma-Route: faces/smiley-route
X-Gamma-Route-Kind: producer
X-Gamma-Backend: faces/smiley2:18080



=== TEST 3: a consumer route wins for a client in its namespace
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: fast-clients}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, namespace: faces}
  rules:
  - backendRefs:
    - {name: color, namespace: colors, port: 18080}
_EOY_
--- request eval
["GET /a", "GET /a", "GET /a"]
--- more_headers eval
["X-Test-From: 127.20.0.1\nX-Test-To: 127.10.0.1:18080",
 "X-Test-From: 127.20.0.2\nX-Test-To: 127.10.0.1:18080",
 "X-Test-To: 127.10.0.1:18080"]
--- response_body eval
["pod 127.11.0.5:18090 GET /a host=127.10.0.1:18080\n",
 "pod 127.11.0.1:18090 GET /a host=127.10.0.1:18080\n",
 "pod 127.11.0.1:18090 GET /a host=127.10.0.1:18080\n"]
--- response_headers eval
["X-Gamma-Route: fast-clients/smiley-route\nX-Gamma-Route-Kind: consumer",
 "X-Gamma-Route: faces/smiley-route\nX-Gamma-Route-Kind: producer",
 "X-Gamma-Route: faces/smiley-route\nX-Gamma-Route-Kind: producer"]



=== TEST 4: no fallback from consumer to producer rules: 404
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: only-fast, namespace: fast-clients}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, namespace: faces}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /fast}
    backendRefs:
    - {name: smiley2, namespace: faces, port: 18080}
_EOY_
--- request eval
["GET /slow", "GET /fast/x"]
--- more_headers eval
["X-Test-From: 127.20.0.1\nX-Test-To: 127.10.0.1:18080",
 "X-Test-From: 127.20.0.1\nX-Test-To: 127.10.0.1:18080"]
--- error_code eval
[404, 200]
--- response_headers eval
["X-Gamma-Route-Kind: consumer\n!X-Gamma-Route",
 "X-Gamma-Route: fast-clients/only-fast"]



=== TEST 5: routes bound but no rule matches: 404
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: Exact, value: /only}
    backendRefs:
    - {name: smiley, port: 18080}
_EOY_
--- request
GET /other
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 404
--- response_headers
X-Gamma-Service: faces/smiley:18080
X-Gamma-Route-Kind: producer
--- error_log
gamma: no producer route of faces/smiley:18080 matches, answering 404



=== TEST 6: segment-wise prefix: /v2 matches /v2 and /v2/x, not /v2example
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /v2}
    backendRefs:
    - {name: smiley2, port: 18080}
  - matches:
    - path: {type: PathPrefix, value: /}
    backendRefs:
    - {name: smiley, port: 18080}
_EOY_
--- request eval
["GET /v2", "GET /v2/", "GET /v2/x", "GET /v2example"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.10.0.1:18080",
 "X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.10.0.1:18080"]
--- response_headers eval
["X-Gamma-Backend: faces/smiley2:18080",
 "X-Gamma-Backend: faces/smiley2:18080",
 "X-Gamma-Backend: faces/smiley2:18080",
 "X-Gamma-Backend: faces/smiley:18080"]



=== TEST 7: exact beats prefix, longer prefix beats shorter, method beats headers, more headers beat fewer
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: many, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /api}
      headers:
      - {name: x-a, value: "1"}
    backendRefs:
    - {name: face, port: 18080}
  - matches:
    - path: {type: PathPrefix, value: /api}
      headers:
      - {name: x-a, value: "1"}
      - {name: x-b, value: "2"}
    backendRefs:
    - {name: color, namespace: colors, port: 18080}
  - matches:
    - path: {type: PathPrefix, value: /api}
      method: POST
    backendRefs:
    - {name: smiley2, port: 18080}
  - matches:
    - path: {type: PathPrefix, value: /api/v1}
    backendRefs:
    - {name: smiley, port: 18080}
  - matches:
    - path: {type: Exact, value: /api/v1/exact}
    backendRefs:
    - {name: empty, port: 18080}
_EOY_
--- request eval
["GET /api/v1/exact", "GET /api/v1/x", "POST /api/x\nbody",
 "GET /api/x", "GET /api/x", "GET /api/x"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080",
 "X-Test-To: 127.10.0.1:18080",
 "X-Test-To: 127.10.0.1:18080\nX-A: 1\nX-B: 2",
 "X-Test-To: 127.10.0.1:18080\nX-A: 1\nX-B: 2",
 "X-Test-To: 127.10.0.1:18080\nX-A: 1",
 "X-Test-To: 127.10.0.1:18080"]
--- error_code eval
[503, 200, 200, 200, 200, 404]
--- response_headers eval
["X-Gamma-Backend: faces/empty:18080",
 "X-Gamma-Backend: faces/smiley:18080",
 "X-Gamma-Backend: faces/smiley2:18080",
 "X-Gamma-Backend: colors/color:18080",
 "X-Gamma-Backend: faces/face:18080",
 "!X-Gamma-Backend"]



=== TEST 8: two producer routes merge; the older route wins a tie
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: a-newer
  namespace: faces
  creationTimestamp: "2024-05-01T00:00:00Z"
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /same}
    backendRefs:
    - {name: smiley2, port: 18080}
  - matches:
    - path: {type: PathPrefix, value: /only-newer}
    backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: z-older
  namespace: faces
  creationTimestamp: "2023-01-01T00:00:00Z"
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /same}
    backendRefs:
    - {name: face, port: 18080}
_EOY_
--- request eval
["GET /same", "GET /only-newer"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.10.0.1:18080"]
--- response_headers eval
["X-Gamma-Route: faces/z-older\nX-Gamma-Backend: faces/face:18080",
 "X-Gamma-Route: faces/a-newer\nX-Gamma-Backend: faces/smiley2:18080"]



=== TEST 9: same timestamp: "namespace/name" order breaks the tie
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-b
  namespace: faces
  creationTimestamp: "2024-05-01T00:00:00Z"
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-a
  namespace: faces
  creationTimestamp: "2024-05-01T00:00:00Z"
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: face, port: 18080}
_EOY_
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route: faces/route-a



=== TEST 10: regular expressions on path, header and query parameter
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: regex, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: RegularExpression, value: "/users/[0-9]+"}
    backendRefs:
    - {name: smiley2, port: 18080}
  - matches:
    - headers:
      - {type: RegularExpression, name: X-Version, value: "v[2-3]"}
    backendRefs:
    - {name: face, port: 18080}
  - matches:
    - queryParams:
      - {type: RegularExpression, name: color, value: "bl(ue|ack)"}
    backendRefs:
    - {name: color, namespace: colors, port: 18080}
  - matches:
    - queryParams:
      - {name: exact, value: "yes"}
    backendRefs:
    - {name: smiley, port: 18080}
_EOY_
--- request eval
["GET /users/42", "GET /users/42x", "GET /x", "GET /x", "GET /x?a=1&color=black",
 "GET /x?color=blues", "GET /x?exact=yes"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.10.0.1:18080",
 "X-Test-To: 127.10.0.1:18080\nX-Version: v3",
 "X-Test-To: 127.10.0.1:18080\nX-Version: v4",
 "X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.10.0.1:18080",
 "X-Test-To: 127.10.0.1:18080"]
--- error_code eval
[200, 404, 200, 404, 200, 404, 200]
--- response_headers eval
["X-Gamma-Backend: faces/smiley2:18080", "!X-Gamma-Backend",
 "X-Gamma-Backend: faces/face:18080", "!X-Gamma-Backend",
 "X-Gamma-Backend: colors/color:18080", "!X-Gamma-Backend",
 "X-Gamma-Backend: faces/smiley:18080"]



=== TEST 11: parentRef.port narrows a route to one Service port; the other passes through
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: http-only, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, port: 18080}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
_EOY_
--- request eval
["GET /p", "GET /p"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.10.0.1:18081"]
--- response_body eval
["pod 127.11.0.2:18090 GET /p host=127.10.0.1:18080\n",
 "pod2 127.11.0.1:18091 GET /p\n"]
--- response_headers eval
["X-Gamma-Route-Kind: producer", "X-Gamma-Route-Kind: none"]



=== TEST 12: sectionName narrows a route to the Service port of that name
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: admin-only, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, sectionName: admin}
  rules:
  - matches:
    - path: {type: Exact, value: /nothing}
    backendRefs:
    - {name: smiley2, port: 18080}
_EOY_
--- request eval
["GET /p", "GET /p"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.10.0.1:18081"]
--- error_code eval
[200, 404]



=== TEST 13: an address that is no ClusterIP and was not redirected: 421
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- request
GET /
--- more_headers
X-Test-To: 127.10.9.9:18080
--- error_code: 421
--- error_log
gamma: 127.10.9.9:18080 is no Service ClusterIP:port, answering 421



=== TEST 14: no ready endpoints: 503
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.4:18080
--- error_code: 503
--- error_log
gamma: backend faces/empty:18080 has no ready endpoints, answering 503



=== TEST 15: a missing backend Service gets 500
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: nosuch, port: 18080}
_EOY_
--- request
GET /missing
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 500
--- error_log
gamma: backend faces/nosuch:18080 does not exist, answering 500



=== TEST 16: a rule without backendRefs gets 500
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /none}
_EOY_
--- request
GET /none
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 500
--- error_log
gamma: rule faces/broken/rule0 has no backend to send to, answering 500



=== TEST 17: weight 0 is never chosen; a cross-namespace backend needs no grant
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: weights, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080, weight: 0}
    - {name: nosuch, port: 18080, weight: 0}
    - {name: color, namespace: colors, port: 18080, weight: 5}
_EOY_
--- request eval
[("GET /w") x 20]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 20]
--- response_headers eval
[("X-Gamma-Backend: colors/color:18080") x 20]



=== TEST 18: a dead endpoint is skipped: proxy_next_upstream tries the next one
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/two.yaml", <<'_EOY_']]
apiVersion: v1
kind: Service
metadata: {name: half, namespace: faces}
spec:
  clusterIP: 127.10.0.6
  ports:
  - {name: http, port: 18080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: half-dead
  namespace: faces
  labels: {kubernetes.io/service-name: half}
addressType: IPv4
ports:
- {name: http, port: 18099}
endpoints:
- addresses: [127.11.0.7]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: half-live
  namespace: faces
  labels: {kubernetes.io/service-name: half}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.0.6]
_EOY_
--- request eval
[("GET /n") x 6]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 6]
--- response_body eval
[("pod 127.11.0.6:18090 GET /n host=127.10.0.6:18080\n") x 6]
