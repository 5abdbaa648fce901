# Bad input through the Kubernetes API (issue 18; t/019 has the file
# source's): list responses and watch events with invalid JSON, wrong
# types, objects past a limit, invalid UTF-8, an event line past the
# client's bound, an ERROR event with 410 Gone.  An object that can be
# named is rejected alone with a line naming it and the reason, and its
# last good version keeps serving; a response or event that cannot be
# parsed is logged with the resource and the reason, the list or watch is
# made again and the snapshot before keeps serving meanwhile; the other
# objects keep working and the changes made after are applied.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use Mojo::JSON qw(true);
use Mojo::Util qw(b64_encode);

FakeKube::start();

FakeKube::gamma_test_source();

no_shuffle();
log_level('info');
gamma_mesh_config();

our $Routes = '/apis/gateway.networking.k8s.io/v1/httproutes';

# an HTTPRoute on face with these rules
sub route {
    my ($name, $rules) = @_;
    return <<"_EOY_";
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $name, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: face}
  rules:
$rules
_EOY_
}

sub rule {
    my ($path, $port) = @_;
    $port //= 18080;
    return "  - matches:\n    - path: {type: PathPrefix, value: $path}\n"
         . "    backendRefs:\n    - {name: smiley, port: $port}\n";
}

# face's /f to smiley: the change made after the bad input
our $Later = route('later', rule('/f'));

# smiley's route to smiley2, in 17 rules: one past the API's limit
our $Route17 = $FakeKube::Route =~ s{  rules:\n.*}{"  rules:\n"
    . join '', map { "  - backendRefs:\n    - {name: smiley2, port: 18080}\n" }
      1 .. 17}sre;

our @BadItems = (
    route('rules17', join '', map { rule("/r$_") } 1 .. 17),
    route('port-string', rule('/p', '"18080"')),
    route('rules-string', "    x") =~ s/  rules:\n    x/  rules: "x"/r,
);

# a list the client reads: as the fake API server renders one
sub list_body {
    my ($items, $rv) = @_;
    return qq({"kind":"HTTPRouteList","apiVersion":"gateway.networking.k8s.io/v1",)
         . qq("metadata":{"resourceVersion":$rv},"items":$items});
}

sub error_log {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die;
    return <$fh>;
}

sub wait_logged {
    my ($re, $limit) = @_;
    return FakeKube::wait_until(sub { grep { $_ =~ $re } error_log() },
                                ($limit // 5) * ($ENV{GAMMA_TEST_SLOW} || 1));
}

# smiley's backend now, and that it stays so for a while
sub still_backend {
    my ($want, $what) = @_;
    my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
    my @got = map {
        Time::HiRes::sleep(0.05);
        $c->request('GET', '/')->{headers}{'x-gamma-backend'} // '';
    } 1 .. 10;
    $c->close;
    Test::More::is(scalar(grep { $_ ne $want } @got), 0,
                   "$what: smiley's traffic still to $want");
}

# until face's $path is routed by $route
sub wait_route {
    my ($path, $route) = @_;
    my $c = GammaTest::gamma_client(to => '127.10.0.3:18080');
    my $t = FakeKube::wait_until(sub {
        ($c->request('GET', $path)->{headers}{'x-gamma-route'} // '') eq $route;
    }, 5 * ($ENV{GAMMA_TEST_SLOW} || 1));
    $c->close;
    return defined $t;
}

run_tests();

__DATA__

=== TEST 1: a list with objects past a limit and of wrong types: each rejected naming it and the reason, the others serve
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route
                . join('', @main::BadItems) . $main::Later);
--- init
FakeKube::wait_watches();
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080',
                                              'faces/smiley2:18080'),
               'the good route serves');
--- request
GET /f/x
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_headers
X-Gamma-Route: faces/later
X-Gamma-Backend: faces/smiley:18080
--- error_log eval
[qr{\[error\] .*HTTPRoute faces/rules17 rejected: spec\.rules: must have at most 16 items},
 qr{\[error\] .*HTTPRoute faces/port-string rejected: spec\.rules\[0\]\.backendRefs\[0\]\.port: must be an integer},
 qr{\[error\] .*HTTPRoute faces/rules-string rejected: spec\.rules: must be an array}]



=== TEST 2: an ERROR event with 410 Gone relists; lists of invalid JSON, invalid UTF-8 and wrong types are each logged and asked again while the snapshot before serves; items that are no objects are ignored, the good ones apply
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route);
--- init
FakeKube::wait_watches();
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080',
                                              'faces/smiley2:18080'),
               'routed');
