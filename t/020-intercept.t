# Real interception, by the init container's rules: docker/init-iptables.sh
# runs inside a network namespace of this test (no copy of its rules
# here), then a client of another uid than nginx's workers calls Services
# over IPv4 and IPv6; the mesh reads SO_ORIGINAL_DST/IP6T_SO_ORIGINAL_DST.
# Needs root, ip, iptables, ip6tables, curl and setpriv.
#
# nginx's workers run as root (the runner's "user root"), so root is the
# proxy's uid (--proxy-uid 0); the client is "nobody" (65534).  ClusterIPs:
# 127.50.0.0/16 and fd00:50::/64 (on a veth pair inside the namespace,
# where nothing answers: a connection that is not redirected goes nowhere).
# Each block's own request goes through the client location, that is from
# a worker, the proxy's uid: it is never redirected.  The --grpc-ports
# (7070) go to the h2c listener (15002) instead of the mesh port.

BEGIN {
    our @InitArgs = qw(--proxy-uid 0 --mesh-port 15001 --admin-port 15000
                       --exclude-ports 18095 --exclude-cidrs 127.60.0.0/16
                       --grpc-ports 7070 --grpc-port 15002);

    if (!$ENV{GAMMA_TEST_NETNS}) {
        my $ns = "gamma-i$$";
        my @run = ('ip', 'netns', 'exec', $ns);

        if ($> != 0 || system("ip netns add $ns 2>/dev/null") != 0) {
            print "1..0 # SKIP needs root and network namespaces\n";
            exit 0;
        }

        my $ok = system(@run, qw(ip link set lo up)) == 0
            && system(@run, qw(ip link add gv0 type veth peer name gv1)) == 0
            && system(@run, qw(ip link set gv0 up)) == 0
            && system(@run, qw(ip link set gv1 up)) == 0
            && system(@run, qw(ip -6 addr add fd00:50::ff/64 dev gv0
                               nodad)) == 0;

        my $rc = 1;

        if (!$ok) {
            print "1..0 # SKIP no IPv6 in a network namespace\n";
            $rc = 0;

        } else {
            my $out = `@run sh docker/init-iptables.sh @InitArgs 2>&1`;

            if ($? != 0) {
                $out =~ s/^/# /mg;
                print "1..0 # SKIP init-iptables.sh failed here:\n$out";
                $rc = 0;

            } else {
                $ENV{GAMMA_TEST_NETNS} = $ns;
                $ENV{GAMMA_TEST_INIT_OUT} = $out;
                $rc = system(@run, $^X, (map { "-I$_" } grep { !ref } @INC),
                             $0);
            }
        }

        system('ip', 'netns', 'del', $ns);
        exit($rc ? 1 : 0);
    }
}

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

our @InitArgs;

no_shuffle();
log_level('info');
gamma_mesh_config();

