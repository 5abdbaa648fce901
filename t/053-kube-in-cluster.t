# The Kubernetes API source in a pod: the API server from
# KUBERNETES_SERVICE_HOST/_PORT (read at configuration time: nginx clears
# the environment of its workers), and gamma_namespace defaulting to the
# pod's namespace from the service account's namespace file.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;

FakeKube::start();

$ENV{KUBERNETES_SERVICE_HOST} = '127.0.0.1';
$ENV{KUBERNETES_SERVICE_PORT} = $FakeKube::Port;

# the files of the service account: token, ca.crt and namespace
# ("fast-clients") side by side in the fake's directory
FakeKube::gamma_test_source(source => <<'_EOC_');
    gamma_source kubernetes;
    gamma_kubernetes_token_file $TEST_NGINX_KUBE_DIR/token;
    gamma_kubernetes_ca_file $TEST_NGINX_KUBE_DIR/ca.crt;
_EOC_
$GammaTest::HttpConfig =~ s/^\s*gamma_namespace \S+;\n//m
    or die "no gamma_namespace line in GammaTest's configuration";

no_shuffle();
log_level('info');
gamma_mesh_config();

our $Routes = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: producer, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: consumer, namespace: fast-clients}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, namespace: faces}
  rules:
  - backendRefs:
    - {name: face, namespace: faces, port: 18080}
_EOY_

run_tests();

__DATA__

=== TEST 1: the in-cluster API server, and the pod's namespace picks the consumer route
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $main::Routes);
--- init
FakeKube::wait_watches();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route: fast-clients/consumer
X-Gamma-Route-Kind: consumer
X-Gamma-Backend: faces/face:18080
--- no_error_log eval
# a first sync slower than 1 s (a loaded machine) only warns that workers
# answer 503 until it arrives; no other warning
["[error]", qr/\[warn\](?!.*no mesh state after \d+ ms)/]



=== TEST 2: gamma_namespace set in the configuration wins over the pod's
--- http_config
    gamma_namespace other;
--- post_setup_server_root
FakeKube::reset($GammaTest::Base . "---\n" . $main::Routes);
--- init
FakeKube::wait_watches();
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route: faces/producer
X-Gamma-Route-Kind: producer
X-Gamma-Backend: faces/smiley2:18080



=== TEST 3: without the namespace file gamma_namespace has no default, with a warning
--- post_setup_server_root
rename "$FakeKube::Dir/namespace", "$FakeKube::Dir/namespace.off";
FakeKube::reset($GammaTest::Base . "---\n" . $main::Routes);
--- init
FakeKube::wait_watches();
rename "$FakeKube::Dir/namespace.off", "$FakeKube::Dir/namespace";
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Route: faces/producer
X-Gamma-Route-Kind: producer
--- error_log eval
qr{\[warn\] .*the pod's namespace cannot be read from ".*/namespace", "gamma_namespace" has no default}
