# Real interception: iptables REDIRECTs a client's connections to the mesh
# listener, which reads the original destination with SO_ORIGINAL_DST.
# Runs inside a network namespace of its own (needs root, ip, iptables).

BEGIN {
    if (!$ENV{GAMMA_TEST_NETNS}) {
        my $ns = "gamma-t$$";
        my @run = ('ip', 'netns', 'exec', $ns);

        if ($> != 0 || system("ip netns add $ns 2>/dev/null") != 0) {
            print "1..0 # SKIP needs root and network namespaces\n";
            exit 0;
        }

        # clients in 127.20/16 calling 127.50/16 are intercepted; the
        # proxy's own connections (from 127.0.0.1) are not
        my $ok = system(@run, qw(ip link set lo up)) == 0
            && system(@run, qw(iptables -t nat -A OUTPUT -p tcp
                               -s 127.20.0.0/16 -d 127.50.0.0/16
                               -j REDIRECT --to-ports 15001)) == 0;

        my $rc = 1;

        if ($ok) {
            $ENV{GAMMA_TEST_NETNS} = $ns;
            $rc = system(@run, $^X, (map { "-I$_" } grep { !ref } @INC), $0);
        } else {
            print "1..0 # SKIP iptables REDIRECT is not available\n";
            $rc = 0;
        }

        system('ip', 'netns', 'del', $ns);
        exit($rc ? 1 : 0);
    }
}

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

no_shuffle();
log_level('info');
gamma_mesh_config();
run_tests();

__DATA__

=== TEST 1: a redirected connection to a ClusterIP is routed by its original destination
--- http_config
    server {
        listen 15001;
        add_header X-Gamma-Backend $gamma_backend always;
        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }
    }
--- user_files eval
[["mesh/base.yaml", <<'_EOY_']]
apiVersion: v1
kind: Service
metadata: {name: smiley, namespace: faces}
spec:
  clusterIP: 127.50.0.1
  ports:
  - {name: http, port: 80, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: smiley-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: smiley}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.0.1]
_EOY_
--- request
GET /x
--- more_headers
X-Test-From: 127.20.0.9
X-Test-To: 127.50.0.1:80
--- response_body
pod 127.11.0.1:18090 GET /x host=127.50.0.1
--- response_headers
X-Gamma-Backend: faces/smiley:80



=== TEST 2: a redirected connection to no ClusterIP goes on to its destination unchanged
--- http_config
    server {
        listen 15001;
        add_header X-Gamma-Route-Kind $gamma_route_kind always;
        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }
    }
--- user_files
>>> mesh/empty.yaml
# no Services
--- request
GET /y
--- more_headers
X-Test-From: 127.20.0.9
X-Test-To: 127.50.9.9:18090
--- response_body
pod 127.50.9.9:18090 GET /y host=127.50.9.9:18090
--- response_headers
!X-Gamma-Route-Kind
