# No write storms: once the status is written, 30 s of idle bring no
# status write at all (only the Lease renewals, every 2 s), and a change
# that leaves every route's status as it was writes nothing either.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use StatusTest;
use Time::HiRes qw(sleep time);

FakeKube::start();

FakeKube::gamma_test_source(extra => <<'_EOC_');
    gamma_status_writer on;
    gamma_status_lease faces/gamma-test;
_EOC_

no_shuffle();
log_level('info');
gamma_mesh_config();

run_tests();

__DATA__

=== TEST 1: 30 s idle: no status write, the Lease renewed every retry period
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $StatusTest::Routes);
--- init
FakeKube::wait_until(sub {
    StatusTest::conditions('no-backend')
        eq 'Accepted=True/Accepted ResolvedRefs=False/BackendNotFound'
    && StatusTest::conditions('bad-filter') ne '' }, 10);
sleep 2;
my $s0 = scalar @{ StatusTest::writes(qr{/status$}) };
my $l0 = scalar @{ StatusTest::writes(qr{/leases/gamma-test$}) };
Test::More::ok($s0 >= 4, "the first writes are done ($s0)");

# a Service the routes do not use: a new snapshot, the same status
FakeKube::upsert(<<'_EOY_');
apiVersion: v1
kind: Service
metadata: {name: unrelated, namespace: faces}
spec:
  clusterIP: 127.10.0.8
  ports:
  - {name: http, port: 18080}
_EOY_

sleep 30;
my $s1 = scalar @{ StatusTest::writes(qr{/status$}) };
my $l1 = scalar @{ StatusTest::writes(qr{/leases/gamma-test$}) };
Test::More::is($s1 - $s0, 0, 'no status write in 30 s');
Test::More::cmp_ok($l1 - $l0, '>=', 13, "the Lease renewed ($l1 - $l0)");
Test::More::cmp_ok($l1 - $l0, '<=', 16, 'every 2 s, not more');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- timeout: 60
--- no_error_log
[error]
