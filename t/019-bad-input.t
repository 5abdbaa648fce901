# A corpus of bad input (issue 18): objects at and past the API's limits,
# deep and huge YAML and JSON, invalid UTF-8, duplicate keys, wrong types,
# header floods, ".." and encoded slashes against prefix rules.  Each gets
# a clear error naming what and why, or the correct answer, and the rest
# of the mesh keeps serving: every block also sends a request to a
# Service the bad input does not concern.  Catastrophic regexes are
# t/015's, the path modes t/016's.  Also 100,000 routes: in one manifest,
# past the zone's size, and as rules, matches or parentRefs of one route.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use Time::HiRes qw(sleep time);

no_shuffle();
log_level('info');
gamma_mesh_config();

# a good route on smiley: /good to smiley2
our $Good = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /good}
    backendRefs:
    - {name: smiley2, port: 18080}
_EOY_

# an HTTPRoute on face (the Service the checks do not call) with $spec
# under spec.rules, or a whole spec
sub route {
    my ($name, $rules, %o) = @_;
    my $parents = $o{parents}
        // qq{  - {group: "", kind: Service, name: face}\n};
    my $extra = $o{extra} // '';
    return <<"_EOY_";
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $name, namespace: faces}
spec:
$extra  parentRefs:
$parents  rules:
$rules
_EOY_
}

sub rule { my ($path, $more) = @_; $more //= '';
    return "  - matches:\n    - path: {type: PathPrefix, value: $path}\n$more"
         . "    backendRefs:\n    - {name: smiley, port: 18080}\n" }

our @PastLimits = (
    ['rules17.yaml', route('rules17', join '', map { rule("/r$_") } 1 .. 17)],
    ['parents33.yaml', route('parents33', rule('/p'), parents => join '',
        map { qq{  - {group: "", kind: Service, name: face$_}\n} } 1 .. 33)],
    ['hosts17.yaml', route('hosts17', rule('/h'), extra => "  hostnames:\n"
        . join('', map { "  - h$_.example.com\n" } 1 .. 17))],
    ['header4097.yaml', route('header4097', rule('/v',
        "      headers:\n      - {name: x-a, value: \"" . ('a' x 4097) . "\"}\n"))],
    ['path1025.yaml', route('path1025', rule('/' . ('p' x 1024)))],
    ['weight.yaml', route('weight', "  - backendRefs:\n"
        . "    - {name: smiley, port: 18080, weight: 1000001}\n")],
    ['name254.yaml', route('n' . ('x' x 253), rule('/n'))],
    ['matches129.yaml', route('matches129', join '', map {
        "  - matches:\n" . join('', map { "    - path: {type: PathPrefix, value: /m$_}\n" } 1 .. 43)
        . "    backendRefs:\n    - {name: smiley, port: 18080}\n" } 1 .. 3)],
);

our @AtLimits = (
    ['rules16.yaml', route('rules16', join '', map { rule("/r$_") } 1 .. 16)],
    ['hosts16.yaml', route('hosts16', rule('/h'), extra => "  hostnames:\n"
        . join('', map { "  - h$_.example.com\n" } 1 .. 16))],
    ['header4096.yaml', route('header4096', rule('/v',
        "      headers:\n      - {name: x-a, value: \"" . ('a' x 4096) . "\"}\n"))],
    ['path1024.yaml', route('path1024', rule('/' . ('p' x 1023)))],
    ['weight.yaml', route('weight', "  - matches:\n    - path: {type: PathPrefix, value: /w}\n"
        . "    backendRefs:\n    - {name: smiley, port: 18080, weight: 1000000}\n"
        . "    - {name: smiley2, port: 18080, weight: 0}\n")],
    ['name253.yaml', route('n' . ('x' x 252), rule('/n'))],
);

# nested 100 deep, the manifests' bound is 64
our $DeepYaml = "a:\n" . join('', map { ('  ' x $_) . "b:\n" } 1 .. 100)
    . ('  ' x 101) . "c: 1\n";
our $DeepJson = ('[' x 5000) . (']' x 5000);

