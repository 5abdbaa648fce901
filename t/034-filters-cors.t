# HTTPRoute filters: CORS (GEP-1767).  Preflights are answered by the
# proxy; other requests from an allowed origin get the CORS response
# headers on the backend's answer.
#
# A request that reads a log the previous request writes is sent as two
# packets, ["GET ", {value => "/path", delay_before => 0.3}]: its path
# goes 0.3 s after its method (Test::Nginx sends a first packet at once,
# whatever its delay_before).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaEcho;

no_shuffle();
log_level('info');
GammaEcho::start();
GammaEcho::log_location();
# Test::Nginx runs block preprocessors last registered first: the mesh's
# one, which gives a block without --- config the client location, goes
# last so that it runs before the ones that add locations.
gamma_mesh_config();

our $Mesh = $GammaTest::Base . $GammaEcho::Mesh;

our $Routes = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - matches: [{path: {type: PathPrefix, value: /cors-1}}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
        allowMethods: [GET, OPTIONS]
        allowHeaders: [x-header-1, x-header-2]
        exposeHeaders: [x-header-3, x-header-4]
        allowCredentials: true
        maxAge: 3600
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /cors-2}}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com"]
        allowMethods: ["*"]
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /star}}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["*"]
        allowMethods: ["*"]
        allowHeaders: ["*"]
        exposeHeaders: ["*"]
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /cred}}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["http://*"]
        exposeHeaders: ["*"]
        allowCredentials: true
    backendRefs:
    - {name: echo, port: 18080}
_EOY_

run_tests();

__DATA__