# curl as nobody: (status line and headers, body)
sub client {
    my ($url, @curl) = @_;
    my $out = `setpriv --reuid=65534 --regid=65534 --clear-groups \\
               curl -sS -g -i --noproxy '*' --max-time 5 @curl '$url' 2>&1`;
    my ($head, $body) = split /\r\n\r\n/, $out, 2;
    return ($head // '', $body // '');
}

# the packets counted by the rules of GAMMA_OUTPUT, by target and match
sub counters {
    my ($tool) = @_;
    my %n;
    for (`$tool -t nat -L GAMMA_OUTPUT -n -v -x`) {
        my ($pkts, $target, $rest) = /^\s*(\d+)\s+\d+\s+(\S+)\s+(.*)$/
            or next;
        $n{ $rest =~ /owner UID match/ ? 'uid'
            : $rest =~ /redir ports 15002/ ? 'h2c' : $target } += $pkts;
    }
    return \%n;
}

sub rules {
    my $all = `iptables-save -t nat; ip6tables-save -t nat`;
    $all =~ s/^#.*\n//mg;               # dates
    $all =~ s/\[\d+:\d+\]//g;           # counters
    return $all;
}

our $Mesh = <<'_EOY_';
apiVersion: v1
kind: Service
metadata: {name: smiley, namespace: faces}
spec:
  clusterIP: 127.50.0.1
  ports:
  - {name: http, port: 80, targetPort: 18090}
  - {name: grpc, port: 7070, targetPort: 18097, appProtocol: kubernetes.io/h2c}
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
- {name: grpc, port: 18097}
endpoints:
- addresses: [127.11.0.1]
---
apiVersion: v1
kind: Service
metadata: {name: smiley6, namespace: faces}
spec:
  clusterIP: fd00:50::1
  clusterIPs: [fd00:50::1]
  ipFamilies: [IPv6]
  ports:
  - {name: http, port: 80, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: smiley6-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: smiley6}
addressType: IPv6
ports:
- {name: http, port: 18090}
endpoints:
- addresses: ["::1"]
_EOY_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("user_files", [["mesh/base.yaml", $Mesh]])
        unless defined $block->user_files;
    $block->set_value("http_config", ($block->http_config // "") . <<'_EOC_');
    # the sidecar's listener, where the rules send outbound traffic
    server {
        listen 15001;
        listen [::1]:15001;
        add_header X-Mesh yes always;
        add_header X-Gamma-Backend $gamma_backend always;
        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }
    }

    # the sidecar's h2c listener, where the rules send the gRPC ports
    server {
        listen 15002 http2;
        add_header X-Mesh h2c always;
        add_header X-Gamma-Backend $gamma_backend always;
        gamma on;
        location / {
            grpc_pass grpc://gamma_mesh;
        }
    }

    # an h2c pod of smiley
    server {
        listen 127.11.0.1:18097 http2;
        return 200 "h2c pod $server_protocol $request_uri\n";
    }

    # an IPv6 pod
    server {
        listen [::1]:18090;
        return 200 "pod6 [$server_addr]:$server_port $request_uri host=$http_host\n";
    }

    # what answers where the rules let traffic through unchanged
    server {
        listen 18095;
        listen 18096;
        return 200 "direct $server_addr:$server_port\n";
    }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: the script printed what it installed, for both families
--- init
my $out = $ENV{GAMMA_TEST_INIT_OUT};
Test::More::like($out, qr/^init-iptables: iptables: installed$/m,
                 'iptables rules installed');
Test::More::like($out, qr/^init-iptables: ip6tables: installed$/m,
                 'ip6tables rules installed');
Test::More::like($out, qr/-A GAMMA_OUTPUT -m owner --uid-owner 0 -j RETURN/,
                 'the proxy uid is excluded');
Test::More::like($out, qr/-A GAMMA_OUTPUT -d ::1\/128 -j RETURN/,
                 'IPv6 loopback is excluded');
Test::More::like($out, qr/-A GAMMA_OUTPUT -p tcp -m tcp --dport 15002 -j RETURN\n(?:.*\n)*?    -A GAMMA_OUTPUT -p tcp -m tcp --dport 7070 -j REDIRECT --to-ports 15002\n    -A GAMMA_OUTPUT -p tcp -j REDIRECT --to-ports 15001$/m,
                 'the h2c listener is excluded, the gRPC port goes there, before the rest');
Test::More::like(`iptables -t nat -S OUTPUT`, qr/^-A OUTPUT -p tcp -j GAMMA_OUTPUT$/m,
                 'OUTPUT jumps to GAMMA_OUTPUT');
Test::More::unlike(`iptables -t nat -S PREROUTING`, qr/GAMMA/,
                   'inbound is left alone');
--- request
GET /
--- more_headers
X-Test-To: 127.50.0.1:18096
--- response_body
direct 127.50.0.1:18096
--- response_headers
!X-Mesh



=== TEST 2: IPv4: a client's connection to a ClusterIP is redirected; the proxy's own upstream connection is not
--- init
GammaTest::gamma_wait_synced();
system('iptables -t nat -Z GAMMA_OUTPUT');
my ($head, $body) = main::client('http://127.50.0.1/x');
Test::More::like($head, qr{^HTTP/1.1 200 }, 'the client gets 200');
Test::More::like($head, qr{^X-Gamma-Backend: faces/smiley:80\r?$}m,
                 'routed by the original destination');
Test::More::is($body, "pod 127.11.0.1:18090 GET /x host=127.50.0.1\n",
               'the pod answers');
my $n = main::counters('iptables');
Test::More::is($n->{REDIRECT}, 1, "the client's connection was redirected");
Test::More::is($n->{uid}, 1,
               "the proxy's connection to the pod passed the uid rule");
--- request
GET /
--- more_headers
X-Test-To: 127.50.0.1:80
--- error_code: 502
--- error_log
connect() failed (111: Connection refused) while connecting to upstream



=== TEST 3: IPv6: redirected by ip6tables, routed by IP6T_SO_ORIGINAL_DST
--- init
GammaTest::gamma_wait_synced();
system('ip6tables -t nat -Z GAMMA_OUTPUT');
my ($head, $body) = main::client('http://[fd00:50::1]/six');
Test::More::like($head, qr{^HTTP/1.1 200 }, 'the client gets 200');
Test::More::like($head, qr{^X-Gamma-Backend: faces/smiley6:80\r?$}m,
                 'routed to the IPv6 Service');
Test::More::is($body, "pod6 [::1]:18090 /six host=[fd00:50::1]\n",
               'the IPv6 pod answers');
my $n = main::counters('ip6tables');
Test::More::is($n->{REDIRECT}, 1, "the client's connection was redirected");
Test::More::is($n->{uid}, 1,
               "the proxy's connection to the pod passed the uid rule");
--- request
GET /
--- more_headers
X-Test-To: 127.50.0.1:18096
--- response_body
direct 127.50.0.1:18096
--- response_headers
!X-Mesh



=== TEST 4: excluded ports and CIDRs bypass the proxy; other destinations go through it
--- init
my ($head, $body) = main::client('http://127.50.0.1:18095/');
Test::More::is($body, "direct 127.50.0.1:18095\n", 'excluded port answered');
Test::More::unlike($head, qr/^X-Mesh:/m, 'excluded port: not through the proxy');
($head, $body) = main::client('http://127.60.0.1:18096/');
Test::More::is($body, "direct 127.60.0.1:18096\n", 'excluded CIDR answered');
Test::More::unlike($head, qr/^X-Mesh:/m, 'excluded CIDR: not through the proxy');
($head, $body) = main::client('http://127.50.0.1:18096/');
Test::More::is($body, "direct 127.50.0.1:18096\n",
               'not a Service: goes on to its destination');
Test::More::like($head, qr/^X-Mesh: yes\r?$/m, 'through the proxy');
--- request
GET /
--- more_headers
X-Test-To: 127.50.0.1:18096
--- response_body
direct 127.50.0.1:18096
--- response_headers
!X-Mesh



=== TEST 5: a second run of the script changes no rule
--- init
my $before = main::rules();
my $out = `sh docker/init-iptables.sh @main::InitArgs 2>&1`;
Test::More::is($?, 0, 'the second run succeeds');
Test::More::like($out, qr/^init-iptables: iptables: unchanged$/m,
                 'iptables: unchanged');
Test::More::like($out, qr/^init-iptables: ip6tables: unchanged$/m,
                 'ip6tables: unchanged');
Test::More::is(main::rules(), $before, 'iptables-save shows the same rules');
Test::More::like($before, qr/-A GAMMA_OUTPUT -p tcp -j REDIRECT --to-ports 15001/,
                 'the rules compared are the installed ones');
--- request
GET /
--- more_headers
X-Test-To: 127.50.0.1:18096
--- response_body
direct 127.50.0.1:18096
--- response_headers
!X-Mesh



=== TEST 6: a gRPC port (--grpc-ports) goes to the h2c listener, over h2c to the Service's h2c pod
--- init
GammaTest::gamma_wait_synced();
system('iptables -t nat -Z GAMMA_OUTPUT');
my ($head, $body) = main::client('http://127.50.0.1:7070/pkg.Svc/Get',
                                 '--http2-prior-knowledge');
Test::More::like($head, qr{^HTTP/2 200}, 'the client gets 200 over h2c');
Test::More::like($head, qr{^x-mesh: h2c\r?$}mi, 'through the h2c listener');
Test::More::like($head, qr{^x-gamma-backend: faces/smiley:7070\r?$}mi,
                 'routed by the original destination');
Test::More::is($body, "h2c pod HTTP/2.0 /pkg.Svc/Get\n",
               'the h2c pod answers');
my $n = main::counters('iptables');
Test::More::is($n->{h2c}, 1, "the client's connection went to 15002");
Test::More::is($n->{REDIRECT} // 0, 0, 'none went to the mesh port');
--- request
GET /
--- more_headers
X-Test-To: 127.50.0.1:18096
--- response_body
direct 127.50.0.1:18096
--- response_headers
!X-Mesh
