# The Kubernetes API source under a stream of changes: bursts are
# coalesced into few snapshots, the last one comes soon after the last
# change and holds exactly the API server's state; a constant stream still
# publishes regularly.

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
Test::More::diag(scalar(@new) . ' snapshots for the burst');
# changes settle 50 ms and a stream publishes every 400 ms: a burst
# sent slowly (a loaded machine) may take one more snapshot per 400 ms
Test::More::cmp_ok(scalar @new, '<=', 6 + int(($last - $start) / 0.4),
                   'few snapshots');
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



=== TEST 2: a constant stream of changes still publishes at least every 500 ms
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route);
--- init
FakeKube::wait_watches();
my $before = scalar @{ main::snapshots() };
my ($start, $i) = (time, 0);
# a new Service every 10 ms or so: the count in a snapshot dates it
while (time - $start < 1.5) {
    FakeKube::control('objects', { objects => [main::service($i++)] });
    sleep 0.01;
}
my @new = @{ main::snapshots() }[$before .. $#{ main::snapshots() }];
Test::More::diag("$i changes in 1.5 s, " . scalar(@new) . ' snapshots: '
                 . join ' ', map { $_->[1] } @new);
Test::More::cmp_ok(scalar @new, '>=', 2,
                   'published during the stream (every 400 ms)');
Test::More::cmp_ok(scalar @new, '<', $i / 3, 'far fewer than changes');
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
