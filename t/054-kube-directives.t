# The directives of the Kubernetes API source: what nginx -t refuses.

use Test::Nginx::Socket 'no_plan';

delete $ENV{KUBERNETES_SERVICE_HOST};
delete $ENV{KUBERNETES_SERVICE_PORT};

no_shuffle();
run_tests();

__DATA__

=== TEST 1: gamma_source kubernetes without a URL needs the in-cluster environment
--- http_config
    gamma_source kubernetes;
--- config
--- must_die
--- error_log
"gamma_source kubernetes" without a URL needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT in the environment



=== TEST 2: the kubernetes directives need the kubernetes source
--- http_config
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html;
    gamma_kubernetes_token_file /tmp/token;
--- config
--- must_die
--- error_log
"gamma_kubernetes_*" directives require "gamma_source kubernetes"



=== TEST 3: the backoff is capped at 30 s
--- http_config
    gamma_source kubernetes https://127.0.0.1:6443;
    gamma_kubernetes_backoff 1s 60s;
--- config
--- must_die
--- error_log
invalid "gamma_kubernetes_backoff 1s 60s", it must be "<initial> <max>" with 0 < initial <= max <= 30s



=== TEST 4: a label selector names known resources
--- http_config
    gamma_source kubernetes https://127.0.0.1:6443;
    gamma_kubernetes_label_selector app=x pods;
--- config
--- must_die
--- error_log
unknown resource "pods" in "gamma_kubernetes_label_selector" directive



=== TEST 5: namespaces are DNS labels
--- http_config
    gamma_source kubernetes https://127.0.0.1:6443;
    gamma_kubernetes_namespaces faces Bad_NS;
--- config
--- must_die
--- error_log
invalid namespace "Bad_NS" in "gamma_kubernetes_namespaces" directive



=== TEST 6: a resource gets one selector
--- http_config
    gamma_source kubernetes https://127.0.0.1:6443;
    gamma_kubernetes_label_selector app=x;
    gamma_kubernetes_label_selector app=y services;
--- config
--- must_die
--- error_log
"gamma_kubernetes_label_selector" directive is duplicate



=== TEST 7: a complete configuration loads; an unreachable API server is logged
--- http_config
    gamma_source kubernetes https://127.0.0.1:1/;
    gamma_kubernetes_token_file /nonexistent/token;
    gamma_kubernetes_ca_file /nonexistent/ca.crt;
    gamma_kubernetes_namespaces faces colors;
    gamma_kubernetes_label_selector "mesh in (on, yes)" services httproutes;
    gamma_kubernetes_watch_timeout 10m;
    gamma_kubernetes_stall_timeout 11m;
    gamma_kubernetes_backoff 1s 30s;
    gamma_kubernetes_page_size 100;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- error_log eval
qr{\[error\] .*kubernetes: /api/v1/namespaces/(faces|colors)/services: list failed: }
