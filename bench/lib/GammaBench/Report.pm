package GammaBench::Report;

# bench/results.md and the plots (gnuplot) from the numbers bench.pl
# collected.  Every line stays within 80 columns: the style check reads
# bench/ too.

use strict;
use warnings;

use POSIX qw(strftime);
use GammaBench::Proc qw(run_cmd);
use GammaBench::Stats qw(percentile median fmt_ms fmt_mb fmt_int ratio);


sub new {
    my ($class, $r) = @_;

    return bless { r => $r, out => [] }, $class;
}


sub p {
    my ($self, @lines) = @_;

    push @{$self->{out}}, @lines;
}


sub write {
    my ($self, $dir) = @_;

    $self->{dir} = $dir;
    $self->header;
    $self->throughput;
    $self->side;
    $self->instructions;
    $self->scale;
    $self->instance;
    $self->propagation;
    $self->targets;
    $self->notes;
    $self->soak;
    $self->plots;
    $self->method;

    for (grep { length > 80 } @{$self->{out}}) {
        print STDERR "bench: results.md line longer than 80 columns: $_\n";
    }

    GammaBench::Mesh::write_file("$dir/results.md",
                                 join('', map { "$_\n" } @{$self->{out}}));
}


# a markdown table: columns right-aligned except the first ($left: all
# left-aligned)
sub table {
    my ($self, $head, @rows) = @_;
    my $left = ref $rows[0] eq 'ARRAY' ? 0 : shift @rows;
    my @w = map { length } @$head;

    for my $row (@rows) {
        for my $i (0 .. $#$row) {
            $row->[$i] //= '-';
            $w[$i] = length $row->[$i] if length $row->[$i] > $w[$i];
        }
    }

    my $line = sub {
        my ($cells) = @_;
        return '| ' . join(' | ', map {
            $_ && !$left ? sprintf('%*s', $w[$_], $cells->[$_])
               : sprintf('%-*s', $w[$_], $cells->[$_])
        } 0 .. $#w) . ' |';
    };

    $self->p($line->($head),
             '|' . join('|', map {
                 $_ && !$left ? '-' x ($w[$_] + 1) . ':'
                              : '-' x ($w[$_] + 2)
             } 0 .. $#w) . '|',
             (map { $line->($_) } @rows), '');
}


# ---- sections ------------------------------------------------------------

sub header {
    my ($self) = @_;
    my $r = $self->{r};
    # what the run recorded: --report writes it again later, elsewhere
    my $m = $r->{machine} // machine($r->{ctx}{root});

    $self->{machine} = $m;
    $self->p('# nginx-gamma benchmarks', '',
        'Written by `make bench` (bench/bench.pl); do not edit by hand.',
        ($r->{mode} eq 'smoke'
         ? ('', '**Smoke run: tiny sizes, the numbers mean nothing.**')
         : ()),
        '',
        wrap(sprintf('Run of %s, %.0f s. Load average %s at the start, ' .
                     '%s at the end: other work on the machine, the ' .
                     'noise the method must resist.',
                     strftime('%Y-%m-%d %H:%M %Z',
                              localtime($r->{time} // time)),
                     $r->{elapsed}, $r->{load_start} // '?',
                     $r->{load_end} // '?')),
        '');

    $self->table(['machine', ''], 'left',
        ['CPU', "$m->{cpu}, $m->{ncpu} CPUs"],
        ['memory', "$m->{mem} GB"],
        ['kernel', $m->{kernel}],
        ['OS', $m->{os}],
        ['nginx', $m->{nginx}],
        ['HAProxy', $m->{haproxy}],
        ['wrk', $m->{wrk}],
        ['module', $m->{module}]);
}


sub throughput {
    my ($self) = @_;
    my $r = $self->{r};
    my $C = $r->{sizes};
    my (@rows, @cost);

    return unless $r->{throughput};

    $self->p('## Throughput and latency', '',
        wrap("wrk, 1 thread, $C->{conns} keep-alive connections, " .
             "$C->{duration} s a run, $C->{rounds} rounds that interleave " .
             'the configurations (each round in a rotated order); the ' .
             'median of the rounds, and the range of req/s over the ' .
             'rounds as a measure of the noise. 1 KB responses.'), '');

    for my $c (@{$r->{throughput}}) {
        my @runs = @{$c->{runs} || []};
        my @rps = sort { $a <=> $b } map { $_->{rps} } @runs;
        my ($req, $cpu, $dur) = (0, 0, 0);

        for (@runs) {
            $req += $_->{requests};
            $cpu += $_->{cpu};
            $dur += $_->{duration_us} / 1e6;
        }

        $c->{rps_med} = median(@rps);
        $c->{p50_med} = median(map { $_->{p50_us} } @runs);
        $c->{p99_med} = median(map { $_->{p99_us} } @runs);
        $c->{cpu_1k} = $req ? $cpu / $req * 1000 : undef;
        $self->{tp}{$c->{label}} = $c;

        push @rows, [$c->{label}, fmt_int($c->{rps_med}),
            @rps ? fmt_int($rps[0]) . ' - ' . fmt_int($rps[-1]) : '-',
            sprintf('%.2f', ($c->{p50_med} // 0) / 1000),
            sprintf('%.2f', ($c->{p99_med} // 0) / 1000)];

        push @cost, [$c->{label},
            defined $c->{cpu_1k} ? sprintf('%.4f', $c->{cpu_1k}) : '-',
            $dur ? sprintf('%.0f%%', 100 * $cpu / $dur) : '-',
            defined $c->{syscalls} ? sprintf('%.1f', $c->{syscalls}) : '-',
            fmt_mb($c->{rss})];
    }

    $self->table(['', 'req/s', 'req/s range', 'p50 ms', 'p99 ms'], @rows);

    my $tp = $self->{tp};
    my ($a, $b, $d) = @$tp{qw(direct plain haproxy)};
    my @ratios;

    for my $c (grep { $_->{label} =~ /^gamma/ } @{$r->{throughput}}) {
        $c->{rps_b} = paired($c, $b, 'rps');
        $c->{p99_b} = paired($c, $b, 'p99_us');
        push @ratios, [$c->{label},
            map({ fmt_ratio(paired($c, $_, 'rps')) } $b, $d, $a),
            map({ fmt_ratio(paired($c, $_, 'p99_us')) } $b, $d, $a),
            ratio($c->{cpu_1k}, $b && $b->{cpu_1k})];
    }

    $self->p(wrap('Ratios, with c = nginx-gamma, b = plain nginx, ' .
                  'd = HAProxy, a = direct: the median over the rounds ' .
                  'of the ratio within a round (runs seconds apart ' .
                  'share the noise), and the ratio of the CPU seconds ' .
                  'per request (below).'), '');
    $self->table(['', 'req/s c/b', 'c/d', 'c/a', 'p99 c/b', 'c/d',
                  'c/a', 'CPU c/b'], @ratios);

    $self->p('## Cost', '',
        wrap('CPU: seconds the server (all its processes) spent per ' .
             '1,000 requests during the wrk runs above, and its CPU use ' .
             '(100% = one core; below 100% the server was not the ' .
             'bottleneck, or other work on the machine took its CPU). ' .
             'syscalls: system calls of the serving process per request ' .
             '(strace -c, one keep-alive client, requests one at a ' .
             'time). RSS: the serving process (nginx worker, haproxy) ' .
             'after the runs.'), '');
    $self->table(['', 'CPU s/1k req', 'CPU use', 'syscalls/req',
                  'RSS MB'], @cost);
}


# the side-by-side runs: per contender, the median and range of its
# ratios to plain nginx over the rounds
sub side {
    my ($self) = @_;
    my $sd = $self->{r}{side} or return;
    my (@rows, @busy);

    my $q = $sd->{quota};
    my $how = $q->{q_text}
        ? "both on the server CPU under $q->{q_text}: the two proxies " .
          'are the bottleneck'
        : "both on the server CPU ($q->{text}: the server CPU is the " .
          'bottleneck only where it is busier than the client CPU, ' .
          'below)';

    $self->p('## Side by side', '',
        wrap('Plain nginx and one other proxy loaded at the same ' .
             "moments, each by its own wrk ($sd->{conns} connections, " .
             "$sd->{duration} s) on the client CPU, $how; the scheduler " .
             'gives each proxy the same CPU time, so the one that costs ' .
             'more a request serves fewer. Both see the same machine at ' .
             'every moment, which runs seconds apart (above) do not. ' .
             "$sd->{rounds} round" . ($sd->{rounds} == 1 ? '' : 's') .
             ', the contenders in turn within each; the median of the ' .
             'ratios to plain nginx over the rounds, and their range. ' .
             '"plain twin" is a second plain nginx: its ratios are the ' .
             "method's own noise. CPU/req: the time the server's " .
             'processes ran (schedstat) a request.'), '');

    for my $label (sort { side_order($a) <=> side_order($b) || $a cmp $b }
                   keys %{$sd->{runs}})
    {
        my @pairs = @{$sd->{runs}{$label}};
        my @cells = ($label);

        for my $key (qw(rps p99_us cpu_req)) {
            my @v = sort { $a <=> $b }
                    map { $_->[0]{$key} ? $_->[1]{$key} / $_->[0]{$key}
                                        : () } @pairs;
            $self->{side}{$label}{$key} = median(@v);
            push @cells, !@v ? '-'
                         : sprintf('%.3f (%.2f-%.2f)', median(@v), $v[0],
                                   $v[-1]);
        }

        push @rows, \@cells;
        push @busy, map { $_->[0]{busy} } @pairs;
    }

    $self->table(['/ plain (range)', 'req/s', 'p99', 'CPU/req'], @rows);

    my %b = map {
        my $role = $_;
        ($role => median(grep { defined } map { $_->{$role} } @busy))
    } qw(client server);

    $self->p(wrap(sprintf('The CPUs were busy (median over the runs): ' .
                          'the server CPU %.0f%%, the client CPU %.0f%%.',
                          100 * ($b{server} // 0), 100 * ($b{client} // 0))),
             '') if defined $b{server};
}


sub side_order {
    my ($label) = @_;

    return $label eq 'plain twin' ? 0 : $label eq 'haproxy' ? 1
         : $label =~ /(\d+)$/ ? 2 + $1 : 3;
}


# the median over the rounds of $c's $key over $o's in the same round
sub paired {
    my ($c, $o, $key) = @_;

    return undef unless $o && $c->{runs} && $o->{runs};

    my @r = map {
        my ($x, $y) = ($c->{runs}[$_], $o->{runs}[$_]);
        $x && $y && $y->{$key} ? $x->{$key} / $y->{$key} : ()
    } 0 .. $#{$c->{runs}};

    return median(@r);
}


sub fmt_ratio {
    return defined $_[0] ? sprintf('%.3f', $_[0]) : '-';
}


sub instructions {
    my ($self) = @_;
    my $r = $self->{r};
    my @runs = @{$r->{instructions} || []};
    my ($plain) = grep { $_->{label} eq 'plain' } @runs;
    my @rows;

    return unless @runs;

    $self->p('### Instructions per request', '',
        wrap('Each server alone under valgrind --tool=callgrind (of ' .
             'nginx, its one worker process, as in service: the master ' .
             "and nginx-gamma's source process are others), one " .
             'keep-alive client sending ' .
             "$r->{sizes}{sequential} requests one at a time after 200 " .
             'to warm up: user-space instructions per request (Ir), ' .
             'which other work on the machine does not change; module: ' .
             'the share spent in ngx_http_gamma_module.so.'), '');

    for my $c (@runs) {
        push @rows, [$c->{label}, fmt_int($c->{ir}),
                     ratio($c->{ir}, $plain && $plain->{ir}),
                     defined $c->{module_ir} ? fmt_int($c->{module_ir})
                                             : '-'];
    }

    $self->table(['', 'Ir/request', 'vs plain', 'module Ir'], @rows);

    my ($big) = grep { $_->{label} =~ /^gamma/ } reverse @runs;

    return unless $big && $big->{functions};

    my $f = $big->{functions};
    my @top = (sort { $b->[2] <=> $a->[2] } values %$f)[0 .. 11];

    $self->p("Where $big->{label} spends them (self cost, top 12):", '');
    $self->table(['function', 'in', 'Ir/request'],
                 map { [$_->[0], short_obj($_->[1]), fmt_int($_->[2])] }
                 grep { defined } @top);

    return unless $plain && $plain->{functions};

    my $pf = $plain->{functions};
    my %all = map { $_ => 1 } keys %$f, keys %$pf;
    my %diff = map { $_ => ($f->{$_} ? $f->{$_}[2] : 0)
                          - ($pf->{$_} ? $pf->{$_}[2] : 0) } keys %all;
    my @more = (sort { $diff{$b} <=> $diff{$a} } keys %diff)[0 .. 11];

    $self->p("What $big->{label} runs more than plain nginx (top 12; " .
             'approximate: nginx', 'has no symbols for its static ' .
             'functions, and a tail call counts in its caller):', '');
    $self->table(['function', 'in', 'plain', 'gamma', 'more'],
        map {
            my $o = ($f->{$_} || $pf->{$_})->[1];
            [$_, short_obj($o), fmt_int($pf->{$_} ? $pf->{$_}[2] : 0),
             fmt_int($f->{$_} ? $f->{$_}[2] : 0), fmt_int($diff{$_})]
        } grep { defined && $diff{$_} > 0 } @more);
}


sub short_obj {
    my ($obj) = @_;

    return $obj =~ /gamma/ ? 'module'
         : $obj =~ /^(lib\w+|ld)/ ? $1
         : $obj;
}


sub scale {
    my ($self) = @_;
    my $r = $self->{r};
    my ($base) = grep { $_->{services} == 0 } @{$r->{scale} || []};
    my @rows;

    $self->p('## Memory and compile time at scale', '',
        wrap('nginx-gamma started on Svc Services (+ as many ' .
             'EndpointSlices and HTTPRoutes, manifests in files of 1,000 ' .
             'Services). start (s): until the first snapshot is in ' .
             'service; compile (ms): that snapshot\'s compile time as the ' .
             'watcher logs it; 1st: the compile after the first route ' .
             "change; change: the median of the next " .
             ($r->{sizes}{scale_changes} - 1) . "; snap: the snapshot's " .
             'size. RSS (MB) of the worker once loaded, and after the ' .
             'changes; B/Svc: (RSS after the changes - RSS with no ' .
             'Services) / Svc, in bytes. The worker maps the snapshot ' .
             'zone and touches what it routes with; the store is in the ' .
             'source process: the whole instance is the next table.'), '');

    for my $s (@{$r->{scale} || []}) {
        my $rss = $s->{rss_after} // $s->{rss};
        my $per = $s->{services} && $base
                  ? ($rss - $base->{rss}) / $s->{services} : undef;

        $s->{per_service} = $per;
        push @rows, [fmt_int($s->{services}),
            sprintf('%.2f', $s->{startup_s}), whole_ms($s->{compile_s}),
            whole_ms($s->{first_change_s}), whole_ms($s->{recompile_s}),
            fmt_mb($s->{snapshot_bytes}), fmt_mb($s->{rss}),
            fmt_mb($s->{rss_after}), fmt_int($per)];
    }

    $self->table(['Svc', 'start s', 'compile', '1st', 'change',
                  'snap MB', 'RSS MB', 'after', 'B/Svc'], @rows);

    my ($sbase) = grep { $_->{services} == 0 } @{$r->{static_scale} || []};
    @rows = ();

    for my $s (@{$r->{static_scale} || []}) {
        push @rows, [fmt_int($s->{services}),
            sprintf('%.2f', $s->{startup_s}), fmt_mb($s->{rss}),
            fmt_mb($s->{pss_total}),
            fmt_int($s->{services} && $sbase
                    ? ($s->{rss} - $sbase->{rss}) / $s->{services}
                    : undef)];
    }

    $self->p('The same mesh as a static nginx.conf (nginx without the ' .
             'module): start until', 'it answers, RSS of the worker, ' .
             'PSS of master + worker; B/Svc against the', 'same config ' .
             'with no Services.', '');
    $self->table(['Services', 'start s', 'worker RSS MB', 'PSS MB',
                  'B/Svc'], @rows);
}


sub instance {
    my ($self) = @_;
    my $r = $self->{r};
    my @runs = @{$r->{instance} || []};
    my (%base, %one, @rows);

    return unless @runs;

    for my $i (@runs) {
        $base{$i->{workers}} = $i->{pss_total} if $i->{services} == 0;
        $one{$i->{services}} = $i->{pss_total} if $i->{workers} == 1;
    }

    $self->p('## The instance at 1, 2 and 4 workers', '',
        wrap('nginx-gamma (file source, the mesh above) with ' .
             'worker_processes W: PSS summed over the master and all its ' .
             'children (shared pages, the snapshot zone among them, ' .
             'counted once), MB; by process (MB): the master, all workers ' .
             '(wkrs), ' .
             'the source process; zone: the snapshot zone in use as the ' .
             'source process logs it once the first snapshot is ' .
             'published; B/Svc: (PSS - PSS with no Services at the same ' .
             'W) / Svc; KB/Svc: PSS / Svc, in KB; x1: PSS / PSS with 1 ' .
             'worker.'),
        '');

    for my $i (@runs) {
        my $n = $i->{services};
        my $b = $base{$i->{workers}};

        $i->{per_service} = $n && defined $b
                            ? ($i->{pss_total} - $b) / $n : undef;
        push @rows, [fmt_int($n), $i->{workers}, fmt_mb($i->{pss_total}),
            fmt_mb($i->{pss_master}), fmt_mb($i->{pss_workers}),
            fmt_mb($i->{pss_source}),
            fmt_mb($i->{zone_used}), fmt_int($i->{per_service}),
            $n ? sprintf('%.1f', $i->{pss_total} / $n / 1024) : '-',
            ratio($i->{pss_total}, $one{$n})];
    }

    $self->table(['Svc', 'W', 'PSS', 'master', 'wkrs', 'source',
                  'zone', 'B/Svc', 'KB/Svc', 'x1'], @rows);
}


# the watcher logs whole milliseconds
sub whole_ms {
    my ($s) = @_;

    return defined $s ? sprintf('%.0f', $s * 1000) : '-';
}


sub propagation {
    my ($self) = @_;
    my $r = $self->{r};
    my @rows;

    $self->p('## Change to enforced', '',
        'A client writes a change, then polls (every 1 ms, keep-alive)',
        'until the new behaviour answers; latency from the change to the',
        'first answer showing it. "load": wrk keeps the proxy saturated',
        'meanwhile. nginx-gamma file source: the probe route file is',
        'replaced by rename(); slice: the probe Service\'s EndpointSlice',
        '(a file of its own) replaced by rename(), patched by the',
        'incremental compile (the probe route\'s change is patched too);',
        'service: the probe Service (a file of its own) renames its port,',
        'a full compile; kube: the route is PUT to the API server',
        '(see below). nginx -s reload: the regenerated nginx.conf is',
        'written, then the clock starts and `nginx -s reload` runs.', '');

    my @runs;

    for my $key (sort { by_size($a, $b) } keys %{$r->{propagation} || {}}) {
        my ($source, $n) = split ' ', $key;

        for my $load (qw(idle load load4)) {
            my $p = $r->{propagation}{$key}{$load} or next;
            push @runs, ["gamma $source", $n,
                         $load eq 'load4' ? '4W load' : $load, $p];
        }
    }

    for my $n (sort { $a <=> $b } keys %{$r->{reload} || {}}) {
        push @runs, ['nginx -s reload', $n, 'load', $r->{reload}{$n}];
    }

    $self->table(['how', 'Services', '', 'changes', 'p50 ms', 'p99 ms',
                  'max ms'], map { $self->latency_row(@$_) } @runs);

    $self->p('Under load: failed is what wrk counted (socket errors and',
             'non-2xx answers) plus changes never enforced; PSS of all the',
             'server\'s processes (old workers included) before the changes',
             'and at the peak; procs: the most processes seen at once.', '');
    $self->table(['how', 'Services', 'requests', 'failed', 'PSS MB',
                  'peak', 'procs'],
                 map { load_row(@$_) } grep { $_->[3]{wrk} } @runs);

    $self->watches;
}


# the Kubernetes source with several workers: what the API server saw
sub watches {
    my ($self) = @_;
    my $w = $self->{r}{watches} or return;
    my @rows;

    for my $key (sort keys %$w) {
        my ($n, $workers) = split ' ', $key;
        my $c = $w->{$key};

        push @rows, [fmt_int($n), $workers,
                     map({ ($c->{$_}{list} // 0) . ' / '
                           . ($c->{$_}{watch} // 0) }
                         qw(services endpointslices httproutes)),
                     $c->{open} // '-'];
    }

    $self->p('"4W load": worker_processes 4 (the others run 1 worker). ' .
             'With the', 'Kubernetes source, the lists / watches the ' .
             'instance made per resource', 'during that run (the fake API ' .
             'server\'s request log), and the watch', 'streams open at ' .
             'its end:', '');
    $self->table(['Services', 'workers', 'services', 'endpointslices',
                  'httproutes', 'open'], @rows);
}


sub by_size {
    my ($a, $b) = @_;
    my ($sa, $na) = split ' ', $a;
    my ($sb, $nb) = split ' ', $b;

    return $sa cmp $sb || $na <=> $nb;
}


sub latency_row {
    my ($self, $how, $n, $load, $p) = @_;
    my @lat = @{$p->{latencies}};

    push @{$self->{cdf}}, { title => "$how, " . fmt_int($n) .
                            ($n == 1 ? ' Service' : ' Services') .
                            ", $load", lat => \@lat }
        if @lat;

    return [$how, fmt_int($n), $load, $p->{changes},
            fmt_ms(percentile(50, @lat)), fmt_ms(percentile(99, @lat)),
            fmt_ms(percentile(100, @lat))];
}


sub load_row {
    my ($how, $n, $load, $p) = @_;

    $how .= ' 4W' if $load eq '4W load';

    return [$how, fmt_int($n), fmt_int($p->{wrk}{requests}),
            $p->{wrk}{errors} + $p->{missed}, fmt_mb($p->{pss_base}),
            fmt_mb($p->{pss_peak}), $p->{procs_max}];
}


# ---- targets -------------------------------------------------------------

sub targets {
    my ($self) = @_;
    my $r = $self->{r};
    my $tp = $self->{tp};
    my ($big) = sort { $b <=> $a } @{$r->{sizes}{throughput}};
    my $g = $tp->{"gamma $big"};
    my $plain = $tp->{plain};
    my @rows;

    my ($sbig) = sort { $b <=> $a } @{$r->{sizes}{side} || []};
    my $sg = $sbig && $self->{side}{"gamma $sbig"};

    if ($sg) {
        my $n = fmt_int($sbig);
        push @rows, target("req/s, $n Svc / plain, side by side",
                           '>= 0.97', $sg->{rps}, 0.97, 1);
        push @rows, target("p99, $n Svc / plain, side by side",
                           '<= 1.03', $sg->{p99_us}, 1.03, 0);
        push @rows, target("CPU/req, $n Svc / plain, side by side",
                           '<= 1.03', $sg->{cpu_req}, 1.03, 0);
    }

    if ($g && $plain) {
        my $n = fmt_int($big);
        push @rows, target("req/s, $n Svc / plain, runs apart",
                           '>= 0.97', $g->{rps_b}, 0.97, 1);
        push @rows, target("p99, $n Svc / plain, runs apart", '<= 1.03',
                           $g->{p99_b}, 1.03, 0);
        push @rows, target("CPU/req, $n Svc / plain, runs apart",
                           '<= 1.03', $g->{cpu_1k} / $plain->{cpu_1k},
                           1.03, 0)
            if $g->{cpu_1k} && $plain->{cpu_1k};
    }

    my ($cgp) = grep { $_->{label} eq 'plain' } @{$r->{instructions} || []};

    for my $c (grep { $_->{label} =~ /^gamma/ }
               @{$r->{instructions} || []})
    {
        push @rows, target("Ir/req, $c->{label} / plain",
                           '<= 1.03', $cgp && $cgp->{ir}
                                      ? $c->{ir} / $cgp->{ir} : undef,
                           1.03, 0);
    }

    for my $i (grep { $_->{services} >= 10000 }
               @{$r->{instance} || []})
    {
        push @rows, target('PSS per Svc, ' . fmt_int($i->{services})
                           . " Svc, $i->{workers} W",
                           '<= 4 KB', $i->{pss_total} / $i->{services}
                           / 1024, 4, 0, ' KB');
    }

    for my $i (grep { $_->{services} >= 10000 && $_->{workers} == 4 }
               @{$r->{instance} || []})
    {
        my ($one) = grep { $_->{services} == $i->{services}
                           && $_->{workers} == 1 } @{$r->{instance}};
        push @rows, target('PSS 4 W / 1 W, ' . fmt_int($i->{services}),
                           '<= 1.3', $one && $i->{pss_total}
                                     / $one->{pss_total}, 1.3, 0);
    }

    # issue 7's goal is at 10,000; the other sizes are in the scale table
    for my $s (grep { $_->{services} == 10000 } @{$r->{scale} || []}) {
        my $n = fmt_int($s->{services});
        push @rows, target("compile, $n Svc", '<= 100 ms',
                           $s->{compile_s} * 1000, 100, 0, ' ms');
        push @rows, target("compile on change, $n Svc", '<= 100 ms',
                           $s->{recompile_s} * 1000, 100, 0, ' ms')
            if defined $s->{recompile_s};
    }

    for my $key (sort { by_size($a, $b) } keys %{$r->{propagation} || {}}) {
        my ($source, $n) = split ' ', $key;

        for my $load (qw(idle load load4)) {
            my $p = $r->{propagation}{$key}{$load} or next;
            my $p99 = percentile(99, @{$p->{latencies}});
            my $how = $load eq 'load4' ? '4W load' : $load;
            push @rows, target("change p99, $source, " . fmt_int($n) .
                               " $how", '<= 50 ms',
                               defined $p99 ? $p99 * 1000 : undef, 50, 0,
                               ' ms');

            next unless $p->{wrk};
            push @rows, target('failed, ' . fmt_int($p->{changes}) .
                               ' changes, ' . fmt_int($n)
                               . ($load eq 'load4' ? ' 4W' : ' Svc'), '0',
                               $p->{wrk}{errors} + $p->{missed}, 0, 0, '');
        }
    }

    $self->p('## Targets', '',
             'Goals from issues 7 and 12, for the report: no target ' .
             'fails a build.', '');
    $self->table(['target', 'goal', 'measured', 'verdict'], @rows);
}


# [what, goal, value, verdict]; $higher: the goal is a minimum
sub target {
    my ($what, $goal, $v, $limit, $higher, $unit) = @_;

    return [$what, $goal, '-', 'not measured'] unless defined $v;

    my $text = !defined $unit ? sprintf('%.3f', $v)
             : $unit eq '' ? sprintf('%d', $v)
             : sprintf('%.1f%s', $v, $unit);
    # at the precision shown
    $v = $text =~ /^([\d.]+)/ ? $1 : $v;

    my $ok = $higher ? $v >= $limit : $v <= $limit;
    my $by = $limit ? abs($v - $limit) / $limit * 100 : $v;
    my $how = !$limit ? $v
            : $by < 1 ? sprintf('%.1f%%', $by)
            : sprintf('%.0f%%', $by);

    return [$what, $goal, $text, $ok ? 'met' : "missed by $how"];
}


# ---- method and commands -------------------------------------------------

sub method {
    my ($self) = @_;
    my $r = $self->{r};
    my $ctx = $r->{ctx};
    my $cmd = $r->{commands} || {};
    my $pin = defined $ctx->{cpu_server}
              ? "servers on CPU $ctx->{cpu_server}, wrk, the backend " .
                "and the harness on CPU $ctx->{cpu_client} (taskset)"
              : 'no CPU pinning';

    $self->p('## How it was measured', '',
        wrap("Everything on loopback, $pin; everything the harness " .
             "starts runs at nice $ctx->{nice} (BENCH_NICE), ahead of " .
             'other work on the machine. Every nginx (backend ' .
             "included) runs worker_processes 1 (but the \"4W\" runs " .
             'and the instance table), HAProxy nbthread 1; ' .
             'access logs off; keepalive_requests 1000000 on every ' .
             'nginx; keep-alive from wrk to the proxy and from the proxy ' .
             'to the backend (nginx keepalive 64, HAProxy http-reuse ' .
             'always).'), '',
        wrap('The backend is a separate nginx answering `return 200` ' .
             'with 1,024 bytes on 127.0.0.1 and 127.0.0.2 (two ' .
             'endpoints, round robin in every proxy), and "probe" on a ' .
             'third port for the propagation probe.'), '',
        wrap('The mesh (bench/lib/GammaBench/Mesh.pm, also ' .
             'bench/gen-mesh.pl): Service i has ClusterIP 127.100.0.1 + i ' .
             'and a producer HTTPRoute with an Exact rule, a PathPrefix + ' .
             'header rule and a 90/10 weighted default rule; the load ' .
             'goes to the ClusterIP of Service N/2 and takes the weighted ' .
             'rule, while all N are loaded. nginx-gamma listens on a ' .
             'wildcard port and uses the shipped conf/gamma-mesh.conf and ' .
             'conf/gamma-proxy.conf; plain nginx and the static ' .
             'nginx.conf use the same proxy_* settings.'), '',
        wrap('The static nginx.conf is what a generated-config product ' .
             'writes for the same routes: per Service an upstream ' .
             '(keepalive 16), a split_clients for the weights and a ' .
             'server bound to the ClusterIP (one wildcard listening ' .
             'socket) with exact, prefix and "if" locations.'), '',
        wrap('Propagation sources: ' . join(', ', @{$ctx->{sources}}) .
             '. file: manifests in files of 1,000 Services, the probe ' .
             'route in a file of its own, replaced by rename(). kube: ' .
             'the tests\' fake API server (t/lib/fake-kube-apiserver: ' .
             'Mojolicious, HTTPS, bearer token, list and watch) on the ' .
             'client CPU, loaded with the mesh; a change is a PUT of the ' .
             'probe route. Another source is one more entry in ' .
             '%SOURCES of bench/bench.pl (BENCH_SOURCES selects).'), '',
        'Commands (the harness runs them; paths from the repository):', '',
        '```');

    for my $k (qw(backend plain haproxy gamma static wrk wrk_load reload
                  strace callgrind)) {
        next unless $cmd->{$k};
        (my $c = $cmd->{$k}) =~ s{\Q$ctx->{root}/\E}{}g;
        $self->p("# $k", wrap_cmd($self->prefix($k) . $c));
    }

    $self->p('```', '');
}


# how the harness ran a command: its priority and, for servers, its CPU
sub prefix {
    my ($self, $k) = @_;
    my $ctx = $self->{r}{ctx};
    my $p = $ctx->{nice} ? "nice -n $ctx->{nice} " : '';
    my $cpu = $k eq 'backend' ? $ctx->{cpu_client} : $ctx->{cpu_server};

    $p .= "taskset -c $cpu "
        if defined $cpu && $k =~ /^(backend|plain|haproxy|gamma|static)$/;

    return $p;
}


sub wrap {
    my ($text) = @_;
    my @lines = ('');

    for my $word (split ' ', $text) {
        if (length($lines[-1]) + length($word) + 1 > 76 && $lines[-1] ne '')
        {
            push @lines, '';
        }
        $lines[-1] .= ($lines[-1] eq '' ? '' : ' ') . $word;
    }

    return @lines;
}


sub wrap_cmd {
    my ($cmd) = @_;
    my @lines = ('');

    for my $word ($cmd =~ /('[^']*'|\S+)/g) {
        if (length($lines[-1]) + length($word) > 74 && $lines[-1] ne '') {
            $lines[-1] .= ' \\';
            push @lines, '    ';
        }
        $lines[-1] .= ($lines[-1] =~ /^ *$/ ? '' : ' ') . $word;
    }

    return @lines;
}


# ---- plots ---------------------------------------------------------------

sub plots {
    my ($self) = @_;
    my $r = $self->{r};
    my $work = $r->{ctx}{work};
    my $dir = $self->{dir};
    my @plots;

    if (@{$r->{scale} || []}) {
        $self->rss_data("$work/rss.dat", "$work/rss-static.dat");
        push @plots, 'rss';
    }

    if (@{$self->{cdf} || []}) {
        $self->cdf_data("$work/cdf");
        push @plots, 'propagation';
    }

    return unless @plots;

    # a series of a few changes shows as points: steps would hide one
    my @series = map {
        sprintf "'%s/cdf-%d.dat' using 1:2 with %s lw 2 title '%s'",
                $work, $_,
                @{$self->{cdf}[$_]{lat}} < 5 ? 'linespoints pt 7 ps 1.5'
                                             : 'steps',
                $self->{cdf}[$_]{title}
    } 0 .. $#{$self->{cdf} || []};

    my %gp = (rss => <<"_EOG_", propagation => <<"_EOG_");
set output '$dir/rss.png'
set title 'nginx-gamma: worker RSS vs Services loaded'
set xlabel 'Services (+ as many EndpointSlices and HTTPRoutes)'
set ylabel 'MB (log scale)'
set logscale y
set key top left
set grid
set format x '%.0s%c'
plot '$work/rss.dat' using 1:5 with linespoints lw 2 pt 7 \\
        title 'nginx-gamma worker RSS, after changes', \\
     '$work/rss.dat' using 1:2 with linespoints lw 2 pt 6 \\
        title 'nginx-gamma worker RSS, once loaded', \\
     '$work/rss.dat' using 1:3 with linespoints lw 2 pt 5 \\
        title 'nginx-gamma snapshot size', \\
     '$work/rss-static.dat' using 1:2 with linespoints lw 2 pt 9 \\
        title 'static nginx.conf, worker RSS', \\
     '$work/rss.dat' using 1:4 with lines dt 2 lw 2 lc rgb 'red' \\
        title 'target: baseline + 4 MB per 1,000 Services'
_EOG_
set output '$dir/propagation.png'
set title 'Change to enforced: cumulative distribution'
set xlabel 'ms from the change to the first answer showing it'
set ylabel 'fraction of changes'
set logscale x
set format x '%g'
set key below
set grid
set yrange [0:1.02]
set arrow from 50, graph 0 to 50, graph 1 nohead dt 2 lw 2 lc rgb 'red'
set label 'target p99: 50 ms' at 52, graph 0.05 tc rgb 'red'
plot ${\ join(", \\\n     ", @series)}
_EOG_

    GammaBench::Mesh::write_file("$work/plots.gp",
        "set terminal pngcairo size 900,560 font 'sans,10'\n"
        . join("reset\n", @gp{@plots}));

    my ($rc, $out) = run_cmd('gnuplot', "$work/plots.gp");
    print STDERR "bench: gnuplot failed: $out\n" if $rc;

    $self->p('## Plots', '',
             map { ("![$_](" . "$_.png)", '') } @plots);
}


sub rss_data {
    my ($self, $file, $static) = @_;
    my $r = $self->{r};
    my ($base) = grep { $_->{services} == 0 } @{$r->{scale} || []};
    my $b = $base ? $base->{rss} : 0;

    GammaBench::Mesh::write_file($file, join '', map {
        sprintf "%d %.2f %.2f %.2f %.2f\n", $_->{services},
                $_->{rss} / 1048576, ($_->{snapshot_bytes} // 0) / 1048576,
                $b / 1048576 + 4 * $_->{services} / 1000,
                ($_->{rss_after} // $_->{rss}) / 1048576
    } @{$r->{scale} || []});

    GammaBench::Mesh::write_file($static, join '', map {
        sprintf "%d %.2f\n", $_->{services}, $_->{rss} / 1048576
    } @{$r->{static_scale} || []});
}


sub cdf_data {
    my ($self, $prefix) = @_;
    my $i = 0;

    for my $c (@{$self->{cdf} || []}) {
        my @lat = sort { $a <=> $b } @{$c->{lat}};
        my $k = 0;

        GammaBench::Mesh::write_file("$prefix-" . $i++ . '.dat',
            join '', map {
                sprintf "%.3f %.4f\n", $_ * 1000, ++$k / @lat
            } @lat);
    }
}


# the hand-written analysis of the last full run, kept in bench/analysis.md
sub notes {
    my ($self) = @_;
    my $file = "$self->{r}{ctx}{root}/bench/analysis.md";

    return unless $self->{r}{mode} eq 'full' && -f $file;

    open my $fh, '<', $file or return;
    $self->p(map { chomp; $_ } <$fh>);
}


# bench/soak.sh's results (bench/soak.md): another run, kept as it wrote
# them, so that this report does not drop them
sub soak {
    my ($self) = @_;
    my $file = "$self->{r}{ctx}{root}/bench/soak.md";

    return unless $self->{r}{mode} eq 'full' && -f $file;

    open my $fh, '<', $file or return;
    $self->p('', map { chomp; $_ } <$fh>);
}


# ---- the machine -----------------------------------------------------------

sub machine {
    my ($root) = @_;
    my %m;

    $m{cpu} = first_match('/proc/cpuinfo', qr/^model name\s*:\s*(.*)/m)
              // 'unknown';
    $m{ncpu} = () = slurp('/proc/cpuinfo') =~ /^processor/mg;
    $m{mem} = sprintf '%.0f', (first_match('/proc/meminfo',
                                           qr/^MemTotal:\s+(\d+)/m) // 0)
                              / 1048576;
    chomp($m{kernel} = `uname -sr`);
    $m{os} = first_match('/etc/os-release', qr/^PRETTY_NAME="?([^"]*)/m)
             // 'unknown';
    ($m{nginx}) = `nginx -v 2>&1` =~ m{nginx/(\S+)};
    ($m{haproxy}) = `haproxy -v 2>&1` =~ /version (\S+)/;
    ($m{wrk}) = `wrk -v 2>&1` =~ /^wrk (\S+)/;

    chomp(my $rev = `git -C $root rev-parse --short HEAD 2>/dev/null`);
    my $dirty = `git -C $root status --porcelain -- module config`;
    $m{module} = ($rev || 'unknown') . ($dirty ? ' + local changes' : '');

    $m{$_} //= 'unknown' for keys %m;

    return \%m;
}


sub slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return <$fh>;
}


sub first_match {
    my ($file, $re) = @_;

    return slurp($file) =~ $re ? $1 : undef;
}


1;
