# HTTPRoute filters: URLRewrite.  The backend sees the rewritten path (the
# query string kept) and the rewritten Host; ReplacePrefixMatch works
# segment by segment with the trailing-slash rules of the API.

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
metadata: {name: rewrites, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - matches: [{path: {type: PathPrefix, value: /full}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplaceFullPath, replaceFullPath: /replaced}
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /prefix}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /p2}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /other/}
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /foo/}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /xyz}
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /enc}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: "/d%20st"}
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /host}}]
    filters:
    - type: URLRewrite
      urlRewrite: {hostname: rewritten.faces.svc}
    backendRefs:
    - {name: echo, port: 18080}
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs:
    - {name: echo, port: 18080}
_EOY_

run_tests();

__DATA__

=== TEST 1: ReplaceFullPath replaces the whole path and keeps the query string
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request
GET /full/a/b?x=1&y=%2F
--- more_headers
X-Test-To: 127.10.0.6:18080
--- response_body
echo 127.11.0.6:18092
GET /replaced?x=1&y=%2F HTTP/1.1
Host: 127.10.0.6:18080
--- no_error_log
[error]



=== TEST 2: ReplacePrefixMatch "/": /prefix and /prefix/ become /, /prefix/one becomes /one, /prefixed is no match
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["GET /prefix", "GET /prefix/", "GET /prefix/one", "GET /prefix/one/two?q=1",
 "GET /prefixed"]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 5]
--- response_body eval
["echo 127.11.0.6:18092\nGET / HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET / HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /one HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /one/two?q=1 HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /prefixed HTTP/1.1\nHost: 127.10.0.6:18080\n"]



=== TEST 3: ReplacePrefixMatch "/other/": the replacement's trailing slash does not double
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["GET /p2", "GET /p2/", "GET /p2/one", "GET /p2/one/"]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 4]
--- response_body eval
["echo 127.11.0.6:18092\nGET /other HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /other/ HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /other/one HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /other/one/ HTTP/1.1\nHost: 127.10.0.6:18080\n"]



=== TEST 4: a match prefix with a trailing slash; escapes decoded and sent again escaped
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["GET /foo/bar", "GET /foo", "GET /enc/a%20b?c=%20", "GET /enc"]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 4]
--- response_body eval
["echo 127.11.0.6:18092\nGET /xyz/bar HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /xyz HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /d%20st/a%20b?c=%20 HTTP/1.1\nHost: 127.10.0.6:18080\n",
 "echo 127.11.0.6:18092\nGET /d%20st HTTP/1.1\nHost: 127.10.0.6:18080\n"]



=== TEST 5: hostname is the Host the backend sees
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", $main::Routes]]
--- request eval
["GET /host/x", "GET /nohost"]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 2]
--- response_body eval
["echo 127.11.0.6:18092\nGET /host/x HTTP/1.1\nHost: rewritten.faces.svc\n",
 "echo 127.11.0.6:18092\nGET /nohost HTTP/1.1\nHost: 127.10.0.6:18080\n"]



=== TEST 6: a backendRef's URLRewrite applies to that backend only
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rewrites, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs:
    - name: echo
      port: 18080
      filters:
      - type: URLRewrite
        urlRewrite:
          hostname: v2.faces
          path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}
    - {name: shadow, port: 18080}
_EOY_
--- request eval
[("GET /api/list?all") x 20]
--- more_headers eval
[("X-Test-To: 127.10.0.6:18080") x 20]
--- response_body_like eval
[(qr{\Aecho 127\.11\.0\.6:18092\nGET /v2/list\?all HTTP/1\.1\nHost: v2\.faces\n\z|\Aecho 127\.11\.0\.7:18092\nGET /api/list\?all HTTP/1\.1\nHost: 127\.10\.0\.6:18080\n\z}) x 20]



=== TEST 7: the standard pods see the rewritten path and Host too
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/routes.yaml", <<'_EOY_']]
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-rewrite, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        hostname: smiley2.faces
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
    backendRefs:
    - {name: smiley2, port: 18080}
_EOY_
--- request
GET /old/x?y=1
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_body
pod 127.11.0.2:18090 GET /new/x?y=1 host=smiley2.faces
