# The status dump (gamma_status, JSON): Services with ClusterIPs and ports,
# each port's producer and consumer tables in precedence order with their
# rules, backends and endpoints, and rejected objects with their reasons.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaAdmin;
use JSON::PP ();

no_shuffle();
log_level('info');

$GammaTest::HttpConfig .= $GammaAdmin::Include;

gamma_mesh_config();

our $Routes = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, port: 18080}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /heart}
      headers:
      - {name: X-Team, value: red}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - {name: X-Via, value: mesh}
    timeouts: {request: 2s}
    retry: {attempts: 2, codes: [503]}
    backendRefs:
    - {name: smiley2, port: 18080, weight: 3}
    - {name: smiley, port: 18080, weight: 1}
  - backendRefs:
    - {name: smiley, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: fast-clients}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, namespace: faces, port: 18080}
  rules:
  - matches:
    - path: {type: Exact, value: /smiley}
    backendRefs:
    - {name: smiley2, namespace: faces, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: lost, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: ghost}
  rules:
  - backendRefs:
    - {name: smiley, port: 18080}
_EOY_

our $Broken = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: faces}
spec:
  parentRefs: not-a-list
_EOY_

sub status {
    my ($query) = @_;
    my $res = GammaAdmin::get('/status' . ($query // ''));
    die "GET /status: $res->{status}" unless $res->{status} == 200;
    die "not JSON: $res->{headers}{'content-type'}"
        unless $res->{headers}{'content-type'} eq 'application/json';
    return JSON::PP::decode_json($res->{body});
}

sub port_names {
    my ($st) = @_;
    return [map { "$_->{namespace}/$_->{name}:$_->{port}" }
            @{ $st->{services} }];
}

sub find_port {
    my ($st, $label) = @_;
    my ($svc) = grep { "$_->{namespace}/$_->{name}:$_->{port}" eq $label }
                @{ $st->{services} };
    return $svc;
}

sub rejected {
    my ($st) = @_;
    return { map { ("$_->{kind} $_->{namespace}/$_->{name}"
                    => "$_->{reason}: $_->{message}") }
             @{ $st->{rejected} } };
}

run_tests();

__DATA__

=== TEST 1: the dump says what the manifests say
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes],
 ["mesh/broken.yaml", $main::Broken]]
--- init
my $st = main::status();
Test::More::is($st->{synced}, JSON::PP::true, 'synced');
Test::More::is($st->{generation}, 1, 'generation');
Test::More::is($st->{source}{type}, 'file', 'the source');
# every kind is listed; those the manifests have none of say 0
Test::More::is_deeply($st->{source}{objects},
                      { Service => 5, EndpointSlice => 5, HTTPRoute => 3,
                        ReferenceGrant => 0, GRPCRoute => 0,
                        TrafficPolicy => 0, BackendTLSPolicy => 0,
                        ConfigMap => 0, XBackendTrafficPolicy => 0 },
                      'objects by kind');
Test::More::is_deeply(main::port_names($st),
    ['colors/color:18080', 'faces/empty:18080', 'faces/face:18080',
     'faces/smiley:18080', 'faces/smiley:18081', 'faces/smiley2:18080'],
    'every Service port, by name');
my $smiley = main::find_port($st, 'faces/smiley:18080');
Test::More::is_deeply($smiley->{cluster_ips}, ['127.10.0.1'], 'ClusterIPs');
Test::More::is_deeply($smiley->{passthrough}{endpoints}, ['127.11.0.1:18090'],
                      'its own endpoints');
my @p = @{ $smiley->{producer} };
Test::More::is_deeply([map { $_->{rule} } @p],
                      ['faces/smiley-route/rule0', 'faces/smiley-route/rule1'],
                      'the producer table in precedence order');
Test::More::is_deeply($p[0]{match},
    { path => { type => 'PathPrefix', value => '/heart' },
      headers => [{ type => 'Exact', name => 'x-team', value => 'red' }],
      query_params => [] },
    'a match as compiled');
Test::More::is_deeply($p[0]{filters}, ['RequestHeaderModifier'], 'filters');
Test::More::is_deeply($p[0]{timeouts}, { request_ms => 2000 }, 'timeouts');
Test::More::is_deeply($p[0]{retry}{attempts}, 2, 'retry attempts');
Test::More::is_deeply($p[0]{retry}{codes}, [503], 'retry codes');
Test::More::is_deeply([map { "$_->{service} $_->{weight} $_->{status} @{ $_->{endpoints} }" }
                       @{ $p[0]{backends} }],
                      ['faces/smiley2:18080 3 ok 127.11.0.2:18090',
                       'faces/smiley:18080 1 ok 127.11.0.1:18090'],
                      'backends with weights and endpoints');
Test::More::is_deeply($p[1]{match}{path}, { type => 'PathPrefix', value => '/' },
                      'the default match');
Test::More::is(scalar @{ $smiley->{consumers} }, 1, 'one consumer table');
Test::More::is($smiley->{consumers}[0]{namespace}, 'fast-clients',
               'for its namespace');
Test::More::is_deeply([map { "$_->{route} $_->{match}{path}{type} $_->{match}{path}{value}" }
                       @{ $smiley->{consumers}[0]{table} }],
                      ['fast-clients/smiley-route Exact /smiley'],
                      'the consumer rules');
my $empty = main::find_port($st, 'faces/empty:18080');
Test::More::is($empty->{passthrough}{status}, 'no_endpoints',
               'a Service without ready endpoints says so');
