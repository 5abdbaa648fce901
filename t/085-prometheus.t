# A real Prometheus server (Debian's prometheus) scrapes the admin
# listener every second and answers a PromQL query on what it scraped.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaAdmin;
use File::Temp qw(tempdir);
use JSON::PP ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

no_shuffle();
log_level('info');

$GammaTest::HttpConfig .= $GammaAdmin::Include;

gamma_mesh_config();

our $PromAddr = '127.0.0.1:19095';
our ($PromPid, $PromDir);

# started once for the file; stopped (by its pid) when the file ends
sub start_prometheus {
    $PromDir = tempdir(CLEANUP => 1);

    open my $fh, '>', "$PromDir/prometheus.yml" or die "$!";
    print $fh <<"_EOC_";
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: gamma
  static_configs:
  - targets: ['$GammaAdmin::Addr']
_EOC_
    close $fh;

    $PromPid = fork // die "fork: $!";

    if ($PromPid == 0) {
        open STDOUT, '>', "$PromDir/prometheus.log";
        open STDERR, '>&', \*STDOUT;
        exec 'prometheus', "--config.file=$PromDir/prometheus.yml",
             "--storage.tsdb.path=$PromDir/data",
             "--web.listen-address=$PromAddr";
        exit 127;
    }

    my $ok = GammaAdmin::wait_until(sub { prom_get('/-/ready') }, 20);
    die "prometheus did not start:\n" . `cat $PromDir/prometheus.log`
        unless $ok;
}

sub prom_get {
    my ($path) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $PromAddr, Timeout => 5)
        or return undef;
    print $sock "GET $path HTTP/1.1\r\nHost: $PromAddr\r\n"
                . "Connection: close\r\n\r\n";
    my $res = GammaTest::read_response($sock, 'GET');
    return $res->{status} == 200 ? $res->{body} : undef;
}

# the value of an instant PromQL query with one result, or undef
sub promql {
    my ($q) = @_;
    $q =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    my $body = prom_get("/api/v1/query?query=$q") // return undef;
    my $r = JSON::PP::decode_json($body);
    return undef unless $r->{status} eq 'success'
                        && @{ $r->{data}{result} } == 1;
    return $r->{data}{result}[0]{value}[1];
}

END {
    if ($PromPid) {
        kill 'TERM', $PromPid;
        waitpid $PromPid, 0;
    }
}

start_prometheus();
run_tests();

__DATA__

=== TEST 1: Prometheus scrapes the metrics and answers PromQL on them
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, port: 18080}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
_EOY_
--- init
for (1 .. 12) {
    my $c = GammaTest::gamma_client(to => '127.10.0.1:18080');
    $c->request('GET', '/');
    $c->close;
}
my $q = 'sum(gamma_requests_total{service="faces/smiley",'
        . 'route="faces/smiley-route",status_class="2xx"})';
my $v = GammaAdmin::wait_until(sub { my $v = main::promql($q);
                                     defined $v && $v == 12 ? $v : undef },
                               20);
Test::More::is($v, 12, "PromQL: $q");
Test::More::is(main::promql('up{job="gamma"}'), 1, 'the target is up');
Test::More::is(main::promql('gamma_source_synced'), 1, 'gamma_source_synced');
my $p = main::promql('histogram_quantile(0.5, sum by (le) '
                     . '(gamma_request_duration_seconds_bucket{service="faces/smiley"}))');
Test::More::ok(defined $p && $p >= 0 && $p <= 0.005,
               'histogram_quantile over the buckets: ' . ($p // 'none'));
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.2:18090 GET / host=127.10.0.1:18080
