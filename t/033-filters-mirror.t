# HTTPRoute filters: RequestMirror.  The mirror backend gets a copy of the
# request as the filters listed before the mirror left it; the client gets
# the main backend's answer whatever the mirror does, and a mirror that
# fails or hangs is only logged.
#
# A request that reads a log the previous request writes is sent as two
# packets, ["GET ", {value => "/path", delay_before => 0.3}]: its path
# goes 0.3 s after its method (Test::Nginx sends a first packet at once,
# whatever its delay_before).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaEcho;
use Time::HiRes qw(time);

no_shuffle();
log_level('info');
GammaEcho::start();
GammaEcho::log_location();
# Test::Nginx runs block preprocessors last registered first: the mesh's
# one, which gives a block without --- config the client location, goes
# last so that it runs before the ones that add locations.
gamma_mesh_config();

our $Mesh = $GammaTest::Base . $GammaEcho::Mesh;

# A route on echo that mirrors to $to, with $more after the mirror filter.
sub mirror_route {
    my ($to, $more) = @_;

    return <<"_EOY_" . ($more // '');
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mirrored, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: $to, port: 18080}}
    backendRefs:
    - {name: echo, port: 18080}
_EOY_
}

# Sends $n requests to $path on one keep-alive connection; returns the
# responses.
sub send_many {
    my ($path, $n) = @_;
    my $c = GammaTest::gamma_client(to => '127.10.0.6:18080');
    my @res = map { $c->request('GET', $path) } 1 .. $n;
    $c->close;
    return @res;
}

run_tests();

__DATA__

=== TEST 1: the mirror backend sees the request while the client gets the main backend's answer
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", main::mirror_route("shadow")]]
--- init
GammaEcho::reset();
--- request eval
["GET /m?x=1", ["GET ", {value => "/echo-log/127.11.0.7.log", delay_before => 0.3}]]
--- more_headers eval
["X-Test-To: 127.10.0.6:18080\nX-A: 1", ""]
--- response_body eval
["echo 127.11.0.6:18092\nGET /m?x=1 HTTP/1.1\nHost: 127.10.0.6:18080\nX-A: 1\n",
 "GET /m?x=1 HTTP/1.1|Host: 127.10.0.6:18080|X-A: 1\n"]
--- no_error_log
[error]



=== TEST 2: a mirror that never answers does not delay the response; it is cut off after 1 s and logged
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", main::mirror_route("hang")]]
--- request
GET /slow
--- more_headers
X-Test-To: 127.10.0.6:18080
--- timeout: 0.6
--- response_body
echo 127.11.0.6:18092
GET /slow HTTP/1.1
Host: 127.10.0.6:18080
--- wait: 1.2
--- error_log
gamma: mirror of "/slow" to faces/hang:18080 timed out after 1000 ms



=== TEST 3: on a keep-alive connection the next request waits for the mirror, no longer than its timeout
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", main::mirror_route("hang")]]
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.0.6:18080');
my $t0 = Time::HiRes::time;
my $one = $c->request('GET', '/one');
my $t1 = Time::HiRes::time;
my $two = $c->request('GET', '/two');
my $t2 = Time::HiRes::time;
$c->close;
Test::More::is($one->{status}, 200, 'first answer');
Test::More::cmp_ok($t1 - $t0, '<', 0.5, 'first answer without waiting');
Test::More::is($two->{status}, 200, 'second answer on the same connection');
Test::More::cmp_ok($t2 - $t1, '>', 0.5, 'second answer waited for the mirror');
Test::More::cmp_ok($t2 - $t1, '<', 1.6, 'second answer within the timeout');
--- request
GET /echo-log/none
--- error_code: 404
--- wait: 1.2
--- error_log
gamma: mirror of "/one" to faces/hang:18080 timed out after 1000 ms
gamma: mirror of "/two" to faces/hang:18080 timed out after 1000 ms



=== TEST 4: a failing mirror is logged; the client gets its answer
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", main::mirror_route("dead")]]
--- request
GET /d
--- more_headers
X-Test-To: 127.10.0.6:18080
--- response_body
echo 127.11.0.6:18092
GET /d HTTP/1.1
Host: 127.10.0.6:18080
--- error_log
gamma: mirror of "/d" to faces/dead:18080 failed: 502



=== TEST 5: the request body is mirrored too
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", main::mirror_route("shadow")]]
--- init
GammaEcho::reset();
--- request eval
["POST /post\nhello", ["GET ", {value => "/echo-log/127.11.0.7.log", delay_before => 0.3}]]
--- more_headers eval
["X-Test-To: 127.10.0.6:18080", ""]
--- response_body eval
["echo 127.11.0.6:18092\nPOST /post HTTP/1.1\nHost: 127.10.0.6:18080\nContent-Length: 5\nbody: hello\n",
 "POST /post HTTP/1.1|Host: 127.10.0.6:18080|Content-Length: 5|body: hello\n"]