# a 2 MB name: the file is read, the object refused
our $HugeName = route('h' . ('x' x (2 * 1024 * 1024)), rule('/huge'));

# the good route with one byte that is no UTF-8
our $BadUtf8 = route("bad-utf8", rule("/u\xff"));

our $DupKeys = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: dup, namespace: faces, name: dup2}
spec:
  parentRefs:
  - {group: "", kind: Service, name: face}
  rules:
  - backendRefs:
    - {name: smiley, port: 18080}
_EOY_

our $DupJson = '{"apiVersion": "v1", "kind": "Service", "metadata": '
    . '{"name": "dupj", "namespace": "faces", "namespace": "colors"}, '
    . '"spec": {"clusterIP": "127.10.0.77", "ports": [{"port": 18080}]}}';

our @WrongTypes = (
    ['port.yaml', route('port', "  - backendRefs:\n    - {name: smiley, port: \"18080\"}\n")],
    ['rules.yaml', route('rules', "    {}\n") =~ s/  rules:\n    \{\}/  rules: {}/r],
    ['weight.yaml', route('weight', "  - backendRefs:\n    - {name: smiley, port: 18080, weight: 1.5}\n")],
    ['name.yaml', route('x', rule('/x')) =~ s/name: x,/name: 42,/r],
    ['svc.yaml', "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: faces}\n"
        . "spec: {clusterIP: 127.10.0.78, ports: [{port: [18080]}]}\n"],
);

# the other Service answers as before
our $Other = ["GET /good/x", "X-Test-To: 127.10.0.1:18080",
              "pod 127.11.0.2:18090 GET /good/x host=127.10.0.1:18080\n"];

# 100,000 routes (issue 18): HTTPRoutes r1 .. r$n on face, each sending
# PathPrefix /r<i> to smiley; written by the test, not kept in the tree.
# Under valgrind (make test-valgrind), 20 to 50 times slower, 10,000.
our $Many = $ENV{TEST_NGINX_USE_VALGRIND} ? 10_000 : 100_000;

sub many_routes {
    my ($n) = @_;
    return join '', map { <<"_EOY_" } 1 .. $n;
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r$_, namespace: faces}
spec:
  parentRefs: [{group: "", kind: Service, name: face}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /r$_}}]
    backendRefs: [{name: smiley, port: 18080}]
_EOY_
}

# one HTTPRoute on face with $n items where the API allows a few
sub wide_route {
    my ($name, $n, $what) = @_;
    my %body = (
        rules => "  rules:\n" . ("  - backendRefs: [{name: smiley, port: 18080}]\n" x $n),
        matches => "  rules:\n  - matches:\n"
            . join('', map { "    - path: {type: PathPrefix, value: /m$_}\n" } 1 .. $n)
            . "    backendRefs: [{name: smiley, port: 18080}]\n",
        parents => "  rules:\n  - backendRefs: [{name: smiley, port: 18080}]\n",
    );
    my $parents = $what eq 'parents'
        ? join('', map { qq{  - {group: "", kind: Service, name: face$_}\n} } 1 .. $n)
        : qq{  - {group: "", kind: Service, name: face}\n};
    return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
         . "metadata: {name: $name, namespace: faces}\nspec:\n  parentRefs:\n"
         . $parents . $body{$what};
}

sub error_log {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die;
    return <$fh>;
}

# the newest generation both workers serve (the one process under
# valgrind), 0 before the first
sub served {
    my %gen;
    for (error_log()) {
        $gen{$1} = $2 if /\[\w+\] (\d+)#.*gamma: snapshot (\d+) in service/;
    }
    my @g = values %gen;
    return @g >= ($ENV{TEST_NGINX_USE_VALGRIND} ? 1 : 2)
           ? (sort { $a <=> $b } @g)[0] : 0;
}

