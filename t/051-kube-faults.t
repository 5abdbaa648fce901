# The Kubernetes API source when the API server misbehaves: dropped and
# stalled watches resume from the last resourceVersion, 410 relists (and
# finds the deletions it missed), errors back off and recover, bad events
# restart the watch, a wrong CA is refused, a rotated token is picked up,
# an absent optional CRD does not stop the rest.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use Time::HiRes qw(sleep time);

FakeKube::start();

# the CA is added to each block's configuration, unless it names its own
FakeKube::gamma_test_source(source => <<'_EOC_');
    gamma_source kubernetes $TEST_NGINX_KUBE_URL;
    gamma_kubernetes_token_file $TEST_NGINX_KUBE_DIR/token;
    gamma_kubernetes_backoff 50ms 300ms;
_EOC_

no_shuffle();
log_level('info');
gamma_mesh_config();

add_block_preprocessor(sub {
    my $block = shift;

    # the CA, unless the block names its own
    if (($block->http_config // "") !~ /gamma_kubernetes_ca_file/) {
        $block->set_value('http_config', ($block->http_config // "")
            . "    gamma_kubernetes_ca_file \$TEST_NGINX_KUBE_DIR/ca.crt;\n");
    }
});

our $Route2 = $FakeKube::Route =~ s/smiley2/face/r;

sub route_requests {
    return grep { $_->{path} =~ m{/httproutes$} } @{ FakeKube::requests() };
}

sub log_text {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die;
    local $/;
    return <$fh>;
}

sub watch_rv {
    my ($req) = @_;
    return $req->{query} =~ /(?:^|&)resourceVersion=(\d+)/ ? $1 : undef;
}

run_tests();

__DATA__

=== TEST 1: a watch dropped mid-stream resumes from the last resourceVersion: nothing lost, nothing twice
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route);
--- init
FakeKube::wait_watches();
my $rev = FakeKube::control('ping')->{rev};
FakeKube::control('watches', { action => 'drop' });
FakeKube::upsert($main::Route2);
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/face:18080'),
               'the change made while the watch was down applies');
my @after = grep { $_->{time} > 0 } main::route_requests();
my @lists = grep { $_->{query} !~ /watch=1/ } @after;
my @watches = grep { $_->{query} =~ /watch=1/ } @after;
Test::More::is(scalar @lists, 1, 'no list after the drop, only the first');
Test::More::is(scalar @watches, 2, 'one watch, then one resumed watch');
Test::More::is(main::watch_rv($watches[1]), $rev,
               'resumed from the last resourceVersion seen');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/face:18080
--- error_log eval
qr{/httproutes: watch interrupted \(.*\), resuming from resourceVersion \d+}
--- no_error_log
[error]



=== TEST 2: a 410 ERROR event relists, and deletions made meanwhile apply
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route);
--- init
FakeKube::wait_watches();
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080'), 'routed');
# deleted with its history compacted: no watch can replay it
FakeKube::control('delete', { silent => Mojo::JSON::true, objects => [
    { plural => 'httproutes', namespace => 'faces', name => 'smiley-route' }]});
FakeKube::control('watches', { action => 'drop', plural => 'httproutes' });
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley:18080'),
               'the route deleted meanwhile is gone');
my @lists = grep { $_->{query} !~ /watch=1/ } main::route_requests();
Test::More::is(scalar @lists, 2, 'listed again');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route-Kind: none
--- error_log eval
[qr{/httproutes: watch expired \(too old resource version: \d+ \(\d+\)\), listing again},
 qr{HTTPRoute faces/smiley-route is gone}]
--- no_error_log
[error]



=== TEST 3: a 410 status on the watch relists too
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route, rules => [
    { verb => 'watch', plural => 'httproutes', status => 410, count => 1 }]);
