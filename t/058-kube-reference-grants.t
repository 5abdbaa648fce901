# gamma_reference_grants require with the Kubernetes API source: the
# ReferenceGrants are listed and watched (only then), a grant applied
# later permits the cross-namespace backendRef at once, and one deleted
# revokes it (GEP-709: "MUST revoke access when the grant is deleted").

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use Time::HiRes qw(sleep time);

FakeKube::start();

no_shuffle();
log_level('info');

our $Route = <<'_EOY_';
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cross, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: color, namespace: colors, port: 18080}
_EOY_

our $Grant = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-faces, namespace: colors}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: faces}
  to:
  - {group: "", kind: Service}
_EOY_

# the status smiley's next request gets, once it is $want
sub wait_status {
    my ($want) = @_;
    return FakeKube::wait_until(sub {
        my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
        my $res = $c->request('GET', '/');
        $c->close;
        return $res->{status} == $want;
    }, 5);
}

FakeKube::gamma_test_source();
gamma_mesh_config();

run_tests();

__DATA__

=== TEST 1: require: the ReferenceGrants are listed; none: 500; a grant applied: 200; deleted: 500 again
--- http_config
    gamma_reference_grants require;
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . $main::Route);
--- init
GammaTest::gamma_wait_synced();
my $t = main::wait_status(500);
Test::More::ok(defined $t, 'without a grant the cross-namespace backend gets 500');
FakeKube::upsert($main::Grant);
$t = main::wait_status(200);
Test::More::ok(defined $t, 'the grant applied permits it');
Test::More::diag(sprintf 'permitted %.0f ms after the grant', ($t // 0) * 1000);
FakeKube::remove('referencegrants/colors/from-faces');
$t = main::wait_status(500);
Test::More::ok(defined $t, 'the grant deleted revokes it');
Test::More::diag(sprintf 'revoked %.0f ms after the delete', ($t // 0) * 1000);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 500
--- error_log eval
[qr{kubernetes: /apis/gateway.networking.k8s.io/v1beta1/referencegrants: 0 objects},
 qr{no ReferenceGrant in namespace colors lets HTTPRoutes of faces refer to it}]



=== TEST 2: ignore (the default): ReferenceGrants are not even listed, and the cross-namespace backendRef serves
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . $main::Route);
--- init
GammaTest::gamma_wait_synced();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.5:18090 GET / host=127.10.0.1:18080
--- error_log eval
qr{kubernetes: /apis/gateway.networking.k8s.io/v1/httproutes: 1 objects}
--- no_error_log
referencegrants
[error]
