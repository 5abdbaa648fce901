package GammaBench::Http;

# A small HTTP/1.1 client on one keep-alive connection: what the
# propagation benchmarks poll with and the correctness checks ask with.
# A connection the server closed is reopened once and counted in
# {reconnects}: a server that closes kept-alive connections (an nginx
# worker leaving after a reload) makes clients do that.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);


sub new {
    my ($class, $addr, %o) = @_;

    return bless {
        addr       => $addr,
        host       => $o{host} // 'bench.local',
        timeout    => $o{timeout} // 5,
        reconnects => 0,
        errors     => 0,
    }, $class;
}


# (status, body), or () when the request failed twice
sub get {
    my ($self, $path) = @_;

    for my $try (1, 2) {
        my @res = $self->request($path);
        return @res if @res;
        $self->{reconnects}++ if $try == 1 && $self->{reused};
        last unless $self->{reused};
    }

    $self->{errors}++;

    return ();
}


sub request {
    my ($self, $path) = @_;

    $self->{reused} = defined $self->{sock};
    $self->{sock} //= IO::Socket::INET->new(PeerAddr => $self->{addr},
                                            Timeout => $self->{timeout})
        or return ();

    my $req = "GET $path HTTP/1.1\r\nHost: $self->{host}\r\n\r\n";
    my ($status, $body) = $self->exchange($req);

    undef $self->{sock} unless defined $status && $self->{keepalive};

    return defined $status ? ($status, $body) : ();
}


sub exchange {
    my ($self, $req) = @_;
    my $sock = $self->{sock};
    my $sel = IO::Select->new($sock);
    my $buf = '';
    my ($head, $need);

    syswrite($sock, $req) == length $req or return;

    my $deadline = time + $self->{timeout};

    for (;;) {
        if (!defined $head && $buf =~ /\r\n\r\n/) {
            ($head, $buf) = split /\r\n\r\n/, $buf, 2;
            $need = $head =~ /^content-length:\s*(\d+)/mi ? $1 : undef;
            $self->{keepalive} = $head !~ /^connection:\s*close/mi
                                 && defined $need;
        }

        last if defined $head && defined $need && length $buf >= $need;

        my $left = $deadline - time;
        return if $left <= 0 || !$sel->can_read($left);

        my $n = sysread $sock, $buf, 65536, length $buf;
        return unless defined $n;
        last if $n == 0 && defined $head && !defined $need;
        return if $n == 0;
    }

    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})} or return;

    return ($status, defined $need ? substr($buf, 0, $need) : $buf);
}


sub close {
    my ($self) = @_;

    undef $self->{sock};
}


1;
