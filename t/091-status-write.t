# The status writer against the fake API server (one instance): route
# status through /status with our controllerName, the right reasons, kept
# current as objects change; other controllers' entries untouched; a 409
# is read again and retried; the XMesh with the supported features.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use StatusTest;
use Time::HiRes qw(sleep time);

FakeKube::start();

FakeKube::gamma_test_source(extra => <<'_EOC_');
    gamma_status_writer on;
    gamma_status_lease faces/gamma-test;
_EOC_

no_shuffle();
log_level('info');
gamma_mesh_config();

sub wait_conditions {
    my ($name, $want, $limit) = @_;
    my $got = '';
    FakeKube::wait_until(sub {
        $got = StatusTest::conditions($name);
        $got eq $want;
    }, $limit // 10);
    return $got;
}

run_tests();

__DATA__

=== TEST 1: the holder writes Accepted and ResolvedRefs with the right reasons
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $StatusTest::Routes);
--- init
Test::More::is(main::wait_conditions('valid',
               'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'),
               'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs',
               'a valid route');
Test::More::is(main::wait_conditions('no-parent',
               'Accepted=False/NoMatchingParent ResolvedRefs=True/ResolvedRefs'),
               'Accepted=False/NoMatchingParent ResolvedRefs=True/ResolvedRefs',
               'a route to a missing Service');
Test::More::is(main::wait_conditions('no-backend',
               'Accepted=True/Accepted ResolvedRefs=False/BackendNotFound'),
               'Accepted=True/Accepted ResolvedRefs=False/BackendNotFound',
               'a route to a missing backend');
Test::More::is(main::wait_conditions('bad-filter',
               'Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs'),
               'Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs',
               'a route with an unsupported filter');

my $e = StatusTest::ours('no-backend');
my $r = StatusTest::route('no-backend');
Test::More::is_deeply($e->{parentRef}, { group => '', kind => 'Service',
                      namespace => 'faces', name => 'face' },
                      'the parentRef is echoed');
Test::More::ok(!grep({ $_->{observedGeneration} != $r->{metadata}{generation}
                       || $_->{message} eq '' || !$_->{lastTransitionTime} }
                     @{ $e->{conditions} }),
               'observedGeneration, a message and a transition time on each');
Test::More::is($e->{conditions}[1]{message},
               'rule 0 backendRef Service faces/gone port 18080: no such Service',
               'the message says which backendRef');

my $l = StatusTest::lease();
Test::More::like($l->{spec}{holderIdentity} // '', qr/^\S+_\d+_[0-9a-f]{8}$/,
                 'the Lease is held: hostname, pid, random suffix');
Test::More::is($l->{spec}{leaseDurationSeconds}, 15, 'lease duration 15 s');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
[qr/status: candidate "\S+" for Lease faces\/gamma-test/,
 qr/status: "\S+" holds Lease faces\/gamma-test, writing status/]
--- no_error_log
[error]



=== TEST 2: another controller's entry is left byte for byte
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $StatusTest::Routes);
--- init
main::wait_conditions('valid',
                      'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs');
my $p = StatusTest::route('valid')->{status}{parents};
Test::More::is(scalar @$p, 2, 'two entries: theirs and ours');
Test::More::is_deeply($p->[0], {
    parentRef => { group => 'gateway.networking.k8s.io', kind => 'Gateway',
                   name => 'edge' },
    controllerName => 'example.com/other',
    conditions => [{ type => 'Accepted', status => 'True',
                     reason => 'Accepted', message => 'theirs',
                     observedGeneration => 1,
                     lastTransitionTime => '2026-01-01T00:00:00Z' }] },
    'theirs is untouched');
Test::More::is($p->[1]{controllerName}, 'nginx-gamma.dev/mesh', 'ours next');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- no_error_log
[error]



=== TEST 3: the status follows the objects: a backend appears, one write for the one route
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $StatusTest::Routes);
--- init
main::wait_conditions('no-backend',
                      'Accepted=True/Accepted ResolvedRefs=False/BackendNotFound');
main::wait_conditions('bad-filter',
                      'Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs');
sleep 1;
my $before = scalar @{ StatusTest::writes(qr{/status$}) };
my $t0 = time;
FakeKube::upsert($StatusTest::Gone);
Test::More::is(main::wait_conditions('no-backend',
               'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'),
               'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs',
               'ResolvedRefs turns True when the backend appears');
Test::More::diag(sprintf 'status current after %.0f ms', (time - $t0) * 1000);
sleep 1;
my $w = StatusTest::writes(qr{/status$});
Test::More::is(scalar @$w - $before, 1, 'exactly one status write');
Test::More::like($w->[-1]{path}, qr{/httproutes/no-backend/status$},
                 'to that route');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.3:18080
--- error_code: 503
--- no_error_log
[alert]



=== TEST 4: a 409 is read again and retried with the new resourceVersion
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $StatusTest::Routes,
                rules => [{ verb => 'put', plural => 'httproutes',
                            status => 409, count => 1 }]);
--- init
main::wait_conditions('valid',
                      'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs');
main::wait_conditions('bad-filter',
                      'Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs');
main::wait_conditions('no-parent',
                      'Accepted=False/NoMatchingParent ResolvedRefs=True/ResolvedRefs');
main::wait_conditions('no-backend',
                      'Accepted=True/Accepted ResolvedRefs=False/BackendNotFound');
sleep 0.5;
my $puts = StatusTest::writes(qr{/httproutes/[^/]+/status$});
Test::More::is(scalar @$puts, 5, 'four routes written, one of them twice');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- no_error_log
[error]



=== TEST 5: the holder creates the XMesh with the supported features, sorted
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
my $x;
FakeKube::wait_until(sub {
    $x = StatusTest::get('/apis/gateway.networking.x-k8s.io/v1alpha1/'
                         . 'xmeshes/nginx-gamma');
    $x && $x->{status}{supportedFeatures};
}, 10);
Test::More::is($x->{spec}{controllerName}, 'nginx-gamma.dev/mesh',
               'XMesh nginx-gamma with our controllerName');
my @f = map { $_->{name} } @{ $x->{status}{supportedFeatures} // [] };
Test::More::is_deeply(\@f, [sort @f], 'sorted');
Test::More::ok((grep { $_ eq 'Mesh' } @f) && (grep { $_ eq 'HTTPRoute' } @f),
               'Mesh and HTTPRoute claimed');
Test::More::ok((grep { $_ eq 'GRPCRoute' } @f)
               && (grep { $_ eq 'GRPCRouteRequestHeaderModifier' } @f),
               'GRPCRoute (MESH-GRPC) claimed');
my %n;
Test::More::ok(!grep({ $n{$_}++ } @f), 'no duplicates');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- error_log
status: XMesh nginx-gamma created
--- no_error_log
[error]