# until both workers serve a generation after $after, or $what is logged;
# meanwhile the other Service is asked every 20 ms: [status, seconds] each
sub wait_serving {
    my ($after, $limit, $what) = @_;
    my ($start, @asked) = (time);
    my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
    while (time - $start < $limit * ($ENV{GAMMA_TEST_SLOW} || 1)) {
        my $g = served();
        return ($g, \@asked) if $g > $after;
        return (0, \@asked) if $what && grep { $_ =~ $what } error_log();
        my $t = time;
        # nginx closes a keep-alive connection after 1000 requests
        my $res = eval { $c->request('GET', '/good/x') } // do {
            $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
            $c->request('GET', '/good/x');
        };
        push @asked, [$res->{status} . ' ' . $res->{body}, time - $t];
        sleep 0.02;
    }
    die "no generation after $after in service in $limit s";
}

sub logged_once {
    my ($re) = @_;
    my $n = grep { $_ =~ $re } error_log();
    Test::More::is($n, 1, "logged once: $re");
}

# the other Service's answers while the big manifest was read: all right
sub all_good {
    my ($asked) = @_;
    my @bad = grep { $_->[0] ne "200 $Other->[2]" } @$asked;
    my ($max) = sort { $b <=> $a } map { $_->[1] } @$asked;
    Test::More::is(scalar @bad, 0, sprintf "the other Service answered "
        . "%d requests meanwhile, all right, the slowest in %.3f s",
        scalar @$asked, $max // 0);
}

run_tests();

__DATA__

=== TEST 1: objects past the API's limits are rejected one by one, each naming the object and the limit; the good route serves
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 map { ["mesh/$_->[0]", $_->[1]] } @main::PastLimits]
--- request eval
$main::Other->[0]
--- more_headers eval
$main::Other->[1]
--- response_body eval
$main::Other->[2]
--- error_log eval
[qr{HTTPRoute faces/rules17 rejected: spec\.rules: must have at most 16 items},
 qr{HTTPRoute faces/parents33 rejected: spec\.parentRefs: must have at most 32 items},
 qr{HTTPRoute faces/hosts17 rejected: spec\.hostnames: must have at most 16 items},
 qr{HTTPRoute faces/header4097 rejected: spec\.rules\[0\]\.matches\[0\]\.headers\[0\]\.value: must be at most 4096 characters},
 qr{HTTPRoute faces/path1025 rejected: spec\.rules\[0\]\.matches\[0\]\.path\.value: must be at most 1024 characters},
 qr{HTTPRoute faces/weight rejected: spec\.rules\[0\]\.backendRefs\[0\]\.weight: must be between 0 and 1000000},
 qr{HTTPRoute faces/nxxxx\S* rejected: metadata\.name: must be at most 253 characters},
 qr{HTTPRoute faces/matches129 rejected: spec\.rules: must have at most 128 matches in total}]



=== TEST 2: objects at the API's limits are accepted and route
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 map { ["mesh/$_->[0]", $_->[1]] } @main::AtLimits]
--- request eval
["GET /r16", "GET /v", "GET /" . ('p' x 1023) . "/x", "GET /w", "GET /n",
 $main::Other->[0]]
--- more_headers eval
["X-Test-To: 127.10.0.3:18080", "X-Test-To: 127.10.0.3:18080\nX-A: " . ('a' x 4096),
 "X-Test-To: 127.10.0.3:18080", "X-Test-To: 127.10.0.3:18080",
 "X-Test-To: 127.10.0.3:18080", $main::Other->[1]]
--- response_headers eval
["X-Gamma-Route: faces/rules16", "X-Gamma-Route: faces/header4096",
 "X-Gamma-Route: faces/path1024", "X-Gamma-Route: faces/weight\nX-Gamma-Backend: faces/smiley:18080",
 "X-Gamma-Route: faces/n" . ('x' x 252), "X-Gamma-Route: faces/good"]
--- no_error_log
rejected



=== TEST 3: YAML nested past 64 levels and JSON nested 5000 deep: the file is refused with the reason, the others serve
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 ["mesh/deep.yaml", $main::DeepYaml], ["mesh/deep.json", $main::DeepJson]]
--- request eval
$main::Other->[0]
--- more_headers eval
$main::Other->[1]
--- response_body eval
$main::Other->[2]
--- error_log eval
[qr{\[error\] .*gamma: manifest \S+/deep\.yaml: line 65, column \d+: nested deeper than 64 levels},
 qr{\[error\] .*gamma: manifest \S+/deep\.json: line 1, column \d+: maximum parsing depth reached}]