my $rv = FakeKube::control('ping')->{rev};
my $rule = sub { +{ verb => 'list', plural => 'httproutes', status => 200, @_ } };
FakeKube::control('faults', { rules => [
    $rule->(count => 1, body => '{"kind":"HTTPRouteList","items":[{"metadata":'),
    $rule->(count => 1, body_b64 => b64_encode(main::list_body(
        qq([{"metadata":{"name":"u\xff","namespace":"faces"}}]), qq("$rv")), '')),
    $rule->(count => 1, body => main::list_body('{}', qq("$rv"))),
    # until cleared: a resourceVersion that is no string
    $rule->(body => main::list_body('[]', $rv))] });
FakeKube::control('watches', { action => 'error', plural => 'httproutes',
    code => 410, reason => 'Gone',
    message => 'too old resource version: 1 (5000)' });
Test::More::ok(defined FakeKube::wait_until(sub {
    grep({ /no "items" or "metadata\.resourceVersion"/ } main::error_log()) >= 2
}, 10), 'the bad lists were read');
main::still_backend('faces/smiley2:18080', 'while the lists are bad');
# then a list of items of wrong types, and smiley's route to face
my $r = FakeKube::objects($FakeKube::Route =~ s/smiley2/face/r)->[0];
# a version of its own: an unchanged one is not read again
$r->{metadata}{resourceVersion} = '' . ($rv + 1);
FakeKube::control('faults_clear');
FakeKube::control('faults', { rules => [$rule->(count => 1,
    body => main::list_body('["x",{"metadata":{"name":7}},'
                            . Mojo::JSON::encode_json($r) . ']', qq("$rv")))] });
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080',
                                              'faces/face:18080', 5),
               'the good item of the last list applies');
my @lists = grep { $_->{path} eq $main::Routes && $_->{query} !~ /watch=1/ }
            @{ FakeKube::requests() };
Test::More::cmp_ok(scalar @lists, '>=', 6, 'listed: first, bad ones, last');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Backend: faces/face:18080
--- error_log eval
[qr{\[info\] .*kubernetes: \S+/httproutes: watch expired \(too old resource version: 1 \(5000\)\), listing again},
 qr{\[error\] .*kubernetes: \S+/httproutes: malformed list: .*, line 1$},
 qr{\[error\] .*kubernetes: \S+/httproutes: malformed list: .*unable to decode byte 0xff.*, line 1$},
 qr{\[error\] .*kubernetes: \S+/httproutes: malformed list: no "items" or "metadata\.resourceVersion"},
 qr{\[error\] .*kubernetes: \S+/httproutes: HTTPRoute without a name or namespace ignored}]



=== TEST 3: watch events: invalid UTF-8, wrong types, an object past a limit, a line past 16 MB; each logged, the last good version serves, the change made after applies
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $FakeKube::Route);
--- init
FakeKube::wait_watches();
Test::More::ok(defined FakeKube::wait_backend('127.10.0.1:18080',
                                              'faces/smiley2:18080'),
               'routed');
FakeKube::control('watches', { action => 'raw', plural => 'httproutes',
    raw_b64 => b64_encode(qq({"type":"ADDED","object":{"kind":"HTTPRoute",)
        . qq("metadata":{"name":"u\xff\xfe","namespace":"faces"}}}\n), '') });
Test::More::ok(main::wait_logged(qr{malformed watch event}), 'bad UTF-8 seen');
FakeKube::upsert(main::route('port-string', main::rule('/p', '"18080"')));
Test::More::ok(main::wait_logged(qr{faces/port-string rejected}), 'wrong type seen');
FakeKube::upsert($main::Route17);
Test::More::ok(main::wait_logged(qr{faces/smiley-route rejected}), 'past the limit seen');
main::still_backend('faces/smiley2:18080', 'the version past the limit');
FakeKube::wait_watches();
# 17 MB of one line, then its end
FakeKube::control('watches', { action => 'raw', plural => 'httproutes',
                               raw => 'x' x 1024, repeat => 17 * 1024 });
FakeKube::control('watches', { action => 'raw', plural => 'httproutes',
                               raw => "\n" });
Test::More::ok(main::wait_logged(qr{an event larger than}, 10), 'the huge line seen');
main::still_backend('faces/smiley2:18080', 'after the huge line');
FakeKube::upsert($main::Later);
Test::More::ok(main::wait_route('/f/x', 'faces/later'), 'the change after applies');
--- request
GET /f/x
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_headers
X-Gamma-Route: faces/later
X-Gamma-Backend: faces/smiley:18080
--- error_log eval
[qr{\[error\] .*kubernetes: \S+/httproutes: malformed watch event: .*unable to decode byte 0xff.*, column \d+},
 qr{/httproutes: watch restarted after a bad event, resuming from resourceVersion \d+},
 qr{\[error\] .*HTTPRoute faces/port-string rejected: spec\.rules\[0\]\.backendRefs\[0\]\.port: must be an integer},
 qr{\[error\] .*HTTPRoute faces/smiley-route rejected: spec\.rules: must have at most 16 items},
 qr{/httproutes: watch interrupted \(.*an event larger than 16777216 bytes.*\), resuming from resourceVersion \d+}]
--- timeout: 20
