# The file source against what a hostile tester did to it: a file
# unreadable when it changed is read once it can be, an object a second
# file defines does not silently move, a truncated or half-written file is
# not applied before it settles, a burst of rejected objects is counted
# rather than logged line by line, and log lines carry the time of the
# event.
#
# Root reads a file whatever its mode.  So that "chmod 000" means to the
# process that reads the manifests what it means to everyone else, nginx
# runs here through setpriv without CAP_DAC_OVERRIDE and
# CAP_DAC_READ_SEARCH (still as root); TEST 1 checks that the file really
# was unreadable to it.

BEGIN {
    if ($> == 0) {
        require File::Temp;
        my $real = $ENV{TEST_NGINX_BINARY} || 'nginx';
        my $dir = File::Temp::tempdir('gamma-nodac-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1);
        open my $fh, '>', "$dir/nginx" or die "$dir/nginx: $!";
        print $fh "#!/bin/sh\n",
            "exec setpriv --bounding-set -dac_override,-dac_read_search ",
            "--inh-caps -dac_override,-dac_read_search -- $real \"\$@\"\n";
        close $fh;
        chmod 0755, "$dir/nginx";
        $ENV{TEST_NGINX_BINARY} = "$dir/nginx";
    }
}

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use POSIX ();
use Time::HiRes qw(sleep time);

master_on();
workers(2);
no_shuffle();
log_level('info');
gamma_mesh_config();

our $Route = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
_EOY_

our $RouteFace = $Route =~ s/smiley2/face/r;

sub mesh { "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/$_[0]" }

# in place, as "echo > file" and "cp" do
sub write_in_place {
    my ($path, $body) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $body;
    close $fh;
}

# the backends fresh connections reach: both workers must agree
sub backends {
    my ($to, $n) = @_;
    my %seen;
    for (1 .. $n // 12) {
        my $c = GammaTest::gamma_client(to => $to);
        $seen{ $c->request('GET', '/')->{headers}{'x-gamma-backend'} // '' }++;
        $c->close;
    }
    return join ',', sort keys %seen;
}

sub wait_backends {
    my ($to, $want, $limit) = @_;
    my $start = time;
    while (time - $start < ($limit // 3)) {
        return time - $start if backends($to) eq $want;
        sleep 0.02;
    }
    return undef;
}

# both workers serve the mesh (the second may start late on a busy machine:
# it would then read the file as the test left it, not as it started)
sub wait_synced {
    GammaTest::gamma_wait_synced();
    my $start = time;
    while (time - $start < 5) {
        my %pids = map { /\[\w+\] (\d+)#/ ? ($1 => 1) : () }
                   grep { /gamma: snapshot \d+ in service/ } error_log();
        return if keys %pids >= 2;
        sleep 0.02;
    }
}

sub error_log {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die;
    return <$fh>;
}

run_tests();

__DATA__

=== TEST 1: a file unreadable when it changed is read once it is readable again (chmod 000, edit, chmod 644)
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
main::wait_synced();
my $path = main::mesh('route.yaml');
Test::More::is(main::backends('127.10.0.1:18080'), 'faces/smiley2:18080',
               'routed to smiley2');
chmod 0000, $path or die;
main::write_in_place($path, $main::RouteFace);
Time::HiRes::sleep(1.5);
Test::More::ok((grep { /cannot open manifest ".*route\.yaml": Permission denied/ }
                main::error_log()) > 0,
               'nginx could not read the file while it was mode 000');
Test::More::is(main::backends('127.10.0.1:18080'), 'faces/smiley2:18080',
               'the last good version serves meanwhile');
chmod 0644, $path or die;
my $t = main::wait_backends('127.10.0.1:18080', 'faces/face:18080', 3);
Test::More::ok(defined $t, 'the edit applies once the file is readable');
Test::More::diag(sprintf 'applied %.0f ms after the chmod', ($t // 9) * 1000);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/face:18080
--- error_log eval
[qr/\[error\] .*gamma: cannot open manifest ".*route\.yaml": Permission denied; its objects stay as they were, trying again every 1000 ms/,
 qr/gamma: manifest ".*route\.yaml" can be read again/]



=== TEST 2: an object a second file defines stays where the first file by name puts it, with a warning naming both
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
main::wait_synced();
my $dup = $GammaTest::Base =~ s/.*?(apiVersion: v1\nkind: Service\nmetadata: \{name: smiley,.*?)---.*/$1/sr;
$dup =~ s/127\.10\.0\.1\b/127.10.0.9/ or die;
GammaTest::gamma_write(main::mesh('zz-dup.yaml'), $dup);
Time::HiRes::sleep(0.5);
Test::More::is(main::backends('127.10.0.1:18080'), 'faces/smiley:18080',
               'smiley keeps the ClusterIP of base.yaml, the first by name');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Service: faces/smiley:18080
--- error_log eval
qr{\[warn\] .*gamma: Service faces/smiley is defined in ".*/mesh/base\.yaml" and in ".*/mesh/zz-dup\.yaml": the one in ".*/mesh/base\.yaml" is used \(the first file by name wins\)}



=== TEST 3: a file emptied in place (": > route.yaml") is applied only after it stayed empty for the settle time
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
main::wait_synced();
my $start = Time::HiRes::time;
main::write_in_place(main::mesh('route.yaml'), '');
my $early = main::backends('127.10.0.1:18080', 6);
my $dt = Time::HiRes::time - $start;
Test::More::is($early, 'faces/smiley2:18080',
               sprintf 'still routed %.0f ms after the truncation', $dt * 1000)
    if $dt < 0.45;
my $t = main::wait_backends('127.10.0.1:18080', 'faces/smiley:18080', 3);
my $after = Time::HiRes::time - $start;
Test::More::ok(defined $t, 'the empty file applies once it settled');
Test::More::ok($after >= 0.45, sprintf 'not before the settle time (500 ms):'
               . ' %.0f ms', $after * 1000);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route-Kind: none



=== TEST 4: a file read while a slow cp writes it is not applied half-written
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
main::wait_synced();
# the first half alone is valid YAML without the route: read mid-way, it
# would drop the route
my $body = "# padding\n" x 2000 . "---\n" . $main::RouteFace;
my $path = main::mesh('route.yaml');
open my $fh, '>', $path or die;
$fh->autoflush(1);
print $fh substr($body, 0, 10000);
my $t0 = Time::HiRes::time;
my %seen;
# sampled for 1 s only, well within the 2 s an open file may stay quiet
while (Time::HiRes::time - $t0 < 1) {
    $seen{ main::backends('127.10.0.1:18080', 1) }++;
    Time::HiRes::sleep(0.05);
}
Test::More::is(join(' ', sort keys %seen), 'faces/smiley2:18080',
               'for 1 s of the writer holding it open, the old route serves');
print $fh substr($body, 10000);
close $fh;
my $t = main::wait_backends('127.10.0.1:18080', 'faces/face:18080', 2);
Test::More::ok(defined $t, 'the whole file applies when the writer closes it');
# at the close, not 2 s after the last write as for a file still open
# (the file source's open-file quiet time); the 0.3-0.5 s a loaded machine
# takes to serve a change are well within 1 s
Test::More::ok(($t // 9) < 1, sprintf 'at once (%.0f ms)', ($t // 9) * 1000);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/face:18080



=== TEST 5: 3,000 rejected objects log the first ones and a count of the rest
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base],
 ["mesh/bad.yaml", CORE::join "---\n", map { <<"_EOY_" } 1 .. 3000]]
apiVersion: v1
kind: Service
metadata: {name: bad-$_, namespace: faces}
spec: {clusterIP: 127.10.9.1, ports: [{port: 0}]}
_EOY_
--- init
main::wait_synced();
Time::HiRes::sleep(0.3);
my @log = main::error_log();
my %per_pid;
/\[error\] (\d+)#.*gamma: Service faces\/bad-\d+ rejected/ and $per_pid{$1}++
    for @log;
# one source process per instance (issue 12), whatever worker_processes
Test::More::is(scalar keys %per_pid, 1,
               'the source process read the file, once for the instance');
GammaTest::gamma_check_reject_burst(3000, (keys %per_pid)[0] // 0);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Service: faces/smiley:18080
--- error_log eval
qr/\[error\] .*gamma: \d+ more lines like the above suppressed \(at most 100 are logged every 1000 ms\)/




=== TEST 6: a log line from the source carries the time of the event, not the time the worker last woke
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
main::wait_synced();
# an idle event loop does not update the cached time of the log
Time::HiRes::sleep(3.2);
my $written = Time::HiRes::time;
GammaTest::gamma_write(main::mesh('route.yaml'), $main::Route);
my ($line, $start) = (undef, Time::HiRes::time);
while (!$line && Time::HiRes::time - $start < 3) {
    ($line) = grep { /gamma: manifest ".*route\.yaml": 1 objects/ }
              main::error_log();
    Time::HiRes::sleep(0.05);
}
Test::More::ok($line, 'the change is logged');
my ($stamp) = ($line // '') =~ m{^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) };
my $want = POSIX::strftime('%Y/%m/%d %H:%M:%S', localtime $written);
my $next = POSIX::strftime('%Y/%m/%d %H:%M:%S', localtime($written + 1));
Test::More::ok(defined $stamp && ($stamp eq $want || $stamp eq $next),
               "stamped $stamp, written at $want");
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080



=== TEST 7: an editor's save that moves the file away and writes a new one (vim's writebackup) never drops the file's objects in between
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
main::wait_synced();
my $path = main::mesh('route.yaml');
rename $path, "$path~" or die "rename: $!";
Time::HiRes::sleep(0.005);
main::write_in_place($path, $main::RouteFace);
unlink "$path~";
my $t = main::wait_backends('127.10.0.1:18080', 'faces/face:18080', 3);
Test::More::ok(defined $t, 'the new version applies');
Test::More::ok(!(grep { /manifest ".*route\.yaml" removed/ } main::error_log()),
               'the route was not dropped while the file was away');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/face:18080



=== TEST 8: a file removed for good takes its objects with it, within a grace of 25 ms
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
main::wait_synced();
my $start = Time::HiRes::time;
unlink main::mesh('route.yaml') or die "unlink: $!";
my $t = main::wait_backends('127.10.0.1:18080', 'faces/smiley:18080', 3);
Test::More::ok(defined $t, sprintf 'the route went %.0f ms after the unlink',
                                   ($t // 9) * 1000);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route-Kind: none
--- error_log eval
qr/gamma: manifest ".*route\.yaml" removed/
