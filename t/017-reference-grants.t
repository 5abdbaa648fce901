# gamma_reference_grants (issue 18): "ignore" (the default, as GEP-1294
# allows a mesh) lets a backendRef name a Service in any namespace;
# "require" makes a cross-namespace backendRef need a ReferenceGrant in
# the Service's namespace (GEP-709): without one the backend is invalid,
# its weight share gets 500 and the route's ResolvedRefs is False with
# RefNotPermitted.  The Kubernetes API source's side is in t/058.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

no_shuffle();
log_level('info');
gamma_mesh_config();

# faces/smiley's producer route sends /x to colors/color (another
# namespace), /split half to it and half to faces/smiley2, the rest to
# faces/smiley2 (the route's own namespace)
our $Route = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cross, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /x}
    backendRefs:
    - {name: color, namespace: colors, port: 18080}
  - matches:
    - path: {type: PathPrefix, value: /split}
    backendRefs:
    - {name: color, namespace: colors, port: 18080}
    - {name: smiley2, port: 18080}
  - backendRefs:
    - {name: smiley2, port: 18080}
_EOY_

sub grant {
    my (%o) = @_;
    my $to = $o{to_name} ? "{group: \"\", kind: Service, name: $o{to_name}}"
                         : '{group: "", kind: Service}';
    return <<"_EOY_";
apiVersion: gateway.networking.k8s.io/$o{version}
kind: ReferenceGrant
metadata: {name: from-faces, namespace: $o{ns}}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: $o{from_kind}, namespace: $o{from_ns}}
  to:
  - $to
_EOY_
}

our $Grant = grant(version => 'v1beta1', ns => 'colors', from_kind => 'HTTPRoute',
                   from_ns => 'faces');

# the ways a grant fails to grant: each must leave the reference refused
our @Wrong = (
    grant(version => 'v1beta1', ns => 'faces', from_kind => 'HTTPRoute',
          from_ns => 'faces'),                        # in the route's namespace
    grant(version => 'v1beta1', ns => 'colors', from_kind => 'GRPCRoute',
          from_ns => 'faces'),                        # for another kind
    grant(version => 'v1beta1', ns => 'colors', from_kind => 'HTTPRoute',
          from_ns => 'fast-clients'),                 # from another namespace
    grant(version => 'v1', ns => 'colors', from_kind => 'HTTPRoute',
          from_ns => 'faces', to_name => 'other'),    # to another Service
);

our $Require = "    gamma_reference_grants require;\n";

# each response's status and backend for n requests of a path
sub counts {
    my ($path, $n) = @_;
    my %seen;
    for (1 .. $n) {
        my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
        my $res = $c->request('GET', $path);
        $c->close;
        $seen{"$res->{status} " . ($res->{headers}{'x-gamma-backend'} // '')}++;
    }
    return \%seen;
}

run_tests();

__DATA__

=== TEST 1: ignore (the default): a cross-namespace backendRef needs no ReferenceGrant
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- request
GET /x
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.5:18090 GET /x host=127.10.0.1:18080
--- response_headers
X-Gamma-Backend: colors/color:18080
--- error_log
status: HTTPRoute faces/cross parentRef faces/smiley: ResolvedRefs=True ResolvedRefs: All references resolved
--- no_error_log
ReferenceGrant



=== TEST 2: require, no ReferenceGrant: the cross-namespace backend is invalid (500), ResolvedRefs=False RefNotPermitted
--- http_config eval
$main::Require
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- request
GET /x
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 500
--- response_headers
X-Gamma-Backend: colors/color:18080
--- error_log eval
[qr{\[warn\] .*gamma: HTTPRoute faces/cross/rule0: backendRef Service colors/color: no ReferenceGrant in namespace colors lets HTTPRoutes of faces refer to it, its share gets 500 \(gamma_reference_grants require\)},
 "status: HTTPRoute faces/cross parentRef faces/smiley: ResolvedRefs=False RefNotPermitted: rule 0 backendRef Service colors/color port 18080: no ReferenceGrant in the Service's namespace permits it",
 qr{\[error\] .*gamma: backend colors/color:18080 is not a valid backend, answering 500}]



=== TEST 3: require, no ReferenceGrant: a rule split between the two gets 500 for the refused backend's weight share only; same-namespace backends serve
--- http_config eval
$main::Require
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route]]
--- init
GammaTest::gamma_wait_synced();
my $seen = main::counts('/split', 60);
Test::More::is(join(', ', sort keys %$seen),
               '200 faces/smiley2:18080, 500 colors/color:18080',
               'both shares: 200 from smiley2, 500 for color');
