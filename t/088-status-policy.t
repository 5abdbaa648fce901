# The effective policy values in the status dump (JSON and the admin
# page): per route rule and per Service passthrough, each field the five
# levels set, with the level, the target or scope and the policy that set
# it; the variants of clients with consumer policies; the session
# persistence each backend gets.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaAdmin;
use JSON::PP ();

no_shuffle();
log_level('info');

$GammaTest::HttpConfig .= $GammaAdmin::Include;

gamma_mesh_config();

our $Mesh = <<'_EOY_';
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, port: 18080}
  rules:
  - name: main
    matches:
    - path: {type: PathPrefix, value: /app}
    timeouts: {request: 5s}
    sessionPersistence: {cookie: {name: sid}}
    backendRefs:
    - {name: smiley, port: 18080}
  - name: other
    backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: policy.nginx-gamma.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: svc-policy, namespace: faces,
           creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  targetRefs: [{group: "", kind: Service, name: smiley}]
  default:
    timeouts: {request: 2s}
    retry: {attempts: 2, codes: [502, 503]}
    loadBalancer: {type: ConsistentHash, consistentHash: {header: X-User}}
  override:
    timeouts: {backendRequest: 1s}
---
apiVersion: policy.nginx-gamma.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: client-policy, namespace: fast-clients,
           creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: smiley-route,
     namespace: faces, sectionName: other}
  default:
    retry: {attempts: 5}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: sticky, namespace: faces}
spec:
  targetRefs: [{group: "", kind: Service, name: smiley2}]
  sessionPersistence: {type: Header, header: {name: X-Session}}
_EOY_

our $Operator = <<'_EOC_';
    gamma_default * timeouts.connect 3s;
    gamma_override namespace:faces rateLimit.requests 1000;
_EOC_

sub status {
    my $res = GammaAdmin::get('/status?service=faces/smiley');
    die "GET /status: $res->{status}" unless $res->{status} == 200;
    return JSON::PP::decode_json($res->{body});
}

sub find_port {
    my ($st, $label) = @_;
    my ($svc) = grep { "$_->{namespace}/$_->{name}:$_->{port}" eq $label }
                @{ $st->{services} };
    return $svc;
}

# { field => "value from [target|scope] [policy]" }
sub fields {
    my ($eff) = @_;
    return { map {
        my $v = ref $_->{value} eq 'ARRAY' ? join(',', @{ $_->{value} })
                                           : $_->{value};
        ($_->{field} => join ' ', grep { defined && length } $v,
                                  "$_->{level}:$_->{from}",
                                  $_->{target} // $_->{scope},
                                  $_->{policy})
    } @{ $eff->{fields} } };
}

run_tests();

__DATA__

=== TEST 1: per rule: each field with the level and policy that set it; consumers' variants; sessions
--- http_config eval: $main::Operator
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base . $main::Mesh]]
--- init
my $st = main::status();
my $smiley = main::find_port($st, 'faces/smiley:18080');
my ($main) = grep { $_->{rule} eq 'faces/smiley-route/main' }
             @{ $smiley->{producer} };
my ($other) = grep { $_->{rule} eq 'faces/smiley-route/other' }
              @{ $smiley->{producer} };
Test::More::is($main->{effective}{policies}, 'faces/svc-policy',
               'main: the policies that gave it a value');
Test::More::is_deeply(main::fields($main->{effective}), {
    'rateLimit.requests' => '1000 1:gamma_override namespace',
    'timeouts.backendRequest' => '1000ms 2:policy override Service faces/svc-policy',
    'timeouts.request' => '5000ms 3:rule',
    'retry.attempts' => '2 4:policy default Service faces/svc-policy',
    'retry.codes' => '502,503 4:policy default Service faces/svc-policy',
    'loadBalancer.type' => 'ConsistentHash 4:policy default Service faces/svc-policy',
    'loadBalancer.consistentHash.header' => 'x-user 4:policy default Service faces/svc-policy',
    'timeouts.connect' => '3000ms 5:gamma_default *',
}, 'main: every field, its level, target or scope, and policy');
Test::More::is_deeply($main->{effective}{session_persistence}, [
    { backend => 'faces/smiley:18080', type => 'Cookie', name => 'sid',
      path => '/app', lifetimeType => 'Session', absoluteTimeout => '0ms',
      level => 3, from => 'rule' }],
    "main: the rule's session persistence");
Test::More::is(main::fields($other->{effective})->{'timeouts.request'},
               '2000ms 4:policy default Service faces/svc-policy',
               "other: no rule field, the Service policy's default");
Test::More::is(main::fields($other->{effective})->{'retry.attempts'},
               '2 4:policy default Service faces/svc-policy',
               'other: for clients of any namespace');
Test::More::is(scalar @{ $other->{effective}{by_namespace} }, 1,
               'other: one consumer variant');
my $fast = $other->{effective}{by_namespace}[0];
Test::More::is($fast->{namespace}, 'fast-clients', 'for fast-clients');
Test::More::is($fast->{policies}, 'faces/svc-policy,fast-clients/client-policy',
               'its policies');
my ($attempts) = grep { $_->{field} eq 'retry.attempts' } @{ $fast->{fields} };
Test::More::is_deeply($attempts, {
    field => 'retry.attempts', value => 5, level => 4,
    from => 'policy default', target => 'rule',
    policy => 'fast-clients/client-policy', consumer => JSON::PP::true },
    "the consumer's default at the rule beats the Service's");
Test::More::is_deeply($other->{effective}{session_persistence}, [
    { backend => 'faces/smiley2:18080', type => 'Header', name => 'X-Session',
      absoluteTimeout => '0ms', level => 4,
      from => 'XBackendTrafficPolicy', policy => 'faces/sticky' }],
    "other: the backend's XBackendTrafficPolicy");
my $admin = main::find_port($st, 'faces/smiley:18081');
my $pt = main::fields($admin->{passthrough_effective});
Test::More::is($pt->{'timeouts.request'},
               '2000ms 4:policy default Service faces/svc-policy',
               'passthrough: the Service policy applies');
Test::More::is($pt->{'timeouts.connect'}, '3000ms 5:gamma_default *',
               'passthrough: and nginx.conf');
Test::More::is_deeply($admin->{passthrough_effective}{session_persistence},
                      [], 'passthrough: no session persistence');
my $html = GammaAdmin::get('/status', 'Accept: text/html')->{body};
Test::More::like($html,
    qr{<code>timeouts\.backendRequest</code> = <code>1000ms</code> policy override <code>faces/svc-policy</code>},
    'the admin page shows the effective values');
Test::More::like($html,
    qr{session cookie <code>sid</code> to <code>faces/smiley:18080</code> \(the rule\)},
    'and the session persistence');
--- request
GET /app
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- response_headers
X-Gamma-Policy: faces/svc-policy
