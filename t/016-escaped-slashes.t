# The path a request is routed by is the path the backend gets (issue 18,
# item 2; gamma_escaped_slashes).  The finding: "GET /b%2F..%2Fapi/x"
# matched the /api rule (nginx's $uri is decoded and normalised) while the
# backend received "/b%2F..%2Fapi/x"; "/x/%2e%2e/b/y" the same.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

no_shuffle();
log_level('info');
gamma_mesh_config();

our $Routes = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: paths, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - name: api
    matches:
    - path: {type: PathPrefix, value: /api}
    backendRefs:
    - {name: smiley2, port: 18080}
  - name: b
    matches:
    - path: {type: PathPrefix, value: /b}
    backendRefs:
    - {name: face, port: 18080}
  - name: escaped
    matches:
    - path: {type: RegularExpression, value: "/e%2[Ff]x"}
    backendRefs:
    - {name: color, namespace: colors, port: 18080}
  - name: rewrite
    matches:
    - path: {type: PathPrefix, value: /k}
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
    backendRefs:
    - {name: smiley2, port: 18080}
  - name: redirect
    matches:
    - path: {type: PathPrefix, value: /r}
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: example.org}
  - name: rest
    backendRefs:
    - {name: smiley, port: 18080}
_EOY_

our $Files = [["mesh/base.yaml", $GammaTest::Base],
              ["mesh/routes.yaml", $Routes]];

# the Host the pods print
our $H = 'host=127.10.0.1:18080';

run_tests();

__DATA__

=== TEST 1: default (reject): an encoded "/" or "\" or an encoded dot segment gets 400, the finding's two paths among them
--- user_files eval
$main::Files
--- request eval
["GET /b%2F..%2Fapi/x", "GET /x/%2e%2e/b/y", "GET /a%2fb", "GET /a%5Cb",
 "GET /x/.%2E/y", "GET /x/%2e"]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 6]
--- error_code eval
[(400) x 6]
--- error_log eval
qr{\[info\] .*gamma: the path "/[^"]+" has an encoded "/", "\\" or dot segment, answering 400 \(gamma_escaped_slashes reject\)}



=== TEST 2: default (reject): other paths are sent as they were routed: merged slashes, dot segments resolved, escapes decoded (and escaped again where needed); the query string as it came
--- user_files eval
$main::Files
--- request eval
["GET /api//x/./y", "GET /api/%41b%20c?q=%2F..%2F", "GET /x/../b/y",
 "GET /api/x"]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 4]
--- response_body eval
["pod 127.11.0.2:18090 GET /api/x/y $main::H\n",
 "pod 127.11.0.2:18090 GET /api/Ab%20c?q=%2F..%2F $main::H\n",
 "pod 127.11.0.3:18090 GET /b/y $main::H\n",
 "pod 127.11.0.2:18090 GET /api/x $main::H\n"]
--- no_error_log
[error]



=== TEST 3: decode: "%2F" is "/": routed by the decoded, normalised path, and that path is what the backend gets
--- http_config
    gamma_escaped_slashes decode;
--- user_files eval
$main::Files
--- request eval
["GET /b%2F..%2Fapi/x", "GET /x/%2e%2e/b/y", "GET /e%2Fx"]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 3]
--- response_body eval
["pod 127.11.0.2:18090 GET /api/x $main::H\n",
 "pod 127.11.0.3:18090 GET /b/y $main::H\n",
 "pod 127.11.0.1:18090 GET /e/x $main::H\n"]
--- response_headers eval
["X-Gamma-Route: faces/paths\nX-Gamma-Backend: faces/smiley2:18080",
 "X-Gamma-Backend: faces/face:18080",
 "X-Gamma-Backend: faces/smiley:18080"]



=== TEST 4: keep: a path with %2F is routed undecoded (not by /api, not by /b) and sent unchanged; a rule written with the escape matches it; other paths as decode
--- http_config
    gamma_escaped_slashes keep;
--- user_files eval
$main::Files
--- request eval
["GET /b%2F..%2Fapi/x", "GET /e%2fx", "GET /x/%2e%2e/b/y", "GET /api/%2e/x"]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 4]
--- response_body eval
["pod 127.11.0.1:18090 GET /b%2F..%2Fapi/x $main::H\n",
 "pod 127.11.0.5:18090 GET /e%2fx $main::H\n",
 "pod 127.11.0.3:18090 GET /b/y $main::H\n",
 "pod 127.11.0.2:18090 GET /api/x $main::H\n"]
--- response_headers eval
["X-Gamma-Backend: faces/smiley:18080",
 "X-Gamma-Backend: colors/color:18080",
 "X-Gamma-Backend: faces/face:18080",
 "X-Gamma-Backend: faces/smiley2:18080"]



=== TEST 5: keep: URLRewrite and RequestRedirect work on the path as sent: the escape is neither decoded nor escaped twice
--- http_config
    gamma_escaped_slashes keep;
--- user_files eval
$main::Files
--- request eval
["GET /k/a%2Fb?x=1", "GET /r/a%2Fb?x=1"]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 2]
--- error_code eval
[200, 302]
--- response_body_like eval
["^pod 127\\.11\\.0\\.2:18090 GET /new/a%2Fb\\?x=1 ", ""]
--- response_headers eval
["X-Gamma-Backend: faces/smiley2:18080",
 "Location: http://example.org:18080/r/a%2Fb?x=1"]



=== TEST 6: decode: URLRewrite and RequestRedirect work on the decoded path
--- http_config
    gamma_escaped_slashes decode;
--- user_files eval
$main::Files
--- request eval
["GET /k/a%2Fb?x=1", "GET /x/..%2Fr/a?x=1"]
--- more_headers eval
[("X-Test-To: 127.10.0.1:18080") x 2]
--- error_code eval
[200, 302]
--- response_body_like eval
["^pod 127\\.11\\.0\\.2:18090 GET /new/a/b\\?x=1 ", ""]
--- response_headers eval
["X-Gamma-Backend: faces/smiley2:18080",
 "Location: http://example.org:18080/r/a?x=1"]



=== TEST 7: gamma_escaped_slashes takes reject, decode or keep
--- http_config
    gamma_escaped_slashes maybe;
--- user_files eval
$main::Files
--- config
--- must_die
--- error_log
invalid value "maybe"
