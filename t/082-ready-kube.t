# Readiness (gamma_ready) with the Kubernetes source: 503 until every
# resource was listed once, 200 after; the watch restarts and relists the
# source counted show in the metrics.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use GammaAdmin;
use FakeKube;

FakeKube::start();
FakeKube::gamma_test_source(extra => $GammaAdmin::Include);

master_on();
workers(2);
no_shuffle();
log_level('info');
gamma_mesh_config();

run_tests();

__DATA__

=== TEST 1: not ready while a resource cannot be listed, ready once it is
--- post_setup_server_root
FakeKube::reset($GammaTest::Base, rules => [
    { verb => 'list', plural => 'httproutes', status => 500 }]);
--- init
FakeKube::wait_until(sub {
    grep { $_->{path} =~ /httproutes/ } @{ FakeKube::control('log')->{log} }
}, 5);
my $res = GammaAdmin::get('/ready');
Test::More::is("$res->{status} $res->{body}",
               "503 not ready: no mesh state yet\n",
               'before every resource was listed');
my $c = GammaTest::gamma_client(to => '127.10.0.5:18080');
Test::More::is($c->request('GET', '/')->{status}, 503,
               'the mesh answers 503 meanwhile');
# the API server lists HTTPRoutes again: the next retry succeeds
FakeKube::reset($GammaTest::Base);
$res = GammaAdmin::wait_until(sub {
    my $r = GammaAdmin::get('/ready');
    return $r->{status} == 200 ? $r : undef;
}, 10);
# the reset that lifts the fault may change objects: any generation
Test::More::like($res && $res->{body}, qr/^ready: generation \d+\n\z/,
                 'ready once the lists succeed');
my $m = GammaAdmin::metrics();
Test::More::is($m->{gamma_source_synced}, 1, 'gamma_source_synced');
Test::More::cmp_ok($m->{gamma_source_relists_total}, '>=', 1,
                   'the failed lists were tried again');
--- request
GET /ready
--- more_headers
X-Test-To: 127.0.0.1:15000
--- response_body_like eval
qr{^ready: generation \d+\n\z}
--- error_log eval
qr{httproutes: list failed: HTTP 500}



=== TEST 2: a dropped watch is resumed and counted
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
GammaAdmin::wait_until(sub { GammaAdmin::get('/ready')->{status} == 200 }, 5);
my $before = GammaAdmin::metrics()->{gamma_source_watch_restarts_total};
FakeKube::control('watches', { action => 'error', code => 500,
                               plural => 'httproutes' });
FakeKube::upsert($FakeKube::Route);
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080',
                                              'faces/smiley2:18080'),
               'the change after the error applies');
my $m = GammaAdmin::wait_until(sub {
    my $m = GammaAdmin::metrics();
    return $m->{gamma_source_watch_restarts_total} > $before ? $m : undef;
}, 5);
Test::More::ok($m, 'gamma_source_watch_restarts_total grew');
Test::More::is($m && $m->{gamma_source_objects}, undef, 'no bare objects gauge');
Test::More::is($m && $m->{'gamma_source_objects{kind="HTTPRoute"}'}, 1,
               'the route is counted');
--- request
GET /ready
--- more_headers
X-Test-To: 127.0.0.1:15000
--- response_body_like
^ready: generation \d+$
