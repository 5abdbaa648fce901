# Session persistence (spec 1.14, 2.4): a route rule's sessionPersistence
# or an XBackendTrafficPolicy's.  "sticky" has three endpoints; its
# listener uses reuseport so that new connections spread over the 2
# workers (X-Pid says which one answered): a session one worker starts,
# the other honours.  The pods (port 18090) name themselves in the body.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use Time::HiRes qw(sleep time);

no_shuffle();
log_level('info');
workers(2);
master_on();
gamma_mesh_config();

our $Endpoints = <<'_EOY_';
- addresses: [127.11.67.1]
- addresses: [127.11.67.2]
- addresses: [127.11.67.3]
_EOY_

sub sticky {
    my ($endpoints) = @_;
    $endpoints //= $main::Endpoints;

    return <<"_EOY_";
---
apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: faces}
spec:
  clusterIP: 127.10.67.1
  ports:
  - {name: http, port: 18067, targetPort: 18090}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: faces}
spec:
  clusterIP: 127.10.67.2
  ports:
  - {name: http, port: 18067, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: sticky-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: sticky}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
$endpoints
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: other-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: other}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.67.4]
_EOY_
}

# a route on "sticky": rules (YAML, indented as rules' items)
sub route {
    my ($rules) = @_;

    return <<"_EOY_";
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: sticky-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: sticky}
  rules:
$rules
_EOY_
}

sub policy {
    my ($sp) = @_;

    return <<"_EOY_";
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: sticky-sp, namespace: faces}
spec:
  targetRefs: [{group: "", kind: Service, name: sticky}]
  sessionPersistence: $sp
_EOY_
}

our $Listener = <<'_EOC_';
    server {
        listen 127.10.67.1:18067 reuseport;
        add_header X-Pid $pid always;
        add_header X-Session $gamma_session always;
        add_header X-Policy $gamma_policy always;

        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }
    }
_EOC_

# one request on a connection of its own:
# { ep => the pod, pid, cookie => Set-Cookie, session => $gamma_session,
#   header => the X-Sticky response header }
sub call {
    my ($path, @headers) = @_;

    my $c = GammaTest::gamma_client(to => '127.10.67.1:18067');
    my $r = $c->request('GET', $path, \@headers);
    $c->close;

    my ($ep) = $r->{body} =~ /^pod (\S+)/;

    return { status => $r->{status}, ep => $ep // "status $r->{status}",
             pid => $r->{headers}{'x-pid'},
             cookie => $r->{headers}{'set-cookie'},
             session => $r->{headers}{'x-session'} // '',
             header => $r->{headers}{'x-sticky'},
             policy => $r->{headers}{'x-policy'} // '' };
}

# "name=value" of a Set-Cookie
sub pair {
    my ($cookie) = @_;
    return undef unless defined $cookie;
    my ($pair) = $cookie =~ /^([^;]+)/;
    return $pair;
}

sub distinct {
    my %seen = map { $_ => 1 } @_;
    return scalar keys %seen;
}

# every request of a session: each on its own connection
sub follow {
    my ($n, $path, @headers) = @_;
    return map { main::call($path, @headers) } 1 .. $n;
}

sub mesh_path {
    return "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/base.yaml";
}

# rewrites the mesh, then waits until the proxy serves its new generation
sub rewrite_mesh {
    my ($yaml, $done) = @_;

    GammaTest::gamma_write(main::mesh_path(), $yaml);

    my $start = time;
    while (time - $start < 5) {
        return 1 if $done->();
        sleep 0.05;
    }

    return 0;
}

run_tests();

__DATA__

=== TEST 1: a rule's Cookie session: each new client gets a cookie, round robin; every cookie sticks to its endpoint over 100 requests and both workers
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky() . main::route(<<'_R_')]]
  - backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence: {}
_R_
--- init
GammaTest::gamma_wait_synced();
my @first = main::follow(3, '/x');
Test::More::is(main::distinct(map { $_->{ep} } @first), 3,
               'three new clients on the three endpoints');
for my $r (@first) {
    Test::More::like($r->{cookie},
        qr{^gamma-session-[0-9a-f]{8}=[0-9a-f]{8}\.[0-9a-f]{16}; Path=/; HttpOnly; SameSite=Strict$},
        "a session cookie for $r->{ep}");
    Test::More::is($r->{session}, 'new', '$gamma_session new');
}
my (@pids, @leaks);
for my $r (@first) {
    my $cookie = main::pair($r->{cookie});
    my @rs = main::follow(100, '/x', "Cookie: a=1; $cookie; b=2");
    Test::More::is_deeply([map { $_->{ep} } @rs], [($r->{ep}) x 100],
                          "100 requests of $cookie on $r->{ep}");
    push @pids, map { $_->{pid} } @rs;
    push @leaks, grep { defined $_->{cookie} || $_->{session} ne 'kept' }
                 @rs;
}
Test::More::is(scalar @leaks, 0, 'no new cookie while the session holds');
Test::More::is(main::distinct(@pids), 2, 'both workers served them');
--- request
GET /x
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200