=== TEST 4: a 2 MB name: the file is read, the object refused by its name's length
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 ["mesh/huge.yaml", $main::HugeName]]
--- request eval
$main::Other->[0]
--- more_headers eval
$main::Other->[1]
--- response_body eval
$main::Other->[2]
--- error_log eval
qr{HTTPRoute faces/hxxx\S* rejected: metadata\.name: must be at most 253 characters}



=== TEST 5: invalid UTF-8: the file is refused with the reason
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 ["mesh/utf8.yaml", $main::BadUtf8]]
--- request eval
$main::Other->[0]
--- more_headers eval
$main::Other->[1]
--- response_body eval
$main::Other->[2]
--- error_log eval
qr{\[error\] .*gamma: manifest \S+/utf8\.yaml: line 1, column \d+: invalid leading UTF-8 octet}



=== TEST 6: duplicate keys, in YAML and in JSON: the file is refused naming the key
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 ["mesh/dup.yaml", $main::DupKeys], ["mesh/dup.json", $main::DupJson]]
--- request eval
$main::Other->[0]
--- more_headers eval
$main::Other->[1]
--- response_body eval
$main::Other->[2]
--- error_log eval
[qr{\[error\] .*gamma: manifest \S+/dup\.yaml: line 3, column \d+: duplicate mapping key "name"},
 qr{\[error\] .*gamma: manifest \S+/dup\.json: line 1, column \d+: duplicate object key near '"namespace"'}]



=== TEST 7: wrong types: each object refused naming the field and the type it must have
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 map { ["mesh/$_->[0]", $_->[1]] } @main::WrongTypes]
--- request eval
$main::Other->[0]
--- more_headers eval
$main::Other->[1]
--- response_body eval
$main::Other->[2]
--- error_log eval
[qr{HTTPRoute faces/port rejected: spec\.rules\[0\]\.backendRefs\[0\]\.port: must be an integer},
 qr{HTTPRoute faces/rules rejected: spec\.rules: must be an array},
 qr{HTTPRoute faces/weight rejected: spec\.rules\[0\]\.backendRefs\[0\]\.weight: must be an integer},
 qr{HTTPRoute faces/\S+ rejected: metadata\.name: must be a string},
 qr{Service faces/s rejected: spec\.ports\[0\]\.port: must be an integer}]



=== TEST 8: a header flood: 200 headers, the matched one last, and one header past nginx's buffers (400 from nginx, not a crash)
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 ["mesh/hdr.yaml", main::route('hdr', main::rule('/hdr',
     "      headers:\n      - {name: x-z, value: \"1\"}\n"))]]
--- request eval
["GET /hdr", "GET /hdr", "GET /hdr", $main::Other->[0]]
--- more_headers eval
[CORE::join("\n", "X-Test-To: 127.10.0.3:18080", map({ "X-F$_: " . ('f' x 100) } 1 .. 200), "X-Z: 1"),
 CORE::join("\n", "X-Test-To: 127.10.0.3:18080", map({ "X-Z: $_" } 2 .. 200), "X-Z: 1"),
 "X-Test-To: 127.10.0.3:18080\nX-Z: " . ('z' x 40000),
 $main::Other->[1]]
--- error_code eval
[200, 404, 400, 200]
--- response_headers eval
["X-Gamma-Route: faces/hdr", "", "", "X-Gamma-Route: faces/good"]



=== TEST 9: ".." and encoded slashes against a prefix rule: the rule sees what the backend gets, or 400
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good]]
--- request eval
["GET /x/../good/a", "GET /good/../secret", "GET /good/..%2fsecret",
 "GET /good%2F..%2Fsecret", "GET /good/%2e%2e/secret", "GET /good/..;/secret",
 "GET /good/%252F..%252Fsecret", "GET /../good", "GET /good\\..\\secret"]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 9]
