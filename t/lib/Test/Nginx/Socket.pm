package Test::Nginx::Socket;

# The project's own Test::Nginx::Socket: runs the t/*.t files written
# in CPAN Test::Nginx's data format against a real nginx.  Clean-room,
# after shared/spec/test-format.md.  Like upstream it inherits from
# Test::Base, so block parsing, filters, blocks(), plan and
# ONLY/SKIP/LAST behave identically.
#
# Test::Base's -Base (Spiffy) source filter adds "my $self = shift;" to
# every "sub name {" in this file.  Our subs are plain functions, so
# they either take a signature or are written "sub name () {", which
# the filter rewrites to "sub name {" without the shift.

use v5.36;

use Test::Base -Base;

use List::Util qw(any min shuffle);
use Test::LongString ();
use Time::HiRes qw(sleep);

use Test::Nginx::Client qw(
    parse_request build_request build_packets http_exchange
    parse_responses responses_complete header_value
);
use Test::Nginx::Util qw(
    :DEFAULT $RepeatEach $NoShuffle $Timeout $Sleep $NoLongString
    $CheckAccumErrLog @BlockPreprocessors
    nginx_version version_cmp expand_env reset_block_env build_conf
    prepare_servroot write_user_files write_conf start_nginx stop_nginx
    reap_nginx nginx_pid nginx_started_once error_log_path read_log_lines
    log_size stderr_path tail_text eval_main exit_text
);

our @EXPORT = (@Test::Nginx::Util::EXPORT, qw(run_tests is_str));

# The context of the last block that ran against the running nginx:
# problems seen when that nginx stops are reported against it.
my $Last;


# ---- entry point ---------------------------------------------------------

sub run_tests () {
    plan('no_plan') unless Test::More->builder->has_plan;

    nginx_version();            # bails out at once on a bad binary

    my @blocks = blocks();
    @blocks = shuffle(@blocks) unless $NoShuffle;

    run_block($_) for @blocks;

    report_stop(stop_nginx()) unless $ENV{TEST_NGINX_NO_CLEAN};
}

sub is_str ($got, $want, $name = undef) {
    return like($got, $want, $name) if ref $want eq 'Regexp';
    return is($got, $want, $name);
}


# ---- one block -------------------------------------------------------------

sub run_block ($block) {
    $_->($block) for @BlockPreprocessors;
    reset_block_env();

    my $t = { block => $block, name => $block->name,
              label => "$0 " . $block->name };

    return if skip_block($t);

    if (defined sect($block, 'config')) {
        return unless restart_nginx($t);

    } elsif (!nginx_started_once()) {
        bail_out("$t->{label}: the first block has no --- config");

    } else {
        # Reuse the running nginx and whatever config it has.
        $t->{log_start} = $t->{log_off} = log_size();
        $t->{scan_from} = $Last ? $Last->{scanned} : $t->{log_start};
        $Last = $t if nginx_pid();
        write_user_files(sect($block, 'user_files'));
    }

    if (defined(my $code = sect($block, 'init'))) {
        eval_main("$code\n;1")
            or bail_out("$t->{label}: --- init failed: $@");
    }

    for my $rep (0 .. $RepeatEach - 1) {
        write_user_files(sect($block, 'user_files')) if $rep > 0;
        run_round($t, $rep);
    }

    check_health($t);
}

# The value of a section, after filters; eval'ed arrays stay refs.
sub sect ($block, $name) {
    my $v = $block->{$name};
    return $v ? $v->[0] : undef;
}

# A per-request value: element $i of an array, else the value itself.
sub pick ($value, $i) {
    return ref $value eq 'ARRAY' ? $value->[$i] : $value;
}

