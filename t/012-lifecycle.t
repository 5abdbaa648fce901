# The watcher thread's life: with a master process, a reload replaces the
# workers promptly and the new ones load the mesh; the old worker's thread
# is joined without delaying its exit.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use Time::HiRes qw(sleep time);

master_on();
workers(2);
no_shuffle();
log_level('info');
gamma_mesh_config();
run_tests();

__DATA__

=== TEST 1: two workers each run a watcher; a reload is not delayed by them
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
my $log = "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log";
my $count = sub {
    my $re = shift;
    open my $fh, '<', $log or return 0;
    return scalar grep { /$re/ } <$fh>;
};
my $start = Time::HiRes::time;
Time::HiRes::sleep(0.02) while $count->(qr/snapshot 1 in service/) < 2
                                && Time::HiRes::time - $start < 5;
Test::More::is($count->(qr/snapshot 1 in service/), 2,
               'each worker has its own snapshot');
open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid" or die;
my $pid = <$fh>;
chomp $pid;
kill 'HUP', $pid;
$start = Time::HiRes::time;
Time::HiRes::sleep(0.01) while $count->(qr/exited with code 0/) < 2
                                && Time::HiRes::time - $start < 5;
my $ms = int((Time::HiRes::time - $start) * 1000);
Test::More::is($count->(qr/exited with code 0/), 2,
               'both old workers exited cleanly');
Test::More::cmp_ok($ms, '<', 2000, "the reload took $ms ms");
Time::HiRes::sleep(0.02) while $count->(qr/snapshot 1 in service/) < 4
                                && Time::HiRes::time - $start < 5;
Test::More::is($count->(qr/snapshot 1 in service/), 4,
               'the new workers loaded the mesh');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_body
pod 127.11.0.3:18090 GET / host=127.10.0.3:18080
--- no_error_log
[alert]
[crit]
