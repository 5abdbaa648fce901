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
                         '$uri watch=$arg_watch $status';

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
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080',
                                              'faces/smiley2:18080', 5),
               'the route upsert is seen');
# a list and a watch per resource; watches end after timeoutSeconds (1 s
# to 2 s) and are logged then
my @res = @FakeKube::Watched;
my $done = sub {
    my %seen = map { ($_->[3] =~ m{/([a-z0-9]+)$})[0] . ' ' . $_->[4] => 1 }
               @{ main::api_log() };
    return !grep { !$seen{"$_ watch=1"} || !$seen{"$_ watch=-"} } @res;
};
Test::More::ok(defined FakeKube::wait_until($done, 5),
               'a list and a finished watch of each of the '
               . scalar(@res) . ' resources logged')
    or Test::More::diag(Test::More::explain(main::api_log()));
my @log = @{ main::api_log() };
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
