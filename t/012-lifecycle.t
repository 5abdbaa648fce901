# The source process's life with a master and four workers: one watcher
# for the whole instance (the cache-manager-type helper), every worker
# serving its snapshots from the shared zone; a reload replaces workers
# and helper promptly, and the new workers serve the zone's snapshot at
# once, before the new helper's first sync.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use Time::HiRes qw(sleep time);

master_on();
workers(4);
no_shuffle();
log_level('info');
gamma_mesh_config();

sub count_log {
    my ($re) = @_;
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log"
        or return 0;
    return scalar grep { /$re/ } <$fh>;
}

sub wait_log {
    my ($re, $n, $limit) = @_;
    my $start = time;
    sleep 0.01 while count_log($re) < $n && time - $start < ($limit // 5);
    return count_log($re);
}

sub master_pid {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid" or die;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

run_tests();

__DATA__

=== TEST 1: four workers, one watcher: the mesh is read and compiled once
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
Test::More::is(main::wait_log(qr/snapshot 1 in service/, 4), 4,
               'each of the four workers serves snapshot 1');
Test::More::is(main::count_log(qr/gamma: snapshot 1: \d+ services/), 1,
               'one compile for the instance');
Test::More::is(main::count_log(qr/gamma: manifest .*base\.yaml/), 1,
               'the manifest is read once');
Test::More::is(main::count_log(qr/start cache manager process/), 1,
               'the source runs in the helper process');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_body
pod 127.11.0.3:18090 GET / host=127.10.0.3:18080
--- response_headers
X-Gamma-Generation: 1
--- no_error_log
[alert]
[crit]
[warn]



=== TEST 2: a reload replaces workers and helper promptly; the new workers serve the zone at once
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
main::wait_log(qr/snapshot 1 in service/, 4);
kill 'HUP', main::master_pid();
my $start = time;
# 4 workers and the helper
my $n = main::wait_log(qr/exited with code 0/, 5);
my $ms = int((time - $start) * 1000);
Test::More::is($n, 5, 'the old workers and the old helper exited cleanly');
Test::More::cmp_ok($ms, '<', 2000, "the reload took $ms ms");
Test::More::is(main::wait_log(qr/gamma: snapshot 2 published/, 1), 1,
               'the new helper published its first snapshot');
Test::More::is(main::count_log(qr/no mesh state/), 0,
               'no new worker waited for the mesh: the zone was reused');
Test::More::is(main::wait_log(qr/gamma: snapshot 1 freed/, 1, 3), 1,
               "the new helper freed the old helper's snapshot");
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_body
pod 127.11.0.3:18090 GET / host=127.10.0.3:18080
--- response_headers
X-Gamma-Generation: 2
--- no_error_log
[alert]
[crit]
[warn]



=== TEST 3: a reload with another gamma_zone size starts a new zone
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- http_config
    gamma_zone 32m;
--- init
main::wait_log(qr/snapshot 1 in service/, 4);
open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/conf/nginx.conf" or die;
my $conf = do { local $/; <$fh> };
close $fh;
$conf =~ s/gamma_zone 32m;/gamma_zone 16m;/ or die 'no gamma_zone line';
open $fh, '>', "$ENV{TEST_NGINX_SERVER_ROOT}/conf/nginx.conf" or die;
print $fh $conf;
close $fh;
kill 'HUP', main::master_pid();
main::wait_log(qr/exited with code 0/, 5);
Test::More::is(main::wait_log(qr/snapshot 1 in service/, 8), 8,
               'the new workers serve snapshot 1 of the new zone');
Test::More::is(main::count_log(qr/gamma: snapshot 1 published/), 2,
               'each zone got its own first snapshot');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_body
pod 127.11.0.3:18090 GET / host=127.10.0.3:18080
--- response_headers
X-Gamma-Generation: 1
--- no_error_log
[alert]
[crit]
