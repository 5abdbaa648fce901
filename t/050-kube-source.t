# The Kubernetes API source against the fake API server: the mesh comes
# from list+watch, kubectl apply/delete take effect without a reload,
# lists are paginated and the scope directives narrow what is watched.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use Time::HiRes qw(sleep time);

FakeKube::start();

FakeKube::gamma_test_source();

no_shuffle();
log_level('info');
gamma_mesh_config();

sub write_manifest {
    my ($name, $body) = @_;
    my $path = "$FakeKube::Dir/$name";
    FakeKube::write_file($path, $body);
    return $path;
}

run_tests();

__DATA__

=== TEST 1: the mesh is listed from the API server
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
# nginx accepts requests before its first sync
GammaTest::gamma_wait_synced();
--- request
GET /hello
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_body
pod 127.11.0.3:18090 GET /hello host=127.10.0.3:18080
--- response_headers
X-Gamma-Service: faces/face:18080
X-Gamma-Route-Kind: none
--- error_log eval
[qr{kubernetes: /api/v1/services: 5 objects at resourceVersion \d+},
 qr{kubernetes: /apis/discovery.k8s.io/v1/endpointslices: 5 objects},
 qr{kubernetes: /apis/gateway.networking.k8s.io/v1/httproutes: 0 objects},
 "gamma: snapshot 1 in service"]
--- no_error_log eval
# under load the first sync can take over the 1 s after which workers
# warn that they answer 503 until it arrives; no other warning
["[error]", qr/\[warn\](?!.*no mesh state after \d+ ms)/]



=== TEST 2: kubectl apply of an HTTPRoute routes by it; kubectl delete passes through again
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
Test::More::is($c->request('GET', '/')->{headers}{'x-gamma-backend'},
               'faces/smiley:18080', 'passthrough before the route exists');

my $file = main::write_manifest('route.yaml', $FakeKube::Route);
my ($rc, $out) = FakeKube::kubectl('apply', '--validate=false', '-f', $file);
Test::More::is($rc, 0, 'kubectl apply succeeds') or Test::More::diag($out);
Test::More::like($out, qr{httproute.gateway.networking.k8s.io/smiley-route created},
                 'kubectl created the route');

my $t = FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080');
Test::More::ok(defined $t, 'the route applies on the open connection');
Test::More::diag(sprintf 'applied after %.0f ms', ($t // 0) * 1000);

($rc, $out) = FakeKube::kubectl('delete', '-f', $file);
Test::More::is($rc, 0, 'kubectl delete succeeds') or Test::More::diag($out);
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley:18080'),
               'passthrough once the route is deleted');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route-Kind: none
X-Gamma-Backend: faces/smiley:18080
--- no_error_log
[error]



=== TEST 3: kubectl apply of a Service and its EndpointSlice makes a new ClusterIP routable
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
# the EndpointSlice first: kubectl creates one object after the other, and
# a snapshot in between (a loaded machine) would have the Service without
# endpoints, a 503 logged as an error; a ClusterIP not known yet is a 421
my $file = main::write_manifest('svc.yaml', <<'_EOY_');
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: extra-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: extra}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.0.7]
  conditions: {ready: true}
---
apiVersion: v1
kind: Service
metadata: {name: extra, namespace: faces}
spec:
  clusterIP: 127.10.0.9
  ports:
  - {name: http, port: 18080, targetPort: 18090}
_EOY_
my ($rc, $out) = FakeKube::kubectl('apply', '--validate=false', '-f', $file);
Test::More::is($rc, 0, 'kubectl apply succeeds') or Test::More::diag($out);
my $t = FakeKube::wait_until(sub {
    my $c = eval { GammaTest::gamma_client(to => '127.10.0.9:18080') }
        or return 0;
    my $res = $c->request('GET', '/');
    return $res->{status} == 200
           && ($res->{headers}{'x-gamma-service'} // '') eq 'faces/extra:18080';
}, 10);
Test::More::ok(defined $t, 'the new Service answers');
--- request
GET /x
--- more_headers
X-Test-To: 127.10.0.9:18080
--- response_body
pod 127.11.0.7:18090 GET /x host=127.10.0.9:18080
--- no_error_log
[error]



=== TEST 4: lists are read in pages (limit/continue) and applied whole
--- http_config
    gamma_kubernetes_page_size 2;
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
my @pages = grep { $_->{path} eq '/api/v1/services' && $_->{query} =~ /continue=/ }
            @{ FakeKube::requests() };
Test::More::is(scalar @pages, 2, 'five Services come in three pages');
Test::More::like($pages[0]{query}, qr/(^|&)limit=2(&|$)/, 'with the limit');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- response_body
pod 127.11.0.5:18090 GET / host=127.10.0.5:18080
--- error_log eval
qr{/api/v1/services: 5 objects}



=== TEST 5: an expired continue token restarts the list from the first page
--- http_config
    gamma_kubernetes_page_size 2;
--- post_setup_server_root
FakeKube::reset($GammaTest::Base, rules => [
    { verb => 'list', plural => 'services', continue => 1, status => 410,
      count => 1 }]);
--- init
FakeKube::wait_watches();
my @lists = grep { $_->{path} eq '/api/v1/services' && $_->{query} !~ /watch/ }
            @{ FakeKube::requests() };
Test::More::is(scalar(grep { $_->{query} !~ /continue=/ } @lists), 2,
               'the list started over once');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- response_body
pod 127.11.0.5:18090 GET / host=127.10.0.5:18080
--- error_log eval
[qr{/api/v1/services: list expired \(The provided continue parameter is too old},
 qr{/api/v1/services: 5 objects}]
--- no_error_log
[error]



=== TEST 6: gamma_kubernetes_namespaces watches only those namespaces
--- http_config
    gamma_kubernetes_namespaces faces;
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
my @paths = map { $_->{path} } grep { $_->{token} eq 'nginx-token-1' }
            @{ FakeKube::requests() };
Test::More::ok(scalar(@paths) >= 6, 'lists and watches were made');
Test::More::is(scalar(grep { !m{/namespaces/faces/} } @paths), 0,
               'all in namespace faces');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- error_code: 421



=== TEST 7: gamma_kubernetes_label_selector narrows one resource
--- http_config
    gamma_kubernetes_label_selector "mesh=on" services;
--- post_setup_server_root
my $base = $GammaTest::Base;
$base =~ s/metadata: \{name: face, namespace: faces\}/metadata: {name: face, namespace: faces, labels: {mesh: "on"}}/
    or die;
FakeKube::reset($base);
--- init
FakeKube::wait_watches();
my $c = GammaTest::gamma_client(to => '127.10.0.3:18080');
Test::More::is($c->request('GET', '/')->{headers}{'x-gamma-service'},
               'faces/face:18080', 'the labelled Service is there');
my @q = map { $_->{query} } grep { $_->{path} eq '/api/v1/services' }
        @{ FakeKube::requests() };
Test::More::ok((grep { /labelSelector=mesh%3Don/ } @q) == @q,
               'every Service request carries the selector');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 421
--- error_log eval
qr{/api/v1/services: 1 objects}
