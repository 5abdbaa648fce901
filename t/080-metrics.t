# Prometheus metrics (gamma_metrics on the shipped admin listener): the
# counters move exactly with known traffic across two workers, the
# histogram counts every request, promtool accepts the exposition, and a
# Service that is gone stops being reported.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaAdmin;

master_on();
workers(2);
no_shuffle();
log_level('info');

# both workers take mesh connections and say which one answered
$GammaTest::HttpConfig =~ s/listen \$TEST_NGINX_MESH_PORT;/listen \$TEST_NGINX_MESH_PORT reuseport;/
    or die 'no mesh listener in GammaTest';
$GammaTest::HttpConfig =~ s/(add_header X-Gamma-Timeout \S+ always;)/$1\n        add_header X-Gamma-Worker \$pid always;/
    or die 'no add_header in GammaTest';
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
    backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: face-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: face}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /face}
    backendRefs:
    - {name: face, port: 18080}
  - matches:
    - path: {type: PathPrefix, value: /empty}
    backendRefs:
    - {name: empty, port: 18080}
_EOY_

# n requests, each on a new connection, each counted (its log phase ran)
# before the next; returns the workers that answered
sub traffic {
    my ($n, $to, $path, $status, $workers) = @_;

    for (1 .. $n) {
        my $c = GammaTest::gamma_client(to => $to);
        my $res = $c->request('GET', $path, ['Connection: close']);
        $c->wait_closed;
        $c->close;
        die "GET $path to $to: $res->{status}, not $status"
            unless $res->{status} == $status;
        $workers->{ $res->{headers}{'x-gamma-worker'} }++;
    }
}

