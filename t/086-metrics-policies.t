# The policy counters of gamma_metrics: retries, timeouts by kind and
# mirror failures, each moving exactly with requests that cause them.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaAdmin;
use GammaBackend;
use GammaEcho;

GammaBackend::start(addr => '127.11.5.1', port => 18095);
GammaEcho::start();

no_shuffle();
log_level('info');

$GammaTest::HttpConfig .= $GammaAdmin::Include;

gamma_mesh_config();

# "slow" in front of the misbehaving backend, with a retrying rule and a
# rule with a request timeout; "echo" mirrored to "dead"
our $Mesh = $GammaTest::Base . $GammaEcho::Mesh . <<'_EOY_';
---
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
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: slow-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: slow}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /fail}
    backendRefs:
    - {name: slow, port: 18080}
    retry: {attempts: 3, codes: [500]}
  - matches:
    - path: {type: PathPrefix, value: /delay}
    backendRefs:
    - {name: slow, port: 18080}
    timeouts: {request: 100ms}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mirrored, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: dead, port: 18080}}
    backendRefs:
    - {name: echo, port: 18080}
_EOY_

sub get {
    my ($to, $path) = @_;
    my $c = GammaTest::gamma_client(to => $to);
    my $res = $c->request('GET', $path, ['Connection: close']);
    $c->wait_closed;
    $c->close;
    return $res->{status};
}

run_tests();

__DATA__

=== TEST 1: retries, timeouts and mirror failures are counted per Service and route
--- user_files eval
[["mesh/base.yaml", $main::Mesh]]
--- init
GammaTest::gamma_wait_synced();
Test::More::is(main::get('127.10.5.1:18080', '/fail/a/2/500'), 200,
               'two failures, then 200');
Test::More::is(main::get('127.10.5.1:18080', '/fail/b/1/500'), 200,
               'one failure, then 200');
Test::More::is(main::get('127.10.5.1:18080', '/delay/1000'), 504,
               'the request deadline');
Test::More::is(main::get('127.10.0.6:18080', "/m$_"), 200, "mirrored $_")
    for 1 .. 3;
my $m = GammaAdmin::wait_until(sub {
    my $m = GammaAdmin::metrics();
    return $m->{'gamma_mirror_failures_total{service="faces/echo",route="faces/mirrored"}'}
           == 3 ? $m : undef;
}, 3);
Test::More::ok($m, 'the mirrors failed');
$m //= {};
Test::More::is($m->{'gamma_retries_total{service="faces/slow",route="faces/slow-route"}'},
               3, 'three retries');
Test::More::is($m->{'gamma_timeouts_total{service="faces/slow",route="faces/slow-route",kind="request"}'},
               1, 'one request timeout');
Test::More::is($m->{'gamma_timeouts_total{service="faces/slow",route="faces/slow-route",kind="backend"}'},
               0, 'no backend timeout');
Test::More::is($m->{'gamma_requests_total{service="faces/slow",route="faces/slow-route",route_kind="producer",backend="faces/slow:18080",status_class="5xx"}'},
               1, 'the 504');
Test::More::is($m->{'gamma_requests_total{service="faces/slow",route="faces/slow-route",route_kind="producer",backend="faces/slow:18080",status_class="2xx"}'},
               2, 'the retried requests, once each');
Test::More::is($m->{'gamma_requests_total{service="faces/echo",route="faces/mirrored",route_kind="producer",backend="faces/echo:18080",status_class="2xx"}'},
               3, 'a mirror is no request of its own');
--- request
GET /delay/10
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
slow
