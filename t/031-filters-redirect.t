# HTTPRoute filters: RequestRedirect.  Location is built from the filter's
# scheme, hostname, port and path, else from the request: the Host header
# without its port, the Service port the client called (left out when it
# is the scheme's default), the path as sent, the query string kept.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaEcho;

no_shuffle();
log_level('info');
gamma_mesh_config();
GammaEcho::start();

our $Mesh = $GammaTest::Base . $GammaEcho::Mesh;

our $Routes = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redirects, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - matches: [{path: {type: PathPrefix, value: /default}}]
    filters:
    - {type: RequestRedirect, requestRedirect: {}}
  - matches: [{path: {type: PathPrefix, value: /host}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: example.com, statusCode: 301}
  - matches: [{path: {type: PathPrefix, value: /https}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https}
  - matches: [{path: {type: PathPrefix, value: /https-port}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, port: 8443}
  - matches: [{path: {type: PathPrefix, value: /https-443}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, port: 443}
  - matches: [{path: {type: PathPrefix, value: /http}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: http, hostname: example.com}
  - matches: [{path: {type: PathPrefix, value: /port80}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {port: 80}
  - matches: [{path: {type: PathPrefix, value: /port}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {port: 9090, statusCode: 308}
  - matches: [{path: {type: PathPrefix, value: /full}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        statusCode: 303
        path: {type: ReplaceFullPath, replaceFullPath: /new/full}
  - matches: [{path: {type: PathPrefix, value: /prefix}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        statusCode: 307
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /other/}
  - matches: [{path: {type: PathPrefix, value: /strip}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
_EOY_

run_tests();

__DATA__

=== TEST 1: defaults: 302, the Host without its port, the Service port called, the path and query as sent
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["GET /default/x?a=1&b=%20", "GET /default", "GET /default/sp%20ace?q"]
--- more_headers eval
["X-Test-To: 127.10.0.6:18080", "X-Test-To: 127.10.0.6:18081",
 "X-Test-To: 127.10.0.6:18080"]
--- error_code eval
[302, 302, 302]
--- response_headers eval
["Location: http://127.10.0.6:18080/default/x?a=1&b=%20",
 "Location: http://127.10.0.6:18081/default",
 "Location: http://127.10.0.6:18080/default/sp%20ace?q"]
--- no_error_log
[error]



=== TEST 2: hostname, scheme and port; the scheme's default port is left out
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["GET /host/h", "GET /https?s=1", "GET /https-port", "GET /https-443",
 "GET /http", "GET /port80", "GET /port"]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 7]
--- error_code eval
[301, 302, 302, 302, 302, 302, 308]
--- response_headers eval
["Location: http://example.com:18080/host/h",
 "Location: https://127.10.0.6/https?s=1",
 "Location: https://127.10.0.6:8443/https-port",
 "Location: https://127.10.0.6/https-443",
 "Location: http://example.com/http",
 "Location: http://127.10.0.6/port80",
 "Location: http://127.10.0.6:9090/port"]



=== TEST 3: ReplaceFullPath and ReplacePrefixMatch, with 303 and 307
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["GET /full/x?k=v", "GET /prefix", "GET /prefix/", "GET /prefix/one?x",
 "GET /strip", "GET /strip/", "GET /strip/one/two"]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 7]
--- error_code eval
[303, 307, 307, 307, 302, 302, 302]
--- response_headers eval
["Location: http://127.10.0.6:18080/new/full?k=v",
 "Location: http://127.10.0.6:18080/other",
 "Location: http://127.10.0.6:18080/other/",
 "Location: http://127.10.0.6:18080/other/one?x",
 "Location: http://127.10.0.6:18080/",
 "Location: http://127.10.0.6:18080/",
 "Location: http://127.10.0.6:18080/one/two"]



=== TEST 4: a client's own Host name is kept, without its port
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- config
    location / {
        proxy_pass http://127.10.0.6:18080;
        proxy_set_header Host $http_host;
    }
--- request
GET /default
--- more_headers
Host: Echo.Faces:8080
--- error_code: 302
--- response_headers
Location: http://echo.faces:18080/default



=== TEST 5: no Host header (HTTP/1.0): the Service's own name
An HTTP/1.0 request without Host, written on the socket: nginx's proxy
cannot send one (1.31.4 turns an empty Host into $proxy_host).  The
redirect names the Service, and so does the Host a backend gets.
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- init
my $get = sub {
    my ($to, $path) = @_;
    my ($host, $port) = split /:/, $to;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Timeout => 5) or die "connect $to: $!";
    print $s "GET $path HTTP/1.0\r\n\r\n";
    my $res = GammaTest::read_response($s, 'GET');
    close $s;
    return $res;
};
GammaTest::gamma_wait_synced();
my $res = $get->('127.10.0.6:18080', '/default');
Test::More::is($res->{status}, 302, 'HTTP/1.0 without Host: redirected');
Test::More::is($res->{headers}{location},
               'http://echo.faces.svc:18080/default',
               'Location names the Service');
$res = $get->('127.10.0.3:18080', '/x');
Test::More::is($res->{body},
               "pod 127.11.0.3:18090 GET /x host=face.faces.svc:18080\n",
               'the backend gets the Service name as Host');
--- request
GET /default
--- more_headers
X-Test-To: 127.10.0.6:18080
--- error_code: 302
--- response_headers
Location: http://127.10.0.6:18080/default



=== TEST 6: a redirect from a consumer route applies to its namespace only
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: to-face, namespace: fast-clients}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, namespace: faces}
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        hostname: face.faces.svc.cluster.local
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
        statusCode: 301
  - backendRefs:
    - {name: smiley, namespace: faces, port: 18080}
_EOY_
--- request eval
["GET /old/page?v=2", "GET /old/page?v=2", "GET /other"]
--- more_headers eval
["X-Test-From: 127.20.0.1\nX-Test-To: 127.10.0.1:18080",
 "X-Test-From: 127.20.0.2\nX-Test-To: 127.10.0.1:18080",
 "X-Test-From: 127.20.0.1\nX-Test-To: 127.10.0.1:18080"]
--- error_code eval
[301, 200, 200]
--- response_headers eval
["Location: http://face.faces.svc.cluster.local:18080/new/page?v=2\nX-Gamma-Route: fast-clients/to-face\nX-Gamma-Route-Kind: consumer",
 "!Location\nX-Gamma-Route-Kind: none",
 "!Location\nX-Gamma-Route: fast-clients/to-face"]
--- response_body eval
[qr/301 Moved Permanently/,
 "pod 127.11.0.1:18090 GET /old/page?v=2 host=127.10.0.1:18080\n",
 "pod 127.11.0.1:18090 GET /other host=127.10.0.1:18080\n"]
