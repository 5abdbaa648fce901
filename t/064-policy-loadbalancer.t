# TrafficPolicy loadBalancer: RoundRobin, LeastRequest (power of two
# choices over the requests in flight, counted in the shared snapshot
# across the 2 workers) and ConsistentHash on a header or a cookie.
# "lb" has three endpoints on port 18095: 127.11.5.1 is GammaBackend
# (slow on /delay/MS), 127.11.7.2 and 127.11.7.3 answer at once.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaBackend;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

GammaBackend::start(addr => '127.11.5.1', port => 18095);

no_shuffle();
log_level('info');
workers(2);
master_on();
gamma_mesh_config();

our $Lb = <<'_EOY_';
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: faces}
spec:
  clusterIP: 127.10.7.1
  ports:
  - {name: http, port: 18087, targetPort: 18095}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: lb-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: lb}
addressType: IPv4
ports:
- {name: http, port: 18095}
endpoints:
- addresses: [127.11.5.1]
- addresses: [127.11.7.2]
- addresses: [127.11.7.3]
_EOY_

our $Listener = <<'_EOC_';
    server {
        listen 127.10.7.1:18087 reuseport;
        add_header X-Endpoint $gamma_endpoint always;

        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }
    }

    server {
        listen 127.11.7.2:18095;
        listen 127.11.7.3:18095;
        access_log off;
        return 200 "fast\n";
    }
_EOC_

sub policy {
    my ($lb) = @_;

    return <<"_EOY_";
---
apiVersion: policy.nginx-gamma.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: lb, namespace: faces}
spec:
  targetRefs: [{group: "", kind: Service, name: lb}]
  default: {loadBalancer: $lb}
_EOY_
}

# the endpoint of each of n requests, a connection each
sub endpoints {
    my ($n, $path, @headers) = @_;
    my @ep;

    GammaTest::gamma_wait_synced();

    for (1 .. $n) {
        my $c = GammaTest::gamma_client(to => '127.10.7.1:18087');
        my $r = $c->request('GET', $path // '/delay/0', \@headers);
        push @ep, $r->{headers}{'x-endpoint'} // "status $r->{status}";
        $c->close;
    }

    return @ep;
}

sub distinct {
    my %seen = map { $_ => 1 } @_;
    return scalar keys %seen;
}

# slow requests sent until one is in flight at the slow endpoint
# (the others come back at once); returns the open sockets.  It is held
# for 10 s: the 20 requests of a test took longer than 2.5 s on a loaded
# machine, and then the slow endpoint was idle again.
sub hold_slow {
    my @held;

    for (1 .. 30) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.10.7.1:18087')
            or die "connect: $!";
        print $s "GET /delay/10000 HTTP/1.1\r\nHost: lb\r\n\r\n";
        sleep 0.15;
        my $rin = '';
        vec($rin, fileno($s), 1) = 1;

        if (select(my $rout = $rin, undef, undef, 0) == 0) {
            push @held, $s;
            return @held;
        }

        close $s;
    }

    return @held;
}

run_tests();

__DATA__

=== TEST 1: no policy: round robin over the three endpoints
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Lb]]
--- init
my @ep = main::endpoints(6);
Test::More::is(main::distinct(@ep), 3, 'all three endpoints in 6 requests')
    or Test::More::diag("@ep");
--- request
GET /delay/0
--- more_headers
X-Test-To: 127.10.7.1:18087
--- error_code: 200



=== TEST 2: ConsistentHash on a header: one user, one endpoint; users spread
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Lb
  . main::policy("{type: ConsistentHash, consistentHash: {header: X-User}}")]]
--- init
my @alice = main::endpoints(12, '/delay/0', 'X-User: alice');
Test::More::is(main::distinct(@alice), 1, 'alice always on one endpoint')
    or Test::More::diag("@alice");
my @users = map { (main::endpoints(1, '/delay/0', "X-User: user$_"))[0] }
            1 .. 24;
Test::More::is(main::distinct(@users), 3, '24 users over the 3 endpoints')
    or Test::More::diag("@users");
my @again = map { (main::endpoints(1, '/delay/0', "X-User: user$_"))[0] }
            1 .. 24;
Test::More::is_deeply(\@again, \@users, 'each user again where it was');
my @none = main::endpoints(6);
Test::More::is(main::distinct(@none), 3,
               'without the header: round robin');
--- request
GET /delay/0
--- more_headers
X-Test-To: 127.10.7.1:18087
--- error_code: 200



=== TEST 3: ConsistentHash on a cookie, among other cookies
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Lb
  . main::policy("{type: ConsistentHash, consistentHash: {cookie: user}}")]]
--- init
my @bob = main::endpoints(12, '/delay/0', 'Cookie: a=1; user=bob; z=2');
Test::More::is(main::distinct(@bob), 1, 'bob always on one endpoint')
    or Test::More::diag("@bob");
my @users = map { (main::endpoints(1, '/delay/0', "Cookie: user=u$_"))[0] }
            1 .. 24;
Test::More::is(main::distinct(@users), 3, '24 users over the 3 endpoints')
    or Test::More::diag("@users");
--- request
GET /delay/0
--- more_headers
X-Test-To: 127.10.7.1:18087
--- error_code: 200



=== TEST 4: LeastRequest: while a request is in flight at the slow endpoint, new ones go to the two others, whichever worker takes them
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Lb
  . main::policy("{type: LeastRequest}")]]
--- init
GammaTest::gamma_wait_synced();
my @held = main::hold_slow();
Test::More::is(scalar @held, 1, 'a slow request is in flight');
my @ep = main::endpoints(20);
Test::More::is(scalar(grep { $_ eq '127.11.5.1:18095' } @ep), 0,
               'none of 20 went to the busy endpoint')
    or Test::More::diag("@ep");
Test::More::is(main::distinct(@ep), 2, 'the two idle ones share them');
close $_ for @held;
--- request
GET /delay/0
--- more_headers
X-Test-To: 127.10.7.1:18087
--- error_code: 200



=== TEST 5: RoundRobin as a policy: the busy endpoint still gets its share
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Lb
  . main::policy("{type: RoundRobin}")]]
--- init
GammaTest::gamma_wait_synced();
my @held = main::hold_slow();
Test::More::is(scalar @held, 1, 'a slow request is in flight');
my @ep = main::endpoints(6);
Test::More::is(main::distinct(@ep), 3, 'all three in 6 requests')
    or Test::More::diag("@ep");
close $_ for @held;
--- request
GET /delay/0
--- more_headers
X-Test-To: 127.10.7.1:18087
--- error_code: 200
