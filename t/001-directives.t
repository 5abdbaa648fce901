# The module loads into stock nginx, and every directive rejects bad
# arguments with an [emerg] that names it.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the module loads and a mesh location serves
--- http_config
    include $TEST_NGINX_GAMMA_CONF/gamma-mesh.conf;
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html/mesh;
    gamma_namespace default;
--- config
    location /mesh {
        include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
    }
    location = /t {
        return 200 "loaded\n";
    }
--- user_files
>>> mesh/empty.yaml
# no objects yet
--- request
GET /t
--- response_body
loaded
--- error_log
gamma: snapshot 1 in service
--- no_error_log
[error]



=== TEST 2: gamma_source rejects an unknown source type
--- http_config
    gamma_source consul:foo;
--- config
--- must_die
--- error_log
invalid value "consul:foo" in "gamma_source" directive, it must be "file:<path>" or "kubernetes [<url>]"



=== TEST 3: gamma_source rejects a file that does not exist
--- http_config
    gamma_source file:/nonexistent/gamma;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*gamma_source "\/nonexistent\/gamma" cannot be read/



=== TEST 4: gamma_source rejects an empty path
--- http_config
    gamma_source file:;
--- config
--- must_die
--- error_log
empty path in "gamma_source" directive



=== TEST 5: gamma_source rejects a second source
--- http_config
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html;
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html;
--- config
--- must_die
--- error_log
"gamma_source" directive is duplicate



=== TEST 6: gamma_source kubernetes wants an https URL
--- http_config
    gamma_source kubernetes http://127.0.0.1:6443;
--- config
--- must_die
--- error_log
invalid API server URL "http://127.0.0.1:6443" in "gamma_source" directive, it must start with "https://"



=== TEST 7: gamma_source rejects extra parameters after a file
--- http_config
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html extra;
--- config
--- must_die
--- error_log
extra parameter "extra" in "gamma_source" directive



=== TEST 8: gamma_namespace rejects a value that is no DNS label
--- http_config
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html;
    gamma_namespace Bad_NS;
--- config
--- must_die
--- error_log
invalid namespace "Bad_NS" in "gamma_namespace" directive



=== TEST 9: gamma_namespace takes variables
--- http_config
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html;
    map $remote_addr $ns { default fast-clients; }
    gamma_namespace $ns;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 10: gamma_namespace takes one argument
--- http_config
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html;
    gamma_namespace a b;
--- config
--- must_die
--- error_log
invalid number of arguments in "gamma_namespace" directive



=== TEST 11: gamma accepts only on and off
--- http_config
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html;
--- config
    location / { gamma maybe; }
--- must_die
--- error_log
invalid value "maybe" in "gamma" directive, it must be "on" or "off"



=== TEST 12: gamma on needs a gamma_source
--- config
    location / { gamma on; }
--- must_die
--- error_log
"gamma on" requires "gamma_source" in the http block



=== TEST 13: gamma is not allowed at http level
--- http_config
    gamma on;
--- config
--- must_die
--- error_log
"gamma" directive is not allowed here



=== TEST 14: gamma_balancer takes no arguments
--- http_config
    upstream u { gamma_balancer round; }
--- config
--- must_die
--- error_log
invalid number of arguments in "gamma_balancer" directive



=== TEST 15: gamma_balancer refuses static servers
--- http_config
    upstream u { gamma_balancer; server 127.0.0.1:1; }
--- config
--- must_die
--- error_log
"server" cannot be used in an upstream with "gamma_balancer"



=== TEST 16: gamma_balancer only inside upstream
--- http_config
    gamma_balancer;
--- config
--- must_die
--- error_log
"gamma_balancer" directive is not allowed here



=== TEST 17: a request that gamma did not route cannot use gamma_balancer
--- http_config
    include $TEST_NGINX_GAMMA_CONF/gamma-mesh.conf;
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html;
--- config
    location /t {
        gamma off;
        proxy_pass http://gamma_mesh;
    }
--- request
GET /t
--- error_code: 500
--- error_log
gamma_balancer: the request was not routed by the mesh
