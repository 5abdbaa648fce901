# A burst of rejected objects from the Kubernetes API (the finding: 36,000
# log lines in one go) is rate-limited like the file source's (t/014
# TEST 5): the first 100 lines, then one line with the count of the rest
# (100 lines and a count per 1000 ms when the burst takes longer);
# the valid objects are served meanwhile.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;

FakeKube::start();

FakeKube::gamma_test_source();

no_shuffle();
log_level('info');
gamma_mesh_config();

our $Bad = join '', map { <<"_EOY_" } 1 .. 3000;
---
apiVersion: v1
kind: Service
metadata: {name: bad-$_, namespace: faces}
spec: {clusterIP: 127.10.9.1, ports: [{port: 0}]}
_EOY_

sub error_log {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die;
    return <$fh>;
}

run_tests();

__DATA__

=== TEST 1: 3,000 rejected Services in the list: 100 lines and a count of the rest
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . $main::Bad);
--- init
FakeKube::wait_watches();
GammaTest::gamma_wait_synced();
my ($pid) = map { /\[error\] (\d+)#.*faces\/bad-\d+ rejected/ ? $1 : () }
            main::error_log();
Test::More::ok(defined $pid, 'rejections logged');
GammaTest::gamma_check_reject_burst(3000, $pid // 0);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Service: faces/smiley:18080
--- error_log eval
qr/\[error\] .*gamma: \d+ more lines like the above suppressed \(at most 100 are logged every 1000 ms\)/
--- timeout: 10
