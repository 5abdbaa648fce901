# Route status conditions computed by the compiler, shown by the file
# source in the error log once per change (the file source writes nothing):
# Accepted, ResolvedRefs, PartiallyInvalid and their reasons.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

no_shuffle();
log_level('info');
gamma_mesh_config();

our $Routes = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: valid, namespace: faces, generation: 3}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, port: 18080}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-parent, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: nosuch}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-backend, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: face}
  rules:
  - backendRefs:
    - {name: gone, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad-filter, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley2}
  rules:
  - filters:
    - type: ExtensionRef
      extensionRef: {group: example.com, kind: Thing, name: x}
    backendRefs:
    - {name: smiley, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: partial, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, port: 18081}
  rules:
  - backendRefs:
    - {name: smiley, port: 18081}
  - name: dropped
    filters:
    - type: ExtensionRef
      extensionRef: {group: example.com, kind: Thing, name: x}
    backendRefs:
    - {name: smiley, port: 18081}
_EOY_

our $Gone = <<'_EOY_';
apiVersion: v1
kind: Service
metadata: {name: gone, namespace: faces}
spec:
  clusterIP: 127.10.0.9
  ports:
  - {name: http, port: 18080}
_EOY_

run_tests();

__DATA__

=== TEST 1: a valid route is Accepted with its references resolved
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
GammaTest::gamma_wait_synced();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log
status: HTTPRoute faces/valid parentRef faces/smiley: Accepted=True Accepted: Route accepted for Service faces/smiley
status: HTTPRoute faces/valid parentRef faces/smiley: ResolvedRefs=True ResolvedRefs: All references resolved
--- no_error_log
[error]
status: HTTPRoute faces/valid parentRef faces/smiley: PartiallyInvalid



=== TEST 2: a route to a missing Service gets NoMatchingParent
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
GammaTest::gamma_wait_synced();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- error_log
status: HTTPRoute faces/no-parent parentRef faces/nosuch: Accepted=False NoMatchingParent: Service faces/nosuch does not exist
--- no_error_log
[error]



=== TEST 3: a route to a missing backend is Accepted with BackendNotFound
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
GammaTest::gamma_wait_synced();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.3:18080
--- error_code: 500
--- error_log
status: HTTPRoute faces/no-backend parentRef faces/face: Accepted=True Accepted
status: HTTPRoute faces/no-backend parentRef faces/face: ResolvedRefs=False BackendNotFound: rule 0 backendRef Service faces/gone port 18080: no such Service
--- no_error_log
[alert]



=== TEST 4: a route whose only rule has an unsupported filter is not Accepted
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
GammaTest::gamma_wait_synced();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- error_log
status: HTTPRoute faces/bad-filter parentRef faces/smiley2: Accepted=False UnsupportedValue: Dropped Rule 0: filter ExtensionRef is not supported
--- no_error_log
[error]



=== TEST 5: a dropped rule next to a valid one: Accepted and PartiallyInvalid
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
GammaTest::gamma_wait_synced();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- error_log
status: HTTPRoute faces/partial parentRef faces/smiley: Accepted=True Accepted
status: HTTPRoute faces/partial parentRef faces/smiley: PartiallyInvalid=True UnsupportedValue: Dropped Rule 1 (dropped): filter ExtensionRef is not supported
--- no_error_log
[error]



=== TEST 6: the status changes when the objects change, and only the changed route is logged again
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
GammaTest::gamma_wait_synced();
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/gone.yaml",
                       $main::Gone);
select(undef, undef, undef, 0.5);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.3:18080
--- error_code: 503
--- grep_error_log eval
qr/status: HTTPRoute faces\/(?:no-backend|valid) parentRef \S+ ResolvedRefs=\w+/
--- grep_error_log_out
status: HTTPRoute faces/no-backend parentRef faces/face: ResolvedRefs=False
status: HTTPRoute faces/valid parentRef faces/smiley: ResolvedRefs=True
status: HTTPRoute faces/no-backend parentRef faces/face: ResolvedRefs=True
--- no_error_log
[alert]