sub skip_block ($t) {
    my $block = $t->{block};
    my ($n, $why);

    if (defined(my $spec = sect($block, 'skip_nginx'))) {
        my ($count, $op, $ver, $reason) = $spec =~
            /^\s*(\d+)\s*:\s*([<>]=?)\s*([\d.]+)\s*(?::\s*(.*?))?\s*$/s
            or bail_out("$t->{label}: bad --- skip_nginx: $spec");
        ($n, $why) = ($count, $reason // "nginx $op $ver")
            if version_is($op, $ver);

    } elsif (defined($spec = sect($block, 'skip_nginx2'))) {
        my ($count, $op1, $v1, $and, $op2, $v2, $reason) = $spec =~
            /^\s*(\d+)\s*:\s*([<>]=?)\s*([\d.]+)\s+(and|or)\s+
             ([<>]=?)\s*([\d.]+)\s*(?::\s*(.*?))?\s*$/sx
            or bail_out("$t->{label}: bad --- skip_nginx2: $spec");
        my ($c1, $c2) = (version_is($op1, $v1), version_is($op2, $v2));
        ($n, $why) = ($count, $reason // "nginx $op1 $v1 $and $op2 $v2")
            if $and eq 'and' ? $c1 && $c2 : $c1 || $c2;

    } elsif (defined($spec = sect($block, 'skip_eval'))) {
        my ($count, $code) = $spec =~ /^\s*(\d+)\s*:\s*(.*)$/s
            or bail_out("$t->{label}: bad --- skip_eval: $spec");
        my $skip = eval_main($code);
        bail_out("$t->{label}: --- skip_eval failed: $@") if $@;
        ($n, $why) = ($count, 'skip_eval') if $skip;
    }

    return 0 unless $n;

    # N is per repetition, like the N of the usual plan formula.
    Test::More->builder->skip("$t->{label} - $why")
        for 1 .. $n * $RepeatEach;
    return 1;
}

sub version_is ($op, $ver) {
    my $c = version_cmp(nginx_version(), $ver);
    return $op eq '<' ? $c < 0 : $op eq '<=' ? $c <= 0
         : $op eq '>' ? $c > 0 : $c >= 0;
}


# ---- starting nginx for a block ------------------------------------------

sub restart_nginx ($t) {
    my $block = $t->{block};

    report_stop(stop_nginx());
    prepare_servroot();

    if (defined(my $code = sect($block, 'post_setup_server_root'))) {
        eval_main("$code\n;1")
            or bail_out("$t->{label}: --- post_setup_server_root: $@");
    }

    write_user_files(sect($block, 'user_files'));

    my %conf = map { $_ => expand_env(sect($block, $_)) }
               qw(main_config http_config config post_main_config);
    for my $name (qw(log_level server_name)) {
        my $v = sect($block, $name);
        $conf{$name} = $v =~ s/^\s+|\s+$//gr if defined $v;
    }
    write_conf(build_conf(%conf));

    my $r = start_nginx();
    $t->{log_start} = $t->{log_off} = $t->{scan_from} = 0;

    return must_die($t, $r) if defined sect($block, 'must_die');

    if (!$r->{ok}) {
        fail("$t->{label} - ERROR: nginx failed to start: $r->{error}");
        diag(nginx_output());
        return 0;
    }

    $Last = $t;
    return 1;
}

# nginx was expected to fail at startup.  Only its error log is then
# checked (no request), and no test is added when it died as wanted.
sub must_die ($t, $r) {
    my $want = sect($t->{block}, 'must_die');

    if ($r->{ok}) {
        fail("$t->{label} - ERROR: nginx started but --- must_die"
             . " expects it to fail");
        stop_nginx();
        return 0;
    }

    my $status = $r->{status};
    if (!defined $status || $status & 127) {
        fail("$t->{label} - ERROR: nginx $r->{error}, not a clean"
             . " startup failure");
        diag(nginx_output());

    } elsif ($want =~ /^\s*(\d+)\s*$/ && $status >> 8 != $1) {
        fail("$t->{label} - ERROR: nginx $r->{error}, --- must_die"
             . " expects code $1");
        diag(nginx_output());
    }

    my ($lines) = read_log_lines(0);
    log_checks($t, 0, 0, $lines);
    return 0;
}

sub nginx_output () {
    return "nginx stderr:\n" . tail_text(stderr_path())
           . "error.log:\n" . tail_text(error_log_path());
}


# ---- requests --------------------------------------------------------------

sub run_round ($t, $rep) {
    my $block = $t->{block};
    my @exchanges = exchanges($t);

    $t->{nreqs} = 0;
    $t->{nreqs} += $_->{count} for @exchanges;

    my $wait = sect($block, 'wait');

    if (!@exchanges) {
        sleep $wait if $wait;
        log_checks($t, 0, $rep);
        return;
    }

    my $timeout = parse_timeout(sect($block, 'timeout')) // $Timeout;
    my $shutdown = sect($block, 'shutdown');
    my $i = 0;

    for my $x (@exchanges) {
        sleep $x->{delay} if $x->{delay};

        my ($count, $heads) = @$x{qw(count heads)};
        my $res = http_exchange(
            port         => client_port(),
            packets      => $x->{packets},
            timeout      => $timeout,
            middle_delay => sect($block, 'raw_request_middle_delay'),
            shutdown     => defined $shutdown
                            ? ($shutdown =~ /^\s*([012])\s*$/ ? $1 : 1)
                            : undef,
            done         => $x->{keepalive}
                            ? sub { responses_complete($_[0], $count,
                                                       $heads) }
                            : undef,
        );

        fail("$t->{label} - ERROR: $res->{error}") if $res->{error};

        fail("ERROR: client socket timed out - $t->{name}")
            if $res->{timed_out} && !defined sect($block, 'abort');

        my @resp = parse_responses($res->{data}, $heads);

        for my $k (0 .. $count - 1) {
            check_response($t, $i, $resp[$k] // {})
                unless defined sect($block, 'ignore_response');
            sleep $wait if $wait;
            log_checks($t, $i, $rep);
            $i++;
        }
    }
}

sub client_port () {
    return $ENV{TEST_NGINX_CLIENT_PORT} || server_port();
}

sub parse_timeout ($spec) {
    return undef unless defined $spec && $spec =~ /\S/;
    my ($n, $unit) = $spec =~ /^\s*([\d.]+)\s*(ms|s)?\s*$/
        or bail_out("bad --- timeout: $spec");
    return $unit && $unit eq 'ms' ? $n / 1000 : $n;
}

# What to send: a list of { packets, count (responses), heads (HEAD
# requests), keepalive (stop reading at the end of the responses
# instead of at EOF), delay }.
sub exchanges ($t) {
    my $block = $t->{block};
    my $more = sect($block, 'more_headers');

    if (defined(my $p = sect($block, 'pipelined_requests'))) {
        my @reqs = ref $p eq 'ARRAY' ? @$p : ($p);
        my ($data, @heads) = ('');

        for my $i (0 .. $#reqs) {
            my $req = parse_request(expand_env($reqs[$i]))
                or bail_out("$t->{label}: empty pipelined request");
            my $b = build_request(%$req, more_headers => pick($more, $i),
                                  connection => $i == $#reqs ? 'close'
                                                             : 'keep-alive');
            $data .= $b->{data};
            push @heads, uc $req->{method} eq 'HEAD';
        }

        return { packets => [{ data => $data }], count => scalar @reqs,
                 heads => \@heads, keepalive => 0 };
    }

    if (defined(my $raw = sect($block, 'raw_request'))) {
        my @packets = map {
            ref $_ eq 'HASH' ? { data => $_->{value},
                                 delay => $_->{delay_before} }
                             : { data => $_ }
        } ref $raw eq 'ARRAY' ? @$raw : ($raw);
        my $all = join '', map { $_->{data} } @packets;

        # Sent as is, so read to EOF only if the request asks nginx to
        # close the connection.
        my $close = $all =~ /^Connection:\s*close/mi
                    || $all =~ m{\A\s*\S+\s+\S+\s+HTTP/1\.0}
                       && $all !~ /^Connection:\s*keep-alive/mi;

        return { packets => \@packets, count => 1,
                 heads => [$all =~ /\A\s*HEAD\s/ ? 1 : 0],
                 keepalive => !$close };
    }

    my $req = sect($block, 'request');
    return () unless defined $req;

    my @reqs = ref $req eq 'ARRAY' ? @$req : ($req);
    my @x;

    for my $i (0 .. $#reqs) {
        my ($r, $delay) = ($reqs[$i], 0);
        ($r, $delay) = ($r->{value}, $r->{delay_before} // 0)
            if ref $r eq 'HASH';

        my $b = build_packets(ref $r eq 'ARRAY' ? $r : [$r],
                              more_headers => pick($more, $i),
                              connection => 'close')
            or bail_out("$t->{label}: empty --- request");

        push @x, { packets => $b->{packets}, count => 1, delay => $delay,
                   heads => [uc $b->{method} eq 'HEAD'],
                   keepalive => $b->{keepalive} };
    }

    return @x;
}


# ---- response checks -------------------------------------------------------

sub check_response ($t, $i, $resp) {
    my $block = $t->{block};
    my $name = $t->{label};
    my $sfx = $t->{nreqs} > 1 ? " (req $i)" : '';

    my $status = $resp->{status} // '';
    if (defined(my $like = pick(sect($block, 'error_code_like'), $i))) {
        like($status, to_regex($like), "$name - status code ok$sfx");
    } else {
        my $code = pick(sect($block, 'error_code'), $i) // 200;
        is($status, $code, "$name - status code ok$sfx");
    }

    check_headers($t, $i, $resp, $sfx);

    my $raw = $resp->{raw_headers} // '';
    if (defined(my $re = pick(sect($block, 'raw_response_headers_like'),
                              $i))) {
        like($raw, to_regex($re), "$name - raw resp headers like$sfx");
    }
    if (defined(my $re = pick(sect($block, 'raw_response_headers_unlike'),
                              $i))) {
        unlike($raw, to_regex($re), "$name - raw resp headers unlike$sfx");
    }

    check_body($t, $i, $resp->{body} // '', $sfx);
}

sub check_headers ($t, $i, $resp, $sfx) {
    my $block = $t->{block};
    my $name = $t->{label};

    if (defined(my $spec = pick(sect($block, 'response_headers'), $i))) {
        for my $line (grep { /\S/ } split /\n/, $spec) {
            if ($line =~ /^\s*!\s*([^\s:]+)/) {
                my $got = header_value($resp, $1);
                ok(!defined $got, "$name - header $1 not present$sfx")
                    or diag("     got: '$got'");

            } elsif ($line =~ /^\s*([^:]+?)\s*:\s*(.*?)\s*$/) {
                is(header_value($resp, $1), $2, "$name - header $1 ok$sfx");

            } else {
                bail_out("$name: bad --- response_headers line: $line");
            }
        }
        return;
    }

    # CPAN ignores response_headers_like when response_headers is there.
    my $spec = pick(sect($block, 'response_headers_like'), $i);
    return unless defined $spec;

    for my $line (grep { /\S/ } split /\n/, $spec) {
        my ($key, $re) = $line =~ /^\s*([^:]+?)\s*:\s*(.*?)\s*$/
            or bail_out("$name: bad --- response_headers_like: $line");
        like(header_value($resp, $key) // '', qr/^$re$/,
             "$name - header $key like ok$sfx");
    }
}

sub check_body ($t, $i, $body, $sfx) {
    my $block = $t->{block};
    my $name = $t->{label};

    if ($block->{response_body}) {
        my $want = pick(sect($block, 'response_body'), $i);
        my $label = "$name - response_body - response is expected$sfx";

        if (ref $want eq 'Regexp') {
            like($body, $want, $label);
        } elsif ($NoLongString) {
            is($body, server_ports(expand_env($want)), $label);
        } else {
            Test::LongString::is_string($body,
                                        server_ports(expand_env($want)),
                                        $label);
        }
        return;
    }

    if (defined(my $re = pick(sect($block, 'response_body_like'), $i))) {
        like($body, to_regex(server_ports($re), 's'),
             "$name - response_body_like - response is expected$sfx");
    }

    if (defined(my $re = pick(sect($block, 'response_body_unlike'), $i))) {
        unlike($body, to_regex(server_ports($re), 's'),
               "$name - response_body_unlike - response is expected$sfx");
    }
}

sub to_regex ($re, $flags = '') {
    return $re if ref $re eq 'Regexp';
    return $flags eq 's' ? qr/$re/s : qr/$re/;
}

sub server_ports ($text) {
    return $text if !defined $text || ref $text;
    my $client = client_port();
    my $server = server_port();
    $text =~ s/\$ServerPortForClient\b/$client/g;
    $text =~ s/\$ServerPort\b/$server/g;
    return $text;
}


# ---- error log checks ----------------------------------------------------

# error_log, no_error_log and grep_error_log after request $i.  Each
# check sees only the lines written since the previous one (CPAN
# behaviour) unless check_accum_error_log() was called.  must_die
# passes the lines to check.
sub log_checks ($t, $i, $rep, $lines = undef) {
    my $block = $t->{block};
    my @want = patterns($block, 'error_log');
    my @not = patterns($block, 'no_error_log');
    my $grep = sect($block, 'grep_error_log');
    my $grep_out = sect($block, 'grep_error_log_out');

    if (defined $grep xor defined $grep_out) {
        bail_out("$t->{label}: grep_error_log and grep_error_log_out"
                 . " need each other");
    }

    return unless @want || @not || defined $grep;

    if (!$lines) {
        # Lines of a finished request may still be on their way.
        sleep 3 * $Sleep;
        my $from = $CheckAccumErrLog ? $t->{log_start} : $t->{log_off};
        ($lines, $t->{log_off}) = read_log_lines($from);
    }

    my $name = $t->{label};
    my $sfx = ($t->{nreqs} // 0) > 1 ? " (req $i)" : '';

    for my $p (@want) {
        ok((any { line_matches($_, $p) } @$lines),
           "$name - pattern \"$p\" should exist in error.log$sfx");
    }

    for my $p (@not) {
        my @hits = grep { line_matches($_, $p) } @$lines;
        ok(!@hits, "$name - pattern \"$p\" should not exist in"
                   . " error.log$sfx")
            or diag("first matching line: $hits[0]");
    }

    if (defined $grep) {
        my @found = map { grep_line($_, $grep) } @$lines;
        my $got = join '', map { "$_\n" } @found;
        my $want = $grep_out;
        $want = $want->[$rep] if ref $want eq 'ARRAY';
        is_str($got, ref $want ? $want : expand_env($want),
               "$name - grep_error_log_out (req $i)");
    }
}

# The patterns of an error_log-like section: its lines, or the
# elements of an eval'ed array (strings or qr//).
sub patterns ($block, $section) {
    my $v = $block->{$section} or return ();
    my @v = @$v == 1 && ref $v->[0] eq 'ARRAY' ? @{$v->[0]} : @$v;
    return map { ref $_ ? $_ : grep { /\S/ } split /\n/ } @v;
}

sub line_matches ($line, $p) {
    return ref $p ? $line =~ $p : index($line, $p) >= 0;
}

sub grep_line ($line, $p) {
    my @found;

    if (ref $p) {
        push @found, $& while $line =~ /$p/g;
    } elsif (length $p) {
        my $at = 0;
        while (($at = index $line, $p, $at) >= 0) {
            push @found, $p;
            $at += length $p;
        }
    }

    return @found;
}


# ---- nginx health ----------------------------------------------------------

# After a block: nginx must still run, and must not have logged
# [alert], [crit] or [emerg] (CPAN only warns) nor a crashed worker.
sub check_health ($t) {
    my $status = reap_nginx();

    if (defined $status) {
        fail("$t->{label} - ERROR: nginx " . exit_text($status)
             . " during the block");
        diag("error.log:\n" . tail_text(error_log_path()));
        undef $Last;
    }

    scan_log($t, 0);
}

# Problems that stopping nginx revealed belong to the last block that
# ran against it.
sub report_stop ($res) {
    my $t = $Last;
    undef $Last;
    return unless $res && $t;

    if ($res->{killed}) {
        diag("$t->{label}: nginx ignored SIGQUIT and was killed");
    } elsif ($res->{status}) {
        fail("$t->{label} - ERROR: nginx " . exit_text($res->{status})
             . ' while stopping');
    }

    scan_log($t, 1);
}

sub scan_log ($t, $stopping) {
    my $from = $stopping ? $t->{scanned} : $t->{scan_from};
    my ($lines, $end) = read_log_lines($from // 0);
    $t->{scanned} = $end;

    my $block = $t->{block};
    my @mentions = map { ref $_ ? "$_" : $_ }
                   patterns($block, 'error_log'),
                   $stopping ? () : patterns($block, 'no_error_log');

    # A level the block's own checks mention is theirs to judge.
    my %exempt = map { my $l = $_; ($l => any { /\Q$l\E/i } @mentions) }
                 qw(alert crit emerg);
    my $crash_ok = any { /exited on signal/ } @mentions;

    my @bad = grep {
        /\[(alert|crit|emerg)\]/ && !$exempt{$1}
        || !$crash_ok && /exited on signal/
    } @$lines;

    return unless @bad;

    my $when = $stopping ? ' while stopping nginx' : '';
    fail("$t->{label} - unexpected line in error.log$when: $bad[0]");
    diag(join "\n", @bad[0 .. min($#bad, 9)]) if @bad > 1;
}

1;

__END__

=head1 NAME

Test::Nginx::Socket - nginx-gamma's runner for Test::Nginx data files

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';

    no_shuffle();
    run_tests();

    __DATA__

    === TEST 1: sanity
    --- config
        location = /t { return 200 "ok\n"; }
    --- request
    GET /t
    --- response_body
    ok

Run with C<prove -I t/lib -r t> from the repository root.

=head1 DESCRIPTION

A clean-room implementation of the subset of CPAN's Test::Nginx::Socket
described in F<shared/spec/test-format.md> (A.10), reproducing the CPAN
behaviours of A.11 so that the same F<.t> files pass under both.

Differences from CPAN, none of which a passing F<.t> file can observe:

=over

=item * nginx runs with C<daemon off> as the runner's child and is
reaped with waitpid(); startup is detected by nginx writing its pid
file, a config error fails the block at once instead of retrying for
30 s.

=item * A block fails when error.log gets C<[alert]>, C<[crit]> or
C<[emerg]> lines while it runs (or while its nginx stops), unless the
block's error_log/no_error_log mention that level, and when nginx or a
worker exits on a signal.

=item * C<worker_connections> is 1024 instead of 64.

=back

=cut
