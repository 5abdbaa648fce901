# The snapshot zone shared by the workers: a worker killed during churn
# is respawned serving the latest generation at once, every generation
# but the current one is freed again (the zone returns to its steady
# size), and a snapshot that does not fit leaves the old one serving.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use Time::HiRes qw(sleep time);

master_on();
workers(4);
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
    - {name: smiley2, port: 18080, weight: WEIGHT}
_EOY_

sub log_lines {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log"
        or return ();
    return <$fh>;
}

sub wait_log {
    my ($re, $limit) = @_;
    my $start = time;

    while (time - $start < ($limit // 5)) {
        for (log_lines()) {
            return $1 // $_ if /$re/;
        }
        sleep 0.005;
    }

    return undef;
}

sub last_published {
    my $max = 0;
    for (log_lines()) {
        $max = $1 if /gamma: snapshot (\d+) published/ && $1 > $max;
    }
    return $max;
}

# one request on a connection of its own: a killed worker takes its
# connections along
sub ask {
    my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
    my $res = $c->request('GET', '/');
    $c->close;
    return $res;
}

# the newest published generation once no snapshot came for 200 ms
sub settle {
    my $last = -1;
    while ((my $now = last_published()) != $last) {
        $last = $now;
        sleep 0.2;
    }
    return $last;
}

run_tests();

__DATA__

=== TEST 1: SIGKILL of a worker during churn: its respawn serves the latest generation at once, no generation leaks
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
my $root = $ENV{TEST_NGINX_SERVER_ROOT};
my $route = "$root/html/mesh/route.yaml";
GammaTest::gamma_wait_synced();
main::settle();
my $steady = main::ask()->{headers}{'x-gamma-zone-used'};
Test::More::like($steady, qr/^\d+$/, "zone usage at rest: $steady bytes");

my $fails = 0;
for my $i (1 .. 20) {
    GammaTest::gamma_write($route, $main::Route =~ s/WEIGHT/$i/r);
    sleep 0.03;
    $fails++ if main::ask()->{status} != 200;

    next unless $i == 10;

    # the kill: the latest generation known, then a worker gone
    my $latest = main::settle();
    my ($pid) = map { /start worker process (\d+)/ ? $1 : () }
                main::log_lines();
    kill 'KILL', $pid;
    my $t0 = time;
    main::wait_log(qr/exited on signal 9/);
    my $new;
    while (time - $t0 < 2) {
        my @started = map { /start worker process (\d+)/ ? $1 : () }
                      main::log_lines();
        $new = $started[-1];
        last if @started > 4;
        sleep 0.005;
    }
    my $gen = main::wait_log(qr/ $new#$new: gamma: snapshot (\d+) in service/,
                             2);
    my $ms = int((time - $t0) * 1000);
    Test::More::isnt($new, $pid, "worker $pid was respawned as $new");
    Test::More::is($gen, $latest,
                   "the respawned worker serves generation $latest at once");
    Test::More::cmp_ok($ms, '<', 500, "in service $ms ms after the kill");
}

# back to the mesh at rest.  A route change is patched: the patch holds
# its parents' memory (gm_compile_subset.c) until the next full compile;
# a Service's creation time changed is one (a label alone is patched: it
# changes nothing compiled); no other Service claims its ClusterIP, so
# it is the same snapshot as at the start
unlink $route;
main::settle();
GammaTest::gamma_write("$root/html/mesh/base.yaml",
    $GammaTest::Base =~ s/(name: smiley, namespace: faces)/$1, creationTimestamp: "2026-01-01T00:00:00Z"/r);
my $final = main::settle();
Test::More::is($fails, 0, 'every request during the churn was answered');

my $used;
my $start = time;
while (time - $start < 5) {
    $used = main::ask()->{headers}{'x-gamma-zone-used'};
    last if $used == $steady;
    sleep 0.1;
}
Test::More::is($used, $steady, 'the zone is back to its steady size');

my $freed = grep { /gamma: snapshot \d+ freed/ } main::log_lines();
Test::More::is($freed, $final - 1,
               'every generation but the current one was freed');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley:18080
--- error_log eval
qr/\[alert\] .*worker process \d+ exited on signal 9/
--- no_error_log
[crit]
[warn]
no mesh state



=== TEST 2: SIGKILL of the source process: its respawn takes over, numbering goes on, the old generations are freed
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
my $root = $ENV{TEST_NGINX_SERVER_ROOT};
GammaTest::gamma_wait_synced();
main::settle();
my ($helper) = map { /start cache manager process (\d+)/ ? $1 : () }
               main::log_lines();
kill 'KILL', $helper;
main::wait_log(qr/cache manager process $helper exited on signal 9/);
# the respawned helper syncs (snapshot 2) before it sees the change
Test::More::ok(defined main::wait_log(qr/gamma: snapshot 2 published/),
               'the respawned helper publishes generation 2');
GammaTest::gamma_write("$root/html/mesh/route.yaml",
                       $main::Route =~ s/WEIGHT/1/r);
Test::More::ok(defined main::wait_log(qr/gamma: snapshot 3 published/),
               'and generation 3 for the change');
my $res;
my $start = time;
while (time - $start < 3) {
    $res = main::ask();
    last if ($res->{headers}{'x-gamma-backend'} // '') eq 'faces/smiley2:18080';
    sleep 0.02;
}
Test::More::is($res->{headers}{'x-gamma-generation'}, 3,
               'the workers route with generation 3');
Test::More::ok(defined main::wait_log(qr/gamma: snapshot 2 freed/, 3),
               'generation 2 is freed by the new helper');
Test::More::ok(defined main::wait_log(qr/gamma: snapshot 1 freed/, 3),
               "and generation 1, the dead helper's");
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley2:18080
X-Gamma-Generation: 3
--- error_log eval
qr/\[alert\] .*cache manager process \d+ exited on signal 9/
--- no_error_log
[crit]
[warn]
no mesh state



=== TEST 3: a snapshot that does not fit the zone: the old one keeps serving, the sizes are logged
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- http_config
    gamma_zone 128k;
--- init
my $root = $ENV{TEST_NGINX_SERVER_ROOT};
GammaTest::gamma_wait_synced();
# a route and a ReferenceGrant: a full compile (a route alone is a small
# patch, and so is a Service added that nothing names)
GammaTest::gamma_write("$root/html/mesh/route.yaml",
                       ($main::Route =~ s/WEIGHT/1/r) . <<'_EOY_');
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: extra, namespace: faces}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: other}]
  to: [{group: "", kind: Service}]
_EOY_
my $line = main::wait_log(qr/(does not fit in zone.*)/);
Test::More::like($line,
    qr/^does not fit in zone "gamma" \(\d+ of 131072 bytes used\), the previous one keeps serving/,
    'the error names the zone and its sizes');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/smiley:18080
X-Gamma-Generation: 1
--- error_log eval
qr/\[error\] .*gamma: a snapshot of at least \d+ bytes does not fit in zone "gamma"/
--- no_error_log
out of memory
[crit]
[alert]
