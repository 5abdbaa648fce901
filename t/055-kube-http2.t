# The Kubernetes API source over HTTP/2: when the API server offers h2
# (ALPN), every list and watch of a worker shares one connection.  An
# HTTP/2 front (nginx itself, proxying to the fake API server) stands in
# for a real API server, which speaks HTTP/2.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;

FakeKube::start();

$ENV{TEST_NGINX_KUBE_H2_PORT} ||= 19846;

FakeKube::gamma_test_source(source => <<'_EOC_');
    gamma_source kubernetes https://127.0.0.1:$TEST_NGINX_KUBE_H2_PORT;
    gamma_kubernetes_token_file $TEST_NGINX_KUBE_DIR/token;
    gamma_kubernetes_ca_file $TEST_NGINX_KUBE_DIR/ca.crt;
    gamma_kubernetes_watch_timeout 1s;

    log_format gamma_api '$server_protocol $connection $request_method '
                         '$uri $status';

    # the API server's HTTP/2 front
    server {
        listen 127.0.0.1:$TEST_NGINX_KUBE_H2_PORT ssl http2;
        ssl_certificate $TEST_NGINX_KUBE_DIR/server.crt;
        ssl_certificate_key $TEST_NGINX_KUBE_DIR/server.key;
        access_log $TEST_NGINX_SERVER_ROOT/logs/api.log gamma_api;

        location / {
            proxy_pass $TEST_NGINX_KUBE_URL;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }
    }
_EOC_

no_shuffle();
log_level('info');
gamma_mesh_config();

sub api_log {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/api.log"
        or return [];
    return [map { [split] } <$fh>];
}

run_tests();

__DATA__

=== TEST 1: lists and watches are multiplexed over one HTTP/2 connection
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
FakeKube::upsert($FakeKube::Route);
# watches end after timeoutSeconds=1 and are logged then
# one list and one finished watch per resource watched
my $n = 2 * @FakeKube::Watched;
FakeKube::wait_until(sub { @{ main::api_log() } >= $n }, 4);
my @log = @{ main::api_log() };
Test::More::ok(@log >= $n, "a list and a finished watch of each of the "
               . "@FakeKube::Watched logged")
    or Test::More::diag(Test::More::explain(\@log));
Test::More::is(scalar(grep { $_->[0] ne 'HTTP/2.0' } @log), 0,
               'all over HTTP/2');
my %conn = map { $_->[1] => 1 } @log;
Test::More::is(scalar keys %conn, 1, 'all on one connection');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- timeout: 6
