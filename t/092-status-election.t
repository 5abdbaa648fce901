# Two nginx instances with the status writer on against the fake API
# server: exactly one holds the Lease and writes; a clean stop releases
# it and the other takes over within the lease duration and keeps the
# status current; a crashed holder is replaced within lease duration +
# retry period.  (The instance Test::Nginx runs has the writer off.)

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use StatusTest;
use Time::HiRes qw(sleep time);

FakeKube::start();
FakeKube::gamma_test_source();

no_shuffle();
log_level('info');
gamma_mesh_config();

sub holder {
    my $l = StatusTest::lease() or return '';
    return $l->{spec}{holderIdentity} // '';
}

# the pid in a holder identity: the source process holding the Lease
sub holder_pid {
    my ($id) = @_;
    return $id =~ /_(\d+)_[0-9a-f]{8}$/ ? $1 : undef;
}

sub wait_conditions {
    my ($name, $want, $limit) = @_;
    my $got = '';
    FakeKube::wait_until(sub {
        $got = StatusTest::conditions($name);
        $got eq $want;
    }, $limit // 10);
    return $got;
}

our ($A, $B, $Held);

run_tests();

__DATA__

=== TEST 1: two instances: exactly one holds the Lease and writes
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $StatusTest::Routes);
--- init
StatusTest::start('a', 19981);
Test::More::ok(defined FakeKube::wait_until(sub { main::holder() ne '' }, 10),
               'instance a takes the Lease');
main::wait_conditions('no-backend',
                      'Accepted=True/Accepted ResolvedRefs=False/BackendNotFound');
$main::Held = main::holder();

StatusTest::start('b', 19982);
FakeKube::wait_until(sub {
    StatusTest::error_log('b') =~ /status: candidate/ }, 10);
sleep 5;                                     # two retry periods and more
Test::More::is(main::holder(), $main::Held, 'a still holds it');

my $before = scalar @{ StatusTest::writes(qr{/status$}) };
FakeKube::upsert($StatusTest::Gone);
Test::More::is(main::wait_conditions('no-backend',
               'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'),
               'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs',
               'the status follows the change');
sleep 3;
my $w = StatusTest::writes(qr{/status$});
Test::More::is(scalar @$w - $before, 1, 'one write for one changed route');

my ($la, $lb) = (StatusTest::error_log('a'), StatusTest::error_log('b'));
Test::More::like($la, qr/status: "\S+" holds Lease faces\/gamma-test/,
                 'a says it holds the Lease');
Test::More::like($la, qr{status: wrote \S+/httproutes/no-backend/status},
                 'a wrote the status');
Test::More::unlike($lb, qr/holds Lease faces\/gamma-test, writing/,
                   'b never held it');
Test::More::unlike($lb, qr/status: wrote/, 'b wrote nothing');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- no_error_log
[error]



=== TEST 2: the holder stops: the other takes over within the lease duration and keeps the status current
--- init
my $t0 = time;
StatusTest::stop('a');
my $t = FakeKube::wait_until(sub {
    my $h = main::holder();
    $h ne '' && $h ne $main::Held }, 15);
Test::More::ok(defined $t, 'b holds the Lease within 15 s');
Test::More::diag(sprintf 'taken over %.1f s after the stop', time - $t0);
Test::More::like(StatusTest::error_log('a'),
                 qr/status: "\S+" released Lease faces\/gamma-test: HTTP 200/,
                 'a released the Lease on its clean stop');

FakeKube::remove('services/faces/gone');
Test::More::is(main::wait_conditions('no-backend',
               'Accepted=True/Accepted ResolvedRefs=False/BackendNotFound'),
               'Accepted=True/Accepted ResolvedRefs=False/BackendNotFound',
               'b keeps the status current');
Test::More::like(StatusTest::error_log('b'),
                 qr{status: wrote \S+/httproutes/no-backend/status},
                 'b wrote it');
$main::Held = main::holder();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- no_error_log
[error]



=== TEST 3: a crashed holder is replaced within lease duration + retry period
--- init
StatusTest::start('c', 19983);
FakeKube::wait_until(sub {
    StatusTest::error_log('c') =~ /status: candidate/ }, 10);
my $pid = main::holder_pid($main::Held);
Test::More::ok($pid && kill('KILL', $pid), 'the holder is killed');
my $t0 = time;
my $t = FakeKube::wait_until(sub {
    my $h = main::holder();
    $h ne '' && $h ne $main::Held }, 30);
Test::More::ok(defined $t, 'a new holder');
Test::More::diag(sprintf 'taken over %.1f s after the crash', time - $t0);
# The times of the fake server's log, not this poll's: the crashed
# holder's last renewal, the new holder's first write.  A candidate writes
# once it saw the Lease unchanged for the lease duration (15 s): never
# sooner after the renewal; and it reads it every retry period (2 s), so
# it sees the renewal up to a period late and the expiry up to a period
# late: 19 s, and 4 s for the candidate's and the server's latencies over
# those ten reads on a loaded machine (17.2-20.7 s measured from the kill
# by this poll under a load average of 6-10 on 2 cores)
my @w = map { $_->{time} }
        @{ StatusTest::writes(qr{/leases/gamma-test$}) };
my ($renew) = reverse grep { $_ < $t0 } @w;
my ($taken) = grep { $_ > $t0 } @w;
my $dt = defined $renew && defined $taken ? $taken - $renew : 0;
Test::More::diag(sprintf 'written %.1f s after the last renewal', $dt);
Test::More::ok($dt > 15 - 0.05, 'not before the lease duration');
Test::More::ok($dt < 15 + 2 * 2 + 4,
               'within the lease duration and two retry periods (+ 4 s)');
FakeKube::upsert($StatusTest::Gone);
Test::More::is(main::wait_conditions('no-backend',
               'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'),
               'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs',
               'the new holder writes');
StatusTest::stop('b');
StatusTest::stop('c');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- no_error_log
[error]