Test::More::ok($seen->{'500 colors/color:18080'} >= 12
               && $seen->{'200 faces/smiley2:18080'} >= 12,
               "about half each: $seen->{'500 colors/color:18080'} x 500, "
               . "$seen->{'200 faces/smiley2:18080'} x 200 of 60");
--- request
GET /other
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- response_headers
X-Gamma-Backend: faces/smiley2:18080



=== TEST 4: require, a ReferenceGrant (v1beta1) in colors from HTTPRoutes of faces to its Services: permitted
--- http_config eval
$main::Require
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route],
 ["mesh/grant.yaml", $main::Grant]]
--- request
GET /x
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.5:18090 GET /x host=127.10.0.1:18080
--- error_log
status: HTTPRoute faces/cross parentRef faces/smiley: ResolvedRefs=True ResolvedRefs: All references resolved
--- no_error_log
no ReferenceGrant
[error]



=== TEST 5: require, a ReferenceGrant (v1) to that Service by name: permitted
--- http_config eval
$main::Require
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route],
 ["mesh/grant.yaml", main::grant(version => 'v1', ns => 'colors',
                                 from_kind => 'HTTPRoute', from_ns => 'faces',
                                 to_name => 'color')]]
--- request
GET /x
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.5:18090 GET /x host=127.10.0.1:18080
--- no_error_log
no ReferenceGrant



=== TEST 6: require: a grant in the wrong namespace, for another kind, from another namespace or to another Service permits nothing
--- http_config eval
$main::Require
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route],
 map { ["mesh/grant$_.yaml", $main::Wrong[$_] =~ s/from-faces/wrong-$_/r] } 0 .. $#main::Wrong]
--- request
GET /x
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 500
--- error_log
no ReferenceGrant in namespace colors lets HTTPRoutes of faces refer to it
--- no_error_log
rejected



=== TEST 7: a ReferenceGrant the API would refuse is rejected, naming it and the reason
--- http_config eval
$main::Require
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/route.yaml", $main::Route],
 ["mesh/grant.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: bad, namespace: colors}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute}
  to:
  - {group: "", kind: Service}
_EOY_
--- request
GET /x
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 500
--- error_log eval
qr{\[error\] .*gamma: ReferenceGrant colors/bad rejected: spec\.from\[0\]\.namespace: is required}



=== TEST 8: gamma_reference_grants takes ignore or require
--- http_config
    gamma_reference_grants maybe;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- config
--- must_die
--- error_log
invalid value "maybe"



=== TEST 9: require: a consumer route (fast-clients) sending to a Service of the parent's namespace needs a grant too; with one in faces it serves
--- http_config eval
$main::Require
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/consumer.yaml", <<'_EOY_'],
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mine, namespace: fast-clients}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, namespace: faces}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /refused}
    backendRefs:
    - {name: smiley2, namespace: faces, port: 18080}
  - backendRefs:
    - {name: color, namespace: colors, port: 18080}
_EOY_
 ["mesh/grant.yaml", main::grant(version => 'v1beta1', ns => 'colors',
                                 from_kind => 'HTTPRoute',
                                 from_ns => 'fast-clients')]]
--- request eval
["GET /refused", "GET /granted"]
--- more_headers eval
["X-Test-From: 127.20.0.1\nX-Test-To: 127.10.0.1:18080",
 "X-Test-From: 127.20.0.1\nX-Test-To: 127.10.0.1:18080"]
--- error_code eval
[500, 200]
--- response_headers eval
["X-Gamma-Route: fast-clients/mine\nX-Gamma-Backend: faces/smiley2:18080",
 "X-Gamma-Route: fast-clients/mine\nX-Gamma-Backend: colors/color:18080"]
