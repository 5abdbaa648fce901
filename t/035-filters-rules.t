# HTTPRoute filters and rules: rule names ($gamma_rule), filters running in
# the order listed, and rules the API forbids or nginx-gamma cannot serve
# (RequestRedirect with URLRewrite, a filter type twice, ExtensionRef,
# ExternalAuth) rejected alone while the route's other rules keep working.
#
# A request that reads a log the previous request writes is sent as two
# packets, ["GET ", {value => "/path", delay_before => 0.3}]: its path
# goes 0.3 s after its method (Test::Nginx sends a first packet at once,
# whatever its delay_before).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaEcho;

no_shuffle();
log_level('info');
GammaEcho::start();

our $Mesh = $GammaTest::Base . $GammaEcho::Mesh;

# the mesh listener's access log: "[kind route rule]" per request
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config", $block->config . <<'_EOC_');
    location = /mesh-log {
        alias $TEST_NGINX_SERVER_ROOT/logs/mesh.log;
    }
_EOC_
});

# Test::Nginx runs block preprocessors last registered first: the mesh's
# one, which gives a block without --- config the client location, goes
# last so that it runs before the ones that add locations.
gamma_mesh_config();

# rules the API forbids or nginx-gamma cannot serve, and one that works
our $Mixed = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mixed, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches: [{path: {type: PathPrefix, value: /redirect-rewrite}}]
    filters:
    - {type: RequestRedirect, requestRedirect: {hostname: a.faces}}
    - {type: URLRewrite, urlRewrite: {hostname: b.faces}}
  - matches: [{path: {type: PathPrefix, value: /twice}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-A, value: "1"}]}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-B, value: "1"}]}
    backendRefs:
    - {name: smiley2, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /ext}}]
    filters:
    - type: ExtensionRef
      extensionRef: {group: example.com, kind: Filter, name: f}
    backendRefs:
    - {name: smiley2, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /auth}}]
    backendRefs:
    - name: smiley2
      port: 18080
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: HTTP, backendRef: {name: auth, port: 80}}
  - matches: [{path: {type: PathPrefix, value: /backend-cel}}]
    backendRefs:
    - name: smiley2
      port: 18080
      filters:
      - {type: CORS, cors: {}}
      - {type: CORS, cors: {}}
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs:
    - {name: face, port: 18080}
_EOY_

run_tests();

__DATA__

=== TEST 1: rule names are accepted and logged as $gamma_rule; an unnamed rule has none
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: named, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - name: alpha
    matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs:
    - {name: echo, port: 18080}
  - name: beta-2.x
    matches: [{path: {type: PathPrefix, value: /b}}]
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /c}}]
    backendRefs:
    - {name: echo, port: 18080}
_EOY_
--- request eval
["GET /a", "GET /b", "GET /c", ["GET ", {value => "/mesh-log", delay_before => 0.2}]]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 3, ""]
--- response_body_like eval
[qr/^echo/, qr/^echo/, qr/^echo/,
 qr{\[producer faces/named alpha\] "GET /a HTTP/1\.1" 200 .*\[producer faces/named beta-2\.x\] "GET /b HTTP/1\.1" 200 .*\[producer faces/named -\] "GET /c HTTP/1\.1" 200 }s]
--- no_error_log
[error]



=== TEST 2: two rules of one name reject the route: the Service passes through
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: twice, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - name: same
    matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs:
    - {name: smiley2, port: 18080}
  - name: same
    backendRefs:
    - {name: smiley2, port: 18080}
_EOY_
--- request
GET /a
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route-Kind: none
X-Gamma-Backend: faces/smiley:18080
--- error_log
HTTPRoute faces/twice rejected: spec.rules[1].name: must be unique within the route



=== TEST 3: forbidden filter combinations and unsupported filters reject their rule alone, with a reason
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Mixed]]
--- request
GET /good
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.3:18090 GET /good host=127.10.0.1:18080
--- error_log eval
["HTTPRoute faces/mixed rule 0 ignored: spec.rules[0].filters: may specify either RequestRedirect or URLRewrite, but not both",
 "HTTPRoute faces/mixed rule 1 ignored: spec.rules[1].filters: RequestHeaderModifier filter cannot be repeated",
 "HTTPRoute faces/mixed rule 2 ignored: filter ExtensionRef is not supported",
 "HTTPRoute faces/mixed rule 3 ignored: filter ExternalAuth is not supported",
 "HTTPRoute faces/mixed rule 4 ignored: spec.rules[4].backendRefs[0].filters: CORS filter cannot be repeated"]



=== TEST 4: the other rules keep working; requests for the rejected rules fall to the next match
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Mixed]]
--- request eval
["GET /good", "GET /redirect-rewrite", "GET /twice", "GET /ext", "GET /auth",
 "GET /backend-cel"]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 6]
--- response_body eval
["pod 127.11.0.3:18090 GET /good host=127.10.0.1:18080\n",
 "pod 127.11.0.3:18090 GET /redirect-rewrite host=127.10.0.1:18080\n",
 "pod 127.11.0.3:18090 GET /twice host=127.10.0.1:18080\n",
 "pod 127.11.0.3:18090 GET /ext host=127.10.0.1:18080\n",
 "pod 127.11.0.3:18090 GET /auth host=127.10.0.1:18080\n",
 "pod 127.11.0.3:18090 GET /backend-cel host=127.10.0.1:18080\n"]



=== TEST 5: filters run in the order listed: the last one to set the Host wins
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: order, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - matches: [{path: {type: PathPrefix, value: /header-last}}]
    filters:
    - type: URLRewrite
      urlRewrite: {hostname: rewrite.faces}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: Host, value: header.faces}]}
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /rewrite-last}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {add: [{name: Host, value: header.faces}]}
    - type: URLRewrite
      urlRewrite: {hostname: rewrite.faces}
    backendRefs:
    - {name: echo, port: 18080}
_EOY_
--- request eval
["GET /header-last", "GET /rewrite-last"]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 2]
--- response_body eval
["echo 127.11.0.6:18092\nGET /header-last HTTP/1.1\nHost: header.faces\n",
 "echo 127.11.0.6:18092\nGET /rewrite-last HTTP/1.1\nHost: rewrite.faces\n"]



=== TEST 6: a mirror to something other than a Service is left out with a warning
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: odd-mirror, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {group: example.com, kind: Bucket, name: b, port: 1}
    - type: RequestMirror
      requestMirror: {backendRef: {name: nosuch, port: 18080}}
    backendRefs:
    - {name: echo, port: 18080}
_EOY_
--- request
GET /m
--- more_headers
X-Test-To: 127.10.0.6:18080
--- response_body
echo 127.11.0.6:18092
GET /m HTTP/1.1
Host: 127.10.0.6:18080
--- error_log
HTTPRoute faces/odd-mirror/rule0: RequestMirror to group "example.com" kind "Bucket" is not supported, not mirrored
HTTPRoute faces/odd-mirror/rule0: RequestMirror to faces/nosuch:18080: no such Service or port, not mirrored
gamma: mirror to faces/nosuch:18080 skipped: no such Service or port
--- no_error_log
[error]