=== TEST 2: a Header session from an XBackendTrafficPolicy, without routes (passthrough): 100 requests on its endpoint
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky()
  . main::policy("{type: Header, header: {name: X-Sticky}}")]]
--- init
GammaTest::gamma_wait_synced();
my $r = main::call('/');
Test::More::like($r->{header}, qr/^[0-9a-f]{8}\.[0-9a-f]{16}$/,
                 'the token comes in X-Sticky');
Test::More::ok(!defined $r->{cookie}, 'no cookie');
Test::More::is($r->{policy}, 'faces/sticky-sp', '$gamma_policy names it');
my @rs = main::follow(100, '/', "X-Sticky: $r->{header}");
Test::More::is_deeply([map { $_->{ep} } @rs], [($r->{ep}) x 100],
                      "100 requests with it on $r->{ep}");
Test::More::is(scalar(grep { defined $_->{header} } @rs), 0,
               'no new token meanwhile');
my @none = main::follow(6, '/');
Test::More::is(main::distinct(map { $_->{ep} } @none), 3,
               'without the header: round robin');
--- request
GET /
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200



=== TEST 3: the rule's sessionPersistence beats the policy's; the cookie's Path is the rule's PathPrefix
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky()
  . main::policy("{type: Header, header: {name: X-Sticky}}")
  . main::route(<<'_R_')]]
  - matches:
    - path: {type: PathPrefix, value: /app/}
    backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence: {cookie: {name: sid}}
  - matches:
    - path: {type: PathPrefix, value: /policy}
    backendRefs:
    - {name: sticky, port: 18067}
_R_
--- init
GammaTest::gamma_wait_synced();
my $r = main::call('/app/x');
Test::More::like($r->{cookie},
                 qr{^sid=[0-9a-f]{8}\.[0-9a-f]{16}; Path=/app; HttpOnly},
                 "the rule's cookie, Path /app");
Test::More::ok(!defined $r->{header}, "not the policy's header");
Test::More::is($r->{policy}, '', 'nor the policy in $gamma_policy');
my @rs = main::follow(10, '/app/y', 'Cookie: ' . main::pair($r->{cookie}));
Test::More::is_deeply([map { $_->{ep} } @rs], [($r->{ep}) x 10],
                      "it sticks to $r->{ep}");
my $p = main::call('/policy');
Test::More::like($p->{header}, qr/^[0-9a-f]{8}\./,
                 "the other rule: the policy's header");
Test::More::ok(!defined $p->{cookie}, 'and no cookie');
Test::More::is($p->{policy}, 'faces/sticky-sp', 'it is in $gamma_policy');
my @ps = main::follow(10, '/policy', "X-Sticky: $p->{header}");
Test::More::is_deeply([map { $_->{ep} } @ps], [($p->{ep}) x 10],
                      "the policy's session sticks to $p->{ep}");
--- request
GET /app/
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200



=== TEST 4: the session's endpoint leaves the EndpointSlice: the session moves, with a new cookie that sticks
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky() . main::route(<<'_R_')]]
  - backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence: {cookie: {name: sid}}
_R_
--- init
GammaTest::gamma_wait_synced();
my $r = main::call('/');
my $cookie = main::pair($r->{cookie});
Test::More::is(main::call('/', "Cookie: $cookie")->{ep}, $r->{ep},
               "the session is on $r->{ep}");
my $left = join '', map { "- addresses: [$_]\n" }
                    grep { "$_:18090" ne $r->{ep} }
                    qw(127.11.67.1 127.11.67.2 127.11.67.3);
my $routes = main::route(<<'_R_');
  - backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence: {cookie: {name: sid}}
_R_
my $moved;
Test::More::ok(main::rewrite_mesh($GammaTest::Base . main::sticky($left)
                                  . $routes,
                                  sub {
    $moved = main::call('/', "Cookie: $cookie");
    return $moved->{ep} ne $r->{ep};
}), "$r->{ep} removed from the slice");
Test::More::is($moved->{session}, 'moved', '$gamma_session moved');
Test::More::like($moved->{cookie}, qr/^sid=/, 'a new cookie');
Test::More::isnt(main::pair($moved->{cookie}), $cookie, 'another value');
my @rs = main::follow(10, '/', 'Cookie: ' . main::pair($moved->{cookie}));
Test::More::is_deeply([map { $_->{ep} } @rs], [($moved->{ep}) x 10],
                      "the new session sticks to $moved->{ep}");
