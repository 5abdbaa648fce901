# timeouts.request, timeouts.backendRequest and retry (GEP-1742, GEP-1731),
# enforced per request inside nginx, against a backend that misbehaves on
# purpose (t/inc/GammaBackend.pm on 127.11.5.1:18095).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaBackend;
use Time::HiRes qw(time);

GammaBackend::start(addr => '127.11.5.1', port => 18095);

no_shuffle();
log_level('info');
gamma_mesh_config();

# the Service "slow" in front of the misbehaving backend
our $Slow = <<'_EOY_';
apiVersion: v1
kind: Service
metadata: {name: slow, namespace: faces}
spec:
  clusterIP: 127.10.5.1
  ports:
  - {name: http, port: 18080, targetPort: 18095}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: slow-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: slow}
addressType: IPv4
ports:
- {name: http, port: 18095}
endpoints:
- addresses: [127.11.5.1]
_EOY_

# a producer route on "slow" with the given rule fields (YAML, indented)
sub route {
    my ($name, $fields, %opt) = @_;
    my $ns = $opt{ns} // 'faces';
    my $parent_ns = $ns eq 'faces' ? '' : ', namespace: faces';
    $fields =~ s/^\s*/    /mg;

    return <<"_EOY_";
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $name, namespace: $ns}
spec:
  parentRefs:
  - {group: "", kind: Service, name: slow$parent_ns}
  rules:
  - backendRefs:
    - {name: slow, namespace: faces, port: 18080}
$fields
_EOY_
}

# one request through the mesh; returns (response, milliseconds)
sub timed {
    my ($path, %opt) = @_;
    GammaTest::gamma_wait_synced();
    my $c = GammaTest::gamma_client(to => '127.10.5.1:18080',
                                    from => $opt{from});
    my $start = time;
    my $res = eval { $c->request('GET', $path) }
              // { status => 0, body => '', headers => {} };
    return ($res, int((time - $start) * 1000));
}

run_tests();

__DATA__

=== TEST 1: timeouts.request 100ms: 504 after about 100 ms
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  timeouts: {request: 100ms}")]]
--- init
my ($res, $ms) = main::timed('/delay/1000');
Test::More::is($res->{status}, 504, 'status 504');
Test::More::is($res->{headers}{'x-gamma-timeout'}, 'request',
               '$gamma_timeout says why');
Test::More::ok($ms >= 90 && $ms <= 300, "answered after $ms ms (100)");
Test::More::diag("timeouts.request 100ms: 504 after $ms ms");
--- request
GET /delay/10
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
slow
--- error_log
gamma: request timed out after 100 ms



=== TEST 2: timeouts.backendRequest cuts a backend that dribbles its headers
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  timeouts: {backendRequest: 200ms}")]]
--- init
my ($res, $ms) = main::timed('/dribble-head/20');
Test::More::is($res->{status}, 504, 'status 504');
Test::More::is($res->{headers}{'x-gamma-timeout'}, 'backend',
               'the backend deadline cut it');
Test::More::ok($ms >= 190 && $ms <= 500, "answered after $ms ms (200)");
--- request
GET /delay/10
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
slow
--- error_log eval
qr/gamma: backend request to 127\.11\.5\.1:18095 timed out/



=== TEST 3: timeouts.backendRequest cuts a dribbling body: the connection closes
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  timeouts: {backendRequest: 200ms}")]]
--- init
GammaTest::gamma_wait_synced();
my $s = IO::Socket::INET->new(PeerAddr => '127.10.5.1', PeerPort => 18080)
    or die;
