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
    parse_responses header_value strip_request_comments
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


# ---- sections --------------------------------------------------------------

# The sections upstream's Test::Nginx::Socket reads, in two groups: the
# ones this runner implements (or, like no_check_leak, accepts and
# ignores as upstream does outside its special modes), and the ones it
# does not implement, which bail out rather than pass unchecked.
my %Implemented = map { $_ => 1 } qw(
    config http_config main_config post_main_config server_name
    log_level user_files init post_setup_server_root
    request more_headers pipelined_requests raw_request
    raw_request_middle_delay
    response_body response_body_like response_body_unlike error_code
    error_code_like response_headers response_headers_like
    raw_response_headers_like raw_response_headers_unlike
    error_log no_error_log grep_error_log grep_error_log_out
    timeout abort wait ignore_response shutdown
    skip_nginx skip_nginx2 skip_eval must_die
    no_check_leak no_http2 no_http3 no_mockeagain suppress_stderr
    ONLY SKIP LAST
);

my %Unsupported = map { $_ => 1 } qw(
    access_log no_access_log charset curl curl_error curl_options
    curl_protocol error_log_file http09 http2 http3
    quic_max_idle_timeout reload_fails req_headers request_eval resp_title
    response_body_eval response_body_filters response_body_json_sort
    server_addr_for_client shutdown_error_log no_shutdown_error_log
    skip_openssl skip_slave stap stap_out stap_out_like stap_out_unlike
    tcp_listen tcp_no_close tcp_query tcp_query_auto_timeout tcp_query_len
    tcp_reply tcp_reply_delay tcp_shutdown tcp_shutdown_delay
    test_nginx_enabled_http2 test_nginx_enabled_http3 todo todo_nginx
    udp_listen udp_query udp_reply udp_reply_delay write_resp_body_file
);

# The expected-value sections that are per request: with several
# requests (or pipelined_requests) each must be an array with one entry
# per request; with one request an array gives its first entry.
my @PerRequest = qw(
    error_code error_code_like raw_response_headers_like
    raw_response_headers_unlike response_headers response_headers_like
    response_body response_body_like response_body_unlike
);