--- error_code eval
[200, 404, 400, 400, 400, 200, 200, 400, 404]
--- response_body_like eval
["^pod 127\\.11\\.0\\.2:18090 GET /good/a ", "", "", "", "",
 "^pod 127\\.11\\.0\\.2:18090 GET /good/\\.\\.;/secret ",
 "^pod 127\\.11\\.0\\.2:18090 GET /good/%252F\\.\\.%252Fsecret ",
 "", ""]



=== TEST 10: 100,000 HTTPRoutes on one Service: each routes its own prefix, the other Service answers throughout
--- http_config
    gamma_zone 512m;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good]]
--- init
my ($g) = main::wait_serving(0, 10);
my $t = time;
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/many.yaml",
                       main::many_routes($main::Many));
(my $g2, my $asked) = main::wait_serving($g, 180);
Test::More::diag(sprintf "$main::Many routes in service after %.1f s", time - $t);
main::all_good($asked);
--- request eval
["GET /r1/a", "GET /r" . int($main::Many / 2), "GET /r$main::Many/b",
 "GET /r" . ($main::Many + 1), "GET /r1x", $main::Other->[0]]
--- more_headers eval
[("X-Test-To: 127.10.0.3:18080") x 5, $main::Other->[1]]
--- error_code eval
[200, 200, 200, 404, 404, 200]
--- response_headers eval
["X-Gamma-Route: faces/r1\nX-Gamma-Backend: faces/smiley:18080",
 "X-Gamma-Route: faces/r" . int($main::Many / 2),
 "X-Gamma-Route: faces/r$main::Many",
 "X-Gamma-Route: ", "X-Gamma-Route: ", "X-Gamma-Route: faces/good"]
--- no_error_log
rejected
--- timeout: 20



=== TEST 11: 100,000 HTTPRoutes past the zone's size: one error line with the sizes, the snapshot before keeps serving
--- http_config eval
"    gamma_zone " . ($ENV{TEST_NGINX_USE_VALGRIND} ? "256k" : "4m") . ";\n"
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good]]
--- init
my ($g) = main::wait_serving(0, 10);
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/many.yaml",
                       main::many_routes($main::Many));
(my $g2, my $asked) = main::wait_serving($g, 180, qr/does not fit in zone/);
Test::More::is($g2, 0, 'no new generation');
# the error lines come before the block's first request: checked here
main::logged_once(qr{\[error\] .*gamma: a snapshot of at least \d+ bytes does not fit in zone "gamma" \(\d+ of \d+ bytes used\), the previous one keeps serving});
main::all_good($asked);
--- request eval
["GET /r1", "GET /r$main::Many", $main::Other->[0]]
--- more_headers eval
[("X-Test-To: 127.10.0.3:18080") x 2, $main::Other->[1]]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Gamma-Route-Kind: none", "X-Gamma-Route-Kind: none",
 "X-Gamma-Route: faces/good"]
--- timeout: 20



=== TEST 12: 100,000 rules, matches or parentRefs in one HTTPRoute: rejected naming the limit, the rest serves
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/good.yaml", $main::Good],
 ["mesh/rules.yaml", main::wide_route('rules', $main::Many, 'rules')],
 ["mesh/matches.yaml", main::wide_route('matches', $main::Many, 'matches')],
 ["mesh/parents.yaml", main::wide_route('parents', $main::Many, 'parents')]]
--- init
main::wait_serving(0, 60);
main::logged_once($_) for
    qr{HTTPRoute faces/rules rejected: spec\.rules: must have at most 16 items},
    qr{HTTPRoute faces/matches rejected: spec\.rules\[0\]\.matches: must have at most 64 items},
    qr{HTTPRoute faces/parents rejected: spec\.parentRefs: must have at most 32 items};
--- request eval
["GET /m1", $main::Other->[0]]
--- more_headers eval
["X-Test-To: 127.10.0.3:18080", $main::Other->[1]]
--- response_headers eval
["X-Gamma-Route-Kind: none", "X-Gamma-Route: faces/good"]
--- timeout: 20
