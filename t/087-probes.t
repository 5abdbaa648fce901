# The kubelet's probe listener of the shipped configuration
# (conf/gamma-probes.conf, port 15021 on every address, included by
# conf/sidecar.conf; docker/inject points the sidecar's readinessProbe and
# livenessProbe at it): readiness follows the sync, liveness does not,
# and nothing else of the admin listener is served there.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaAdmin;

master_on();
workers(2);
no_shuffle();
log_level('info');

$GammaTest::HttpConfig
    .= "    include \$TEST_NGINX_GAMMA_CONF/gamma-probes.conf;\n";

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

sub probe {
    local $GammaAdmin::Addr = '127.0.0.1:15021';
    return GammaAdmin::get(@_);
}

run_tests();

__DATA__

=== TEST 1: not ready while a manifest does not parse, live all along; ready once it is fixed
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/later.yaml", $main::Broken]]
--- init
GammaAdmin::wait_until(sub {
    main::probe('/ready')->{body} !~ /workers serve/ }, 15);
my $res = main::probe('/ready');
Test::More::is($res->{status}, 503, 'readiness: 503');
Test::More::like($res->{body}, qr/^not ready: a manifest/, 'with its reason');
Test::More::is(main::probe('/healthz')->{status}, 200, 'liveness: 200');
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/later.yaml",
                       $main::Later);
$res = GammaAdmin::wait_until(sub {
    my $r = main::probe('/ready');
    return $r->{status} == 200 ? $r : undef;
}, 15);
Test::More::is($res && $res->{body}, "ready: generation 2\n",
               'ready once the file is read');
--- request
GET /healthz
--- more_headers
X-Test-To: 127.0.0.1:15021
--- response_body
ok



=== TEST 2: the probe port tells nothing else: no metrics, no status
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
# /ready is 503 until every worker serves the mesh (TEST 1)
Test::More::ok(GammaAdmin::wait_until(sub {
    main::probe('/ready')->{status} == 200 }, 15), 'ready');
--- request eval
["GET /metrics", "GET /status", "GET /", "GET /ready"]
--- more_headers
X-Test-To: 127.0.0.1:15021
--- error_code eval
[404, 404, 404, 200]