--- init
FakeKube::wait_watches(2);
FakeKube::wait_until(sub { FakeKube::control('log')->{watches} >= 3 }, 3);
my @lists = grep { $_->{query} !~ /watch=1/ } main::route_requests();
Test::More::is(scalar @lists, 2, 'listed again after the 410');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
qr{/httproutes: watch expired \(The resourceVersion for the provided watch is too old\.\), listing again}
--- no_error_log
[error]



=== TEST 4: 500s back off (growing, jittered delays), then the source recovers
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
FakeKube::control('faults', { rules => [
    { verb => 'watch', plural => 'httproutes', status => 500, count => 4 }]});
FakeKube::control('watches', { action => 'drop', plural => 'httproutes' });
FakeKube::upsert($FakeKube::Route);
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080', 5),
               'the change applies once the errors stop');
my @w = grep { $_->{query} =~ /watch=1/ } main::route_requests();
Test::More::is(scalar @w, 6, 'first watch, 4 failures, the one that worked');
my @gap = map { ($w[$_ + 1]{time} - $w[$_]{time}) * 1000 } 1 .. 4;
# the delays the source chose, as it logged them; the server's gaps add
# each request's time to them (100 ms more on a loaded machine)
my @d = main::log_text() =~ m{/httproutes: watch again in (\d+) ms}g;
Test::More::diag(sprintf 'delays: %s ms, between the requests: %s ms',
                 join(' ', @d), join ' ', map { int } @gap);
