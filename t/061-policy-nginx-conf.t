# The operator's gamma_default and gamma_override in nginx.conf: where
# they stand in the merge with TrafficPolicies and route rules, their
# scopes' specificity, and "nginx -t" refusing a bad line with nginx's
# file:line.  A 100 ms timeout turns "/delay/300" into 504; 1 s passes.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaBackend;

GammaBackend::start(addr => '127.11.5.1', port => 18095);

no_shuffle();
log_level('info');
gamma_mesh_config();

our $Slow = <<'_EOY_';
apiVersion: v1
kind: Service
metadata: {name: slow, namespace: faces}
spec:
  clusterIP: 127.10.5.1
  ports:
  - {name: http, port: 18080, targetPort: 18095}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: slow-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: slow}
addressType: IPv4
ports:
- {name: http, port: 18095}
endpoints:
- addresses: [127.11.5.1]
_EOY_

# a producer route on "slow"; $fields are rule fields (YAML, indented)
sub route {
    my ($fields) = @_;
    $fields = $fields ? "    $fields\n" : '';

    return <<"_EOY_";
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: slow-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: slow}
  rules:
  - name: main
    backendRefs:
    - {name: slow, port: 18080}
$fields
_EOY_
}

# a TrafficPolicy; $target is a targetRef, $spec the rest of spec (YAML)
sub policy {
    my ($name, $target, $spec, %opt) = @_;
    my $ns = $opt{ns} // 'faces';
    my $ts = $opt{created} // '2026-01-01T00:00:00Z';

    return <<"_EOY_";
---
apiVersion: policy.nginx-gamma.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: $name, namespace: $ns, creationTimestamp: "$ts"}
spec:
  targetRefs: [$target]
$spec
_EOY_
}

our $Svc = '{group: "", kind: Service, name: slow, namespace: faces}';
our $Route = '{group: gateway.networking.k8s.io, kind: HTTPRoute, '
           . 'name: slow-route, namespace: faces}';
our $Rule = '{group: gateway.networking.k8s.io, kind: HTTPRoute, '
          . 'name: slow-route, namespace: faces, sectionName: main}';

run_tests();

__DATA__

=== TEST 1: an nginx.conf override beats an imported override
--- http_config
    gamma_override service:faces/slow timeouts.request 1s;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("p", $main::Svc, "  override: {timeouts: {request: 100ms}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_body
slow
--- response_headers
!X-Gamma-Policy



=== TEST 2: an nginx.conf override beats the rule's own field
--- http_config
    gamma_override * timeouts.request 100ms;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("timeouts: {request: 1s}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 504



=== TEST 3: an nginx.conf default applies where nothing else says anything
--- http_config
    gamma_default * timeouts.request 100ms;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 504



=== TEST 4: an nginx.conf default gives way to the rule's own field
--- http_config
    gamma_default * timeouts.request 100ms;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("timeouts: {request: 1s}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200



=== TEST 5: an nginx.conf default gives way to a policy default
--- http_config
    gamma_default namespace:faces timeouts.request 100ms;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("p", $main::Svc, "  default: {timeouts: {request: 1s}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_headers
X-Gamma-Policy: faces/p



=== TEST 6: the most specific scope wins, whatever the order of the lines
--- http_config
    gamma_override route:faces/slow-route/main timeouts.request 1s;
    gamma_override service:faces/slow:18080 timeouts.request 50ms;
    gamma_override * timeouts.request 100ms;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200



=== TEST 7: a scope that names another Service does not apply
--- http_config
    gamma_default service:faces/smiley timeouts.request 100ms;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200



=== TEST 8: retries from nginx.conf, codes comma-separated
--- http_config
    gamma_default * retry.attempts 3;
    gamma_default * retry.codes 500,503;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()]]
--- request
GET /fail/conf/2/503
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_body
ok after 2
--- response_headers
X-Gamma-Attempts: 3



=== TEST 9: nginx -t rejects a bad value, quoting it, with file:line
--- http_config
    gamma_override * timeouts.request 5x;
--- config
--- user_files
>>> mesh/empty.yaml
# no objects
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "5x" of "timeouts\.request" in "gamma_override" directive, it must be a duration such as "1h30m", "10s" or "500ms" \(GEP-2257\) in \S+nginx\.conf:\d+/



=== TEST 10: nginx -t rejects a bad scope
--- http_config
    gamma_default svc:faces/slow timeouts.request 1s;
--- config
--- user_files
>>> mesh/empty.yaml
# no objects
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid scope "svc:faces\/slow" in "gamma_default" directive, it must be "\*", "namespace:<ns>", "service:<ns>\/<name>\[:<port>\]" or "route:<ns>\/<name>\[\/<rule>\]" in \S+nginx\.conf:\d+/



=== TEST 11: nginx -t rejects an unknown field
--- http_config
    gamma_override * timeouts.total 1s;
--- config
--- user_files
>>> mesh/empty.yaml
# no objects
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown field "timeouts\.total" in "gamma_override" directive/



=== TEST 12: nginx -t rejects the same field of the same scope twice
--- http_config
    gamma_default namespace:faces retry.attempts 2;
    gamma_default namespace:faces retry.attempts 3;
--- config
--- user_files
>>> mesh/empty.yaml
# no objects
--- must_die
--- error_log eval
qr/\[emerg\] .*duplicate "gamma_default namespace:faces retry\.attempts" in \S+nginx\.conf:\d+/



=== TEST 13: nginx -t rejects a retry code out of range
--- http_config
    gamma_override route:faces/slow-route retry.codes 500,200;
--- config
--- user_files
>>> mesh/empty.yaml
# no objects
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "500,200" of "retry\.codes" in "gamma_override" directive, it must be status codes from 400 to 599, comma-separated/
