package GammaGrpc;

# The gRPC half of the mesh suites (t/07x-*.t): real gRPC servers and a
# real gRPC client from Debian's python3-grpcio (t/inc/gamma_grpc.py, run
# with /usr/bin/python3), started by a .t file's preamble and stopped at
# its end, all on loopback:
#
#   servers   "front" 127.11.0.20, "a" 127.11.0.21, "b" 127.11.0.22,
#             "c" 127.11.0.23, port $TEST_NGINX_GRPC_POD_PORT (18075)
#   listener  the mesh's h2c listener, port $TEST_NGINX_GRPC_PORT (18070),
#             in the operator form: "listen ... http2; gamma on;
#             gamma_namespace ...; location / { grpc_pass grpc://gamma_mesh; }"
#   client    requests "GET /grpc/<action>?to=<ClusterIP>:18070&method=..."
#             on the test server reach the client gateway
#             ($TEST_NGINX_GRPC_GATEWAY_PORT, 18079), which makes the gRPC
#             calls and answers with what happened (see gamma_grpc.py).
#
# The client's namespace on the gRPC listener is the metadata
# "x-client-ns" (default "default"): grpcio cannot bind a source address.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

$ENV{TEST_NGINX_GRPC_PORT} ||= 18070;
$ENV{TEST_NGINX_GRPC_POD_PORT} ||= 18075;
$ENV{TEST_NGINX_GRPC_GATEWAY_PORT} ||= 18079;

my $script = abs_path(dirname(__FILE__)) . '/gamma_grpc.py';
my $python = '/usr/bin/python3';
my @servers = (front => '127.11.0.20', a => '127.11.0.21',
               b => '127.11.0.22', c => '127.11.0.23');
my $pid;

our $HttpConfig = <<'_EOC_';
    map $http_x_client_ns $gamma_grpc_test_ns {
        ""       default;
        default  $http_x_client_ns;
    }

    # the gRPC mesh listener: h2c with prior knowledge (nginx 1.22 syntax)
    server {
        listen $TEST_NGINX_GRPC_PORT http2;
        gamma on;
        gamma_namespace $gamma_grpc_test_ns;

        # what the mesh decided, as response metadata for the client
        add_header X-Conn $connection always;
        add_header X-Gamma-Route $gamma_route always;
        add_header X-Gamma-Rule $gamma_rule always;
        add_header X-Gamma-Route-Type $gamma_route_type always;
        add_header X-Gamma-Backend $gamma_backend always;
        add_header X-Gamma-Grpc $gamma_grpc_service/$gamma_grpc_method always;
        add_header X-Gamma-Grpc-Status $gamma_grpc_status always;

        location / { grpc_pass grpc://gamma_mesh; }
    }
_EOC_

our $Config = <<'_EOC_';
    # the gRPC client application
    location /grpc/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_GRPC_GATEWAY_PORT/;
        proxy_set_header X-Root $TEST_NGINX_SERVER_ROOT/html;
        proxy_read_timeout 30s;
    }
_EOC_

# Services: grpc-front (127.10.0.20, the parent of the routes), grpc-a,
# grpc-b, grpc-c (backends; grpc-c's port has no appProtocol), grpc-none
# (no ready endpoint).  All in namespace faces, port 18070 -> 18075.
our $Mesh = join '', map { service(@$_) }
    ['grpc-front', '127.10.0.20', '127.11.0.20', 'kubernetes.io/h2c'],
    ['grpc-a', '127.10.0.21', '127.11.0.21', 'kubernetes.io/h2c'],
    ['grpc-b', '127.10.0.22', '127.11.0.22', 'kubernetes.io/h2c'],
    ['grpc-c', '127.10.0.23', '127.11.0.23', undef],
    ['grpc-none', '127.10.0.24', undef, 'kubernetes.io/h2c'];

sub service {
    my ($name, $ip, $pod, $proto) = @_;

    my $ap = defined $proto ? ", appProtocol: $proto" : '';
    my $eps = defined $pod
        ? "- addresses: [$pod]\n  conditions: {ready: true}\n"
        : "- addresses: [127.11.0.29]\n  conditions: {ready: false}\n";
    my ($port, $target) = @ENV{qw(TEST_NGINX_GRPC_PORT
                                  TEST_NGINX_GRPC_POD_PORT)};

    return <<"_EOY_";
---
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: faces}
spec:
  clusterIP: $ip
  ports:
  - {name: grpc, port: $port, targetPort: $target$ap}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: $name}
addressType: IPv4
ports:
- {name: grpc, port: $target}
endpoints:
$eps
_EOY_
}

# Call before GammaTest's gamma_mesh_config(): adds the gRPC listener to
# every block and makes the client location the default config.
sub config {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;

        $block->set_value("http_config",
                          $HttpConfig . ($block->http_config // ''));

        # whichever preprocessor runs first, GammaTest's default client
        # location gives way to the gRPC client's
        if (!defined $block->config
            || $block->config eq $GammaTest::ClientConfig)
        {
            $block->set_value("config", $Config);
        }
    });
}

sub start {
    my @args = ('--gateway', "127.0.0.1:$ENV{TEST_NGINX_GRPC_GATEWAY_PORT}");
    my @pods;

    for (my $i = 0; $i < @servers; $i += 2) {
        my $addr = "$servers[$i + 1]:$ENV{TEST_NGINX_GRPC_POD_PORT}";
        push @args, '--server', "$servers[$i]=$addr";
        push @pods, $addr;
    }

    -x $python or die "GammaGrpc: $python is missing";

    $pid = fork // die "GammaGrpc: fork: $!";

    if ($pid == 0) {
        POSIX::setsid();
        exec $python, $script, @args or POSIX::_exit(127);
    }

    wait_listening("127.0.0.1:$ENV{TEST_NGINX_GRPC_GATEWAY_PORT}", @pods);
}

sub wait_listening {
    my @addrs = @_;
    my $start = time;

    for my $addr (@addrs) {
        while (1) {
            my $s = IO::Socket::INET->new(PeerAddr => $addr, Proto => 'tcp');
            last if $s;
            die "GammaGrpc: nothing listens on $addr after 10 s"
                if time - $start > 10
                   || waitpid($pid, POSIX::WNOHANG()) == $pid;
            sleep 0.05;
        }
    }
}

sub stop {
    return unless $pid;
    local $?;
    kill 'TERM', -$pid;
    waitpid $pid, 0;
    $pid = undef;
}

END { stop() }

1;
