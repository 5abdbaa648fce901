# TrafficPolicy rateLimit: a token bucket per policy and target, for all
# clients together, counted across the worker processes (2 here).  The
# Service "limited" has a listener of its own with reuseport, so that the
# kernel spreads the test's connections over both workers, and X-Pid says
# which worker answered.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use Time::HiRes qw(sleep);

no_shuffle();
log_level('info');
workers(2);
master_on();
gamma_mesh_config();

our $Limited = <<'_EOY_';
---
apiVersion: v1
kind: Service
metadata: {name: limited, namespace: faces}
spec:
  clusterIP: 127.10.6.1
  ports:
  - {name: http, port: 18086, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: limited-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: limited}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.6.1]
---
apiVersion: v1
kind: Service
metadata: {name: limited2, namespace: faces}
spec:
  clusterIP: 127.10.6.2
  ports:
  - {name: http, port: 18086, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: limited2-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: limited2}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.6.2]
_EOY_

our $Listener = <<'_EOC_';
    server {
        listen 127.10.6.1:18086 reuseport;
        listen 127.10.6.2:18086 reuseport;
        add_header X-Pid $pid always;
        add_header X-Gamma-Policy $gamma_policy always;

        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }
    }
_EOC_

sub policy {
    my ($name, $targets, $spec) = @_;

    return <<"_EOY_";
---
apiVersion: policy.nginx-gamma.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: $name, namespace: faces}
spec:
  targetRefs: [$targets]
$spec
_EOY_
}

our $Svc = '{group: "", kind: Service, name: limited}';
our $Svc2 = '{group: "", kind: Service, name: limited2}';

# n requests, each on a connection of its own: [status, pid] each
sub burst {
    my ($n, $to) = @_;
    my @res;

    GammaTest::gamma_wait_synced();

    for (1 .. $n) {
        my $c = GammaTest::gamma_client(to => $to // '127.10.6.1:18086');
        my $r = $c->request('GET', '/');
        push @res, [$r->{status}, $r->{headers}{'x-pid'}];
        $c->close;
    }

    return @res;
}

sub count {
    my ($status, @res) = @_;
    return scalar grep { $_->[0] == $status } @res;
}

run_tests();

__DATA__

=== TEST 1: 5 per minute: 5 requests pass, the others get 429, whichever worker answers
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Limited
  . main::policy("rl", $main::Svc,
                 "  default: {rateLimit: {requests: 5, unit: Minute}}")]]
--- init
my @res = main::burst(24);
Test::More::is(main::count(200, @res), 5, '5 of 24 passed');
Test::More::is(main::count(429, @res), 19, 'the 19 others got 429');
my %pid = map { $_->[1] => 1 } @res;
# per-worker buckets would let up to 5 through each
Test::More::is(scalar keys %pid, 2, 'both workers answered')
    or Test::More::diag(join ' ', map { "$_->[0]/$_->[1]" } @res);
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18086
--- error_code: 429
--- response_headers
X-Gamma-Policy: faces/rl
--- error_log eval
qr{\[info\] .*gamma: rate limit exhausted \(5 per minute, burst 5; policies: "faces/rl"\), answering 429}
--- no_error_log
[warn]



=== TEST 2: the bucket refills at "requests" per unit, up to "burst"
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Limited
  . main::policy("rl", $main::Svc,
                 "  default: {rateLimit: {requests: 4, burst: 2, unit: Second}}")]]
--- init
my @res = main::burst(3);
Test::More::is_deeply([map { $_->[0] } @res], [200, 200, 429],
                      'a burst of 2, then 429');
sleep 0.6;
@res = main::burst(3);
Test::More::is_deeply([map { $_->[0] } @res], [200, 200, 429],
                      '0.6 s at 4 per second: 2 tokens again (not 2.4)');
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18086
--- error_code: 429



=== TEST 3: one policy, two targets: a bucket per target
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Limited
  . main::policy("rl", "$main::Svc, $main::Svc2",
                 "  default: {rateLimit: {requests: 2, unit: Minute}}")]]
--- init
my @a = main::burst(3, '127.10.6.1:18086');
my @b = main::burst(3, '127.10.6.2:18086');
Test::More::is_deeply([map { $_->[0] } @a, @b],
                      [200, 200, 429, 200, 200, 429],
                      'limited and limited2 count apart');
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.2:18086
--- error_code: 429



=== TEST 4: gamma_override beats the policy's requests, field by field (its unit stays)
--- http_config eval
"    gamma_override service:faces/limited rateLimit.requests 1;\n"
. $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Limited
  . main::policy("rl", $main::Svc,
                 "  default: {rateLimit: {requests: 5, unit: Minute}}")]]
--- init
my @res = main::burst(3);
Test::More::is_deeply([map { $_->[0] } @res], [200, 429, 429],
                      'one per minute');
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18086
--- error_code: 429
--- error_log eval
qr{gamma: rate limit exhausted \(1 per minute, burst 1; }



=== TEST 5: gamma_default alone limits a Service no policy limits
--- http_config eval
"    gamma_default service:faces/limited rateLimit.requests 1;\n"
. "    gamma_default service:faces/limited rateLimit.unit Minute;\n"
. $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Limited]]
--- init
my @res = main::burst(2);
Test::More::is_deeply([map { $_->[0] } @res], [200, 429], 'one per minute');
my @b = main::burst(2, '127.10.6.2:18086');
Test::More::is_deeply([map { $_->[0] } @b], [200, 200],
                      'limited2 has no limit');
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18086
--- error_code: 429
--- response_headers
!X-Gamma-Policy
