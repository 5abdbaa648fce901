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

# A burst of rejected Services as the log limit let it through: the lines
# logged in each window that ended with a count line ("N more lines like
# the above suppressed"), the lines logged after the last count, the sum
# of the counts and the objects logged twice.  Under load a burst may
# span several 1000 ms windows: each then logs 100 lines and a count, and
# what is logged and counted still adds up to the burst.  (Only a count
# line shows where a window ended: a window that logged fewer than 100
# lines, then nothing for 1000 ms, would look like a part of the next.)
sub reject_burst {
    my ($pid) = @_;
    my (@closed, $suppressed, $twice, %seen);
    my $limit = qr/\(at most 100 are logged every 1000 ms\)/;
    my $n = 0;
    $suppressed = $twice = 0;

    for (error_log()) {
        next unless /\[error\] $pid#/;

        if (/gamma: Service faces\/(bad-\d+) rejected/) {
            $n++;
            $twice++ if $seen{$1}++;

        } elsif (/gamma: (\d+) more lines like the above suppressed $limit/) {
            $suppressed += $1;
            push @closed, $n;
            $n = 0;
        }
    }

    return (\@closed, $n, $suppressed, $twice);
}

# $total rejections from process $pid: at most 100 logged per window, the
# rest counted, nothing lost or logged twice
sub check_reject_burst {
    my ($total, $pid) = @_;
    my ($closed, $tail, $suppressed, $twice) = reject_burst($pid);
    my $logged = $tail;
    $logged += $_ for @$closed;

    Test::More::ok(@$closed > 0, "the rest counted: $suppressed");
    Test::More::is($logged + $suppressed, $total,
                   "each rejection logged or counted: $logged + $suppressed");
    Test::More::is($twice, 0, 'none logged twice');
    Test::More::ok(!(grep { $_ != 100 } @$closed) && $tail <= 100,
                   '100 lines before each count, at most 100 after the last: '
                   . join(' ', @$closed) . " / $tail");
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
main::check_reject_burst(3000, $pid // 0);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Service: faces/smiley:18080
--- error_log eval
qr/\[error\] .*gamma: \d+ more lines like the above suppressed \(at most 100 are logged every 1000 ms\)/
--- timeout: 10
