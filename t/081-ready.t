# Readiness (gamma_ready) with the file source: 200 once every worker
# serves a snapshot for which every manifest file was read; 503 with a
# one-line reason before.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaAdmin;

master_on();
workers(2);
no_shuffle();
log_level('info');

$GammaTest::HttpConfig .= $GammaAdmin::Include;

gamma_mesh_config();

our $Broken = <<'_EOY_';
apiVersion: v1
kind: Service
metadata: {name: later, namespace: faces
_EOY_

our $Later = <<'_EOY_';
apiVersion: v1
kind: Service
metadata: {name: later, namespace: faces}
spec:
  clusterIP: 127.10.0.9
  ports:
  - {name: http, port: 18080}
_EOY_

run_tests();

__DATA__

=== TEST 1: every manifest read: ready once both workers serve it
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
# a probe before the second worker has started says so: "1 of 2 workers"
Test::More::ok(GammaAdmin::wait_until(sub {
    GammaAdmin::get('/ready')->{status} == 200 }, 5), 'ready within 5 s');
for my $i (1 .. 4) {
    my $res = GammaAdmin::get('/ready');
    Test::More::is("$res->{status} $res->{body}", "200 ready: generation 1\n",
                   "probe $i");
}
--- request
GET /ready
--- more_headers
X-Test-To: 127.0.0.1:15000
--- response_body
ready: generation 1
--- response_headers
Content-Type: text/plain
Cache-Control: no-store



=== TEST 2: a manifest that does not parse: not ready, then ready once it is fixed
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/later.yaml", $main::Broken]]
--- init
GammaAdmin::wait_until(sub {
    GammaAdmin::get('/ready')->{body} !~ /workers serve/ }, 5);
my $res = GammaAdmin::get('/ready');
Test::More::is($res->{status}, 503, 'not ready');
Test::More::is($res->{body}, "not ready: a manifest of the source could not "
               . "be read yet (see the error log)\n", 'with its reason');
Test::More::is(GammaAdmin::metrics()->{gamma_source_synced}, 0,
               'gamma_source_synced 0');
my $c = GammaTest::gamma_client(to => '127.10.0.5:18080');
Test::More::is($c->request('GET', '/')->{status}, 200,
               'what could be read is served meanwhile');
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/later.yaml",
                       $main::Later);
$res = GammaAdmin::wait_until(sub {
    my $r = GammaAdmin::get('/ready');
    return $r->{status} == 200 ? $r : undef;
}, 5);
Test::More::is($res && $res->{body}, "ready: generation 2\n",
               'ready once the file is read');
Test::More::is(GammaAdmin::metrics()->{gamma_source_synced}, 1,
               'gamma_source_synced 1');
--- request
GET /ready
--- more_headers
X-Test-To: 127.0.0.1:15000
--- response_body
ready: generation 2
--- error_log eval
qr{\[error\] .*later\.yaml}



=== TEST 3: readiness answers only GET and HEAD
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- request
POST /ready
--- more_headers
X-Test-To: 127.0.0.1:15000
--- error_code: 405