my @old = main::follow(6, '/', "Cookie: $cookie");
Test::More::is(scalar(grep { defined $_->{cookie} } @old), 6,
               'the old cookie keeps being replaced');
--- request
GET /
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200



=== TEST 5: forged and garbage values, another rule's token: normal balancing, a fresh cookie
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky() . main::route(<<'_R_')]]
  - matches:
    - path: {type: PathPrefix, value: /a}
    backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence: {cookie: {name: sid, path: /}}
  - matches:
    - path: {type: PathPrefix, value: /b}
    backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence: {cookie: {name: sid, path: /}}
_R_
--- init
GammaTest::gamma_wait_synced();
for my $bad ('sid=127.11.67.1:18090', 'sid=garbage', 'sid=',
             'sid=00000000.0123456789abcdef',
             'sid=ffffffff.ffffffffffffffff', 'sid="%00%0a"') {
    my @rs = main::follow(6, '/a', "Cookie: $bad");
    Test::More::is(main::distinct(map { $_->{ep} } @rs), 3,
                   "$bad: round robin");
    Test::More::is(scalar(grep { ($_->{cookie} // '') =~ /^sid=[0-9a-f]{8}\./ }
                          @rs), 6, "$bad: a fresh cookie each time");
    Test::More::is(scalar(grep { $_->{session} eq 'moved' } @rs), 6,
                   "$bad: \$gamma_session moved");
}
my $a = main::call('/a');
my @rs = main::follow(6, '/b', 'Cookie: ' . main::pair($a->{cookie}));
Test::More::is(scalar(grep { defined $_->{cookie} } @rs), 6,
               "rule /a's token is no session of rule /b");
Test::More::is(main::distinct(map { $_->{ep} } @rs), 3, 'round robin there');
# a real token among bad ones: the good one holds
my @mix = main::follow(6, '/a', 'Cookie: sid=garbage',
                       'Cookie: ' . main::pair($a->{cookie}));
Test::More::is_deeply([map { $_->{ep} } @mix], [($a->{ep}) x 6],
                      'the valid cookie of two is used');
--- request
GET /a
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200



=== TEST 6: Permanent: Max-Age is absoluteTimeout; past absoluteTimeout a session starts anew
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky() . main::route(<<'_R_')]]
  - matches:
    - path: {type: Exact, value: /long}
    backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence:
      absoluteTimeout: 1h
      cookie: {name: long, lifetimeType: Permanent}
  - matches:
    - path: {type: PathPrefix, value: /short}
    backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence: {absoluteTimeout: 3s, cookie: {name: short}}
_R_
--- init
GammaTest::gamma_wait_synced();
my $r = main::call('/long');
Test::More::like($r->{cookie},
                 qr{^long=[0-9a-f]{8}\.[0-9a-f]{16}; Path=/long; Max-Age=3600; HttpOnly},
                 'Permanent: Max-Age=3600');
my $s = main::call('/short');
Test::More::unlike($s->{cookie}, qr/Max-Age|Expires/i,
                   'a Session cookie has no Max-Age');
my $cookie = main::pair($s->{cookie});
Test::More::is(main::call('/short', "Cookie: $cookie")->{session}, 'kept',
               'kept within absoluteTimeout');
sleep 3.2;
my $late = main::call('/short', "Cookie: $cookie");
Test::More::is($late->{session}, 'moved', 'expired after 3s');
Test::More::like($late->{cookie}, qr/^short=/, 'a new cookie');
--- request
GET /long
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200



=== TEST 7: persistence beats weights: a session stays on its backend of two
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky() . main::route(<<'_R_')]]
  - backendRefs:
    - {name: sticky, port: 18067, weight: 1}
    - {name: other, port: 18067, weight: 1}
    sessionPersistence: {cookie: {name: sid}}
_R_
--- init
GammaTest::gamma_wait_synced();
my @first = main::follow(20, '/');
Test::More::ok((grep { $_->{ep} eq '127.11.67.4:18090' } @first)
               && (grep { $_->{ep} ne '127.11.67.4:18090' } @first),
               'both backends chosen by the weights');
