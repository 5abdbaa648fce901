#!/usr/bin/perl
# nginx-gamma: what the metrics cost the request path.  Side by side in
# one run: nginx-gamma with its metrics zone (the default) and the same
# with "gamma_metrics_zone off", both on a generated mesh of 10,000
# Services; interleaved wrk rounds (req/s, p99), then callgrind
# instructions per request for each.
#
#   perl bench/metrics.pl             the run: bench/metrics-results.md
#   perl bench/metrics.pl --smoke     small and short (seconds)
#   options: --services N --rounds R --duration S --no-callgrind
#
# Not a test: no number ever fails it.  It exits non-zero only when a
# server answers wrongly.  Working files in build/bench/metrics/.
# Environment: BENCH_PORT (first port, 28300), BENCH_CPUS ("client,server",
# "0,1"; "none" to not pin).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use Getopt::Long;
use JSON::PP;
use Time::HiRes qw(time);

use lib dirname(abs_path(__FILE__)) . '/lib';
use GammaBench::Http;
use GammaBench::Mesh;
use GammaBench::Proc qw(run_cmd cpu_seconds wait_log shell_join);
use GammaBench::Servers;
use GammaBench::Stats qw(median);


my $root = abs_path(dirname(abs_path(__FILE__)) . '/..');
my %opt = (services => 10000, rounds => 5, duration => 3, callgrind => 1,
           sequential => 1000);

GetOptions(\%opt, 'services=i', 'rounds=i', 'duration=i', 'smoke',
           'callgrind!')
    or die "usage: $0 [--smoke] [--services N] [--rounds R] "
           . "[--duration S] [--no-callgrind]\n";

%opt = (%opt, services => 100, rounds => 1, duration => 1,
        sequential => 50) if $opt{smoke};

my $ctx = setup();
my @failures;

END {
    GammaBench::Proc::stop_all();
}

$SIG{INT} = $SIG{TERM} = sub { die "interrupted\n" };

main();
exit(@failures ? 1 : 0);


sub main {
    my $p = $ctx->{ports};
    my $backend = GammaBench::Servers->new($ctx, 'backend', 'backend',
                                           cpu => $ctx->{cpu_client});
    $backend->start->wait_ready;

    my @configs = (
        { label => 'metrics on', extra => '' },
        { label => 'metrics off', extra => 'gamma_metrics_zone off;' },
    );
    my $i = 0;

    for my $c (@configs) {
        $c->{server} = gamma($c->{label} =~ s/ /-/r, $p->{gamma} + $i++,
                             $c->{extra});
        $c->{server}->start;
    }

    for my $c (@configs) {
        $c->{server}->wait_ready(300);
        my $why = $c->{server}->check('/');
        push @failures, "$c->{label}: $why" if $why;
        $c->{url} = "http://$c->{server}{addr}/";
    }

    die "FAILED: @failures\n" if @failures;

    wrk($_->{url}, 1, []) for @configs;          # warm-up

    for my $round (0 .. $opt{rounds} - 1) {
        for my $c ($round % 2 ? reverse @configs : @configs) {
            my $r = wrk($c->{url}, $opt{duration}, [$c->{server}->pids]);
            push @{$c->{runs}}, $r;
            note(sprintf '%-12s %8.0f req/s  p99 %5.2f ms  errors %d',
                 $c->{label}, $r->{rps}, $r->{p99_us} / 1000, $r->{errors});
            push @failures, "$c->{label}: $r->{errors} errors"
                if $r->{errors};
        }
    }

    for my $c (@configs) {
        $c->{rps} = median(map { $_->{rps} } @{$c->{runs}});
        $c->{p99_ms} = median(map { $_->{p99_us} / 1000 } @{$c->{runs}});
        $c->{cpu_us} = median(map { $_->{cpu} / $_->{requests} * 1e6 }
                              @{$c->{runs}});
        $c->{cmd} = shell_join(@{$c->{server}{cmd}});
        $c->{server}->stop;
    }

    if ($opt{callgrind}) {
        for my $c (@configs) {
            my $s = gamma('cg-' . ($c->{label} =~ s/ /-/r), $p->{cg},
                          $c->{extra}, 1);
            $s->start->wait_ready(900);
            $c->{ir} = callgrind($s);
            note(sprintf '%-12s %8.0f instructions a request', $c->{label},
                 $c->{ir});
            $s->stop;
        }
    }

    $backend->stop;
    delete $_->{server} for @configs;

    my %r = (services => $opt{services}, rounds => $opt{rounds},
             duration => $opt{duration}, sequential => $opt{sequential},
             load => load(), configs => \@configs, failures => \@failures,
             wrk => shell_join(wrk_cmd('http://<ClusterIP:port>/',
                                       $opt{duration})));

    GammaBench::Mesh::write_file("$ctx->{work}/results.json",
        JSON::PP->new->canonical->pretty->encode(\%r));
    report(\%r, $opt{smoke} ? "$ctx->{work}/metrics-results.md"
                            : "$root/bench/metrics-results.md");
}