# Extension: upstream ignores a section it does not know, so a
# misspelt "--- respone_body" passes unchecked there.  We warn (the
# verdict stays upstream's); a section upstream knows and we do not
# implement bails out.
sub check_sections ($t) {
    my $map = $t->{block}{_section_map};
    $map = $map->[0] if ref $map eq 'ARRAY';

    for my $name (sort keys %{$map // {}}) {
        if ($Unsupported{$name}) {
            bail_out("$t->{label} - --- $name is not supported by the"
                     . " project's runner (t/lib/Test/Nginx)");
        }
        warn "WARNING: $t->{label} - unknown section --- $name:"
             . " Test::Nginx ignores it (misspelt?)\n"
            unless $Implemented{$name};
    }
}


# ---- one block -------------------------------------------------------------

sub run_block ($block) {
    $_->($block) for @BlockPreprocessors;
    reset_block_env();

    my $t = { block => $block, name => $block->name,
              label => "$0 " . $block->name };

    check_sections($t);
    return if skip_block($t);

    if (defined sect($block, 'config')) {
        return unless restart_nginx($t);

    } elsif (!nginx_started_once()) {
        bail_out("$t->{label} - No '--- config' section specified and"
                 . " could not get previous one (the first block has no"
                 . " --- config)");

    } else {
        # Reuse the running nginx and whatever config it has.  Like
        # upstream, the block's error_log checks start at the top of
        # the log, which holds the earlier blocks' lines too.
        $t->{log_start} = $t->{log_off} = 0;
        $t->{scan_from} = $Last ? $Last->{scanned} : log_size();
        $Last = $t if nginx_pid();
        write_user_files(sect($block, 'user_files'));
    }

    run_init($t);

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

    # Upstream leaves nginx alone but still runs the block's init.
    run_init($t);

    # N is per repetition, like the N of the usual plan formula.
    Test::More->builder->skip("$t->{label} - $why")
        for 1 .. $n * $RepeatEach;
    return 1;
}

sub run_init ($t) {
    my $code = sect($t->{block}, 'init');
    return unless defined $code;
    eval_main("$code\n;1") or bail_out("$t->{label} - init failed: $@");
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

    my $dies = defined sect($block, 'must_die');
    my $r = start_nginx(no_valgrind => $dies);
    $t->{log_start} = $t->{log_off} = $t->{scan_from} = 0;

    return must_die($t, $r) if $dies;

    if (!$r->{ok}) {
        fail("$t->{label} - ERROR: nginx failed to start: $r->{error}");
        diag(nginx_output());
        return 0;
    }

    $Last = $t;
    return 1;
}

# nginx was expected to fail at startup.  As upstream: once per
# repetition, one test for the death ("die as expected", or "die with
# the expected exit code" for "--- must_die: N"), then the error_log
# checks; no request is sent.
sub must_die ($t, $r) {
    my $want = sect($t->{block}, 'must_die');
    $want =~ s/^\s+|\s+$//g;
    my $label = $t->{label};

    for my $rep (0 .. $RepeatEach - 1) {
        $r = start_nginx(no_valgrind => 1) if $rep > 0;
        my $status = $r->{status};

        if ($r->{ok}) {
            fail("$label - die as expected: nginx started but --- must_die"
                 . " expects it to fail");
            stop_nginx();

        } elsif (!defined $status || $status & 127) {
            fail("$label - die as expected: nginx $r->{error}, not a"
                 . " clean startup failure");
            diag(nginx_output());

        } elsif ($want =~ /^\d+$/) {
            is($status >> 8, $want, "$label - die with the expected exit"
                                    . " code");
        } else {
            isnt($status, 0, "$label - die as expected");
        }

        my ($lines, $end) = read_log_lines($t->{log_off} // 0);
        $t->{log_off} = $end;
        log_checks($t, 0, $rep, $lines);
    }

    return 0;
}

sub nginx_output () {
    return "nginx stderr:\n" . tail_text(stderr_path())
           . "error.log:\n" . tail_text(error_log_path());
}


# ---- requests --------------------------------------------------------------

sub run_round ($t, $rep) {
    my $block = $t->{block};
    my ($need_array, @exchanges) = exchanges($t);

    $t->{nreqs} = 0;
    $t->{nreqs} += $_->{count} for @exchanges;
    $t->{need_array} = $need_array;
    check_expected_forms($t);

    my $timeout = parse_timeout(sect($block, 'timeout')) // $Timeout;
    my $shutdown = sect($block, 'shutdown');
    my $wait = sect($block, 'wait');
    my $i = 0;

    for my $x (@exchanges) {
        my $count = $x->{count};
        my $res = http_exchange(
            port         => client_port(),
            packets      => $x->{packets},
            timeout      => $timeout,
            middle_delay => sect($block, 'raw_request_middle_delay'),
            shutdown     => defined $shutdown
                            ? ($shutdown =~ /^\s*([012])\s*$/ ? $1 : 1)
                            : undef,
        );

        fail("$t->{label} - ERROR: $res->{error}") if $res->{error};

        fail("ERROR: client socket timed out - $t->{label}")
            if $res->{timed_out} && !defined sect($block, 'abort');

        my @resp = parse_responses($res->{data}, $x->{heads});

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

# What to send, in the forms upstream's Test::Nginx::Socket accepts
# (anything else bails out, with upstream's message where it has one):
#
#   raw_request         a string, or an eval'ed array of strings
#                       (packets; raw_request_middle_delay between them)
#   pipelined_requests  an eval'ed array of request strings, one
#                       keep-alive connection
#   request             a string, or an eval'ed array whose elements are
#                       request strings or arrays of packets; a packet is
#                       a string or a hash {value => ..., delay_before =>
#                       seconds}
#
# raw_request wins over pipelined_requests, which wins over request.
# Returns whether the expected values must be arrays (several requests,
# or pipelined_requests), then a list of { packets => [{data, delay}],
# count (responses), heads (HEAD requests) }.
sub exchanges ($t) {
    my $block = $t->{block};

    if (defined(my $raw = sect($block, 'raw_request'))) {
        return (0, raw_exchange($t, $raw));
    }

    if (my $p = sect($block, 'pipelined_requests')) {
        return (1, pipelined_exchange($t, $p));
    }

    my $req = sect($block, 'request');
    my $label = $t->{label};

    bail_out("$label - no --- request, --- raw_request or"
             . " --- pipelined_requests (Request line should be"
             . " non-empty)") unless defined $req;

    return (0, request_exchange($t, [[strip_request_comments($req)]], 0))
        unless ref $req;

    if (ref $req ne 'ARRAY') {
        bail_out("$label - invalid --- request: MUST be string or array of"
                 . " requests, not a " . ref($req) . hash_hint($req));
    }

    bail_out("$label - request empty") unless @$req;

    my @x;
    for my $i (0 .. $#$req) {
        my $one = $req->[$i];

        if (ref $one eq 'ARRAY') {
            push @x, request_exchange($t, packets_of($t, $i, $one), $i);

        } elsif (ref $one) {
            bail_out("$label - Invalid syntax. $one should be a string or"
                     . " an array of packets (request $i is a " . ref($one)
                     . hash_hint($one) . ')');
        } else {
            push @x, request_exchange($t, [[$one]], $i);
        }
    }

    return (@$req > 1, @x);
}

sub hash_hint ($ref) {
    return '' unless ref $ref eq 'HASH';
    return '; Test::Nginx takes {value => ..., delay_before => ...} only as'
           . ' a packet inside an inner array: [["GET /a", {value =>'
           . ' " HTTP/1.1", delay_before => 0.2}]], and ignores the'
           . ' delay_before of the first packet';
}

# The packets of request $i as [data, delay_before or undef].
sub packets_of ($t, $i, $packets) {
    my $label = $t->{label};
    my @out;

    for my $k (0 .. $#$packets) {
        my $p = $packets->[$k];

        if (!ref $p) {
            push @out, [$p];
            next;
        }

        if (ref $p ne 'HASH' || !exists $p->{value} || ref $p->{value}
            || grep { $_ ne 'value' && $_ ne 'delay_before' } keys %$p) {
            bail_out("$label - Invalid syntax. $p should be a string or"
                     . " hash with value (packet $k of request $i: a hash"
                     . " takes the keys value, a string, and"
                     . " delay_before)");
        }

        # Upstream sends the first packet at once, whatever its delay.
        warn "WARNING: $label - request $i: the delay_before of the first"
             . " packet is ignored (as by Test::Nginx); put the delay on a"
             . " later packet\n"
            if $k == 0 && $p->{delay_before};

        push @out, [$p->{value}, $p->{delay_before}];
    }

    return \@out;
}

# The more_headers for request $i: a string for all, or an eval'ed
# array with one string per request.
sub more_headers_for ($t, $i, $what) {
    my $more = sect($t->{block}, 'more_headers');
    return $more unless ref $more;

    if (ref $more ne 'ARRAY' || grep { ref } @$more) {
        bail_out("$t->{label} - --- more_headers must be a string or an"
                 . " eval'ed array of strings");
    }

    my $h = $more->[$i];
    bail_out("--- more_headers lacks data for the $what"
             . " ($t->{label}: the array has " . @$more . ' entries)')
        unless defined $h;
    return $h;
}

sub request_exchange ($t, $packets, $i) {
    my $b = build_packets($packets,
                          more_headers => more_headers_for($t, $i,
                              $i ? "${i}th request" : 'request'),
                          connection => 'close');
    bail_out("$t->{label} - $b") unless ref $b;

    return { packets => $b->{packets}, count => 1,
             heads => [uc $b->{method} eq 'HEAD'] };
}

sub pipelined_exchange ($t, $p) {
    my $label = $t->{label};

    bail_out("$label - invalid entries in --- pipelined_requests: it must"
             . ' be an eval\'ed array of request strings')
        unless ref $p eq 'ARRAY' && @$p;

    my ($data, @heads) = ('');
    for my $i (0 .. $#$p) {
        bail_out("$label - --- pipelined_requests entry $i is not a request"
                 . ' string') if ref $p->[$i] || !defined $p->[$i];

        my $req = parse_request(expand_env($p->[$i]));
        bail_out("$label - $req") unless ref $req;

        my $b = build_request(%$req,
                              more_headers => more_headers_for($t, $i,
                                  "$i pipelined request"),
                              connection => $i == $#$p ? 'close'
                                                       : 'keep-alive');
        $data .= $b->{data};
        push @heads, uc $req->{method} eq 'HEAD';
    }

    return { packets => [{ data => $data }], count => scalar @$p,
             heads => \@heads };
}

sub raw_exchange ($t, $raw) {
    my @packets = ref $raw eq 'ARRAY' ? @$raw : ($raw);

    if (ref $raw && ref $raw ne 'ARRAY' || grep { ref } @packets) {
        bail_out("$t->{label} - --- raw_request must be a string or an"
                 . " eval'ed array of strings (packets, sent as they are;"
                 . " Test::Nginx would send a hash as \"HASH(0x...)\")."
                 . " For delays between packets use"
                 . " --- raw_request_middle_delay, or --- request eval with"
                 . " [[\"packet\", {value => ..., delay_before => ...}]]");
    }

    my $all = join '', map { $_ // '' } @packets;

    return { packets => [map { { data => $_ // '' } } @packets],
             count => 1, heads => [$all =~ /\A\s*HEAD\s/ ? 1 : 0] };
}


# ---- response checks -------------------------------------------------------

# Which per-request sections upstream checks: error_code_like hides
# error_code, response_headers hides response_headers_like, and
# response_body hides response_body_like, which hides
# response_body_unlike.
sub checked_sections ($block) {
    my @s;
    my $first = sub (@names) {
        for my $n (@names) {
            return push @s, $n if defined sect($block, $n);
        }
    };

    $first->(qw(error_code_like error_code));
    $first->('raw_response_headers_like');
    $first->('raw_response_headers_unlike');
    $first->(qw(response_headers response_headers_like));
    $first->(qw(response_body response_body_like response_body_unlike));
    return @s;
}

# Several requests need an array per checked section (upstream bails
# out otherwise).  Stricter than upstream: the array must have one
# entry per request (upstream ignores extra entries, and a missing one
# is a check against undef, or no check at all).
sub check_expected_forms ($t) {
    my $block = $t->{block};
    return if defined sect($block, 'ignore_response');

    my $n = $t->{nreqs};
    my $label = $t->{label};

    for my $s (checked_sections($block)) {
        my $v = sect($block, $s);

        if (ref $v eq 'ARRAY') {
            next if @$v == $n;
            bail_out("$label - --- $s has " . @$v . " entries for $n"
                     . ' request' . ($n == 1 ? '' : 's'));
        }

        if ($t->{need_array}) {
            bail_out("$label - You asked for many requests, the expected"
                     . " results should be arrays as well (--- $s is not an"
                     . " eval'ed array, and the block sends $n request"
                     . ($n == 1 ? ', pipelined)' : 's)'));
        }
    }
}

sub check_response ($t, $i, $resp) {
    my $block = $t->{block};
    my $name = $t->{label};
    my $sfx = $t->{nreqs} > 1 ? " (req $i)" : '';

    my $status = $resp->{status} // '';
    if (defined(my $like = pick(sect($block, 'error_code_like'), $i))) {
        like($status, to_regex($like, 'sm'), "$name - status code ok$sfx");
    } else {
        my $code = pick(sect($block, 'error_code'), $i) // 200;
        is($status, $code, "$name - status code ok$sfx");
    }

    my $raw = $resp->{raw_headers} // '';
    if (defined(my $re = pick(sect($block, 'raw_response_headers_like'),
                              $i))) {
        like($raw, to_regex($re, 's'), "$name - raw resp headers like$sfx");
    }
    if (defined(my $re = pick(sect($block, 'raw_response_headers_unlike'),
                              $i))) {
        unlike($raw, to_regex($re, 's'),
               "$name - raw resp headers unlike$sfx");
    }

    check_headers($t, $i, $resp, $sfx);
    check_body($t, $i, $resp->{body} // '', $sfx);
}

# "Name: value" lines as upstream reads them: each line trimmed,
# "!Name" (or a line without a colon) means absent, a name given twice
# keeps its last value.  Returns [name, value or undef] in order.
sub header_spec ($spec) {
    my (%seen, @h);

    for my $line (split /\n/, $spec) {
        $line =~ s/^\s+|\s+$//g;
        my ($key, $val) = $line =~ s/^!\s*//
                          ? ($line, undef)
                          : split /\s*:\s*/, $line, 2;
        $key //= '';
        push @h, $seen{$key} = [$key, $val] unless $seen{$key};
        $seen{$key}[1] = $val;
    }

    return @h;
}

sub check_headers ($t, $i, $resp, $sfx) {
    my $block = $t->{block};
    my $name = $t->{label};
    my $raw = $resp->{raw_headers} // '';

    if (defined(my $spec = pick(sect($block, 'response_headers'), $i))) {
        for my $h (header_spec($spec)) {
            my ($key, $val) = @$h;

            if (!defined $val) {
                # Upstream looks at the raw headers, case-sensitively.
                unlike($raw, qr/^\s*\Q$key\E\s*:/m,
                       "$name - header $key not present$sfx");
            } else {
                is(header_value($resp, $key) // '', server_ports($val),
                   "$name - header $key ok$sfx");
            }
        }
        return;
    }

    my $spec = pick(sect($block, 'response_headers_like'), $i);
    return unless defined $spec;

    for my $h (header_spec($spec)) {
        my ($key, $re) = @$h;
        $re //= '';
        like(header_value($resp, $key) // '', qr/^$re$/,
             "$name - header $key like ok$sfx");
    }
}

sub check_body ($t, $i, $body, $sfx) {
    my $block = $t->{block};
    my $name = $t->{label};

    if (defined sect($block, 'response_body')) {
        my $want = pick(sect($block, 'response_body'), $i);
        my $label = "$name - response_body - response is expected$sfx";

        if (ref $want) {
            like($body, $want, $label);
        } elsif ($NoLongString) {
            is($body, server_ports(expand_env($want)), $label);
        } else {
            Test::LongString::is_string($body,
                                        server_ports(expand_env($want)),
                                        $label);
        }

    } elsif (defined(my $re = pick(sect($block, 'response_body_like'),
                                   $i))) {
        like($body, to_regex(server_ports("$re"), 's'),
             "$name - response_body_like - response is expected$sfx");

    } elsif (defined($re = pick(sect($block, 'response_body_unlike'),
                                $i))) {
        unlike($body, to_regex(server_ports("$re"), 's'),
               "$name - response_body_unlike - response is expected$sfx");
    }
}

sub to_regex ($re, $flags = '') {
    return $flags eq 'sm' ? qr/$re/sm : $flags eq 's' ? qr/$re/s : qr/$re/;
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
# check sees only the lines written since the previous one (upstream
# behaviour) unless check_accum_error_log() was called.  must_die
# passes the lines to check.
sub log_checks ($t, $i, $rep, $lines = undef) {
    my $block = $t->{block};
    my @want = patterns($block, 'error_log');
    my @not = patterns($block, 'no_error_log');
    my $grep = sect($block, 'grep_error_log');
    my $grep_out = sect($block, 'grep_error_log_out');
    my $label = $t->{label};

    if (defined $grep_out && !defined $grep) {
        bail_out("$label - No --- grep_error_log defined but"
                 . " --- grep_error_log_out is defined");
    }

    # An array of patterns: one per repetition.
    $grep = $grep->[$rep] if ref $grep eq 'ARRAY';

    if (defined $grep && !defined $grep_out) {
        bail_out("$label - No --- grep_error_log_out defined but"
                 . " --- grep_error_log is defined");
    }

    return unless @want || @not || defined $grep;

    if (!$lines) {
        # Lines of a finished request may still be on their way.
        sleep 3 * $Sleep;
        my $from = $CheckAccumErrLog ? $t->{log_start} : $t->{log_off};
        ($lines, $t->{log_off}) = read_log_lines($from);
    }

    # Upstream matches lines with their newline.
    my @lines = map { "$_\n" } @$lines;
    my $sfx = ($t->{nreqs} // 0) > 1 ? " (req $i)" : '';

    for my $p (@want) {
        ok((any { line_matches($_, $p) } @lines),
           "$label - pattern \"$p\" should exist in error.log$sfx");
    }

    for my $p (@not) {
        my @hits = grep { line_matches($_, $p) } @lines;
        ok(!@hits, "$label - pattern \"$p\" should not exist in"
                   . " error.log$sfx")
            or diag("first matching line: $hits[0]");
    }

    if (defined $grep) {
        # The first match in each line, as upstream collects them.
        my $got = '';
        for my $line (@lines) {
            my $m = ref $grep ? ($line =~ $grep ? $& : undef)
                              : (index($line, $grep) >= 0 ? $grep : undef);
            $got .= "$m\n" if defined $m && $m !~ /\n/;
        }

        my $want = expand_env($grep_out);
        $want = $want->[$rep] if ref $want eq 'ARRAY';
        my $what = "$label - grep_error_log_out (req $rep)";

        if (ref $want) {
            like($got, $want, $what);
        } elsif ($NoLongString) {
            is($got, $want, $what);
        } else {
            Test::LongString::is_string($got, $want, $what);
        }
    }
}

# The patterns of an error_log-like section as upstream reads them: the
# lines of a string (empty lines skipped), a qr//, or the defined
# elements of an eval'ed array, each one pattern.
sub patterns ($block, $section) {
    my $v = sect($block, $section);
    return () unless defined $v;
    return @$v ? grep { defined } @$v : () if ref $v eq 'ARRAY';
    return $v if ref $v;

    chomp $v;
    return split /\n+/, $v;
}

sub line_matches ($line, $p) {
    return ref $p ? $line =~ $p : index($line, $p) >= 0;
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

    # Upstream fails a block on an "Assertion ... failed" line too.
    my @bad = grep {
        /\[(alert|crit|emerg)\]/ && !$exempt{$1}
        || !$crash_ok && /exited on signal/
        || /\bAssertion .*?failed\b/
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

A clean-room runner for the F<.t> files of this repository, written in
the data format of upstream's Test::Nginx::Socket (openresty/test-nginx)
and built, like upstream, on Test::Base: block parsing, filters,
C<blocks()>, C<plan> and ONLY/SKIP/LAST are Test::Base's own.  It
implements the subset of upstream the suites use (sections listed in
C<%Implemented> at the top of this file), and every F<t/*.t> must pass
under both this runner and upstream's (README, "Testing", has the
command for the upstream check).

It is not upstream: where the two differ, the differences are listed
below, and none of them lets a block pass here that fails upstream,
except those marked I<more lenient>.

=head2 Request forms

Accepted exactly as upstream accepts them, rejected (bail-out) as
upstream rejects them, with upstream's message followed by a clearer
one where upstream's is terse:

    form                                               here     upstream
    -------------------------------------------------  -------  --------
    request: a string (leading blanks and "#" lines    accepted accepted
      dropped)
    request eval: an array of request strings (no      accepted accepted
      comment stripping), one connection each
    request eval: [[packet, ...]], a packet a string   accepted accepted
      or {value => str, delay_before => secs}
    request eval: a {value, delay_before} hash as a    bail     bail
      whole request, or a hash as the whole section
    a packet that is an array, or a hash with a key    bail     bail (array)
      other than value/delay_before                             ignored (keys)
    a request line not of 1-3 space-separated words,   bail     bail
      or empty (also: a block with no request at all)
    raw_request: a string or an array of strings       accepted accepted
    raw_request: a hash, or an array with a hash       bail     sends
                                                                "HASH(0x..)"
    pipelined_requests eval: an array of strings       accepted accepted
    pipelined_requests as plain text                   bail     bail
    pipelined_requests entry that is not a string      bail     sends garbage
    more_headers eval: an array shorter than the       bail     bail
      requests (or pipelined requests)
    several requests (or any pipelined_requests) and   bail     bail
      a checked expected value that is not an array
    an expected-value array whose length is not the    bail     ignores extra
      number of requests                                        entries; a
                                                                missing one
                                                                fails or is
                                                                not checked
    grep_error_log_out without grep_error_log, or      bail     bail
      the reverse
    a section upstream has and this runner lacks       bail     runs it
      (http2, tcp_listen, access_log, ...)
    a user_files date that is not a touch -t stamp     bail     bail

The checked expected-value sections are those upstream checks:
error_code_like hides error_code, response_headers hides
response_headers_like, response_body hides response_body_like, which
hides response_body_unlike.  The runner's self-tests (F<t/runner/>,
driven by F<t/000-runner.t>) show each rejection.

=head2 Same behaviour as upstream, on purpose

Requests are built as upstream builds them: C<Host: localhost> and
C<Connection: close> unless more_headers has them; a non-empty body is
trimmed and given a Content-Length unless it is chunked
(C<Transfer-Encoding: chunked> exactly) or more_headers has
C<Content-Length:> (case-sensitive, as upstream).  The first packet of
a request goes at once (its delay_before is ignored); a later one waits
its delay_before, else raw_request_middle_delay.  The response is read
until nginx closes the connection or the idle timeout hits, even for a
keep-alive request, and is framed by chunked encoding or Content-Length
only (an interim 100, a 204 or a 304 takes the rest).  C<!Name> in
response_headers looks for the name, case-sensitively, in the raw
headers; a header expected empty may be absent.  grep_error_log takes
the first match of each line.  A block without C<--- config> reuses the
running nginx and its error_log checks start at the top of the log.
must_die adds one test per repetition.  user_files dates are C<touch -t>
stamps in GMT.  Block preprocessors and cleanup handlers run last
registered first.  A block's init runs even when a skip_* section skips
it.  worker_connections is 64.

=head2 Stricter than upstream

=over

=item * A block fails when error.log gets C<[alert]>, C<[crit]> or
C<[emerg]> lines while it runs or while its nginx stops (upstream only
prints a warning), unless its error_log/no_error_log mention that level,
and when nginx or a worker exits on a signal.

=item * The bail-outs above marked "bail" against an upstream that
ignores, mangles or half-checks the form.

=item * nginx failing to start fails the block at once; upstream retries
for 30 s and then bails out of the whole file.

=back

=head2 Extensions that change no verdict

=over

=item * A warning on stderr for a section neither upstream nor this
runner knows (upstream ignores it silently, so a misspelt
C<--- respone_body> checks nothing under both), and for a delay_before
on a first packet.

=item * nginx runs with C<daemon off> as the runner's child: startup is
detected by its pid file, it is stopped with SIGQUIT (SIGKILL to its
process group after 3 s), and the next block's nginx starts only once
no process of the old one's group is alive and every TCP address its
config listened on can be bound again (upstream polls C<kill 0>, which
also waits for zombies, for up to C<timeout()> seconds).

=item * TEST_NGINX_USE_VALGRIND runs nginx under valgrind as upstream
does: a number means upstream's memcheck options (C<--leak-check=full
--show-possibly-lost=no>, C<./valgrind.suppress> when present,
TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR), other text is valgrind's options;
must_die blocks run without it; valgrind's findings fail no test.  Here
nginx gets 60 s to start and to stop instead of 10 and 3; upstream's
0.3 s longer keep-alive timeout is not added.

=item * Test names: a C<(req N)> suffix with several requests, and
no_error_log reports one failing test per pattern (upstream one per
matching line).

=back

=head2 More lenient than upstream

=over

=item * Corner cases of response parsing: a HEAD request anywhere in
pipelined_requests gets no body (upstream knows only the first one is a
HEAD); chunk extensions are accepted (upstream fails the block).
nginx produces neither in the suites.

=item * The upstream testing modes are not implemented and their
variables are ignored: _USE_HUP, _CHECK_LEAK,
_BENCHMARK, _USE_STAP, _USE_HTTP2, _USE_HTTP3, _USE_RR, _RANDOMIZE,
_NO_NGINX_MANAGER, _EVENT_TYPE, _POSTPONE_OUTPUT, _ERROR_LOG,
_IGNORE_MISSING_DIRECTIVES, _FAST_SHUTDOWN, _FORCE_RESTART_ON_TEST (a
block with a config always restarts nginx, upstream's default).

=back

=cut