my $start = Time::HiRes::time;
print $s "GET /dribble-body/20 HTTP/1.1\r\nHost: slow\r\n\r\n";
my $all = '';
while (sysread($s, my $buf, 4096)) { $all .= $buf }
my $ms = int((Time::HiRes::time - $start) * 1000);
my ($body) = $all =~ /\r\n\r\n(.*)$/s;
Test::More::like($all, qr{^HTTP/1\.1 200}, 'the response had started');
Test::More::ok(length($body // '') < 100,
               'the body is cut short (' . length($body // '') . ' of 100)');
Test::More::ok($ms >= 190 && $ms <= 600, "closed after $ms ms (200)");
--- request
GET /delay/10
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
slow



=== TEST 4: retry attempts 3 on 500: two failures, then 200
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  retry: {attempts: 3, codes: [500]}")]]
--- request
GET /fail/two/2/500
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
ok after 2
--- response_headers
X-Gamma-Attempts: 3



=== TEST 5: retry attempts 3 on 500: four failures return the last 500
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  retry: {attempts: 3, codes: [500]}")]]
--- init
my ($res) = main::timed('/fail/four/4/500');
Test::More::is($res->{status}, 500, 'the last error comes back');
Test::More::is($res->{body}, "failure 4\n", 'from the fourth try');
Test::More::is(GammaBackend::hits('four'), 4, 'one try and three retries');
--- request
GET /hits/four
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
4



=== TEST 6: 503 is not retried when only 500 is listed
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  retry: {attempts: 3, codes: [500]}")]]
--- init
my ($res) = main::timed('/fail/unavail/1/503');
Test::More::is($res->{status}, 503, '503 passes through');
Test::More::is(GammaBackend::hits('unavail'), 1, 'no retry');
--- request
GET /hits/unavail
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
1



=== TEST 7: a reset connection is retried when a retry stanza exists
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  retry: {attempts: 2, codes: [503]}")]]
--- request
GET /reset/rst/1
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
ok after 1 resets
--- response_headers
X-Gamma-Attempts: 2



=== TEST 8: retries stop at the request deadline with 504
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", <<'_F_')]]
  timeouts: {request: 250ms, backendRequest: 100ms}
  retry: {attempts: 10, codes: [500]}
_F_
--- init
my ($res, $ms) = main::timed('/delay/1000');
Test::More::is($res->{status}, 504, 'status 504');
Test::More::ok($ms >= 240 && $ms <= 600, "after $ms ms (250)");
my $n = $res->{headers}{'x-gamma-attempts'} // 0;
Test::More::ok($n >= 2 && $n <= 4, "$n attempts fit in the deadline");
--- request
GET /delay/10
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
slow



=== TEST 9: backoff waits between attempts, without blocking
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  retry: {attempts: 2, codes: [500], backoff: 150ms}")]]
--- init
my ($res, $ms) = main::timed('/fail/back/1/500');
Test::More::is($res->{status}, 200, 'the retry succeeded');
Test::More::ok($ms >= 150 && $ms <= 600, "after $ms ms (150 backoff)");
# the worker kept serving while the backoff ran
my $c = GammaTest::gamma_client(to => '127.10.0.3:18080');
my $t0 = Time::HiRes::time;
Test::More::is($c->request('GET', '/')->{status}, 200, 'other requests');
--- request
GET /delay/10
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
slow



=== TEST 10: producer 100 ms, consumer 50 ms: each client gets its own
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("smiley-route", "  timeouts: {request: 100ms}")
  . main::route("smiley-route", "  timeouts: {request: 50ms}",
                ns => 'fast-clients')]]
--- init
my ($fast, $fms) = main::timed('/delay/1000', from => '127.20.0.1');
my ($other, $oms) = main::timed('/delay/1000', from => '127.20.0.2');
Test::More::is($fast->{status}, 504, 'fast-clients: 504');
Test::More::is($other->{status}, 504, 'slow-clients: 504');
Test::More::ok($fms >= 45 && $fms <= 90, "fast-clients after $fms ms (50)");
Test::More::ok($oms >= 95 && $oms <= 300, "others after $oms ms (100)");
Test::More::diag("consumer 50ms: $fms ms, producer 100ms: $oms ms");
--- request
GET /delay/10
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
slow



=== TEST 11: 0s disables the request timeout
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  timeouts: {request: 0s}")]]
--- request
GET /delay/300
--- more_headers
X-Test-To: 127.10.5.1:18080
--- response_body
slow



=== TEST 12: an invalid duration disables its rule, with the reason logged
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . "---\n" . $main::Slow
  . main::route("slow-route", "  timeouts: {request: 1.5s}")]]
--- request
GET /delay/10
--- more_headers
X-Test-To: 127.10.5.1:18080
--- error_code: 404
--- response_headers
X-Gamma-Route-Kind: producer
--- error_log eval
qr/\[warn\] .*HTTPRoute faces\/slow-route rule 0 ignored: timeouts\.request: "1\.5s" is not a duration/
