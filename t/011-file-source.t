# The file source: edits, new and deleted files apply without a reload and
# while connections stay open; bad input is rejected alone and the last good
# state keeps serving.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use Time::HiRes qw(sleep time);

no_shuffle();
log_level('info');
gamma_mesh_config();

# Polls the Service on one keep-alive connection until the answer's backend
# is $want; returns the milliseconds it took, or undef.
sub wait_backend {
    my ($c, $path, $want, $limit) = @_;
    my $start = time;

    while (time - $start < ($limit // 2)) {
        my $res = $c->request('GET', $path);
        my $got = $res->{headers}{'x-gamma-backend'} // '';
        return int((time - $start) * 1000) if $got eq $want;
        sleep 0.005;
    }

    return undef;
}

our $Route = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
_EOY_

run_tests();

__DATA__

=== TEST 1: a new route applies on an open keep-alive connection, without a reload
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
my $res = $c->request('GET', '/x');
Test::More::is($res->{headers}{'x-gamma-backend'}, 'faces/smiley:18080',
               'passthrough before the route exists');
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/route.yaml",
                       $main::Route);
my $ms = main::wait_backend($c, '/x', 'faces/smiley2:18080');
Test::More::ok(defined $ms, 'the route applies on the same connection');
Test::More::cmp_ok($ms // 9999, '<', 500, 'within 500 ms');
Test::More::diag("route applied after ${\ ($ms // 'never')} ms");
$c->close;
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log
gamma: snapshot 2 in service
--- no_error_log
[error]
signal process started



=== TEST 2: deleting the route file restores passthrough
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
Test::More::is($c->request('GET', '/')->{headers}{'x-gamma-backend'},
               'faces/smiley2:18080', 'routed while the file exists');
unlink "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/route.yaml";
Test::More::ok(defined main::wait_backend($c, '/', 'faces/smiley:18080'),
               'passthrough once the file is gone');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route-Kind: none
--- error_log eval
qr/manifest ".*route.yaml" removed/



=== TEST 3: broken YAML keeps the file's previous objects in service
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
GammaTest::gamma_wait_synced();
my $path = "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/route.yaml";
GammaTest::gamma_write($path, "kind: HTTPRoute\nspec: [unclosed\n");
sleep 0.3;
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
qr/\[error\] .*gamma: .*route\.yaml.*line \d+/



=== TEST 4: an invalid object is rejected alone; the rest of its file works
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad-path, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: face}
  rules:
  - matches:
    - path: {type: PathPrefix, value: "no-slash"}
    backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
_EOY_
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.0.3:18080');
Test::More::is($c->request('GET', '/')->{headers}{'x-gamma-route-kind'},
               'none', 'the rejected route is not bound to face');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route: faces/good
--- error_log eval
qr/\[error\] .*gamma: HTTPRoute faces\/bad-path rejected: spec\.rules\[0\]\.matches\[0\]\.path\.value/



=== TEST 5: an invalid regex disables its rule only; the route's other rules work
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: regex, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: RegularExpression, value: "/bad(["}
    backendRefs:
    - {name: face, port: 18080}
  - matches:
    - path: {type: PathPrefix, value: /good}
    backendRefs:
    - {name: smiley2, port: 18080}
_EOY_
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
Test::More::is($c->request('GET', '/bad(')->{status}, 404,
               'the ignored rule matches nothing');
--- request
GET /good
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
qr/\[warn\] .*gamma: HTTPRoute faces\/regex rule 0 ignored: /



=== TEST 6: an edit that makes an object invalid keeps its last good version
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
GammaTest::gamma_wait_synced();
my $bad = $main::Route;
$bad =~ s/port: 18080/port: 0/;
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/route.yaml",
                       $bad);
sleep 0.3;
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
qr/HTTPRoute faces\/smiley-route rejected: spec\.rules\[0\]\.backendRefs\[0\]\.port/



=== TEST 7: a deleted EndpointSlice gives 503
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base],
 ["mesh/slice.yaml", <<'_EOY_']]
apiVersion: v1
kind: Service
metadata: {name: solo, namespace: faces}
spec:
  clusterIP: 127.10.1.1
  ports:
  - {name: http, port: 18080, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: solo-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: solo}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.1.1]
_EOY_
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.1.1:18080');
Test::More::is($c->request('GET', '/')->{status}, 200, 'served');
my $path = "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/slice.yaml";
open my $fh, '<', $path or die;
my $yaml = do { local $/; <$fh> };
$yaml =~ s/---\napiVersion: discovery.*//s;
GammaTest::gamma_write($path, $yaml);
my $start = Time::HiRes::time;
my $status = 0;
while (Time::HiRes::time - $start < 2) {
    $status = $c->request('GET', '/')->{status};
    last if $status == 503;
    Time::HiRes::sleep(0.01);
}
Test::More::is($status, 503, '503 once the EndpointSlice is gone');
--- request
GET /
--- more_headers
X-Test-To: 127.10.1.1:18080
--- error_code: 503
--- error_log
gamma: backend faces/solo:18080 has no ready endpoints, answering 503



=== TEST 8: weights hold within 5% over 1,000 requests on one connection
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley, port: 18080, weight: 80}
    - {name: smiley2, port: 18080, weight: 20}
_EOY_
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
my %n;
for (1 .. 1000) {
    my $res = $c->request('GET', '/');
    $n{ $res->{headers}{'x-gamma-backend'} }++;
}
my $a = $n{'faces/smiley:18080'} // 0;
my $b = $n{'faces/smiley2:18080'} // 0;
Test::More::diag("80/20 split over 1000 requests: $a/$b");
Test::More::is($a + $b, 1000, 'every request went to one of the two');
Test::More::ok(abs($a - 800) <= 50, "smiley got $a of 1000 (800 +- 50)");
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers_like
X-Gamma-Backend: faces/smiley2?:18080
