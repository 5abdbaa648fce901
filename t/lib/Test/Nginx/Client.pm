package Test::Nginx::Client;

# The HTTP side of the Test::Nginx::Socket runner: turns "--- request"
# text into bytes the way CPAN's Test::Nginx does (shared spec A.3),
# talks to nginx over a plain socket, and splits what came back into
# responses.  Nothing here reports tests, so t/000-runner.t can check
# it directly.

use v5.36;

use Exporter qw(import);
use IO::Select;
use IO::Socket::INET;
use List::Util qw(min);
use Time::HiRes qw(sleep);

our @EXPORT_OK = qw(
    parse_request build_request build_packets header_lines
    http_exchange parse_responses responses_complete header_value
);


# ---- requests ------------------------------------------------------------

# "METHOD [URI [VERSION]]" on the first line that is neither blank nor
# a "# comment", the body after it.  Offsets into $text are kept so
# that build_packets() can cut the built request where $text was cut.
sub parse_request ($text) {
    return undef unless defined $text;

    my $skipped = 0;
    while (1) {
        $text =~ s/\A(\s*)//;
        $skipped += length $1;
        last unless $text =~ s/\A(#[^\n]*)//;
        $skipped += length $1;
    }

    return undef if $text eq '';

    my ($line, $body) = split /\n/, $text, 2;
    my $raw_len = length $line;
    $line =~ s/\s+\z//;

    my ($method, $uri, $version) = split ' ', $line, 3;

    return {
        method     => $method,
        uri        => $uri // '/',
        version    => $version // 'HTTP/1.1',
        body       => $body // '',
        line_start => $skipped,
        line_len   => length $line,
        body_start => $skipped + $raw_len + 1,
    };
}

# "Name: value" lines of --- more_headers as [lc name, value, line].
sub header_lines ($text) {
    return () unless defined $text;

    my @headers;
    for my $line (split /\n/, $text) {
        $line =~ s/\A\s+//;
        $line =~ s/\s+\z//;
        next if $line eq '' || $line =~ /^#/;

        my ($name, $value) = $line =~ /^([^:\s]+)\s*:\s*(.*)$/;
        push @headers, [lc($name // ''), $value // '', $line];
    }

    return @headers;
}

# %a: method, uri, version, body, more_headers, connection.  Adds Host
# and Connection unless more_headers has them, and trims a non-chunked
# body and sends its Content-Length (CPAN behaviour, spec A.3).
sub build_request (%a) {
    my @headers = header_lines($a{more_headers});
    my %has = map { $_->[0] => 1 } @headers;
    my $chunked = grep {
        $_->[0] eq 'transfer-encoding' && $_->[1] =~ /chunked/i
    } @headers;

    my $body = $a{body} // '';
    utf8::encode($body) if utf8::is_utf8($body);

    my $lead = 0;
    if (!$chunked) {
        $body =~ s/\A(\s*)//;
        $lead = length $1;
        $body =~ s/\s+\z//;
    }

    # A Connection header other than "close" keeps the socket open, so
    # the caller must stop reading at the end of the response.
    my $keepalive = grep {
        $_->[0] eq 'connection' && $_->[1] !~ /close/i
    } @headers;

    my $line = "$a{method} $a{uri} $a{version}";
    my $head = "$line\r\n";
    $head .= "Host: localhost\r\n" unless $has{host};
    $head .= "Connection: $a{connection}\r\n" unless $has{connection};
    $head .= "$_->[2]\r\n" for @headers;
    $head .= 'Content-Length: ' . length($body) . "\r\n"
        if length $body && !$chunked && !$has{'content-length'};
    $head .= "\r\n";
    utf8::encode($head) if utf8::is_utf8($head);

    return {
        data      => $head . $body,
        head_len  => length $head,
        body_lead => $lead,
        method    => $a{method},
        keepalive => $keepalive ? 1 : 0,
    };
}

# One request given as packets: strings or { value, delay_before }.
# The joined text is built like a plain request, then cut again where
# the original packets were cut; added headers go with the request
# line.  Returns the build_request() hash plus packets => [{data,
# delay}], or undef for an empty request.
sub build_packets ($packets, %a) {
    my @parts = map {
        ref $_ eq 'HASH' ? [$_->{value} // '', $_->{delay_before} // 0]
                         : [$_ // '', 0]
    } @$packets;

    my $req = parse_request(join '', map { $_->[0] } @parts)
        or return undef;
    my $built = build_request(%a, %$req);
    my $total = length $built->{data};

    my ($raw, $prev, $delay, @out) = (0, 0, 0);

    for my $i (0 .. $#parts) {
        $raw += length $parts[$i][0];
        $delay += $parts[$i][1];

        my $cut = $i == $#parts ? $total : map_cut($raw, $req, $built);

        # An emptied packet passes its delay on to the next one.
        next if $cut <= $prev;

        push @out, { data => substr($built->{data}, $prev, $cut - $prev),
                     delay => $delay };
        ($prev, $delay) = ($cut, 0);
    }

    $built->{packets} = \@out;
    return $built;
}

sub map_cut ($raw, $req, $built) {
    my $in_line = $raw - $req->{line_start};
    return 0 if $in_line <= 0;
    return $in_line if $in_line < $req->{line_len};

    my $in_body = $raw - $req->{body_start} - $built->{body_lead};
    return $built->{head_len} if $in_body <= 0;
    return min($built->{head_len} + $in_body, length $built->{data});
}


# ---- the socket ------------------------------------------------------------

# %a: port, packets => [{data, delay}], timeout (idle, seconds),
# middle_delay, shutdown (how) and done, a callback telling from the
# data read so far that no more is needed (else we read until EOF).
# Returns { data, timed_out, error }; error is set only when we could
# not connect.
sub http_exchange (%a) {
    local $SIG{PIPE} = 'IGNORE';

    my %r = (data => '', timed_out => 0, error => undef);
    my $timeout = $a{timeout};

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $a{port},
                                     Proto => 'tcp',
                                     Timeout => $timeout);
    if (!$sock) {
        $r{error} = "cannot connect to 127.0.0.1:$a{port}: $@";
        return \%r;
    }

    $sock->blocking(0);
    my $sel = IO::Select->new($sock);

    if (send_packets($sock, $sel, \%a, \%r)) {
        shutdown($sock, $a{shutdown}) if defined $a{shutdown};
        read_until_done($sock, $sel, \%a, \%r);
    }

    close $sock;
    return \%r;
}

# False when the idle timeout hit; a write error (nginx closed early)
# still lets us read the response nginx sent before closing.
sub send_packets ($sock, $sel, $a, $r) {
    my $first = 1;

    for my $packet (@{$a->{packets}}) {
        my $delay = $packet->{delay} // 0;
        $delay += $a->{middle_delay} // 0 unless $first;
        sleep $delay if $delay > 0;
        $first = 0;

        my $off = 0;
        while ($off < length $packet->{data}) {
            if (!$sel->can_write($a->{timeout})) {
                $r->{timed_out} = 1;
                return 0;
            }

            my $n = syswrite $sock, $packet->{data}, 65536, $off;
            if (!defined $n) {
                next if $!{EAGAIN} || $!{EINTR};
                return 1;
            }
            $off += $n;
        }
    }

    return 1;
}

sub read_until_done ($sock, $sel, $a, $r) {
    while (1) {
        if (!$sel->can_read($a->{timeout})) {
            $r->{timed_out} = 1;
            return;
        }

        my $n = sysread $sock, my $buf, 65536;
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            return;             # ECONNRESET and the like end the data
        }
        return if $n == 0;

        $r->{data} .= $buf;
        return if $a->{done} && $a->{done}->($r->{data});
    }
}


# ---- responses -----------------------------------------------------------

# Splits $data into responses.  $heads->[i] tells that request i was a
# HEAD (no body follows).  Each response is { status, version, reason,
# headers => [[name, value]], raw_headers, body, complete, end }; the
# last one may be incomplete.  $eof: the peer closed, which ends a
# body that has neither Content-Length nor chunked encoding.
sub parse_responses ($data, $heads = [], $eof = 1) {
    my ($pos, @res) = (0);

    while ($pos < length $data) {
        my $r = parse_response($data, $pos, $heads->[@res], $eof);
        push @res, $r;
        last unless $r->{complete};
        $pos = $r->{end};
    }

    return @res;
}

sub responses_complete ($data, $count, $heads = []) {
    my @res = parse_responses($data, $heads, 0);
    return @res >= $count && $res[$count - 1]{complete};
}

sub parse_response ($data, $pos, $head, $eof) {
    my %r = (status => undef, headers => [], raw_headers => '',
             body => '', complete => 0, end => length $data);

    my $hend = index $data, "\r\n\r\n", $pos;
    if ($hend < 0) {
        $r{raw_headers} = substr $data, $pos;
        ($r{status}) = $r{raw_headers} =~ m{\AHTTP/\d+\.\d+\s+(\d{3})};
        return \%r;
    }

    $r{raw_headers} = substr $data, $pos, $hend + 4 - $pos;
    my ($status_line, @lines) = split /\r\n/, substr $data, $pos,
                                                     $hend - $pos;
    @r{qw(version status reason)} =
        $status_line =~ m{^HTTP/(\d+\.\d+)\s+(\d{3})(?:\s+(.*))?$};

    for my $line (@lines) {
        push @{$r{headers}}, [$1, $2] if $line =~ /^([^:]+?)\s*:\s*(.*?)\s*$/;
    }

    my $body_pos = $hend + 4;
    my $status = $r{status} // '';

    # An interim 100 Continue precedes the response we want.
    return parse_response($data, $body_pos, $head, $eof)
        if $status =~ /^1\d\d$/ && $status != 101;

    if ($head || $status eq '' || $status =~ /^(?:1\d\d|204|304)$/) {
        @r{qw(complete end)} = (1, $body_pos);
        return \%r;
    }

    my $te = header_value(\%r, 'Transfer-Encoding');
    my $cl = header_value(\%r, 'Content-Length');

    if (defined $te && $te =~ /chunked/i) {
        my ($body, $end) = dechunk($data, $body_pos);
        $r{body} = $body;
        @r{qw(complete end)} = (1, $end) if defined $end;

    } elsif (defined $cl && $cl =~ /^\d+$/) {
        $r{body} = substr $data, $body_pos, $cl;
        @r{qw(complete end)} = (1, $body_pos + $cl)
            if length($data) - $body_pos >= $cl;

    } else {
        $r{body} = substr $data, $body_pos;
        $r{complete} = $eof ? 1 : 0;
    }

    return \%r;
}

# The decoded body and the offset after the last chunk and trailers,
# or undef for the offset while the body is incomplete.
sub dechunk ($data, $pos) {
    my $body = '';

    while (1) {
        my $eol = index $data, "\r\n", $pos;
        return ($body, undef) if $eol < 0;

        my ($hex) = substr($data, $pos, $eol - $pos) =~ /^\s*([0-9a-fA-F]+)/
            or return ($body, undef);
        my $size = hex $hex;
        $pos = $eol + 2;

        if ($size == 0) {
            while (1) {             # trailers, then an empty line
                $eol = index $data, "\r\n", $pos;
                return ($body, undef) if $eol < 0;
                my $empty = $eol == $pos;
                $pos = $eol + 2;
                return ($body, $pos) if $empty;
            }
        }

        $body .= substr $data, $pos, $size;
        return ($body, undef) if length($data) < $pos + $size + 2;
        $pos += $size + 2;
    }
}

# Like HTTP::Headers: case-insensitive, repeated headers joined by ", ".
sub header_value ($resp, $name) {
    my @values = map { $_->[1] }
                 grep { lc $_->[0] eq lc $name } @{$resp->{headers} // []};
    return @values ? join(', ', @values) : undef;
}

1;
