# A Kubernetes watch that stays open but goes silent (no event, no
# bookmark) is replaced after gamma_kubernetes_watch_idle_timeout and
# resumes from the last resourceVersion; bookmarks keep a quiet watch
# alive.  The retry backoff during an outage stays jittered, capped and
# reset by a success.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use Time::HiRes qw(sleep time);

FakeKube::start();
FakeKube::gamma_test_source(source => <<'_EOC_');
    gamma_source kubernetes $TEST_NGINX_KUBE_URL;
    gamma_kubernetes_token_file $TEST_NGINX_KUBE_DIR/token;
    gamma_kubernetes_ca_file $TEST_NGINX_KUBE_DIR/ca.crt;
_EOC_

no_shuffle();
log_level('info');
gamma_mesh_config();

# the tests' short backoff, unless the block names its own
add_block_preprocessor(sub {
    my $block = shift;

    if (($block->http_config // "") !~ /gamma_kubernetes_backoff/) {
        $block->set_value('http_config', ($block->http_config // "")
            . "    gamma_kubernetes_backoff 50ms 300ms;\n");
    }
});

our $Route2 = $FakeKube::Route =~ s/smiley2/face/r;

sub route_watches {
    return grep { $_->{path} =~ m{/httproutes$} && $_->{query} =~ /watch=1/ }
           @{ FakeKube::requests() };
}

sub route_lists {
    return grep { $_->{path} =~ m{/httproutes$} && $_->{query} !~ /watch=1/ }
           @{ FakeKube::requests() };
}

sub query_param {
    my ($req, $name) = @_;
    return $req->{query} =~ /(?:^|&)\Q$name\E=([^&]*)/ ? $1 : undef;
}

run_tests();

__DATA__

=== TEST 1: a watch asks for bookmarks and a timeoutSeconds in [t, 2t)
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
my @w = grep { $_->{query} =~ /watch=1/ } @{ FakeKube::requests() };
Test::More::is(scalar @w, scalar @FakeKube::Watched,
               "one watch per resource (@FakeKube::Watched)");
for my $req (@w) {
    Test::More::is(main::query_param($req, 'allowWatchBookmarks'), 'true',
                   "$req->{path}: allowWatchBookmarks=true");
    my $t = main::query_param($req, 'timeoutSeconds') // 0;
    Test::More::ok($t >= 300 && $t < 600, "$req->{path}: timeoutSeconds=$t");
}
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley:18080
--- no_error_log
[error]



=== TEST 2: a frozen watch (open, silent) is replaced after the idle timeout and resumes from the last resourceVersion, while new connections work
--- http_config
    gamma_kubernetes_watch_idle_timeout 1s;
--- post_setup_server_root
# bookmarks keep the other watches (only the route watch is frozen)
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route,
                bookmark_every => 0.3);
--- init
FakeKube::wait_watches();
my $rev = FakeKube::control('ping')->{rev};
Test::More::is(FakeKube::control('freeze', { plural => 'httproutes' })->{frozen},
               1, 'the route watch is frozen');
my $frozen_at = Time::HiRes::time;
FakeKube::upsert($main::Route2);
my $t = FakeKube::wait_backend('127.10.0.1:18080', 'faces/face:18080', 4);
Test::More::ok(defined $t, 'the change made after the stall applies');
Test::More::ok(($t // 0) >= 0.8, sprintf 'after the idle timeout (%.2f s)',
               $t // 0);
Test::More::ok(($t // 9) < 2.5, 'not much later');
my @w = main::route_watches();
Test::More::is(scalar @w, 2, 'one new watch');
Test::More::is(main::query_param($w[1], 'resourceVersion'), $rev,
               'resumed from the last resourceVersion seen');
Test::More::cmp_ok($w[1]{time} - $frozen_at, '>=', 0.9,
                   'replaced once it was silent for 1 s');
Test::More::is(scalar main::route_lists(), 1, 'no relist');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/face:18080
--- error_log eval
qr{\[warn\] .*kubernetes: /apis/gateway\.networking\.k8s\.io/v1/httproutes: watch interrupted \(no data for 1000 ms\), resuming from resourceVersion \d+ at once: it was open but silent, no event and no bookmark}
--- no_error_log
[error]



=== TEST 3: bookmarks keep a quiet watch: it is replaced only once they stop
--- http_config
    gamma_kubernetes_watch_idle_timeout 1s;
--- post_setup_server_root
# the other watches get bookmarks all along; the route watch from the test
FakeKube::reset($GammaTest::Base, bookmark_every => 0.3,
                bookmark_skip => ['httproutes']);
--- init
FakeKube::wait_watches();
my $start = Time::HiRes::time;
while (Time::HiRes::time - $start < 2.5) {
    FakeKube::control('watches', { action => 'bookmark',
                                   plural => 'httproutes' });
    Time::HiRes::sleep(0.3);
}
Test::More::is(scalar main::route_watches(), 1,
               '2.5 s of bookmarks every 0.3 s: the same watch');
my $t = FakeKube::wait_until(sub { main::route_watches() >= 2 }, 10);
Test::More::ok(defined $t, 'replaced once the bookmarks stopped');
Test::More::ok(($t // 0) >= 0.5, sprintf 'after the idle timeout (%.2f s)',
               $t // 0);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley:18080
--- no_error_log
[error]



=== TEST 4: during 4 s of HTTP 500s the retries are jittered and capped; the change made meanwhile applies within the cap of the recovery; a success resets the backoff
--- http_config
    gamma_kubernetes_backoff 50ms 1s;
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
FakeKube::control('faults', { rules => [
    { plural => 'httproutes', status => 500, count => 100000 }]});
FakeKube::control('watches', { action => 'drop', plural => 'httproutes' });
my $outage = Time::HiRes::time;
Time::HiRes::sleep(1);
FakeKube::upsert($FakeKube::Route);
Time::HiRes::sleep(3);
FakeKube::control('faults_clear');
my $recovered = Time::HiRes::time;
my $t = FakeKube::wait_backend('127.10.0.1:18080', 'faces/smiley2:18080', 3);
Test::More::ok(defined $t, 'the change made during the outage applies');
Test::More::ok(($t // 9) < 1.5, sprintf 'within the 1 s cap of the recovery '
               . '(%.2f s)', $t // 9);
my @w = grep { $_->{time} >= $outage } main::route_watches();
my @gap = map { $w[$_ + 1]{time} - $w[$_]{time} } 0 .. $#w - 1;
Test::More::diag('delays: ' . join ' ', map { int($_ * 1000) } @gap);
my @plateau = grep { $_ >= 0.45 } @gap;
Test::More::ok(@plateau >= 2, 'the delays reached the cap');
Test::More::ok(!(grep { $_ > 1.2 } @gap), 'no delay beyond the 1 s cap');
Test::More::ok(!(grep { $_ < 0.01 } @gap), 'no retry without a delay');
my ($lo, $hi) = (sort { $a <=> $b } @plateau)[0, -1];
Test::More::ok(@plateau >= 2 && $hi - $lo > 0.005,
               'the capped delays are jittered, not all equal');
# a success (the route's event) reset the backoff: one more error waits
# the initial delay again, not the cap
FakeKube::control('faults', { rules => [
    { plural => 'httproutes', status => 500, count => 1 }]});
my $n = scalar main::route_watches();
FakeKube::control('watches', { action => 'drop', plural => 'httproutes' });
FakeKube::wait_until(sub { main::route_watches() >= $n + 2 }, 3);
my @after = (main::route_watches())[$n .. $n + 1];
my $d = @after == 2 ? $after[1]{time} - $after[0]{time} : 9;
Test::More::ok($d < 0.3, sprintf 'after a success the backoff starts over '
               . '(%.0f ms)', $d * 1000);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
--- error_log eval
qr{\[error\] .*kubernetes: /apis/gateway\.networking\.k8s\.io/v1/httproutes: watch failed: HTTP 500: injected fault 500}



=== TEST 5: the idle timeout is a time
--- http_config
    gamma_kubernetes_watch_idle_timeout 0;
--- config
--- must_die
--- error_log
"gamma_kubernetes_watch_idle_timeout" directive has an invalid time
