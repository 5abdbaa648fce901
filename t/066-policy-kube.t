# Policies from the Kubernetes API (fake API server, kubectl's view of
# it): TrafficPolicies are listed and watched like routes, and CA
# ConfigMaps are read only when labelled as CA bundles.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;

FakeKube::start();
FakeKube::gamma_test_source();

no_shuffle();
log_level('info');
gamma_mesh_config();

our $Policy = <<'_EOY_';
apiVersion: policy.nginx-gamma.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: smiley-policy, namespace: faces}
spec:
  targetRefs:
  - {group: "", kind: Service, name: smiley}
  default:
    retry: {attempts: 2, codes: [503]}
_EOY_

# the requests for a resource path, and how many of them lack a selector
sub selector_check {
    my ($path, $selector) = @_;
    my @req = grep { $_->{path} eq $path } @{ FakeKube::requests() };
    my $missing = grep {
        $_->{query} !~ /(^|&)labelSelector=\Q$selector\E(&|$)/
    } @req;
    return (scalar @req, $missing);
}

run_tests();

__DATA__

=== TEST 1: a TrafficPolicy listed from the API server applies
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route . "---\n"
                . $main::Policy);
--- init
# nginx accepts requests before its first sync
GammaTest::gamma_wait_synced();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
X-Gamma-Policy: faces/smiley-policy
--- error_log eval
qr{/apis/policy\.nginx-gamma\.dev/v1alpha1/trafficpolicies: 1 objects}



=== TEST 2: a TrafficPolicy created later applies without a reload
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route);
--- init
FakeKube::wait_watches();
FakeKube::upsert($main::Policy);
my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
my $t = FakeKube::wait_until(sub {
    ($c->request('GET', '/')->{headers}{'x-gamma-policy'} // '')
        eq 'faces/smiley-policy';
}, 3);
Test::More::ok(defined $t, 'the watched policy applies');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Policy: faces/smiley-policy



=== TEST 3: ConfigMaps are listed with the CA-bundle label selector only
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
my ($n, $missing) = main::selector_check('/api/v1/configmaps',
    'policy.nginx-gamma.dev%2Fca-bundle');
Test::More::ok($n >= 1, 'ConfigMaps are listed');
Test::More::is($missing, 0, 'every request carries the label selector');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- error_code: 200



=== TEST 4: a selector for every resource narrows the CA-bundle ConfigMaps
--- http_config
    gamma_kubernetes_label_selector "mesh=on";
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
my ($n, $missing) = main::selector_check('/api/v1/configmaps',
    'policy.nginx-gamma.dev%2Fca-bundle%2Cmesh%3Don');
Test::More::ok($n >= 1, 'ConfigMaps are listed');
Test::More::is($missing, 0, 'every ConfigMap request carries both selectors');
($n, $missing) = main::selector_check('/api/v1/services', 'mesh%3Don');
Test::More::ok($n >= 1, 'Services are listed');
Test::More::is($missing, 0, 'every Service request carries the selector alone');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- error_code: 421
