# TrafficPolicy (policy.nginx-gamma.dev/v1alpha1) timeouts and retries:
# each level of the merge proven alone against a backend that answers
# late or fails on purpose (t/inc/GammaBackend.pm on 127.11.5.1:18095).
# A 100 ms timeout turns "/delay/300" into 504; a 1 s one lets it pass.

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

=== TEST 1: a policy default applies where the rule says nothing
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("p", $main::Svc, "  default: {timeouts: {request: 100ms}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 504
--- response_headers
X-Gamma-Timeout: request
X-Gamma-Policy: faces/p



=== TEST 2: the rule's own field beats a policy default
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("timeouts: {request: 1s}")
  . main::policy("p", $main::Svc, "  default: {timeouts: {request: 100ms}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_body
slow
--- response_headers
!X-Gamma-Policy



=== TEST 3: a policy override beats the rule's own field
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("timeouts: {request: 1s}")
  . main::policy("p", $main::Svc, "  override: {timeouts: {request: 100ms}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 504
--- response_headers
X-Gamma-Policy: faces/p



=== TEST 4: defaults: a rule-level policy beats a Service-level one
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("svc", $main::Svc, "  default: {timeouts: {request: 1s}}")
  . main::policy("rule", $main::Rule,
                 "  default: {timeouts: {request: 100ms}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 504
--- response_headers
X-Gamma-Policy: faces/rule



=== TEST 5: overrides: a Service-level policy beats a route-level one
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("svc", $main::Svc, "  override: {timeouts: {request: 1s}}")
  . main::policy("rt", $main::Route,
                 "  override: {timeouts: {request: 100ms}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_headers
X-Gamma-Policy: faces/svc



=== TEST 6: defaults fill field by field: retry from one policy, timeout from another
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("retry", $main::Route,
                 "  default: {retry: {attempts: 3, codes: [500]}}")
  . main::policy("time", $main::Svc,
                 "  default: {timeouts: {request: 2s}}",
                 created => '2026-01-02T00:00:00Z')]]
--- request
GET /fail/fields/2/500
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_body
ok after 2
--- response_headers
X-Gamma-Attempts: 3
X-Gamma-Policy: faces/retry,faces/time



=== TEST 7: a consumer policy applies to its own namespace's clients
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("mine", $main::Svc, "  default: {timeouts: {request: 100ms}}",
                 ns => 'fast-clients')]]
--- request
GET /delay/300
--- more_headers
X-Test-From: 127.20.0.1
X-Test-To: 127.10.5.1:18080
--- error_code: 504
--- response_headers
X-Gamma-Policy: fast-clients/mine



=== TEST 8: ... and not to the clients of another namespace
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("mine", $main::Svc, "  default: {timeouts: {request: 100ms}}",
                 ns => 'fast-clients')]]
--- request
GET /delay/300
--- more_headers
X-Test-From: 127.20.0.2
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_body
slow
--- response_headers
!X-Gamma-Policy



=== TEST 9: a Service policy applies to passthrough traffic (no routes)
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::policy("p", $main::Svc, "  default: {timeouts: {request: 100ms}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 504
--- response_headers
X-Gamma-Route-Kind: none
X-Gamma-Policy: faces/p



=== TEST 10: a policy with a bad field is rejected alone, with its reason
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("bad", $main::Svc, "  default: {timeouts: {request: 1.5s}}")
  . main::policy("good", $main::Svc,
                 "  default: {retry: {attempts: 3, codes: [500]}}")]]
--- request
GET /fail/rejected/2/500
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_headers
X-Gamma-Attempts: 3
X-Gamma-Policy: faces/good
--- error_log eval
qr/\[error\] .*TrafficPolicy faces\/bad rejected: spec\.default\.timeouts\.request: must be a duration/



=== TEST 11: a policy whose route appears later applies then, without a reload
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::policy("p", $main::Route, "  default: {timeouts: {request: 100ms}}")]]
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.5.1:18080');
my $res = $c->request('GET', '/delay/300');
Test::More::is($res->{status}, 200, 'no route yet: the policy waits');
$c->close;
my $dir = "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh";
GammaTest::gamma_write("$dir/route.yaml", main::route());
Time::HiRes::sleep(0.5);
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 504
--- response_headers
X-Gamma-Policy: faces/p
--- error_log eval
qr/TrafficPolicy faces\/p: targetRef HTTPRoute faces\/slow-route does not exist, not applied/



=== TEST 12: a policy on an unknown rule name is not applied, and says why
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route()
  . main::policy("p", '{group: gateway.networking.k8s.io, kind: HTTPRoute, '
                 . 'name: slow-route, sectionName: nope}',
                 "  default: {timeouts: {request: 100ms}}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- error_log
TrafficPolicy faces/p: targetRef HTTPRoute faces/slow-route sectionName nope has no rule of that name, not applied