sub series_of {
    my ($m, $name) = @_;
    return { map { $_ => $m->{$_} } grep { /^\Q$name\E\{/ } keys %$m };
}

run_tests();

__DATA__

=== TEST 1: counters are exact across two workers, by route, table, backend and status class
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
my %w;
main::traffic(30, '127.10.0.1:18080', '/heart/beat', 200, \%w);
main::traffic(20, '127.10.0.3:18080', '/face', 200, \%w);
main::traffic(3, '127.10.0.3:18080', '/nothing', 404, \%w);
main::traffic(4, '127.10.0.3:18080', '/empty', 503, \%w);
main::traffic(5, '127.10.0.5:18080', '/', 200, \%w);
Test::More::is(scalar keys %w, 2, 'both workers served mesh requests: '
               . join(', ', map { "$_ => $w{$_}" } sort keys %w));
my $want = {
    'gamma_requests_total{service="faces/smiley",route="faces/smiley-route",route_kind="producer",backend="faces/smiley2:18080",status_class="2xx"}' => 30,
    'gamma_requests_total{service="faces/face",route="faces/face-route",route_kind="producer",backend="faces/face:18080",status_class="2xx"}' => 20,
    'gamma_requests_total{service="faces/face",route="",route_kind="producer",backend="",status_class="4xx"}' => 3,
    'gamma_requests_total{service="faces/face",route="faces/face-route",route_kind="producer",backend="faces/empty:18080",status_class="5xx"}' => 4,
    'gamma_requests_total{service="colors/color",route="",route_kind="none",backend="colors/color:18080",status_class="2xx"}' => 5,
};
# every scrape, whichever worker answers it, adds up both workers' rows
for my $i (1 .. 4) {
    my $m = GammaAdmin::metrics();
    Test::More::is_deeply(main::series_of($m, 'gamma_requests_total'), $want,
                          "scrape $i: gamma_requests_total");
}
my $m = GammaAdmin::metrics();
my $h = 'gamma_request_duration_seconds';
Test::More::is($m->{qq{${h}_count{service="faces/smiley",route="faces/smiley-route"}}}, 30,
               'histogram _count is the requests of the route');
Test::More::is($m->{qq{${h}_bucket{service="faces/smiley",route="faces/smiley-route",le="+Inf"}}}, 30,
               'the +Inf bucket too');
Test::More::is($m->{qq{${h}_count{service="faces/face",route="faces/face-route"}}}, 24,
               'a route\'s backends add up in its histogram');
Test::More::is($m->{qq{${h}_count{service="faces/face",route=""}}}, 3,
               'no route matched: route=""');
Test::More::cmp_ok($m->{qq{${h}_bucket{service="faces/smiley",route="faces/smiley-route",le="0.005"}}},
                   '<=', $m->{qq{${h}_bucket{service="faces/smiley",route="faces/smiley-route",le="10"}}},
                   'buckets are cumulative');
Test::More::is($m->{'gamma_no_route_total{service="faces/face"}'}, 3,
               'gamma_no_route_total');
Test::More::is($m->{'gamma_no_endpoint_total{service="faces/face",backend="faces/empty:18080"}'}, 4,
               'gamma_no_endpoint_total');
Test::More::is($m->{'gamma_retries_total{service="faces/face",route="faces/face-route"}'}, 0,
               'no retries');
Test::More::is($m->{'gamma_source_synced'}, 1, 'gamma_source_synced');
Test::More::is($m->{'gamma_snapshot_generation'}, 1, 'gamma_snapshot_generation');
Test::More::is($m->{'gamma_source_objects{kind="HTTPRoute"}'}, 2, 'objects by kind');
Test::More::is($m->{'gamma_source_rejected_objects{kind="HTTPRoute",reason="invalid"}'}, 0,
               'nothing rejected');
Test::More::cmp_ok($m->{'gamma_snapshot_bytes'}, '>', 0, 'gamma_snapshot_bytes');
Test::More::is($m->{'gamma_metrics_series{state="used"}'}, 5, 'five label sets');
Test::More::is($m->{'gamma_zone_size_bytes{zone="gamma_metrics"}'}, 16777216,
               'the default zone: 16m');
Test::More::is($m->{'gamma_metrics_dropped_total'}, 0, 'nothing dropped');
Test::More::cmp_ok($m->{'gamma_zone_used_bytes{zone="gamma"}'}, '>', 0,
                   'the snapshot zone is reported too');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- response_body
pod 127.11.0.5:18090 GET / host=127.10.0.5:18080
--- no_error_log
[alert]
[crit]



=== TEST 2: promtool check metrics accepts the exposition
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
my %w;
main::traffic(3, '127.10.0.1:18080', '/heart', 200, \%w);
main::traffic(2, '127.10.0.3:18080', '/nothing', 404, \%w);
my ($m, $text) = GammaAdmin::metrics();
Test::More::like($text, qr/^# TYPE gamma_requests_total counter$/m,
                 'typed families');
my ($rc, $out) = GammaAdmin::promtool($text);
Test::More::is($rc, 0, 'promtool check metrics exits 0');
Test::More::is($out, '', 'and finds nothing to complain about');
--- request
GET /heart
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.2:18090 GET /heart host=127.10.0.1:18080



=== TEST 3: a Service and a route that are gone stop being reported
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
my %w;
main::traffic(6, '127.10.0.1:18080', '/heart', 200, \%w);
main::traffic(2, '127.10.0.3:18080', '/face', 200, \%w);
main::traffic(1, '127.10.0.5:18080', '/', 200, \%w);
my $m = GammaAdmin::metrics();
Test::More::is(scalar(grep { /service="faces\/face"/ } keys %$m) > 0, 1,
               'face is reported while it exists');
my $base = $GammaTest::Base;
$base =~ s{---\napiVersion: v1\nkind: Service\nmetadata: \{name: face, .*?(?=---\napiVersion: v1\nkind: Service)}{}s
    or die 'no face Service in the base mesh';
my $dir = "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh";
GammaTest::gamma_write("$dir/base.yaml", $base);
(my $routes = $main::Routes) =~ s/---\n.*//s;
GammaTest::gamma_write("$dir/routes.yaml", $routes);
$m = GammaAdmin::wait_until(sub {
    my $m = GammaAdmin::metrics();
    return $m->{gamma_snapshot_generation} >= 2
           && !grep({ /faces\/face/ } keys %$m) ? $m : undef;
}, 5);
Test::More::ok($m, 'the new snapshot is served by the worker that answers');
Test::More::is_deeply([grep { /faces\/face/ } keys %{ $m // {} }], [],
                      'no series of the vanished Service and route');
Test::More::is($m->{'gamma_requests_total{service="faces/smiley",route="faces/smiley-route",route_kind="producer",backend="faces/smiley2:18080",status_class="2xx"}'}, 6,
               'the others keep their counts');
Test::More::is($m->{'gamma_requests_total{service="colors/color",route="",route_kind="none",backend="colors/color:18080",status_class="2xx"}'}, 1,
               'passthrough too');
--- request
GET /heart
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.2:18090 GET /heart host=127.10.0.1:18080



=== TEST 4: gamma_metrics_zone off: no request counters, the source state still
--- http_config
    gamma_metrics_zone off;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
my $c = GammaTest::gamma_client(to => '127.10.0.5:18080');
$c->request('GET', '/');
my ($m, $text) = GammaAdmin::metrics();
Test::More::unlike($text, qr/gamma_requests_total/, 'no request counters');
Test::More::is($m->{gamma_source_synced}, 1, 'the source state is there');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- response_body
pod 127.11.0.5:18090 GET / host=127.10.0.5:18080



=== TEST 5: a zone below 256k is refused with its reason
--- http_config
    gamma_metrics_zone tiny 64k;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- must_die
--- error_log
invalid size "64k" in "gamma_metrics_zone", it must be at least 256k



=== TEST 6: a named zone of its own size
--- http_config
    gamma_metrics_zone mesh_metrics 1m;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
my $c = GammaTest::gamma_client(to => '127.10.0.5:18080');
$c->request('GET', '/');
my $m = GammaAdmin::metrics();
Test::More::is($m->{'gamma_zone_size_bytes{zone="mesh_metrics"}'}, 1048576,
               'the zone is the one configured');
Test::More::cmp_ok($m->{'gamma_metrics_series{state="capacity"}'}, '>=', 128,
                   'room for at least 128 label sets in 1m');
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- response_body
pod 127.11.0.5:18090 GET / host=127.10.0.5:18080
