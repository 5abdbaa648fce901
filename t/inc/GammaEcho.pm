package GammaEcho;

# Backends for the filter suites, started by a .t file's preamble and
# stopped at its end:
#
#   echo    on every 127.x address, port $TEST_NGINX_ECHO_PORT (18092):
#           answers 200 with the request head it received, line by line as
#           sent ("echo <addr>:<port>", the request line, the header lines,
#           then "body: ..." when there was one), and the response headers
#           X-Backend-A: a, X-Backend-B: b, Cache-Control: no-store.  Each
#           request is also appended to the log of the address it came in
#           on, $TEST_NGINX_ECHO_DIR/<addr>.log, one line per request:
#           "<request line>|<header>|<header>...[|body: ...]".
#   hang    on 127.11.0.8, port $TEST_NGINX_HANG_PORT (18093): accepts
#           connections into its backlog and never answers.
#
# Every answer carries "Connection: close".

use strict;
use warnings;

use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use GammaForkServer;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

$ENV{TEST_NGINX_ECHO_PORT} ||= 18092;
$ENV{TEST_NGINX_HANG_PORT} ||= 18093;

my ($pid, $dir, $hang);

# Services in front of them, to add to $GammaTest::Base: echo and shadow
# (two addresses of the echo backend), hang, and dead (nothing listens).
our $Mesh = <<'_EOY_';
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: faces}
spec:
  clusterIP: 127.10.0.6
  ports:
  - {name: http, port: 18080, targetPort: 18092}
  - {name: alt, port: 18081, targetPort: 18092}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: echo}
addressType: IPv4
ports:
- {name: http, port: 18092}
- {name: alt, port: 18092}
endpoints:
- addresses: [127.11.0.6]
---
apiVersion: v1
kind: Service
metadata: {name: shadow, namespace: faces}
spec:
  clusterIP: 127.10.0.7
  ports:
  - {name: http, port: 18080, targetPort: 18092}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: shadow-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: shadow}
addressType: IPv4
ports:
- {name: http, port: 18092}
endpoints:
- addresses: [127.11.0.7]
---
apiVersion: v1
kind: Service
metadata: {name: hang, namespace: faces}
spec:
  clusterIP: 127.10.0.8
  ports:
  - {name: http, port: 18080, targetPort: 18093}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: hang-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: hang}
addressType: IPv4
ports:
- {name: http, port: 18093}
endpoints:
- addresses: [127.11.0.8]
---
apiVersion: v1
kind: Service
metadata: {name: dead, namespace: faces}
spec:
  clusterIP: 127.10.0.9
  ports:
  - {name: http, port: 18080, targetPort: 18099}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: dead-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: dead}
addressType: IPv4
ports:
- {name: http, port: 18099}
endpoints:
- addresses: [127.11.0.9]
_EOY_

sub start {
    $dir = tempdir(CLEANUP => 1);
    chmod 0755, $dir;
    $ENV{TEST_NGINX_ECHO_DIR} = $dir;

    $hang = IO::Socket::INET->new(
        LocalAddr => '127.11.0.8',
        LocalPort => $ENV{TEST_NGINX_HANG_PORT},
        Listen => 128,
        ReuseAddr => 1,
        Proto => 'tcp',
    ) or die "GammaEcho: cannot listen on the hang port: $!";

    my $listen = IO::Socket::INET->new(
        LocalAddr => '0.0.0.0',
        LocalPort => $ENV{TEST_NGINX_ECHO_PORT},
        Listen => 128,
        ReuseAddr => 1,
        Proto => 'tcp',
    ) or die "GammaEcho: cannot listen on the echo port: $!";

    $pid = GammaForkServer::run($listen, \&serve, $hang);
}

sub stop {
    GammaForkServer::stop($pid);
    $pid = undef;
    close $hang if $hang;
    $hang = undef;
}

END { stop() }

sub serve {
    my ($c) = @_;

    local $SIG{ALRM} = sub { POSIX::_exit(0) };
    alarm 5;

    local $/ = "\r\n";
    my @head;

    while (my $line = <$c>) {
        $line =~ s/\r\n$//;
        last if $line eq '';
        push @head, $line;
    }

    return unless @head;

    my ($len) = map { /^content-length:\s*(\d+)/i ? $1 : () } @head;
    my $body = '';
    read($c, $body, $len) if $len;

    my $where = $c->sockhost . ':' . $c->sockport;
    record($c->sockhost, join '|', @head,
           length $body ? ("body: $body") : ());

    my $out = join '', map { "$_\n" } "echo $where", @head;
    $out .= "body: $body\n" if length $body;

    print $c "HTTP/1.1 200 OK\r\n",
             "Content-Type: text/plain\r\n",
             "Content-Length: ", length($out), "\r\n",
             "X-Backend-A: a\r\n",
             "X-Backend-B: b\r\n",
             "Cache-Control: no-store\r\n",
             "Connection: close\r\n\r\n",
             $out;
    close $c;
}

sub record {
    my ($addr, $line) = @_;

    open my $fh, '>>', "$dir/$addr.log" or return;
    flock $fh, LOCK_EX;
    print $fh "$line\n";
    close $fh;
}

# The requests the echo backend saw on $addr since the last reset.
sub requests {
    my ($addr) = @_;

    open my $fh, '<', "$dir/$addr.log" or return '';
    local $/;
    my $text = <$fh>;
    close $fh;
    return $text // '';
}

# Polls until $n requests were seen on $addr (or $limit seconds passed).
sub wait_requests {
    my ($addr, $n, $limit) = @_;
    my $start = time;

    while (time - $start < ($limit // 3)) {
        my $text = requests($addr);
        return $text if ($text =~ tr/\n//) >= $n;
        sleep 0.01;
    }

    return requests($addr);
}

sub reset {
    unlink glob "$dir/*.log";
}

# Adds "location /echo-log/" to every block's config, to read the logs:
# GET /echo-log/<addr>.log (404 while nothing came in on <addr>).
sub log_location {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;

        $block->set_value("config", ($block->config // '') . <<'_EOC_');
    location /echo-log/ {
        alias $TEST_NGINX_ECHO_DIR/;
        log_not_found off;
    }
_EOC_
    });
}

1;
