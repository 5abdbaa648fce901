# GRPCRoute from the Kubernetes API source (the fake API server, driven by
# kubectl): listed and watched like HTTPRoute, applied without a reload.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use GammaGrpc;
use FakeKube;

FakeKube::start();
FakeKube::gamma_test_source();

no_shuffle();
log_level('info');
GammaGrpc::config();
gamma_mesh_config();
GammaGrpc::start();

our $Mesh = $GammaTest::Base . $GammaGrpc::Mesh;

our $Route = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front, port: 18070}
  rules:
  - name: cart
    matches:
    - method: {service: shop.Cart}
    backendRefs:
    - {name: grpc-a, port: 18070}
_EOY_

# one call through the gateway, its brief answer
sub call {
    my ($method) = @_;
    my $c = GammaTest::gamma_client(
        to => "127.0.0.1:$ENV{TEST_NGINX_GRPC_GATEWAY_PORT}");
    my $res = $c->request('GET', "/call?brief=1&to=127.10.0.20:18070"
                                 . "&method=$method");
    $c->close;
    return $res->{body};
}

# the mesh listed, and in service in both workers: a call made before
# goes through (the source still lists) on a loaded machine
sub wait_synced {
    FakeKube::wait_watches();
    GammaTest::gamma_wait_synced();
    FakeKube::wait_until(sub {
        open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log"
            or return 0;
        my %pids = map { /\[\w+\] (\d+)#.*gamma: snapshot \d+ in service/
                         ? ($1 => 1) : () } <$fh>;
        keys %pids >= 2;
    }, 10);
}

run_tests();

__DATA__

=== TEST 1: a GRPCRoute listed from the API server routes gRPC calls
--- post_setup_server_root
FakeKube::reset($main::Mesh . "---\n" . $main::Route);
--- init
# nginx accepts calls before its first sync
main::wait_synced();
Test::More::is(main::call('/shop.Other/Get'),
               "code UNIMPLEMENTED details gamma: no route rule matches "
               . "the method\n", 'another service is UNIMPLEMENTED');
--- request
GET /grpc/call?brief=1&to=127.10.0.20:18070&method=/shop.Cart/Get
--- response_body
code OK server a rule cart type grpc
--- error_log eval
[qr{kubernetes: /apis/gateway.networking.k8s.io/v1/grpcroutes: 1 objects}]
--- no_error_log
[error]



=== TEST 2: kubectl apply of a GRPCRoute takes effect without a reload; kubectl delete passes through again
--- post_setup_server_root
FakeKube::reset($main::Mesh);
--- init
main::wait_synced();
Test::More::is(main::call('/shop.Cart/Get'),
               "code OK server front rule - type -\n",
               'passthrough before the route exists');

my $file = "$FakeKube::Dir/grpcroute.yaml";
FakeKube::write_file($file, $main::Route);
my ($rc, $out) = FakeKube::kubectl('apply', '--validate=false', '-f', $file);
Test::More::is($rc, 0, 'kubectl apply succeeds') or Test::More::diag($out);
Test::More::like($out, qr{grpcroute.gateway.networking.k8s.io/shop created},
                 'kubectl created the route');

my $t = FakeKube::wait_until(sub {
    main::call('/shop.Cart/Get') eq "code OK server a rule cart type grpc\n"
}, 3);
Test::More::ok(defined $t, 'the GRPCRoute applies');

($rc, $out) = FakeKube::kubectl('delete', '-f', $file);
Test::More::is($rc, 0, 'kubectl delete succeeds') or Test::More::diag($out);
Test::More::ok(defined FakeKube::wait_until(sub {
    main::call('/shop.Cart/Get') eq "code OK server front rule - type -\n"
}, 3), 'passthrough once the route is deleted');
--- request
GET /grpc/call?brief=1&to=127.10.0.20:18070&method=/shop.Other/Get
--- response_body
code OK server front rule - type -
--- no_error_log
[error]