=== TEST 1: a preflight from an allowed origin is answered by the proxy with every CORS header
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- init
GammaEcho::reset();
--- request eval
["OPTIONS /cors-1/x", ["GET ", {value => "/echo-log/127.11.0.6.log", delay_before => 0.2}]]
--- more_headers eval
["X-Test-To: 127.10.0.6:18080
Origin: https://www.foo.com
Access-Control-Request-Method: GET
Access-Control-Request-Headers: x-header-1, x-header-2", ""]
--- error_code eval
[200, 404]
--- response_headers eval
["Access-Control-Allow-Origin: https://www.foo.com
Access-Control-Allow-Methods: GET, OPTIONS
Access-Control-Allow-Headers: x-header-1, x-header-2
Access-Control-Expose-Headers: x-header-3, x-header-4
Access-Control-Max-Age: 3600
Access-Control-Allow-Credentials: true
Vary: Origin
Content-Length: 0", ""]
--- response_body eval
["", qr/404 Not Found/]
--- no_error_log
[error]



=== TEST 2: wildcard origins match any labels to the left; scheme and port must match; others get no CORS headers
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
[("OPTIONS /cors-1") x 7]
--- more_headers eval
[map { "X-Test-To: 127.10.0.6:18080\nAccess-Control-Request-Method: GET\nOrigin: $_" }
 "https://www.bar.com", "https://xpto.www.bar.com", "https://www.foo.com:443",
 "https://foobar.com", "https://bar.com", "http://www.foo.com",
 "https://www.foo.com:8443"]
--- error_code eval
[(200) x 7]
--- response_headers eval
["Access-Control-Allow-Origin: https://www.bar.com\nAccess-Control-Allow-Methods: GET, OPTIONS",
 "Access-Control-Allow-Origin: https://xpto.www.bar.com",
 "Access-Control-Allow-Origin: https://www.foo.com:443",
 "!Access-Control-Allow-Origin\n!Access-Control-Allow-Methods\n!Access-Control-Max-Age",
 "!Access-Control-Allow-Origin",
 "!Access-Control-Allow-Origin",
 "!Access-Control-Allow-Origin"]



=== TEST 3: an actual request goes to the backend and gets Allow-Origin, Allow-Credentials and Expose-Headers
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["GET /cors-1", "GET /cors-1", "OPTIONS /cors-1", "GET /cors-1"]
--- more_headers eval
["X-Test-To: 127.10.0.6:18080\nOrigin: https://a.bar.com",
 "X-Test-To: 127.10.0.6:18080\nOrigin: https://foobar.com",
 "X-Test-To: 127.10.0.6:18080\nOrigin: https://a.bar.com",
 "X-Test-To: 127.10.0.6:18080"]
--- response_headers eval
["Access-Control-Allow-Origin: https://a.bar.com
Access-Control-Allow-Credentials: true
Access-Control-Expose-Headers: x-header-3, x-header-4
Vary: Origin
X-Backend-A: a
!Access-Control-Allow-Methods
!Access-Control-Max-Age",
 "!Access-Control-Allow-Origin\n!Access-Control-Allow-Credentials\nX-Backend-A: a",
 "Access-Control-Allow-Origin: https://a.bar.com\nX-Backend-A: a",
 "!Access-Control-Allow-Origin\n!Vary\nX-Backend-A: a"]
--- response_body eval
["echo 127.11.0.6:18092\nGET /cors-1 HTTP/1.1\nHost: 127.10.0.6:18080\nOrigin: https://a.bar.com\n",
 "echo 127.11.0.6:18092\nGET /cors-1 HTTP/1.1\nHost: 127.10.0.6:18080\nOrigin: https://foobar.com\n",
 "echo 127.11.0.6:18092\nOPTIONS /cors-1 HTTP/1.1\nHost: 127.10.0.6:18080\nOrigin: https://a.bar.com\n",
 "echo 127.11.0.6:18092\nGET /cors-1 HTTP/1.1\nHost: 127.10.0.6:18080\n"]



=== TEST 4: wildcard methods and headers echo what the preflight asks for; no credentials header unless allowed
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["OPTIONS /cors-2", "OPTIONS /star", "OPTIONS /star", "GET /star"]
--- more_headers eval
["X-Test-To: 127.10.0.6:18080\nOrigin: https://www.foo.com\nAccess-Control-Request-Method: POST",
 "X-Test-To: 127.10.0.6:18080\nOrigin: https://foobar.com:12345\nAccess-Control-Request-Method: PUT\nAccess-Control-Request-Headers: X-Y, X-Z",
 "X-Test-To: 127.10.0.6:18080\nOrigin: https://foobar.com\nAccess-Control-Request-Method: PUT",
 "X-Test-To: 127.10.0.6:18080\nOrigin: https://foobar.com"]
--- response_headers eval
["Access-Control-Allow-Origin: https://www.foo.com
Access-Control-Allow-Methods: POST
Access-Control-Max-Age: 5
!Access-Control-Allow-Headers
!Access-Control-Allow-Credentials",
 "Access-Control-Allow-Origin: https://foobar.com:12345
Access-Control-Allow-Methods: PUT
Access-Control-Allow-Headers: X-Y, X-Z
Access-Control-Expose-Headers: *
!Access-Control-Allow-Credentials",
 "Access-Control-Allow-Origin: https://foobar.com
Access-Control-Allow-Methods: PUT
!Access-Control-Allow-Headers",
 "Access-Control-Allow-Origin: https://foobar.com
Access-Control-Expose-Headers: *
!Access-Control-Allow-Methods"]



=== TEST 5: with credentials a wildcard exposeHeaders names the response's headers; "http://*" is any host on port 80
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request
GET /cred
--- more_headers
X-Test-To: 127.10.0.6:18080
Origin: http://app.example
Cookie: a=b
--- response_headers
Access-Control-Allow-Origin: http://app.example
Access-Control-Allow-Credentials: true
Access-Control-Expose-Headers: X-Backend-A, X-Backend-B, Cache-Control



=== TEST 6: "http://*" does not allow another port
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request
GET /cred
--- more_headers
X-Test-To: 127.10.0.6:18080
Origin: http://app.example:8080
--- response_headers
!Access-Control-Allow-Origin
!Access-Control-Allow-Credentials
X-Backend-A: a
