# The admin page: gamma_status for a browser (Accept: text/html), rendered
# by headless Chromium: it lists the Services, a route with its endpoints
# and a rejected object's reason, without script or external asset.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaAdmin;
use File::Temp qw(tempdir);

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
      - {name: X-Tag, value: "<b>bold</b>"}
    backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: faces}
spec:
  parentRefs: not-a-list
_EOY_

# the page as a browser renders it: a new profile, no network of its own
sub chromium_dom {
    my ($url) = @_;
    my $profile = tempdir(CLEANUP => 1);
    my $dom = `timeout 90 chromium --headless --no-sandbox --disable-gpu \\
               --disable-background-networking --user-data-dir=$profile \\
               --dump-dom '$url' 2>/dev/null`;
    die "chromium failed: exit $?" if $? != 0;
    return $dom;
}

run_tests();

__DATA__

=== TEST 1: headless Chromium renders the page: a known route and its endpoints
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/routes.yaml", $main::Routes]]
--- init
my $dom = main::chromium_dom('http://127.0.0.1:15000/');
Test::More::like($dom, qr{<title>nginx-gamma status</title>}, 'the page');
Test::More::like($dom, qr{<p class="ok" id="sync">Synced: generation 1 from the file source},
                 'the sync state');
Test::More::like($dom, qr{<h3>Service faces/smiley:18080</h3>\s*<p>ClusterIPs: <code>127\.10\.0\.1</code></p>},
                 'a Service with its ClusterIP');
Test::More::like($dom, qr{<tr><td>1</td><td>faces/smiley-route</td><td>faces/smiley-route/rule0</td><td>path PathPrefix <code>/heart</code><br>header Exact <code>x-tag=&lt;b&gt;bold&lt;/b&gt;</code></td><td>none</td><td>none</td><td><code>faces/smiley2:18080</code> \(1\): <code>127\.11\.0\.2:18090</code></td></tr>},
                 'the route, its match (escaped) and its backend with endpoints');
Test::More::like($dom, qr{<h3>Service faces/face:18080</h3>.*?<code>faces/face:18080</code>: <code>127\.11\.0\.3:18090</code>}s,
                 'a Service without routes lists its own endpoints');
Test::More::like($dom, qr{<tr><td>HTTPRoute</td><td>faces/broken</td><td class="bad">invalid</td><td>HTTPRoute faces/broken rejected: spec\.parentRefs: must be an array</td></tr>},
                 'the rejected object with its reason');
Test::More::unlike($dom, qr{<b>bold</b>}, 'user text is no markup');
my $raw = GammaAdmin::get('/status', 'Accept: text/html');
Test::More::is($raw->{headers}{'content-type'}, 'text/html; charset=utf-8',
               'HTML for a browser');
Test::More::unlike($raw->{body}, qr{<script|\bsrc=|<link|https?://}i,
                   'no script, no external asset');
--- request
GET /status?format=html
--- more_headers
X-Test-To: 127.0.0.1:15000
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body_like eval
qr{^<!DOCTYPE html>\n}
