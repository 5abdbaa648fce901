# XBackendTrafficPolicy (gateway.networking.x-k8s.io/v1alpha1)
# retryConstraint: a retry budget per policy and Service, shared by the 2
# workers; once exceeded, no retry is attempted and the client gets 503.
# The backend (t/inc/GammaBackend.pm) counts its attempts: /fail/KEY/N/CODE
# answers CODE to the first N requests of KEY.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaBackend;

GammaBackend::start(addr => '127.11.5.1', port => 18095);

no_shuffle();
log_level('info');
gamma_mesh_config();

our $Mesh = <<'_EOY_';
---
apiVersion: v1
kind: Service
metadata: {name: flaky, namespace: faces}
spec:
  clusterIP: 127.10.5.1
  ports:
  - {name: http, port: 18080, targetPort: 18095}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: flaky-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: flaky}
addressType: IPv4
ports:
- {name: http, port: 18095}
endpoints:
- addresses: [127.11.5.1]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: flaky-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: flaky}
  rules:
  - backendRefs:
    - {name: flaky, port: 18080}
    retry: {attempts: 3, codes: [500]}
_EOY_

sub budget {
    my ($rc) = @_;

    return <<"_EOY_";
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: budget, namespace: faces}
spec:
  targetRefs: [{group: "", kind: Service, name: flaky}]
  retryConstraint: $rc
_EOY_
}

# one request on a connection of its own: [status, attempts]
sub call {
    my ($path) = @_;
    my $c = GammaTest::gamma_client(to => '127.10.5.1:18080');
    my $r = $c->request('GET', $path);
    $c->close;
    return [$r->{status}, $r->{headers}{'x-gamma-attempts'}];
}

run_tests();

__DATA__

=== TEST 1: no budget: 3 retries, then the last failure
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Mesh]]
--- init
GammaTest::gamma_wait_synced();
Test::More::is_deeply(main::call('/fail/a/100/500'), [500, 4],
                      '4 attempts, 500');
Test::More::is(GammaBackend::hits('a'), 4, 'the backend saw 4');
--- request
GET /delay/0
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200



=== TEST 2: a budget of 0% and 2 retries an hour: the third retry is not made, 503; then none
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Mesh
  . main::budget("{budget: {percent: 0, interval: 1h}, "
                 . "minRetryRate: {count: 2, interval: 1h}}")]]
--- init
GammaTest::gamma_wait_synced();
Test::More::is_deeply(main::call('/fail/b/100/500'), [503, 3],
                      'two retries, the third refused: 503');
Test::More::is(GammaBackend::hits('b'), 3, 'the backend saw 3 attempts');
Test::More::is_deeply(main::call('/fail/b/100/500'), [503, 1],
                      'the next request: no retry at all');
Test::More::is_deeply(main::call('/fail/b/100/500'), [503, 1],
                      'whichever worker takes it');
Test::More::is(GammaBackend::hits('b'), 5, 'the backend saw 5 in all');
--- request
GET /delay/0
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- error_log eval
qr{\[warn\] .*gamma: retry budget of XBackendTrafficPolicy faces/budget exhausted \(0% of \d+ requests, at least 2 per 3600000 ms\), no retry, answering 503}



=== TEST 3: the percentage: 50% of the requests may be retries
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Mesh
  . main::budget("{budget: {percent: 50, interval: 1h}, "
                 . "minRetryRate: {count: 1, interval: 1h}}")]]
--- init
GammaTest::gamma_wait_synced();
# 2 requests that succeed: with the failing one a base of 3
Test::More::is(main::call('/delay/0')->[0], 200, "ok $_") for 1 .. 2;
# 50% of 3 requests: 1.5 retries, so the second is the last one made
my $r = main::call('/fail/c/100/500');
Test::More::is_deeply($r, [503, 3], '2 retries, the third refused');
Test::More::is(GammaBackend::hits('c'), 3, 'the backend saw 3');
--- request
GET /delay/0
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200



=== TEST 4: a bad budget rejects the policy alone, with its reason
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Mesh
  . main::budget("{budget: {percent: 101}}")]]
--- request
GET /fail/d/1/500
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 200
--- response_headers
X-Gamma-Attempts: 2
--- error_log eval
qr{XBackendTrafficPolicy faces/budget rejected: spec\.retryConstraint\.budget\.percent}