--- no_error_log
[error]



=== TEST 6: several mirrors; each sees the request as the filters before it left it
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mirrored, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Before, value: "1"}]}
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 18080}}
    - type: URLRewrite
      urlRewrite:
        hostname: after.faces
        path: {type: ReplaceFullPath, replaceFullPath: /after}
    - type: RequestMirror
      requestMirror: {backendRef: {name: echo, port: 18080}, percent: 100}
    backendRefs:
    - name: smiley
      port: 18080
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: X-Backend, value: "1"}]}
_EOY_
--- init
GammaEcho::reset();
--- request eval
["GET /m?q=1", ["GET ", {value => "/echo-log/127.11.0.7.log", delay_before => 0.3}],
 "GET /echo-log/127.11.0.6.log"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080", "", ""]
--- response_body eval
["pod 127.11.0.1:18090 GET /after?q=1 host=after.faces\n",
 "GET /m?q=1 HTTP/1.1|Host: 127.10.0.1:18080|X-Before: 1\n",
 "GET /after?q=1 HTTP/1.1|Host: after.faces|X-Before: 1\n"]
--- no_error_log
[error]



=== TEST 7: percent 0 never mirrors, percent 100 always, a fraction of 1/2 about half
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mirrored, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - matches: [{path: {type: PathPrefix, value: /never}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 18080}, percent: 0}
    backendRefs:
    - {name: smiley, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /always}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: echo, port: 18080}, percent: 100}
    backendRefs:
    - {name: smiley, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /half}}]
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: shadow, port: 18080}
        fraction: {numerator: 1, denominator: 2}
    backendRefs:
    - {name: smiley, port: 18080}
_EOY_
--- init
GammaTest::gamma_wait_synced();
GammaEcho::reset();
main::send_many('/never', 20);
main::send_many('/always', 20);
my $never = GammaEcho::requests('127.11.0.7');
my $always = GammaEcho::wait_requests('127.11.0.6', 20);
Test::More::is($never, '', 'percent 0: nothing mirrored');
Test::More::is(($always =~ tr/\n//), 20, 'percent 100: every request');
main::send_many('/half', 200);
my $half = () = GammaEcho::requests('127.11.0.7') =~ /\n/g;
Test::More::cmp_ok($half, '>', 60, 'fraction 1/2: more than 60 of 200');
Test::More::cmp_ok($half, '<', 140, 'fraction 1/2: less than 140 of 200');
--- request
GET /echo-log/127.11.0.6.log
--- response_body_like: ^(GET /always HTTP/1.1\|Host: 127.10.0.6:18080\n){20}$
--- no_error_log
[error]



=== TEST 8: a backendRef's mirror runs only when that backend is chosen
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mirrored, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - backendRefs:
    - name: echo
      port: 18080
      filters:
      - type: RequestMirror
        requestMirror: {backendRef: {name: shadow, port: 18080}}
    - {name: smiley, port: 18080}
_EOY_
--- init
GammaTest::gamma_wait_synced();
GammaEcho::reset();
my @res = main::send_many('/b', 40);
my $echo = grep { $_->{body} =~ /^echo 127\.11\.0\.6/ } @res;
my $mirrored = () = GammaEcho::wait_requests('127.11.0.7', $echo) =~ /\n/g;
Test::More::cmp_ok($echo, '>', 0, 'echo chosen at times');
Test::More::cmp_ok($echo, '<', 40, 'smiley chosen at times');
Test::More::is($mirrored, $echo, 'mirrored exactly when echo was chosen');
--- request
GET /echo-log/none
--- error_code: 404



=== TEST 9: a body that comes after the request head is read before the mirrors go; both backends get it
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", main::mirror_route("shadow")]]
--- init
GammaEcho::reset();
--- request eval
[["POST /late\n", {value => "later", delay_before => 0.3}], ["GET ", {value => "/echo-log/127.11.0.7.log", delay_before => 0.3}]]
--- more_headers eval
["X-Test-To: 127.10.0.6:18080", ""]
--- response_body eval
["echo 127.11.0.6:18092\nPOST /late HTTP/1.1\nHost: 127.10.0.6:18080\nContent-Length: 5\nbody: later\n",
 "POST /late HTTP/1.1|Host: 127.10.0.6:18080|Content-Length: 5|body: later\n"]
--- no_error_log
[error]
