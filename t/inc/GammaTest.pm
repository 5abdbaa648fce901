package GammaTest;

# Shared set-up for the mesh suites: the shipped configuration (conf/),
# a mesh listener, "pods" and a client that can pick its source address
# and destination, all inside the nginx under test.  Works with CPAN's
# Test::Nginx::Socket as well as with the bundled runner.
#
# A block supplies its manifests as user_files under "mesh/" and talks to
# a Service through the client location on the test port:
#
#   --- more_headers
#   X-Test-From: 127.20.0.1          (the client's address: its namespace)
#   X-Test-To: 127.10.0.1:18080      (the ClusterIP:port it calls)
#
# Addresses: ClusterIPs 127.10.x.x, pods 127.11.x.x answering on the pod
# ports, clients 127.20.0.x:
#   127.20.0.1 fast-clients, 127.20.0.2 slow-clients, 127.20.0.3 faces,
#   any other address: namespace "default".

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);


use Exporter 'import';
our @EXPORT = qw(gamma_client gamma_write gamma_mesh_config gamma_wait_synced
                 gamma_processes gamma_mapped_files);

my $root = abs_path(dirname(__FILE__) . '/../..');

$ENV{TEST_NGINX_GAMMA_CONF} ||= "$root/conf";
$ENV{TEST_NGINX_MESH_PORT} ||= 18080;
$ENV{TEST_NGINX_MESH_PORT2} ||= 18081;
$ENV{TEST_NGINX_POD_PORT} ||= 18090;
$ENV{TEST_NGINX_POD_PORT2} ||= 18091;
$ENV{TEST_NGINX_DEAD_PORT} ||= 18099;

our $HttpConfig = <<'_EOC_';
    include $TEST_NGINX_GAMMA_CONF/gamma-mesh.conf;
    include $TEST_NGINX_GAMMA_CONF/gamma-log.conf;
    gamma_source file:$TEST_NGINX_SERVER_ROOT/html/mesh;

    map $remote_addr $gamma_test_ns {
        127.20.0.1  fast-clients;
        127.20.0.2  slow-clients;
        127.20.0.3  faces;
        default     default;
    }

    gamma_namespace $gamma_test_ns;

    access_log $TEST_NGINX_SERVER_ROOT/logs/mesh.log gamma_mesh;

    # the mesh listener: every 127.x.y.z on these ports
    server {
        listen $TEST_NGINX_MESH_PORT;
        listen $TEST_NGINX_MESH_PORT2;

        # what the mesh decided, for the tests to see
        add_header X-Gamma-Service $gamma_service always;
        add_header X-Gamma-Route $gamma_route always;
        add_header X-Gamma-Route-Kind $gamma_route_kind always;
        add_header X-Gamma-Backend $gamma_backend always;
        add_header X-Gamma-Attempts $gamma_attempts always;
        add_header X-Gamma-Timeout $gamma_timeout always;
        add_header X-Gamma-Generation $gamma_generation always;
        add_header X-Gamma-Zone-Used $gamma_zone_used always;
        add_header X-Gamma-Policy $gamma_policy always;

        location / {
            include $TEST_NGINX_GAMMA_CONF/gamma-proxy.conf;
        }
    }

    # the pods: the answer names the pod and what it received
    server {
        listen $TEST_NGINX_POD_PORT;
        access_log off;
        set $pod "pod $server_addr:$server_port";
        return 200 "$pod $request_method $request_uri host=$http_host\n";
    }

    server {
        listen $TEST_NGINX_POD_PORT2;
        access_log off;
        set $pod "pod2 $server_addr:$server_port";
        return 200 "$pod $request_method $request_uri\n";
    }

    map $http_x_test_to $gamma_test_to {
        ""       127.10.0.1:$TEST_NGINX_MESH_PORT;
        default  $http_x_test_to;
    }
_EOC_

our $ClientConfig = <<'_EOC_';
    # the client application: calls a Service from a chosen address
    # HTTP/1.1 on every nginx: the default was 1.0 before nginx 1.29.7
    location / {
        proxy_bind $http_x_test_from;
        proxy_pass http://$gamma_test_to;
        proxy_http_version 1.1;
        proxy_set_header X-Test-From "";
        proxy_set_header X-Test-To "";
    }
_EOC_

# The mesh most blocks start from.
our $Base = <<'_EOY_';
apiVersion: v1
kind: Service
metadata: {name: smiley, namespace: faces}
spec:
  clusterIP: 127.10.0.1
  ports:
  - {name: http, port: 18080, targetPort: 18090}
  - {name: admin, port: 18081, targetPort: 18091}
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
- {name: admin, port: 18091}
endpoints:
- addresses: [127.11.0.1]
  conditions: {ready: true}
