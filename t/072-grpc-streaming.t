# Streaming through the h2c mesh listener with a real gRPC client and
# server, and a mesh change applied while a channel stays open.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use GammaGrpc;

no_shuffle();
log_level('info');
GammaGrpc::config();
gamma_mesh_config();
GammaGrpc::start();

our $Mesh = $GammaTest::Base . $GammaGrpc::Mesh;

our $Route = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: shop, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: grpc-front}
  rules:
  - matches:
    - method: {service: shop.Feed}
    backendRefs:
    - {name: BACKEND, port: 18070}
_EOY_

sub route {
    my $b = shift;
    (my $r = $Route) =~ s/BACKEND/$b/;
    return $r;
}

run_tests();

__DATA__

=== TEST 1: a server-streaming call passes through intact, every message in order
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", main::route('grpc-a')]]
--- request
GET /grpc/stream?to=127.10.0.20:18070&method=/shop.Feed/WatchStream&n=5
--- response_body
a message 1 of 5
a message 2 of 5
a message 3 of 5
a message 4 of 5
a message 5 of 5
code OK
--- no_error_log
[error]



=== TEST 2: a bidi call: each message goes on and comes back before the next is sent
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", main::route('grpc-b')]]
--- request
GET /grpc/bidi?to=127.10.0.20:18070&method=/shop.Feed/ChatBidi&n=4
--- response_body
b echoes ping 1
b echoes ping 2
b echoes ping 3
b echoes ping 4
code OK
--- no_error_log
[error]



=== TEST 3: streaming calls that match no rule are UNIMPLEMENTED, not a broken stream
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", main::route('grpc-b')]]
--- request eval
["GET /grpc/stream?to=127.10.0.20:18070&method=/shop.Other/WatchStream",
 "GET /grpc/bidi?to=127.10.0.20:18070&method=/shop.Other/ChatBidi"]
--- response_body eval
["code UNIMPLEMENTED\n", "code UNIMPLEMENTED\n"]
--- no_error_log
[error]



=== TEST 4: a route change applies without a reload while the client's channel (one HTTP/2 connection) stays open
--- user_files eval
[["mesh/base.yaml", $main::Mesh], ["mesh/route.yaml", main::route('grpc-a')],
 ["next/route.yaml", main::route('grpc-c')]]
--- request
GET /grpc/change?to=127.10.0.20:18070&method=/shop.Feed/Get&chan=open&src=next/route.yaml&dst=mesh/route.yaml
--- response_body
before a
after c
same connection yes
--- timeout: 10
--- no_error_log
[error]
reconfiguring
