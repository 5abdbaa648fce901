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
    http_exchange parse_responses header_value strip_request_comments
);


# ---- requests ------------------------------------------------------------

# What CPAN's Test::Nginx does with a plain "--- request" string before
# it parses it: leading blank space and "# comment" lines go.  Array
# elements and pipelined requests are parsed as they are.
sub strip_request_comments ($text) {
    return $text unless defined $text;
    1 while $text =~ s/\A\s*#[^\n]*\n\s*// || $text =~ s/\A\s+//;
    return $text;
}

# "METHOD [URI [VERSION]]" on the first line, the body after it.  The
# first line must hold one to three words separated by spaces (CPAN's
# rule: no tabs between them, no blank first line).  Offsets into
# $text are kept so that build_packets() can cut the built request
# where $text was cut.  Returns a hash, or the reason as a string.
sub parse_request ($text) {
    $text //= '';

    my ($first) = $text =~ /\A([^\n]*\n?)/;
    return 'Request line should be non-empty' if $first eq '';

    my ($lead, $method, $uri, $version) =
        $first =~ /\A(\s*)(\S+)(?: +(\S+))?(?: +(\S+))?\s*\z/
        or return "Request line is not valid. Should be 'meth [url"
                  . " [version]]' but got \"" . printable($first) . '".';

    my $line_len = length($first) - length($lead);
    $line_len-- if $first =~ /\n\z/;

    return {
        method     => $method,
        uri        => $uri // '/',
        version    => $version // 'HTTP/1.1',
        body       => substr($text, length $first),
        line_start => length $lead,
        line_len   => $line_len,
        body_start => length $first,
    };
}