Test::More::is($empty->{producer}, undef, 'no routes: producer null');
Test::More::is_deeply(main::rejected($st), {
    'HTTPRoute faces/broken' => 'invalid: HTTPRoute faces/broken rejected: '
                                . 'spec.parentRefs: must be an array',
    'HTTPRoute faces/lost' => 'not_attached: HTTPRoute faces/lost: parentRef '
                              . 'Service faces/ghost does not exist, not '
                              . 'attached',
}, 'rejected objects with their reasons');
my $m = GammaAdmin::metrics();
Test::More::is($m->{'gamma_source_rejected_objects{kind="HTTPRoute",reason="invalid"}'},
               1, 'counted as invalid');
Test::More::is($m->{'gamma_source_rejected_objects{kind="HTTPRoute",reason="not_attached"}'},
               1, 'counted as not attached');
--- request
GET /heart
--- more_headers
X-Test-To: 127.10.0.1:18080
X-Team: red
--- response_body_like eval
qr{^pod 127\.11\.0\.[12]:18090 GET /heart }



=== TEST 2: ?service=ns/name narrows the dump to one Service
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
Test::More::is_deeply(main::port_names(main::status('?service=faces/smiley')),
                      ['faces/smiley:18080', 'faces/smiley:18081'],
                      'both ports of smiley');
Test::More::is_deeply(main::port_names(main::status('?service=faces%2Fface')),
                      ['faces/face:18080'], 'an escaped slash');
Test::More::is_deeply(main::port_names(main::status('?service=faces/nope')),
                      [], 'no such Service: none');
--- request
GET /status?service=colors/color
--- more_headers
X-Test-To: 127.0.0.1:15000
--- response_body_like eval
qr{"services": \[\n\{"namespace": "colors", "name": "color", "port": 18080, "cluster_ips": \["127\.10\.0\.5"\],\n}



=== TEST 3: a rejection goes with the next version of the object, or with the object
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/broken.yaml", $main::Broken]]
--- init
my $dir = "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh";
Test::More::is_deeply([keys %{ main::rejected(main::status()) }],
                      ['HTTPRoute faces/broken'], 'rejected at first');
(my $fixed = $main::Broken) =~ s/not-a-list/[{name: smiley}]/;
GammaTest::gamma_write("$dir/broken.yaml", $fixed);
my $st = GammaAdmin::wait_until(sub {
    my $st = main::status();
    return $st->{generation} >= 2 ? $st : undef;
});
Test::More::is_deeply($st && $st->{rejected}, [], 'fixed: no rejection');
Test::More::is($st && $st->{source}{objects}{HTTPRoute}, 1, 'and it is in');
GammaTest::gamma_write("$dir/broken.yaml", $main::Broken);
$st = GammaAdmin::wait_until(sub {
    my $st = main::status();
    return @{ $st->{rejected} } ? $st : undef;
});
Test::More::is_deeply([keys %{ main::rejected($st) }],
                      ['HTTPRoute faces/broken'], 'broken again');
Test::More::is($st->{source}{objects}{HTTPRoute}, 1,
               'its last good version stays');
unlink "$dir/broken.yaml" or die "unlink: $!";
$st = GammaAdmin::wait_until(sub {
    my $st = main::status();
    return !@{ $st->{rejected} } ? $st : undef;
});
Test::More::ok($st, 'the file gone: no rejection');
Test::More::is($st && $st->{source}{objects}{HTTPRoute}, 0,
               'and no route');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- response_body
pod 127.11.0.5:18090 GET / host=127.10.0.5:18080



=== TEST 4: an object that never was valid: its rejection goes with its file
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/broken.yaml", $main::Broken]]
--- init
my $dir = "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh";
Test::More::is(scalar @{ main::status()->{rejected} }, 1, 'rejected');
unlink "$dir/broken.yaml" or die "unlink: $!";
my $st = GammaAdmin::wait_until(sub {
    my $st = main::status();
    return !@{ $st->{rejected} } ? $st : undef;
});
Test::More::ok($st, 'gone with the file');
--- request
GET /status
--- more_headers
X-Test-To: 127.0.0.1:15000
--- response_body_like eval
qr{"rejected": \[\]\n\}\n\z}



=== TEST 5: route status conditions, as the status writer writes them, in the dump
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
sub conds {
    my ($e) = @_;
    return join ' ', map { "$_->{type}=$_->{status}/$_->{reason}" }
                     @{ $e->{conditions} };
}
my $st = main::status();
Test::More::is_deeply(
    [map { "$_->{kind} $_->{namespace}/$_->{name} -> $_->{parent}{kind} "
           . "$_->{parent}{namespace}/$_->{parent}{name}"
           . ($_->{parent}{port} ? ":$_->{parent}{port}" : '')
           . ': ' . conds($_) } @{ $st->{route_status} }],
    ['HTTPRoute faces/lost -> Service faces/ghost: '
         . 'Accepted=False/NoMatchingParent ResolvedRefs=True/ResolvedRefs',
     'HTTPRoute faces/smiley-route -> Service faces/smiley:18080: '
         . 'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs',
     'HTTPRoute fast-clients/smiley-route -> Service faces/smiley:18080: '
         . 'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'],
    'one entry per route and parentRef, with its conditions');
Test::More::like($st->{route_status}[0]{conditions}[0]{message},
                 qr/ghost/, 'a condition message says why');
Test::More::is_deeply(
    [map { "$_->{namespace}/$_->{name}" }
     @{ main::status('?service=faces/smiley')->{route_status} }],
    ['faces/smiley-route', 'fast-clients/smiley-route'],
    '?service= keeps the routes of that Service');
--- request
GET /status?format=html
--- more_headers
X-Test-To: 127.0.0.1:15000
--- response_body_like eval
qr{<h2>Route status</h2>\n<table>.*<tr><td>HTTPRoute</td><td>faces/lost</td><td>Service faces/ghost</td><td><span class="bad">Accepted=False</span> NoMatchingParent: }s
