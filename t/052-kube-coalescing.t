# The Kubernetes API source under a stream of changes: a change is
# published at once, but at most one snapshot per 50 ms, so bursts are
# coalesced into few snapshots; the last one comes soon after the last
# change and holds exactly the API server's state; a constant stream is
# published as it goes, a snapshot per 50 ms.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use Time::HiRes qw(sleep time);

FakeKube::start();

FakeKube::gamma_test_source();

no_shuffle();
log_level('info');
gamma_mesh_config();

sub service {
    my ($i) = @_;
    return { apiVersion => 'v1', kind => 'Service',
             metadata => { name => "svc-$i", namespace => 'bulk' },
             spec => { clusterIP => sprintf('127.12.%d.%d', $i / 200,
                                            $i % 200 + 1),
                       ports => [{ name => 'http', port => 18080,
                                   targetPort => 18090 }] } };
}

sub route_to {
    my ($backend) = @_;
    return FakeKube::objects($FakeKube::Route =~ s/smiley2/$backend/r)->[0];
}

# the watcher's "snapshot N: S services, ..." lines so far
sub snapshots {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die;
    return [map { /snapshot (\d+): (\d+) services/ ? [$1, $2] : () } <$fh>];
}

sub backend_of {
    my ($c) = @_;
    return $c->request('GET', '/')->{headers}{'x-gamma-backend'} // '';
}

run_tests();

__DATA__

=== TEST 1: 1,000 quick changes make few snapshots, soon after the last, with the exact final state
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route);
--- init
FakeKube::wait_watches();
my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
my $before = scalar @{ main::snapshots() };

# 400 new Services, 300 route edits, 200 of the Services deleted again,
# 100 EndpointSlice edits: ten batches of a hundred, back to back
my @batches;
push @batches, [map { main::service($_) } $_ * 100 .. $_ * 100 + 99]
    for 0 .. 3;
push @batches, [map { main::route_to($_ % 2 ? 'smiley2' : 'face') }
                1 .. 100] for 1 .. 3;
my $eps = FakeKube::objects($GammaTest::Base)->[5];
push @batches, [map {
    my $e = Storable::dclone($eps);
    # the last edit leaves 127.11.0.9 not ready, as it started
    $e->{endpoints}[1]{conditions}{ready} =
        $_ % 2 ? Mojo::JSON::true : Mojo::JSON::false;
    $e;
} 1 .. 100];

my $start = time;
FakeKube::control('objects', { objects => $_ }) for @batches[0 .. 6];
FakeKube::remove(map { "services/bulk/svc-$_" } 200 .. 399);
FakeKube::control('objects', { objects => $batches[7] });
my $last = time;
Test::More::diag(sprintf '1,000 changes sent in %.0f ms',
                 ($last - $start) * 1000);

my $t = FakeKube::wait_until(sub {
    my $s = main::snapshots();
    @$s && $s->[-1][1] == 205 && main::backend_of($c) eq 'faces/face:18080';
}, 3);
Test::More::ok(defined $t, 'the final state is served');
Test::More::diag(sprintf 'served %.0f ms after the last change',
                 ($t // 0) * 1000);
Test::More::cmp_ok($t // 9, '<', 0.3, 'soon after the last change');

sleep 0.5;
my @new = @{ main::snapshots() }[$before .. $#{ main::snapshots() }];
my $span = time - $start;
Test::More::diag(scalar(@new) . ' snapshots for the burst');
# at most one snapshot per 50 ms (more apart when a compile takes longer),
# the first at once: the snapshots counted were made in $span
Test::More::cmp_ok(scalar @new, '<=', 1 + int($span / 0.05),
                   sprintf 'few snapshots (in %.1f s)', $span);
Test::More::is(@new ? $new[-1][1] : undef, 205,
               'and no later one changed anything');
--- request eval
["GET /", "GET /", "GET /", "GET /", "GET /"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.12.0.200:18080",
 "X-Test-To: 127.12.1.1:18080", "X-Test-To: 127.10.0.3:18080",
 "X-Test-To: 127.10.0.3:18080"]
--- response_headers eval
["X-Gamma-Backend: faces/face:18080", "X-Gamma-Service: bulk/svc-199:18080",
 "!X-Gamma-Service", "X-Gamma-Backend: faces/face:18080",
 "X-Gamma-Backend: faces/face:18080"]
--- response_body_like eval
["^pod 127.11.0.3:", "", "", "^pod 127.11.0.3:", "^pod 127.11.0.3:"]
--- error_code eval
[200, 503, 421, 200, 200]
--- timeout: 10



=== TEST 2: a constant stream of changes is published as it goes, a snapshot per 50 ms
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route);
--- init
FakeKube::wait_watches();
GammaTest::gamma_wait_synced();
my $before = scalar @{ main::snapshots() };
# a new Service every 10 ms, sent by the server at its own pace (a client's
# requests took 100 ms each on a loaded machine): the count in a snapshot
# dates it
my $i = 150;
FakeKube::control('stream', { objects => [map { main::service($_) } 0 .. 149],
                              interval_ms => 10 });
my $s;
FakeKube::wait_until(sub { ($s = FakeKube::control('stream'))->{done} }, 20);
my $times = $s->{times};
my @new = @{ main::snapshots() }[$before .. $#{ main::snapshots() }];
# the first change at once, then at most one snapshot per 50 ms
my $span = @$times ? time - $times->[0] : 0;
Test::More::diag(sprintf("$i changes in %.1f s, ", $span)
                 . scalar(@new) . ' snapshots: '
                 . join ' ', map { $_->[1] } @new);
Test::More::is(scalar @$times, $i, 'the server sent them all');
Test::More::cmp_ok(scalar @new, '>=', 2, 'published during the stream');
Test::More::cmp_ok(scalar @new, '<=', 1 + int($span / 0.05),
                   'at most one snapshot per 50 ms, fewer than changes');
Test::More::ok(@new >= 2 && $new[0][1] < $new[-1][1]
               && $new[-1][1] <= 5 + $i, "each with the changes so far");
Test::More::ok(defined FakeKube::wait_until(sub {
    my $s = main::snapshots();
    @$s && $s->[-1][1] == 5 + $i }, 1), 'then all of them');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.3:18080
--- error_code: 200