sub printable ($text) {
    $text =~ s/([\0-\037\\"])/sprintf '\\x%02x', ord $1/ge;
    return $text =~ s/\\x0a/\\n/gr =~ s/\\x0d/\\r/gr =~ s/\\x09/\\t/gr;
}

# --- more_headers as CPAN sends them: one "Name: value" per non-empty
# line, "#" lines skipped, the name kept as written and the blank after
# the colon normalised.  Returns the header lines and whether the body
# is chunked ("Transfer-Encoding: chunked" exactly).
sub header_lines ($text) {
    return ([], 0) unless defined $text;

    my ($chunked, @lines) = (0);
    for my $line (split /\n+/, $text) {
        next if $line =~ /^\s*#/;
        my ($name, $value) = split /:\s*/, $line, 2;
        ($name, $value) = ($name // '', $value // '');
        $chunked = 1 if lc $name eq 'transfer-encoding'
                        && $value eq 'chunked';
        push @lines, "$name: $value";
    }

    return (\@lines, $chunked);
}

# %a: method, uri, version, body, more_headers, connection.  Like CPAN:
# Host and Connection are added unless more_headers has a line starting
# with them; a non-empty body gets a Content-Length and is trimmed
# unless it is chunked or more_headers gives "Content-Length:" (that
# test is case-sensitive upstream, so it is here).
sub build_request (%a) {
    my ($lines, $chunked) = header_lines($a{more_headers});
    my $has = sub ($re) { scalar grep { /$re/ } @$lines };

    my $body = $a{body} // '';
    utf8::encode($body) if utf8::is_utf8($body);

    my ($lead, $len) = (0, '');
    if (!$chunked && $body ne '' && !$has->(qr/^Content-Length:/)) {
        $body =~ s/\A(\s*)//;
        $lead = length $1;
        $body =~ s/\s+\z//;
        $len = 'Content-Length: ' . length($body) . "\r\n";
    }

    my $head = "$a{method} $a{uri} $a{version}\r\n";
    $head .= "Host: localhost\r\n" unless $has->(qr/^Host:/i);
    $head .= "Connection: $a{connection}\r\n"
        unless $has->(qr/^Connection/i);
    $head .= "$_\r\n" for @$lines;
    $head .= "$len\r\n";
    utf8::encode($head) if utf8::is_utf8($head);

    return {
        data      => $head . $body,
        head_len  => length $head,
        body_lead => $lead,
        method    => $a{method},
    };
}

# One request given as packets [data, delay_before or undef].  The
# joined text is built like a plain request, then cut again where the
# original packets were cut; added headers go with the request line.
# Returns the build_request() hash plus packets => [{data, delay}], or
# the reason the request line is invalid as a string.
sub build_packets ($packets, %a) {
    my @parts = map { [$_->[0] // '', $_->[1]] } @$packets;

    my $req = parse_request(join '', map { $_->[0] } @parts);
    return $req unless ref $req;

    my $built = build_request(%a, %$req);
    my $total = length $built->{data};

    my ($raw, $prev, $delay, @out) = (0, 0, undef);

    for my $i (0 .. $#parts) {
        $raw += length $parts[$i][0];
        $delay = $parts[$i][1] if defined $parts[$i][1];

        my $cut = $i == $#parts ? $total : map_cut($raw, $req, $built);

        # An emptied packet passes its delay on to the next one.
        next if $cut <= $prev;

        push @out, { data => substr($built->{data}, $prev, $cut - $prev),
                     delay => $delay };
        ($prev, $delay) = ($cut, undef);
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
# middle_delay and shutdown (how).  Like CPAN we read until nginx
# closes the connection or the idle timeout hits, whatever the
# request asked for.  Returns { data, timed_out, error }; error is set
# only when we could not connect.
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

# CPAN sends the first packet at once; before each later one it
# sleeps that packet's delay_before, or raw_request_middle_delay when
# the packet has none.  False when the idle timeout hit; a write error
# (nginx closed early) still lets us read the response nginx sent.
sub send_packets ($sock, $sel, $a, $r) {
    my $first = 1;

    for my $packet (@{$a->{packets}}) {
        my $delay = $packet->{delay} // $a->{middle_delay};
        sleep $delay if !$first && $delay && $delay > 0;
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
    }
}


# ---- responses -----------------------------------------------------------

# Splits $data, all nginx sent until it closed, into responses the way
# CPAN's HTTP::Response-based parser does.  $heads->[i] tells that
# request i was a HEAD (no body follows).  A body is framed by chunked
# encoding or Content-Length, else it is the rest of the data (so an
# interim 100, a 204 or a 304 are responses of their own, as upstream
# sees them).  Each response is { status, version, reason, headers =>
# [[name, value]], raw_headers (status line and header lines, each
# with its CRLF, without the empty line), body, complete, end }.
sub parse_responses ($data, $heads = []) {
    my ($pos, @res) = (0);

    while ($pos < length $data) {
        my $r = parse_response($data, $pos, $heads->[@res]);
        push @res, $r;
        last unless $r->{complete};
        $pos = $r->{end};
    }

    return @res;
}

sub parse_response ($data, $pos, $head) {
    my %r = (status => undef, headers => [], raw_headers => '',
             body => '', complete => 0, end => length $data);

    my $hend = index $data, "\r\n\r\n", $pos;
    if ($hend < 0) {
        ($r{status}) = substr($data, $pos) =~ m{\AHTTP/\d+\.\d+\s+(\d{3})};
        return \%r;
    }

    $r{raw_headers} = substr $data, $pos, $hend + 2 - $pos;
    my ($status_line, @lines) = split /\r\n/, substr $data, $pos,
                                                     $hend - $pos;
    @r{qw(version status reason)} =
        $status_line =~ m{^HTTP/(\d+\.\d+)\s+(\d{3})(?:\s+(.*))?$};

    for my $line (@lines) {
        push @{$r{headers}}, [$1, $2] if $line =~ /^([^:]+?)\s*:\s*(.*?)\s*$/;
    }

    my $body_pos = $hend + 4;
    my $status = $r{status} // '';
    my $te = header_value(\%r, 'Transfer-Encoding');
    my $cl = header_value(\%r, 'Content-Length');
    $r{complete} = 1;

    if ($head || $status eq '') {
        $r{end} = $body_pos;

    } elsif ($status !~ /^(?:101|304)$/ && defined $te && $te eq 'chunked') {
        my ($body, $end) = dechunk($data, $body_pos);
        $r{body} = $body;
        $r{end} = $end // length $data;

    } elsif ($status !~ /^(?:101|304)$/ && defined $cl && $cl =~ /^\d+$/) {
        $r{body} = substr $data, $body_pos, $cl;
        $r{end} = min($body_pos + $cl, length $data);

    } else {
        $r{body} = substr $data, $body_pos;
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