---
apiVersion: v1
kind: Service
metadata: {name: smiley2, namespace: faces}
spec:
  clusterIP: 127.10.0.2
  ports:
  - {name: http, port: 18080, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: smiley2-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: smiley2}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.0.2]
---
apiVersion: v1
kind: Service
metadata: {name: face, namespace: faces}
spec:
  clusterIP: 127.10.0.3
  ports:
  - {name: http, port: 18080, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: face-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: face}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.0.3]
  conditions: {ready: true}
- addresses: [127.11.0.9]
  conditions: {ready: false}
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: faces}
spec:
  clusterIP: 127.10.0.4
  ports:
  - {name: http, port: 18080, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: empty-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: empty}
addressType: IPv4
ports:
- {name: http, port: 18090}
endpoints:
- addresses: [127.11.0.8]
  conditions: {ready: false}
---
apiVersion: v1
kind: Service
metadata: {name: color, namespace: colors}
spec:
  clusterIP: 127.10.0.5
  ports:
  - {name: web, port: 18080, targetPort: 18090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: color-abcde
  namespace: colors
  labels: {kubernetes.io/service-name: color}
addressType: IPv4
ports:
- {name: web, port: 18090}
endpoints:
- addresses: [127.11.0.5]
_EOY_

sub gamma_mesh_config () {
    # the client location is "/"
    Test::Nginx::Socket::no_root_location();

    # as deployed: a master, its workers and the source process; a file
    # that sets its own (master_on(), workers(4)) keeps them.  Upstream's
    # master_process_enabled() says "on"/"off", the bundled runner 1/0.
    # Under valgrind (make test-valgrind) nginx stays one process, the
    # source in its thread, and the files that need more are left out.
    my $master = Test::Nginx::Socket::master_process_enabled();
    if ((!$master || $master eq 'off')
        && Test::Nginx::Socket::workers() == 1
        && !$ENV{TEST_NGINX_USE_VALGRIND})
    {
        Test::Nginx::Socket::master_on();
        Test::Nginx::Socket::workers(2);
    }

    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;

        if (!defined $block->http_config) {
            $block->set_value("http_config", $HttpConfig);
        } else {
            $block->set_value("http_config",
                              $HttpConfig . $block->http_config);
        }

        if (!defined $block->config) {
            $block->set_value("config", $ClientConfig);
        }
    });
}

# nginx accepts connections before its worker has read the mesh: a block
# that edits manifests first waits for the first snapshot to be in service
# (needs log level info).  GAMMA_TEST_SLOW (make test-asan, make
# test-valgrind) multiplies the 5 s.
sub gamma_wait_synced () {
    my $log = "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log";
    my $start = time;
    my $limit = 5 * ($ENV{GAMMA_TEST_SLOW} || 1);

    while (time - $start < $limit) {
        if (open my $fh, '<', $log) {
            while (<$fh>) {
                return 1 if /gamma: snapshot \d+ in service/;
            }
        }
        sleep 0.01;
    }

    die "the mesh was not in service after $limit s";
}

# A burst of rejected Services as the log limit let it through: the lines
# logged in each window that ended with a count line ("N more lines like
# the above suppressed"), the lines logged after the last count, the sum
# of the counts and the objects logged twice.  Under load a burst may
# span several 1000 ms windows: each then logs 100 lines and a count, and
# what is logged and counted still adds up to the burst.  (Only a count
# line shows where a window ended: a window that logged fewer than 100
# lines, then nothing for 1000 ms, would look like a part of the next.)
sub gamma_reject_burst {
    my ($pid) = @_;
    my (@closed, $suppressed, $twice, %seen);
    my $limit = qr/\(at most 100 are logged every 1000 ms\)/;
    my $n = 0;
    $suppressed = $twice = 0;

    my $log = "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log";
    open my $fh, '<', $log or die "cannot read $log: $!";

    while (<$fh>) {
        next unless /\[error\] $pid#/;

        if (/gamma: Service faces\/(bad-\d+) rejected/) {
            $n++;
            $twice++ if $seen{$1}++;

        } elsif (/gamma: (\d+) more lines like the above suppressed $limit/) {
            $suppressed += $1;
            push @closed, $n;
            $n = 0;
        }
    }

    return (\@closed, $n, $suppressed, $twice);
}

# $total rejections from process $pid: at most 100 logged per window, the
# rest counted, nothing lost or logged twice
# (t/014 the file source, t/059 the Kubernetes source)
sub gamma_check_reject_burst {
    my ($total, $pid) = @_;
    my ($closed, $tail, $suppressed, $twice) = gamma_reject_burst($pid);
    my $logged = $tail;
    $logged += $_ for @$closed;

    Test::More::ok(@$closed > 0, "the rest counted: $suppressed");
    Test::More::is($logged + $suppressed, $total,
                   "each rejection logged or counted: $logged + $suppressed");
    Test::More::is($twice, 0, 'none logged twice');
    Test::More::ok(!(grep { $_ != 100 } @$closed) && $tail <= 100,
                   '100 lines before each count, at most 100 after the last: '
                   . join(' ', @$closed) . " / $tail");
}

