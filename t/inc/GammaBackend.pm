package GammaBackend;

# A misbehaving HTTP backend for the timeout and retry suites, forked by a
# .t file's preamble and stopped at its end.  Each connection gets its own
# process; what it does is chosen by the path:
#
#   /delay/MS              answer 200 after MS milliseconds
#   /dribble-head/MS       send the status line, then one header byte
#                          every MS milliseconds, forever
#   /dribble-body/MS       send headers announcing 100 bytes, then one
#                          byte every MS milliseconds
#   /fail/KEY/N/CODE       the first N requests with KEY answer CODE,
#                          later ones 200 "ok after N"
#   /reset/KEY/N           the first N connections with KEY are reset
#                          without an answer, later ones get 200
#   /hits/KEY              how many requests KEY has seen
#
# Every answer carries "Connection: close".

use strict;
use warnings;

use File::Temp qw(tempdir);
use GammaForkServer;
use Fcntl qw(:flock);
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep);

my ($pid, $dir);

sub start {
    my (%opt) = @_;

    $dir = tempdir(CLEANUP => 1);

    my $listen = IO::Socket::INET->new(
        LocalAddr => $opt{addr},
        LocalPort => $opt{port},
        Listen => 128,
        ReuseAddr => 1,
        Proto => 'tcp',
    ) or die "GammaBackend: cannot listen on $opt{addr}:$opt{port}: $!";

    $pid = GammaForkServer::run($listen, \&serve);
}

sub stop {
    GammaForkServer::stop($pid);
    $pid = undef;
}

END { stop() }

sub bump {
    my ($key) = @_;

    open my $fh, '+>>', "$dir/$key" or die "$dir/$key: $!";
    flock $fh, LOCK_EX;
    seek $fh, 0, 0;
    my $n = <$fh> // 0;
    truncate $fh, 0;
    print $fh $n + 1;
    close $fh;

    return $n + 1;
}

sub hits {
    my ($key) = @_;
    open my $fh, '<', "$dir/$key" or return 0;
    return <$fh> // 0;
}

sub answer {
    my ($c, $code, $body) = @_;
    print $c "HTTP/1.1 $code X\r\nContent-Length: " . length($body)
             . "\r\nConnection: close\r\n\r\n$body";
}

sub serve {
    my ($c) = @_;

    $c->autoflush(1);

    my $line = <$c> // return;
    my ($path) = $line =~ m{^\S+ (\S+)} or return;

    while (my $h = <$c>) {
        last if $h =~ /^\r?\n$/;
    }

    if ($path =~ m{^/delay/(\d+)}) {
        sleep $1 / 1000;
        answer($c, 200, "slow\n");

    } elsif ($path =~ m{^/dribble-head/(\d+)}) {
        print $c "HTTP/1.1 200 OK\r\n";
        while (1) {
            print $c "X" or last;
            sleep $1 / 1000;
        }

    } elsif ($path =~ m{^/dribble-body/(\d+)}) {
        print $c "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                 . "Connection: close\r\n\r\n";
        for (1 .. 100) {
            print $c "x" or last;
            sleep $1 / 1000;
        }

    } elsif ($path =~ m{^/fail/(\w+)/(\d+)/(\d+)}) {
        my $n = bump($1);
        if ($n <= $2) {
            answer($c, $3, "failure $n\n");
        } else {
            answer($c, 200, "ok after $2\n");
        }

    } elsif ($path =~ m{^/reset/(\w+)/(\d+)}) {
        my $n = bump($1);
        if ($n <= $2) {
            setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
            close $c;
            return;
        }
        answer($c, 200, "ok after $2 resets\n");

    } elsif ($path =~ m{^/hits/(\w+)}) {
        answer($c, 200, hits($1) . "\n");

    } else {
        answer($c, 404, "unknown\n");
    }

    close $c;
}

1;