for my $r ((grep { $_->{ep} eq '127.11.67.4:18090' } @first)[0],
           (grep { $_->{ep} ne '127.11.67.4:18090' } @first)[0]) {
    my @rs = main::follow(10, '/', 'Cookie: ' . main::pair($r->{cookie}));
    Test::More::is_deeply([map { $_->{ep} } @rs], [($r->{ep}) x 10],
                          "the session stays on $r->{ep}");
}
--- request
GET /
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200



=== TEST 8: invalid sessionPersistence: the route or policy is rejected, naming the field
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky()
  . main::policy("{type: Header}")
  . main::route(<<'_R_')]]
  - backendRefs:
    - {name: sticky, port: 18067}
    sessionPersistence: {cookie: {lifetimeType: Permanent}}
_R_
--- init
GammaTest::gamma_wait_synced();
--- request
GET /
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200
--- error_log eval
[qr{HTTPRoute faces/sticky-route rejected: spec\.rules\[0\]\.sessionPersistence\.absoluteTimeout: is required with lifetimeType Permanent},
 qr{XBackendTrafficPolicy faces/sticky-sp rejected: spec\.sessionPersistence\.header: is required with type Header}]



=== TEST 9: a Header session's endpoint goes unready (conditions.ready false, still in the slice): the session moves, its new token sticks over 100 requests
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky()
  . main::policy("{type: Header, header: {name: X-Sticky}}")]]
--- init
GammaTest::gamma_wait_synced();
my $r = main::call('/');
my $token = $r->{header};
Test::More::is(main::call('/', "X-Sticky: $token")->{ep}, $r->{ep},
               "the session is on $r->{ep}");
my $eps = join '', map {
    "$_:18090" eq $r->{ep}
        ? "- addresses: [$_]\n  conditions: {ready: false}\n"
        : "- addresses: [$_]\n"
} qw(127.11.67.1 127.11.67.2 127.11.67.3);
my $policy = main::policy("{type: Header, header: {name: X-Sticky}}");
my $moved;
Test::More::ok(main::rewrite_mesh($GammaTest::Base . main::sticky($eps)
                                  . $policy,
                                  sub {
    $moved = main::call('/', "X-Sticky: $token");
    return $moved->{ep} ne $r->{ep};
}), "$r->{ep} unready");
Test::More::is($moved->{session}, 'moved', '$gamma_session moved');
Test::More::like($moved->{header}, qr/^[0-9a-f]{8}\.[0-9a-f]{16}$/,
                 'a new token');
Test::More::isnt($moved->{header}, $token, 'another value');
my @rs = main::follow(100, '/', "X-Sticky: $moved->{header}");
Test::More::is_deeply([map { $_->{ep} } @rs], [($moved->{ep}) x 100],
                      "100 requests of the new session on $moved->{ep}");
Test::More::is(scalar(grep { $_->{ep} eq $r->{ep} } @rs), 0,
               'none to the unready endpoint');
--- request
GET /
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200



=== TEST 10: a backend's weight set to 0: its sessions stay (persistence beats weights, spec 1.14), new clients never reach it
--- http_config eval: $main::Listener
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . main::sticky() . main::route(<<'_R_')]]
  - backendRefs:
    - {name: sticky, port: 18067, weight: 1}
    - {name: other, port: 18067, weight: 1}
    sessionPersistence: {cookie: {name: sid}}
_R_
--- init
GammaTest::gamma_wait_synced();
my ($r) = grep { $_->{ep} eq '127.11.67.4:18090' } main::follow(20, '/');
Test::More::ok($r, 'a session started on "other"');
my $cookie = 'Cookie: ' . (main::pair($r && $r->{cookie}) // '');
my $zero = $GammaTest::Base . main::sticky() . main::route(<<'_R_');
  - backendRefs:
    - {name: sticky, port: 18067, weight: 1}
    - {name: other, port: 18067, weight: 0}
    sessionPersistence: {cookie: {name: sid}}
_R_
# the new generation is in force once no new client reaches "other"
Test::More::ok(main::rewrite_mesh($zero, sub {
    !grep { $_->{ep} eq '127.11.67.4:18090' } main::follow(10, '/') }),
    'the weight 0 is applied');
my @new = main::follow(20, '/');
Test::More::is(scalar(grep { $_->{ep} eq '127.11.67.4:18090' } @new), 0,
               'new clients never reach the weight-0 backend');
my @kept = main::follow(10, '/', $cookie);
Test::More::is_deeply([map { $_->{ep} } @kept], [('127.11.67.4:18090') x 10],
                      'the session stays on the weight-0 backend');
Test::More::is_deeply([map { $_->{session} } @kept], [('kept') x 10],
                      '$gamma_session: kept');
--- request
GET /
--- more_headers
X-Test-To: 127.10.67.1:18067
--- error_code: 200