# Writes a file (a manifest, usually) the way an editor does: new content
# under a temporary name, then renamed over the old one.
sub gamma_write ($$) {
    my ($path, $body) = @_;

    my $tmp = "$path.tmp$$";
    open my $fh, '>', $tmp or die "cannot write $tmp: $!";
    print $fh $body;
    close $fh;
    rename $tmp, $path or die "cannot rename $tmp: $!";
}

# The processes of the instance under test: pid => "master", "worker" or
# "source" (the cache manager process that runs the watcher).
sub gamma_processes () {
    my $pidfile = "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid";
    open my $pf, '<', $pidfile or die "cannot read $pidfile: $!";
    my $master = 0 + (readline($pf) // 0);
    my %p = ($master => 'master');

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my ($pid, $ppid) = (readline($fh) // '') =~ /^(\d+) \(.*\) \S (\d+)/
            or next;
        next unless $ppid == $master;
        open my $c, '<', "/proc/$pid/cmdline" or next;
        my $cmd = readline($c) // '';
        $p{$pid} = $cmd =~ /cache manager/ ? 'source' : 'worker';
    }

    return \%p;
}

# The files of /proc/PID/maps whose base name matches $re, each once.
sub gamma_mapped_files ($$) {
    my ($pid, $re) = @_;
    my %seen;

    open my $fh, '<', "/proc/$pid/maps" or die "cannot read maps of $pid: $!";
    while (<$fh>) {
        my ($path) = m{\s(/\S+)$} or next;
        my ($base) = $path =~ m{([^/]+)$};
        $seen{$path} = 1 if $base =~ $re;
    }

    return [sort keys %seen];
}

# A client on one keep-alive connection:
#   my $c = GammaTest::Client->new(to => '127.10.0.1:18080',
#                                  from => '127.20.0.1');
#   my $res = $c->request('GET', '/path', ['X-A: 1']);
# A response is a hash: status, headers (names lowercased), body.
sub gamma_client {
    return GammaTest::Client->new(@_);
}

package GammaTest::Client;

sub new {
    my ($class, %opt) = @_;

    my ($host, $port) = split /:/, $opt{to};
    my $sock = IO::Socket::INET->new(
        PeerAddr => $host,
        PeerPort => $port,
        ($opt{from} ? (LocalAddr => $opt{from}) : ()),
        Proto => 'tcp',
        Timeout => 5,
    ) or die "cannot connect to $opt{to}: $!";

    return bless { sock => $sock, to => $opt{to} }, $class;
}

sub request {
    my ($self, $method, $path, $headers) = @_;

    my $sock = $self->{sock};
    my $req = "$method $path HTTP/1.1\r\nHost: $self->{to}\r\n";

    for my $h (@{ $headers // [] }) {
        $req .= "$h\r\n";
    }

    print $sock "$req\r\n";

    return GammaTest::read_response($sock, $method);
}

sub close {
    my $self = shift;
    close $self->{sock};
}

# after a request with "Connection: close": reads until the server closes
# the connection.  nginx closes it after the request's log phase, where the
# module counts the request, so a scrape that follows sees it.
sub wait_closed {
    my ($self, $timeout) = @_;

    my $sock = $self->{sock};
    my $sel = IO::Select->new($sock);
    my $end = Time::HiRes::time() + ($timeout // 5);

    while ((my $left = $end - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($sock, my $buf, 4096);
        return 1 if defined $n && $n == 0;
        return 1 unless defined $n;
    }

    die "$self->{to}: the server did not close the connection within "
        . ($timeout // 5) . " s";
}

package GammaTest;

sub read_response {
    my ($sock, $method) = @_;

    local $/ = "\r\n";

    my $status_line = <$sock>;
    die "connection closed" unless defined $status_line;

    my ($status) = $status_line =~ m{^HTTP/1\.\d (\d{3})}
        or die "bad status line: $status_line";

    my %headers;
    while (my $line = <$sock>) {
        last if $line eq "\r\n";
        $line =~ s/\r\n$//;
        my ($name, $value) = split /:\s*/, $line, 2;
        $headers{lc $name} = $value;
    }

    my $body = '';

    if ($method eq 'HEAD' || $status == 204 || $status == 304) {
        # no body

    } elsif (defined $headers{'content-length'}) {
        read($sock, $body, $headers{'content-length'});

    } elsif (($headers{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            my $size = <$sock>;
            $size = hex($size);
            last if $size == 0;
            my $chunk;
            read($sock, $chunk, $size);
            $body .= $chunk;
            <$sock>;
        }
        <$sock>;
    }

    return { status => $status, headers => \%headers, body => $body };
}

1;