Test::More::is(scalar @d, 5, 'a delay for the drop and each 500');
shift @d;
# 50ms..300ms, equal jitter; failures 2..5 wait [50,100] [100,200] then
# [150,300]
Test::More::ok(($d[0] // 0) >= 50 && $d[0] <= 100, 'first delay: 50..100 ms');
Test::More::ok(($d[1] // 0) >= 100 && $d[1] <= 200,
               'second delay: 100..200 ms');
Test::More::ok(!(grep { $_ < 150 || $_ > 300 } @d[2, 3]),
               'then 150..300 ms: capped by the maximum');
Test::More::ok(!(grep { $gap[$_] < ($d[$_] // 1e9) - 2 } 0 .. 3),
               'each waited before the next request');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
qr{\[error\] .*kubernetes: /apis/gateway.networking.k8s.io/v1/httproutes: watch failed: HTTP 500: injected fault 500}



=== TEST 5: an ERROR event with code 500 backs off and re-watches from the same version
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
FakeKube::control('watches', { action => 'error', code => 500,
                               plural => 'httproutes' });
FakeKube::upsert($FakeKube::Route);
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080'),
               'the change applies after the error');
my @lists = grep { $_->{query} !~ /watch=1/ } main::route_requests();
Test::More::is(scalar @lists, 1, 'no relist for a 500');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
[qr{\[error\] .*/httproutes: watch error 500 InternalError: injected error},
 qr{/httproutes: watch restarted after a bad event, resuming}]



=== TEST 6: a malformed event is logged, the watch restarts and the state is right
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
FakeKube::control('watches', { action => 'raw', plural => 'httproutes',
                               raw => qq({"type":"ADDED","object":{"kind":\n) });
FakeKube::upsert($FakeKube::Route);
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080'),
               'the change after the bad event applies');
my @w = grep { $_->{query} =~ /watch=1/ } main::route_requests();
Test::More::ok(@w >= 2, 'the watch was restarted');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
[qr{\[error\] .*/httproutes: malformed watch event: .*column \d+},
 qr{/httproutes: watch restarted after a bad event, resuming from resourceVersion \d+}]



=== TEST 7: a stalled watch is given up after the stall timeout and resumed
The timeout holds for every request, lists too: 500 ms and 1 s were
shorter than the fake server's answers on a loaded machine, lists timed
out in a loop and the server drowned in reconnections.
--- http_config
    gamma_kubernetes_stall_timeout 2s;
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
FakeKube::control('faults', { rules => [
    { verb => 'watch', plural => 'httproutes', stall => 1, count => 1 }]});
my $t0 = time;
FakeKube::control('watches', { action => 'drop', plural => 'httproutes' });
sleep 0.1;
FakeKube::upsert($FakeKube::Route);
my $t1 = time;
my $t = FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080', 10);
Test::More::ok(defined $t, 'the change applies after the stall');
# the stalled watch started after the drop: 2 s of it since $t0 at least
$t = defined $t ? $t1 - $t0 + $t : 0;
Test::More::ok($t > 1.9, sprintf 'not before the stall timeout (%.1f s)', $t);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
qr{/httproutes: watch interrupted \(no data for 2000 ms\), resuming}
--- no_error_log
[error]



=== TEST 8: a server certificate from another CA is refused with a clear log line
--- http_config
    gamma_kubernetes_ca_file $TEST_NGINX_KUBE_DIR/other-ca.crt;
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
sleep 0.3;
Test::More::is(scalar @{ FakeKube::requests() }, 0,
               'no request got through');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 503
--- error_log eval
[qr{\[error\] .*kubernetes: /api/v1/services: list failed: TLS with the API server https://127\.0\.0\.1:\d+ failed, check the CA file ".*/other-ca\.crt": SSL certificate problem: unable to get local issuer certificate},
 qr{no mesh state after \d+ ms}]



=== TEST 9: a rotated token file is read again and the new token used
--- post_setup_server_root
FakeKube::write_file("$FakeKube::Dir/token", "nginx-token-1\n");
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
# the API server moves to the new token first: the old one gets 401s
FakeKube::control('tokens', { tokens => ['nginx-token-2',
                                         $FakeKube::AdminToken] });
FakeKube::control('watches', { action => 'drop' });
sleep 0.3;
FakeKube::write_file("$FakeKube::Dir/token", "nginx-token-2\n");
FakeKube::upsert($FakeKube::Route);
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080', 3),
               'the source recovers with the new token');
my @log = @{ FakeKube::requests() };
Test::More::ok((grep { $_->{token} eq 'nginx-token-1' } @log) >= 4,
               'the old token was used before the rotation');
Test::More::is($log[-1]{token}, 'nginx-token-2',
               'the new token is used after it');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
[qr{watch failed: HTTP 401: Unauthorized \(the token file is read again\)},
 qr{kubernetes: new token read from ".*/token"}]
--- no_error_log
nginx-token



=== TEST 10: an absent optional CRD does not stop the rest, and is found once installed
--- post_setup_server_root
FakeKube::reset($GammaTest::Base, absent => ['httproutes']);
--- init
FakeKube::wait_watches(2);
my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
Test::More::is($c->request('GET', '/')->{headers}{'x-gamma-backend'},
               'faces/smiley:18080', 'Services and EndpointSlices work');
my @v = map { $_->{path} } main::route_requests();
Test::More::ok((grep { m{/v1beta1/} } @v) > 0, 'v1beta1 was tried too');
FakeKube::control('absent', { httproutes => 0 });
FakeKube::upsert($FakeKube::Route);
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080', 3),
               'routes apply once the CRD is there');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
[qr{\[warn\] .*kubernetes: httproutes.gateway.networking.k8s.io are not served \(HTTP 404: is the CRD installed\?\), asking again every 300 ms; the rest of the mesh works},
 qr{kubernetes: /apis/gateway.networking.k8s.io/v1/httproutes is served now}]
--- no_error_log
[error]



=== TEST 11: 429 with Retry-After waits as asked, without relisting
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
FakeKube::control('faults', { rules => [
    { verb => 'watch', plural => 'httproutes', status => 429,
      retry_after => 1, count => 1 }]});
FakeKube::control('watches', { action => 'drop', plural => 'httproutes' });
FakeKube::upsert($FakeKube::Route);
my $t = FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080', 3);
Test::More::ok(defined $t, 'applies after the wait');
my @w = grep { $_->{query} =~ /watch=1/ } main::route_requests();
Test::More::ok($w[-1]{time} - $w[-2]{time} >= 0.29,
               'waited (Retry-After, capped by the maximum backoff)');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
qr{watch failed: HTTP 429}