sub setup {
    my ($base) = ($ENV{BENCH_PORT} // 28300) =~ /^(\d+)$/
        or die "BENCH_PORT: a number\n";
    my $cpus = $ENV{BENCH_CPUS} // '0,1';
    my ($client, $server) = $cpus eq 'none' ? () : split /,/, $cpus;
    my $work = "$root/build/bench/metrics";
    my $module = "$root/build/ngx_http_gamma_module.so";

    -f $module or die "$module is missing: run 'make module'\n";

    remove_tree($work);
    make_path($work);
    copy($module, "$work/ngx_http_gamma_module.so") or die "copy: $!\n";

    return {
        root       => $root,
        work       => $work,
        nginx      => $ENV{NGINX} // '/usr/sbin/nginx',
        wrk        => 'wrk',
        module     => "$work/ngx_http_gamma_module.so",
        cpu_client => $client,
        cpu_server => $server,
        ports      => {
            gamma   => $base + 10,
            cg      => $base + 20,
            backend => $base + 90,
            probe   => $base + 91,
        },
    };
}


sub gamma {
    my ($name, $port, $extra, $callgrind) = @_;
    my $p = $ctx->{ports};
    my $mesh = GammaBench::Mesh->new(
        services       => $opt{services},
        port           => $port,
        endpoints      => ["127.0.0.1:$p->{backend}",
                           "127.0.0.2:$p->{backend}"],
        probe_endpoint => "127.0.0.1:$p->{probe}",
    );
    my $s = GammaBench::Servers->new($ctx, 'gamma', $name, mesh => $mesh,
                                     port => $port, http_extra => $extra,
                                     callgrind => $callgrind);

    make_path("$s->{dir}/mesh");
    $mesh->write_yaml_dir("$s->{dir}/mesh", 1000);
    $mesh->write_probe_route("$s->{dir}/mesh", 0);
    $s->{source} = "file:$s->{dir}/mesh";

    return $s;
}


sub wrk_cmd {
    my ($url, $duration) = @_;
    my @cmd = ($ctx->{wrk}, '-t1', '-c50', "-d${duration}s",
               '-s', "$root/bench/wrk-report.lua", $url);

    unshift @cmd, 'taskset', '-c', $ctx->{cpu_client}
        if defined $ctx->{cpu_client};

    return @cmd;
}


sub wrk {
    my ($url, $duration, $pids) = @_;
    my $cpu = cpu_seconds(@$pids);
    my ($rc, $out) = run_cmd(wrk_cmd($url, $duration));

    $out =~ /^BENCH (.*)$/m or die "wrk failed: $out\n";

    my %r = map { split /=/ } split ' ', $1;
    $r{rps} = $r{requests} / ($r{duration_us} / 1e6);
    $r{errors} = $r{connect} + $r{read} + $r{write} + $r{status}
                 + $r{timeout};
    $r{cpu} = cpu_seconds(@$pids) - $cpu;

    return \%r;
}


# user-space instructions per request, one keep-alive client
sub callgrind {
    my ($s) = @_;
    my $n = $opt{sequential};
    my $http = GammaBench::Http->new($s->{addr}, timeout => 60);

    $http->get('/') for 1 .. 200;
    run_cmd('callgrind_control', '-z', $s->{pid});

    for (1 .. $n) {
        my ($status, $body) = $http->get('/');
        push @failures, "$s->{name}: wrong answer"
            unless $status && $status == 200
                   && $body eq $GammaBench::Servers::BODY;
    }

    run_cmd('callgrind_control', '-d', $s->{pid});

    my $line = wait_log("$s->{callgrind_out}.1", qr/^totals: (\d+)/, 120);
    my ($total) = $line =~ /(\d+)/;

    return $total / $n;
}


sub load {
    open my $fh, '<', '/proc/loadavg' or return;
    return (split ' ', <$fh>)[0];
}


sub note {
    printf STDERR "bench-metrics: %s\n", "@_";
}


sub report {
    my ($r, $file) = @_;
    my ($on, $off) = @{$r->{configs}};
    my $ratio = sub { $_[1] ? sprintf('%.3f', $_[0] / $_[1]) : '-' };
    my $md = <<"_EOM_";
# What the metrics cost the request path

nginx-gamma with its metrics zone (the default) and with
`gamma_metrics_zone off`, side by side in one run: $r->{services} Services
(file source), `worker_processes 1` pinned apart from wrk, keep-alive on
both sides, $r->{rounds} interleaved wrk rounds of $r->{duration} s each
(medians), then callgrind instructions per request ($r->{sequential}
sequential requests on one connection).  Load average at the end:
$r->{load}.  Written by `perl bench/metrics.pl`; not a CI assertion.

| configuration | req/s | p99 ms | CPU us/request | instructions/request |
|---|---:|---:|---:|---:|
_EOM_

    for my $c ($on, $off) {
        $md .= sprintf "| %s | %.0f | %.2f | %.1f | %s |\n", $c->{label},
                       $c->{rps}, $c->{p99_ms}, $c->{cpu_us},
                       defined $c->{ir} ? sprintf('%.0f', $c->{ir}) : '-';
    }

    $md .= sprintf "| **on / off** | **%s** | %s | %s | **%s** |\n",
                   $ratio->($on->{rps}, $off->{rps}),
                   $ratio->($on->{p99_ms}, $off->{p99_ms}),
                   $ratio->($on->{cpu_us}, $off->{cpu_us}),
                   $ratio->($on->{ir}, $off->{ir});

    $md .= <<"_EOM_";

On a machine shared with other work (a load average well above its CPU
count) req/s and p99 move by tens of percent between rounds: the
instructions per request are the figure that noise cannot move.  The
load hits one Service, so after its first request every request
finds its series in the worker's pointer cache; a request of a label set
not seen yet also hashes its labels and probes the zone once.

Commands: `$r->{wrk}`; the servers: `$on->{cmd}`.
_EOM_

    GammaBench::Mesh::write_file($file, $md);
    note("results: $file");
}
