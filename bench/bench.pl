#!/usr/bin/perl
# nginx-gamma benchmarks: the module against plain nginx, HAProxy and a
# direct connection, at scale and under change, on loopback with wrk.
#
#   bench/bench.pl            the full run (make bench): bench/results.md,
#                             bench/rss.png, bench/propagation.png
#   bench/bench.pl --smoke    tiny sizes, seconds (make test): checks only
#                             that every configuration answers correctly
#
# Not a test: no timing ever fails it.  It exits non-zero only when a
# server answered a request wrongly (or not at all), or a change was never
# enforced.  Working files go to build/bench/; every process it starts is
# stopped when it ends, however it ends.
#
# --only throughput,side,instructions,scale,propagation,reload runs some
# sections (results in build/bench/full-only/); --report FILE writes
# results.md and the plots again from a run's results.json.
#
# Environment: BENCH_PORT (first port, 28100), BENCH_CPUS ("client,server",
# "0,1"; "none" to not pin), BENCH_NICE (priority of everything it runs:
# -10 for a full run as root, else 0), BENCH_SOURCES (propagation sources:
# "file,kube", or "file" when the fake API server cannot run),
# BENCH_CASES (propagation cases: "idle,load,load4", all by default),
# BENCH_CHANGES (at most this many changes a propagation case),
# BENCH_GAP_MS (the quiet time before each propagation change, 100 ms:
# more than the sources' 50 ms between two snapshots, so that a change is
# timed alone, not batched with the one before it),
# BENCH_QUOTA (the CPU quota of the two proxies side by side: 0.7 of one
# CPU; "none"), BENCH_DEBUG (say which process had to be killed).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use Getopt::Long;
use JSON::PP;
use Time::HiRes qw(sleep time);

use lib dirname(abs_path(__FILE__)) . '/lib';
use GammaBench::Http;
use GammaBench::Kube;
use GammaBench::Mesh;
use IO::Socket::INET;
use GammaBench::Proc qw(spawn run_cmd cpu_seconds run_seconds rss pss tree
                        wait_log shell_join reap);
use GammaBench::Quota;
use GammaBench::Report;
use GammaBench::Servers;
use GammaBench::Stats qw(median percentile);


my $root = abs_path(dirname(abs_path(__FILE__)) . '/..');
my $ctx;                          # setup(): paths, ports, CPUs

my %SIZES = (
    full => {
        rounds       => 5,            # interleaved throughput rounds
        duration     => 2,            # seconds per wrk run
        warmup       => 1,
        conns        => 50,
        sequential   => 1000,         # requests counted (strace, callgrind)
        callgrind    => 'all',
        throughput   => [1, 1000, 10000],
        # side by side with plain nginx: rounds, Services of nginx-gamma
        side_rounds  => 16,
        side         => [1, 10000],
        scale        => [1000, 10000, 50000],
        static_scale => [1000, 10000],
        scale_changes => 5,           # changes at each scale size
        # [Services, changes]: changes with the proxy idle, and under a
        # constant load; "nginx -s reload"s of the static nginx.conf
        idle         => [[1, 200], [10000, 200]],
        load         => [[1000, 1000], [10000, 50]],
        # the same under load with worker_processes 4
        load4        => [[10000, 1000]],
        kube         => { idle => [[1, 200], [10000, 100]],
                          load => [[1000, 200]], load4 => [[1000, 200]] },
        slice        => { idle => [[10000, 200]], load => [],
                          load4 => [[10000, 1000]] },
        service      => { idle => [[10000, 100]], load => [],
                          load4 => [[10000, 200]] },
        reload       => [[1000, 10], [10000, 1]],
        # the whole instance: Services x worker_processes
        instance     => [0, 1000, 10000, 50000],
        workers      => [1, 2, 4],
    },
    smoke => {
        rounds       => 1,
        duration     => 1,
        warmup       => 0,
        conns        => 8,
        sequential   => 50,
        callgrind    => 'gamma',      # the smallest only
        throughput   => [1, 10],
        side_rounds  => 1,
        side         => [10],
        scale        => [10, 100],
        static_scale => [10],
        scale_changes => 2,
        idle         => [[1, 5], [10, 5]],
        load         => [[10, 10]],
        load4        => [[10, 10]],
        kube         => { idle => [[1, 5]], load => [[10, 5]],
                          load4 => [[10, 5]] },
        slice        => { idle => [[10, 5]], load => [], load4 => [[10, 5]] },
        service      => { idle => [[10, 5]], load => [], load4 => [[10, 5]] },
        reload       => [[10, 3]],
        instance     => [0, 10],
        workers      => [1, 2],
    },
);

# Where the changes of the propagation benchmarks come from.  A source
# says how nginx-gamma reads the mesh (directive) and how one change is
# made: prepare() is the writer's own work and is not timed, apply() makes
# the change visible; the clock starts when it is called.  Each takes the
# server (its mesh, its directory) and the probe route's version.
my %SOURCES = (
    file => {
        setup     => sub {
            my ($s) = @_;
            make_path("$s->{dir}/mesh");
            $s->{mesh}->write_yaml_dir("$s->{dir}/mesh", 1000);
            $s->{mesh}->write_probe_route("$s->{dir}/mesh", 0);
        },
        directive => sub { "file:$_[0]{dir}/mesh" },
        prepare   => sub {
            my ($s, $v) = @_;
            GammaBench::Mesh::write_file("$s->{dir}/mesh/.probe-route.tmp",
                                         $s->{mesh}->yaml_probe_route($v));
        },
        apply     => sub {
            my ($s) = @_;
            rename "$s->{dir}/mesh/.probe-route.tmp",
                   "$s->{dir}/mesh/probe-route.yaml"
                or die "rename: $!\n";
        },
    },

    # an EndpointSlice change (the incremental compile patches it): the
    # probe Service's slice, in a file of its own, replaced by rename();
    # it alternates between the probe backend and a regular one
    slice => {
        setup     => sub {
            my ($s) = @_;
            my ($m, $dir) = ($s->{mesh}, "$s->{dir}/mesh");
            make_path($dir);
            $m->write_yaml_dir($dir, 1000);
            $m->write_probe_route($dir, 0);
            GammaBench::Mesh::write_file("$dir/probe-service.yaml",
                                         $m->yaml_probe_service_only);
            GammaBench::Mesh::write_file("$dir/probe-slice.yaml",
                                         $m->yaml_probe_slice(0));
        },
        directive => sub { "file:$_[0]{dir}/mesh" },
        path      => sub { '/change-0' },
        expect    => sub {
            $_[0] % 2 ? $GammaBench::Servers::BODY
                      : $GammaBench::Servers::PROBE_BODY
        },
        prepare   => sub {
            my ($s, $v) = @_;
            GammaBench::Mesh::write_file("$s->{dir}/mesh/.probe-slice.tmp",
                                         $s->{mesh}->yaml_probe_slice($v));
        },
        apply     => sub {
            my ($s) = @_;
            rename "$s->{dir}/mesh/.probe-slice.tmp",
                   "$s->{dir}/mesh/probe-slice.yaml"
                or die "rename: $!\n";
        },
    },

    # a Service change: the probe Service's port is named "http" or "alt"
    # in turn; its slice has both, "http" at the probe backend's port,
    # "alt" at a regular backend's (the same address).  A port renamed is
    # patched (its backend resolved again, gm_compile_incr_service()); a
    # change of metadata only (what a rollout touches) is patched too but
    # changes nothing a request sees, so it cannot be timed here
    service => {
        setup     => sub {
            my ($s) = @_;
            my ($m, $dir) = ($s->{mesh}, "$s->{dir}/mesh");
            make_path($dir);
            $m->write_yaml_dir($dir, 1000);
            $m->write_probe_route($dir, 0);
            GammaBench::Mesh::write_file("$dir/probe-service.yaml",
                                         $m->yaml_probe_service_named(0));
            GammaBench::Mesh::write_file("$dir/probe-slice.yaml",
                                         $m->yaml_probe_slice_two);
        },
        directive => sub { "file:$_[0]{dir}/mesh" },
        path      => sub { '/change-0' },
        expect    => sub {
            $_[0] % 2 ? $GammaBench::Servers::BODY
                      : $GammaBench::Servers::PROBE_BODY
        },
        prepare   => sub {
            my ($s, $v) = @_;
            GammaBench::Mesh::write_file(
                "$s->{dir}/mesh/.probe-service.tmp",
                $s->{mesh}->yaml_probe_service_named($v));
        },
        apply     => sub {
            my ($s) = @_;
            rename "$s->{dir}/mesh/.probe-service.tmp",
                   "$s->{dir}/mesh/probe-service.yaml"
                or die "rename: $!\n";
        },
    },

    # the tests' fake API server, on the client CPU; the route is PUT
    kube => {
        setup     => sub {
            my ($s) = @_;
            my $m = $s->{mesh};
            $s->{kube} = GammaBench::Kube->new(
                root => $root, dir => "$s->{dir}/kube",
                port => $ctx->{ports}{kube}, cpu => $ctx->{cpu_client},
            )->start;
            $s->{kube}->load($m->yaml(0, $m->services),
                             $m->yaml_probe_service,
                             $m->yaml_probe_route(0));
        },
        directive => sub { $_[0]{kube}->directive },
        prepare   => sub {
            my ($s, $v) = @_;
            ($s->{kube_route}) =
                GammaBench::Kube::objects($s->{mesh}->yaml_probe_route($v));
        },
        apply     => sub { $_[0]{kube}->put_route($_[0]{kube_route}) },
        teardown  => sub { $_[0]{kube}->stop },
    },
);

my $POLL_INTERVAL = 0.001;        # the propagation client's poll period
my $ENFORCE_TIMEOUT = 30;         # a mesh change not seen by then: missed
my $RELOAD_TIMEOUT = 300;         # the same for an "nginx -s reload"

my $T0 = time;
my %opt;
GetOptions(\%opt, 'smoke', 'only=s', 'out=s', 'report=s')
    or die "usage: $0 [--smoke] [--only section,...] [--out dir]\n"
           . "       $0 --report build/bench/full/results.json\n";


my $mode = $opt{smoke} ? 'smoke' : 'full';
my $C = $SIZES{$mode};
exit report_only($opt{report}) if $opt{report};

$ctx = setup();
my %R = (mode => $mode, sizes => $C, ctx => $ctx, failures => []);
my $backend;

$SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub { die "interrupted\n" };

END {
    GammaBench::Proc::stop_all();
    GammaBench::Quota::remove_all();
}

main();
exit(@{$R{failures}} ? 1 : 0);


sub main {
    my $t0 = time;

    $R{load_start} = loadavg();

    $backend = server('backend', 'backend', cpu => $ctx->{cpu_client});
    $backend->start->wait_ready;
    fail('backend', $_) for grep { $_ } $backend->check;

    section(throughput => \&throughput);
    section(side => \&side_by_side);
    section(instructions => \&instructions);
    section(scale => \&scale);
    section(instance => \&instance);
    section(propagation => \&propagation);
    section(reload => \&reload);

    $backend->stop;
    $R{elapsed} = time - $t0;
    $R{time} = time;
    $R{machine} = GammaBench::Report::machine($root);
    $R{load_end} = loadavg();

    my $out = $opt{out}
              // ($mode eq 'full' && !$opt{only} ? "$root/bench"
                                                 : $ctx->{work});

    # the numbers, to write the report again without measuring again
    $R{out} = $out;
    GammaBench::Mesh::write_file("$ctx->{work}/results.json",
        JSON::PP->new->canonical->pretty->encode(\%R));

    GammaBench::Report->new(\%R)->write($out);

    note("results: $out/results.md");
    note("FAILED: $_") for @{$R{failures}};
}


# --report: results.md and the plots again from a run's results.json
sub report_only {
    my ($file) = @_;

    open my $fh, '<', $file or die "$file: $!\n";
    my $r = JSON::PP->new->decode(do { local $/; <$fh> });

    $r->{ctx}{root} = $root;
    GammaBench::Report->new($r)->write($opt{out} // $r->{out}
                                       // "$root/bench");

    return 0;
}


sub setup {
    my ($base) = ($ENV{BENCH_PORT} // 28100) =~ /^(\d+)$/
        or die "BENCH_PORT: a number\n";
    my $cpus = $ENV{BENCH_CPUS} // (ncpus() > 1 ? '0,1' : 'none');
    my ($client, $server) = $cpus eq 'none' ? () : split /,/, $cpus;
    # a partial run keeps clear of the last full run's files
    my $work = "$root/build/bench/$mode" . ($opt{only} ? '-only' : '');
    my $module = "$root/build/ngx_http_gamma_module.so";

    -f $module or die "$module is missing: run 'make module'\n";

    ports_free($base);
    remove_tree($work);
    make_path($work);

    # a private copy: a rebuild must not pull the .so from under nginx
    copy($module, "$work/ngx_http_gamma_module.so") or die "copy: $!\n";

    # the harness is a client too: it polls and samples from the client CPU
    run_cmd('taskset', '-pc', $client, $$) if defined $client;

    # ahead of other work on the machine, so that it disturbs us less
    $GammaBench::Proc::NICE = $ENV{BENCH_NICE}
                              // ($mode eq 'full' && $> == 0 ? -10 : 0);
    setpriority(0, 0, $GammaBench::Proc::NICE);

    return {
        root       => $root,
        work       => $work,
        nginx      => $ENV{NGINX} // '/usr/sbin/nginx',
        haproxy    => '/usr/sbin/haproxy',
        wrk        => 'wrk',
        module     => "$work/ngx_http_gamma_module.so",
        cpu_client => $client,
        cpu_server => $server,
        nice       => $GammaBench::Proc::NICE,
        sources    => [split /,/, $ENV{BENCH_SOURCES} // default_sources()],
        ports      => {
            plain   => $base + 1,
            haproxy => $base + 2,
            gamma   => $base + 10,     # + index of the size
            scale   => $base + 20,
            prop    => $base + 30,
            static  => $base + 40,
            kube    => $base + 50,
            backend => $base + 90,
            probe   => $base + 91,
        },
    };
}


# a server left over on our ports would answer in place of ours
sub ports_free {
    my ($base) = @_;

    for my $port ($base .. $base + 99) {
        die "port $port is in use: stop what listens there or set "
            . "BENCH_PORT\n"
            if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
    }
}


# the Kubernetes source when the tests' fake API server can run
sub default_sources {
    return -x "$root/t/lib/fake-kube-apiserver"
           && eval { require Mojolicious; 1 } ? 'file,slice,service,kube'
                                              : 'file,slice,service';
}


sub loadavg {
    open my $fh, '<', '/proc/loadavg' or return;
    return (split ' ', <$fh>)[0];
}


sub ncpus {
    open my $fh, '<', '/proc/cpuinfo' or return 1;
    return scalar grep { /^processor\s*:/ } <$fh>;
}


sub section {
    my ($title, $code) = @_;
    my $t0 = time;

    return if $opt{only} && !grep { $_ eq $title } split /,/, $opt{only};

    note("== $title");
    $code->();
    note(sprintf "   %.0f s", time - $t0);
}


sub note {
    printf STDERR "bench: %5.1f %s\n", time - $T0, "@_";
}


sub fail {
    my ($what, $why) = @_;

    push @{$R{failures}}, "$what: $why";
    note("FAILED $what: $why");
}


sub server {
    my ($kind, $name, %o) = @_;

    return GammaBench::Servers->new($ctx, $kind, $name, %o);
}


# starts a server and waits until it answers; once more if it died (this
# machine is shared: something outside the benchmark once killed one)
sub start_ready {
    my ($s, $timeout) = @_;

    for my $try (1, 2) {
        my $ok = eval { $s->start->wait_ready($timeout); 1 };
        return $s if $ok;
        die $@ if $try == 2 || GammaBench::Proc::alive($s->{pid});
        note("$s->{name} died while starting, once more: $@");
    }
}


sub mesh {
    my ($n, $port) = @_;
    my $p = $ctx->{ports};

    return GammaBench::Mesh->new(
        services       => $n,
        port           => $port,
        endpoints      => ["127.0.0.1:$p->{backend}",
                           "127.0.0.2:$p->{backend}"],
        probe_endpoint => "127.0.0.1:$p->{probe}",
    );
}


sub gamma_server {
    my ($name, $n, $port, $source) = @_;
    my $src = $SOURCES{$source // 'file'}
        or die "no propagation source \"$source\"\n";
    my $s = server('gamma', $name, mesh => mesh($n, $port), port => $port);

    $src->{setup}->($s);
    $s->{source} = $src->{directive}->($s);

    return $s;
}


sub static_server {
    my ($name, $n, $port) = @_;

    return server('static', $name, mesh => mesh($n, $port), port => $port);
}


# ---- wrk -----------------------------------------------------------------

sub wrk_cmd {
    my ($url, $duration, $conns) = @_;
    my @cmd = ($ctx->{wrk}, '-t1', "-c$conns", "-d${duration}s",
               '-s', "$root/bench/wrk-report.lua", $url);

    unshift @cmd, 'taskset', '-c', $ctx->{cpu_client}
        if defined $ctx->{cpu_client};

    return @cmd;
}


# one wrk run; the CPU time @pids spent during it
sub wrk_run {
    my ($url, $duration, @pids) = @_;
    my @cmd = wrk_cmd($url, $duration, $C->{conns});
    my $cpu = cpu_seconds(@pids);
    my ($rc, $out) = run_cmd(@cmd);

    my $r = wrk_parse($out) or die "wrk failed: $out\n";
    $r->{cpu} = cpu_seconds(@pids) - $cpu;
    $R{commands}{wrk} //= shell_join(@cmd) if $duration == $C->{duration};

    return $r;
}


sub wrk_parse {
    my ($out) = @_;

    $out =~ /^BENCH (.*)$/m or return;

    my %r = map { split /=/ } split ' ', $1;
    $r{rps} = $r{requests} / ($r{duration_us} / 1e6);
    $r{errors} = $r{connect} + $r{read} + $r{write} + $r{status}
                 + $r{timeout};

    return \%r;
}


# wrk in the background until wrk_stop(): the constant load of the
# propagation and reload benchmarks
sub wrk_start {
    my ($url, $name) = @_;
    my $log = "$ctx->{work}/wrk-$name.log";
    my @cmd = wrk_cmd($url, 3600, $C->{conns});

    unlink $log;
    $R{commands}{wrk_load} //= shell_join(@cmd);

    return { log => $log, pid => spawn(cmd => \@cmd, log => $log) };
}


sub wrk_stop {
    my ($w) = @_;

    GammaBench::Proc::stop($w->{pid}, 'INT', 10);

    open my $fh, '<', $w->{log} or die "$w->{log}: $!\n";
    my $out = do { local $/; <$fh> };

    return wrk_parse($out) // die "wrk failed: $out\n";
}


# ---- throughput and latency ----------------------------------------------

sub throughput {
    my $p = $ctx->{ports};
    my @servers = (
        server('plain', 'plain', port => $p->{plain}),
        server('haproxy', 'haproxy', port => $p->{haproxy}),
    );
    my $i = 0;

    for my $n (@{$C->{throughput}}) {
        push @servers, gamma_server("gamma-$n", $n, $p->{gamma} + $i++);
        $servers[-1]{services} = $n;
    }

    $_->start for @servers;
    $_->wait_ready(120) for @servers;

    my @configs = map {
        { label => label($_), server => $_, url => "http://$_->{addr}/" }
    } $backend, @servers;

    $configs[0]{label} = 'direct';

    for my $c (@configs) {
        my $why = $c->{server}->check('/');
        fail($c->{label}, $why) if $why;
        $c->{answered} = !$why;
    }

    @configs = grep { $_->{answered} } @configs;
    $_->{syscalls} = syscalls($_->{server}) for @configs;

    if ($C->{warmup}) {
        wrk_run($_->{url}, $C->{warmup}) for @configs;
    }

    for my $round (0 .. $C->{rounds} - 1) {
        # rotated, so that no configuration always runs first
        my @order = (@configs[$round % @configs .. $#configs],
                     @configs[0 .. $round % @configs - 1]);

        for my $c (@order) {
            my $r = wrk_run($c->{url}, $C->{duration},
                            $c->{server}->pids);
            push @{$c->{runs}}, $r;
            note(sprintf '%-12s %8.0f req/s  p99 %5.2f ms  errors %d',
                 $c->{label}, $r->{rps}, $r->{p99_us} / 1000,
                 $r->{errors});
            fail("$c->{label} under load", "$r->{errors} errors")
                if $r->{errors} || !$r->{requests};
        }
    }

    for my $c (@configs) {
        $c->{rss} = rss($c->{server}->worker);
        $R{commands}{$c->{server}{kind}} //=
            shell_join(@{$c->{server}{cmd}});
        delete $c->{server};
    }

    $R{throughput} = \@configs;
    $_->stop for @servers;
}


# ---- side by side ---------------------------------------------------------

# Plain nginx and one other proxy loaded at the same moments, each by its
# own wrk on the client CPU, both on the server CPU under one CPU quota
# (BENCH_QUOTA of one CPU, 0.7; "none" for none): the two proxies, not wrk
# or the backend, are the bottleneck, and the scheduler gives each the same
# CPU time.  Runs seconds apart see a machine whose speed changes by a
# third from one second to the next (the throughput section's ranges);
# side by side, both see the same machine, and the ratios of their req/s,
# p99 and CPU a request keep only what differs between them.  A second
# plain nginx ("plain twin") is the control: its ratios are the method's
# own noise.  The contenders take turns within each round.
sub side_by_side {
    my $p = $ctx->{ports};
    my $plain = server('plain', 'side-plain', port => $p->{plain});
    my @others = (
        server('plain', 'side-twin', port => $p->{plain} + 2),
        server('haproxy', 'side-haproxy', port => $p->{haproxy}),
    );
    my $i = 0;

    for my $n (@{$C->{side}}) {
        push @others, gamma_server("side-gamma-$n", $n, $p->{gamma} + $i++);
        $others[-1]{services} = $n;
    }

    $_->start for $plain, @others;
    $_->wait_ready(120) for $plain, @others;

    my %side = (quota => side_quota(), rounds => $C->{side_rounds},
                duration => $C->{duration}, conns => $C->{conns});
    my $q = $side{quota}{q};

    for my $s ($plain, @others) {
        my $why = $s->check('/');
        fail("$s->{name} side by side", $why) if $why;
        $q->add($s->pids) or fail($s->{name}, "cgroup: $!") if $q;
        wrk_run("http://$s->{addr}/", $C->{warmup}) if $C->{warmup};
    }

    for my $round (0 .. $C->{side_rounds} - 1) {
        my @order = (@others[$round % @others .. $#others],
                     @others[0 .. $round % @others - 1]);

        for my $o (@order) {
            my $label = $o->{name} eq 'side-twin' ? 'plain twin' : label($o);
            my $pair = wrk_pair($round % 2, $plain, $o);
            push @{$side{runs}{$label}}, $pair;
            note(sprintf '%-12s / plain: req/s %.3f  p99 %.3f  CPU/req %.3f',
                 $label, map { $pair->[1]{$_} / $pair->[0]{$_} }
                             qw(rps p99_us cpu_req));
        }
    }

    $q->release(map { $_->pids } $plain, @others) if $q;
    delete $side{quota}{q};
    $R{side} = \%side;
    $_->stop for $plain, @others;
}


# the quota of the side-by-side runs: {q => object, q_text} or {text}
sub side_quota {
    my $share = $ENV{BENCH_QUOTA} // 0.7;

    return { text => 'no CPU quota (BENCH_QUOTA=none)' }
        if $share eq 'none';
    $share =~ /^(0\.\d+|1)$/ or die "BENCH_QUOTA: a share of one CPU\n";

    my ($q, $why) = GammaBench::Quota->new(share => $share);

    return $q ? { q => $q, q_text => 'a CPU quota of ' . $q->describe }
              : { text => "no CPU quota: $why" };
}


# one wrk run against each of two servers at once (the second's wrk first
# if $swap): [their results], each with the CPU a request and, in the
# first, the busy share of both CPUs
sub wrk_pair {
    my ($swap, @s) = @_;
    my @log = map { "$ctx->{work}/wrk-$_->{name}.log" } @s;
    unlink @log;

    my $busy = cpu_busy();
    my @cpu = map { run_seconds($_->pids) } @s;
    my %pid = map {
        $_ => spawn(cmd => [wrk_cmd("http://$s[$_]{addr}/", $C->{duration},
                                    $C->{conns})], log => $log[$_])
    } $swap ? (1, 0) : (0, 1);
    reap($_) for values %pid;
    my @r;

    for my $k (0, 1) {
        my $out = GammaBench::Mesh::read_file($log[$k]);
        my $r = wrk_parse($out) // die "wrk failed: $out\n";
        $r->{cpu} = run_seconds($s[$k]->pids) - $cpu[$k];
        $r->{cpu_req} = $r->{requests} ? $r->{cpu} / $r->{requests} : 0;
        fail("$s[$k]{name} side by side", "$r->{errors} errors")
            if $r->{errors} || !$r->{requests};
        push @r, $r;
    }

    $r[0]{busy} = cpu_busy($busy);

    return \@r;
}


# /proc/stat's counters of the client and server CPUs; with $since, the
# share of the time each was busy since then: {client, server}
sub cpu_busy {
    my ($since) = @_;
    my %now;

    open my $fh, '<', '/proc/stat' or return {};

    while (my $line = <$fh>) {
        my ($cpu, @f) = split ' ', $line;
        next unless $cpu =~ /^cpu(\d+)$/;
        # idle and iowait are fields 4 and 5
        $now{$1} = [$f[0] + $f[1] + $f[2] + $f[5] + $f[6] + $f[7],
                    $f[3] + $f[4]];
    }

    return \%now unless $since;

    my %busy;

    for my $role (qw(client server)) {
        my $cpu = $ctx->{"cpu_$role"} // next;
        my ($b0, $i0) = @{$since->{$cpu} || next};
        my ($b1, $i1) = @{$now{$cpu}};
        my $all = $b1 - $b0 + $i1 - $i0;
        $busy{$role} = $all ? ($b1 - $b0) / $all : undef;
    }

    return \%busy;
}


# system calls the server makes per request: strace -c on the serving
# process while one keep-alive client sends requests one at a time
sub syscalls {
    my ($s) = @_;
    my $n = $C->{sequential};
    my $out = "$ctx->{work}/strace-$s->{name}.txt";
    my $log = "$ctx->{work}/strace-$s->{name}.log";
    my $http = GammaBench::Http->new($s->{addr});

    # connections to the proxy and from it to the backend are open
    $http->get('/') for 1 .. 20;

    my $pid = spawn(cmd => ['strace', '-c', '-f', '-o', $out, '-p',
                            $s->worker], log => $log);
    wait_log($log, qr/attached/, 10);

    for (1 .. $n) {
        my ($status) = $http->get('/');
        fail("$s->{name} under strace", 'no answer') unless $status;
    }

    GammaBench::Proc::stop($pid, 'INT', 10);
    $R{commands}{strace} //= shell_join('strace', '-c', '-f', '-p',
                                        '<worker pid>');

    open my $fh, '<', $out or return;

    while (my $line = <$fh>) {
        my @f = split ' ', $line;
        return $f[3] / $n if @f && $f[-1] eq 'total';
    }

    return;
}


sub label {
    my ($s) = @_;

    return $s->{kind} eq 'gamma' ? "gamma $s->{services}" : $s->{kind};
}


# ---- instructions per request (callgrind) --------------------------------

# Each server again, alone under callgrind, one keep-alive client sending
# requests one at a time: the user-space instructions per request, which
# other work on the machine does not change.
sub instructions {
    my $p = $ctx->{ports};
    my @servers = (
        server('backend', 'cg-direct', port => $p->{backend} + 2,
               probe_port => $p->{probe} + 2, callgrind => 1),
        server('plain', 'cg-plain', port => $p->{plain}, callgrind => 1),
        server('haproxy', 'cg-haproxy', port => $p->{haproxy},
               callgrind => 1),
    );
    my $i = 0;

    $servers[0]{label} = 'direct';

    # instructions do not depend on the size (see the results): the
    # smallest and the largest mesh
    my @sizes = @{$C->{throughput}};

    for my $n (@sizes > 1 ? @sizes[0, -1] : @sizes) {
        push @servers, gamma_server("cg-gamma-$n", $n, $p->{gamma} + $i++);
        $servers[-1]{services} = $n;
        $servers[-1]{callgrind} = 1;
    }

    # a smoke run only proves that it works
    @servers = grep { $_->{kind} eq 'gamma' } @servers
        if $C->{callgrind} eq 'gamma';

    for my $s (@servers[0 .. ($C->{callgrind} eq 'gamma' ? 0 : $#servers)]) {
        start_ready($s, 300);

        my $r = callgrind_run($s);
        $r->{label} = $s->{label} // label($s);
        push @{$R{instructions}}, $r;
        note(sprintf '%-12s %8.0f instructions a request', $r->{label},
             $r->{ir} // 0);

        $s->stop;
    }
}


sub callgrind_run {
    my ($s) = @_;
    my $n = $C->{sequential};
    my $http = GammaBench::Http->new($s->{addr}, timeout => 60);
    my %r;

    for (1 .. 200) {
        my ($status) = $http->get('/');
        fail("$s->{name} under callgrind", 'no answer') unless $status;
    }

    $s->cg_mark(1);

    for (1 .. $n) {
        my ($status, $body) = $http->get('/');
        fail("$s->{name} under callgrind", 'wrong answer')
            unless $status && $status == 200
                   && $body eq $GammaBench::Servers::BODY;
    }

    my $dump = $s->cg_mark(2);

    wait_log($dump, qr/^totals: (\d+)/, 60) =~ /(\d+)/;
    $r{ir} = $1 / $n;

    my ($rc, $annotated) = run_cmd('callgrind_annotate', '--inclusive=no',
                                   '--threshold=100', $dump);

    for my $line (split /\n/, $annotated) {
        $line =~ /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)\s+\[(.*)\]\s*$/
            or next;
        my ($ir, $func, $obj) = ($1, $2, $3);
        $ir =~ tr/,//d;
        $func =~ s/^.*://;
        $r{functions}{$func} = [$func, $obj =~ s{.*/}{}r, $ir / $n];
        $r{module_ir} += $ir / $n if $obj =~ /gamma/;
    }

    # frames on the stack when the counters were zeroed show it all
    delete @{$r{functions}}{grep { $r{functions}{$_}[2] >= 0.99 * $r{ir} }
                           keys %{$r{functions}}};

    $R{commands}{callgrind} = shell_join(@{$s->{cmd}})
        if $s->{kind} eq 'gamma';

    return \%r;
}


# ---- memory and compile time at scale ------------------------------------

sub scale {
    my $port = $ctx->{ports}{scale};

    for my $n (0, @{$C->{scale}}) {
        my $s = gamma_server("scale-$n", $n, $port);
        my $r = { services => $n };

        start_ready($s, 300);
        my $log = "$s->{dir}/logs/error.log";

        @$r{qw(snapshot_bytes compile_s)} = snapshot_line($log, 1);
        $r->{startup_s} = $s->{ready} - $s->{started};
        sleep 0.3;
        memory($r, $s->worker, '');

        if ($n) {
            my $why = $s->check('/');
            fail("gamma with $n Services", $why) if $why;

            # what a change costs at this size: the first one after the
            # start, then the median of the next ones; the memory after
            # them is what a proxy in service keeps
            my @ms;

            for my $v (1 .. $C->{scale_changes}) {
                $SOURCES{file}{prepare}->($s, $v);
                $SOURCES{file}{apply}->($s, $v);
                wait_log($log, qr/gamma: snapshot @{[$v + 1]} in service/,
                         120, $s->{pid});
                push @ms, (snapshot_line($log, $v + 1))[1];
            }

            $r->{first_change_s} = $ms[0];
            $r->{recompile_s} = median(@ms > 1 ? @ms[1 .. $#ms] : @ms);
            sleep 0.3;
            memory($r, $s->worker, '_after');
        }

        note(sprintf '%6d Services: compile %s s, change %s s, RSS %.1f MB',
             $n, $r->{compile_s}, $r->{recompile_s} // '-',
             ($r->{rss_after} // $r->{rss}) / 1048576);
        push @{$R{scale}}, $r;
        $R{commands}{gamma} //= shell_join(@{$s->{cmd}});
        $s->stop;
    }

    for my $n (0, @{$C->{static_scale}}) {
        my $s = static_server("static-$n", $n, $ctx->{ports}{static});
        my $r = { services => $n };

        start_ready($s, 300);
        $r->{startup_s} = $s->{ready} - $s->{started};
        sleep 0.3;
        memory($r, $s->worker, '');
        $r->{pss_total} = pss_total($s);

        my $why = $n && $s->check('/');
        fail("static nginx.conf with $n Services", $why) if $why;

        $R{commands}{static} //= shell_join(@{$s->{cmd}});
        note(sprintf '%6d Services as nginx.conf: RSS %.1f MB', $n,
             $r->{rss} / 1048576);
        push @{$R{static_scale}}, $r;
        $s->stop;
    }
}


# "snapshot N: ... <bytes> bytes, <ms> ms" from the watcher
sub snapshot_line {
    my ($log, $gen) = @_;
    my $line = wait_log($log, qr/gamma: snapshot $gen: /, 10);

    $line =~ /(\d+) bytes, (\d+) ms/ or return;

    return ($1, $2 / 1000);
}


sub memory {
    my ($r, $pid, $suffix) = @_;

    $r->{"rss$suffix"} = rss($pid);
    $r->{"hwm$suffix"} = rss($pid, 'VmHWM');
    $r->{"pss$suffix"} = pss($pid);
}


sub pss_total {
    my ($s) = @_;
    my @pids = tree($s->{pid});
    my $sum = 0;

    $sum += pss($_) for @pids;

    return wantarray ? ($sum, scalar @pids) : $sum;
}


# ---- the instance at 1, 2 and 4 workers ----------------------------------

# PSS summed over the master and all its children (the snapshot zone and
# every shared page counted once), by process role, and the zone's use as
# the source process logs it, for each size and worker count
sub instance {
    my $port = $ctx->{ports}{scale};

    for my $n (@{$C->{instance}}) {
        for my $w (@{$C->{workers}}) {
            my $s = gamma_server("instance-$n-$w", $n, $port);
            my $r = { services => $n, workers => $w };

            $s->{workers} = $w;
            start_ready($s, 300);
            # the source process logs the zone's use after the hand-off;
            # an idle worker adopts the generation within a second
            wait_log("$s->{dir}/logs/error.log",
                     qr/gamma: snapshot 1 published/, 60, $s->{pid});
            sleep 1.5;

            my $why = $n && $s->check('/');
            fail("gamma with $n Services, $w workers", $why) if $why;

            instance_memory($s, $r);
            note(sprintf '%6d Services, %d workers: PSS %.1f MB, zone %.1f '
                 . 'MB', $n, $w, $r->{pss_total} / 1048576,
                 ($r->{zone_used} // 0) / 1048576);
            push @{$R{instance}}, $r;
            $s->stop;
        }
    }
}


sub instance_memory {
    my ($s, $r) = @_;
    my @pids = tree($s->{pid});

    for my $pid (@pids) {
        my $role = $pid == $s->{pid} ? 'master'
                 : GammaBench::Proc::comm($pid) =~ /cache manager/
                 ? 'source' : 'workers';
        my $pss = pss($pid);

        $r->{"pss_$role"} += $pss;
        $r->{pss_total} += $pss;
    }

    $r->{procs} = @pids;

    open my $fh, '<', "$s->{dir}/logs/error.log" or return;

    while (<$fh>) {
        @$r{qw(zone_used zone_size)} = ($1, $2)
            if /published.* zone "[^"]*" (\d+) of (\d+) bytes used/;
    }
}


# ---- propagation -----------------------------------------------------------

# the propagation cases BENCH_CASES asks for, changes capped by BENCH_CHANGES
sub prop_cases {
    my ($c, $case) = @_;
    my %want = map { $_ => 1 }
               split /,/, $ENV{BENCH_CASES} // 'idle,load,load4';
    my $max = $ENV{BENCH_CHANGES};

    return () unless $want{$case};

    return map { [$_->[0], $max && $max < $_->[1] ? $max : $_->[1]] }
               @{$c->{$case} || []};
}


sub propagation {
    my $port = $ctx->{ports}{prop};

    for my $source (@{$ctx->{sources}}) {
        my $src = $SOURCES{$source} or die "no source \"$source\"\n";
        my $c = $C->{$source} // $C;
        my %count = (idle => {map { @$_ } prop_cases($c, 'idle')},
                     load => {map { @$_ } prop_cases($c, 'load')});
        my %sizes = map { $_ => 1 } keys %{$count{idle}},
                                    keys %{$count{load}};

        for my $n (sort { $a <=> $b } keys %sizes) {
            my $s = gamma_server("prop-$source-$n", $n, $port, $source);
            my $key = "$source $n";
            my $v = 1;

            start_ready($s, 300);

            my $why = $s->check('/load');
            fail("gamma $key", $why) if $why;

            my $change = change_fn($src, $s);

            if (my $k = $count{idle}{$n}) {
                $R{propagation}{$key}{idle} =
                    changes($s, $change, $v, $k, "$key idle");
                $v += $k;
            }

            if (my $k = $count{load}{$n}) {
                $R{propagation}{$key}{load} =
                    under_load($s, $change, $v, $k, "$key load");
            }

            $s->stop;
            $src->{teardown}->($s) if $src->{teardown};
        }

        for my $case (prop_cases($c, 'load4')) {
            propagation_workers($source, $src, @$case, 4);
        }
    }
}


# under load, with a master and $w workers; with the Kubernetes source the
# API requests the instance made, from the fake API server's log
sub propagation_workers {
    my ($source, $src, $n, $count, $w) = @_;
    my $s = gamma_server("prop-$source-$n-w$w", $n, $ctx->{ports}{prop},
                         $source);
    my $key = "$source $n";

    $s->{workers} = $w;
    start_ready($s, 300);

    my $why = $s->check('/load');
    fail("gamma $key, $w workers", $why) if $why;

    # every worker serves: a change is enforced when all of them show it
    $R{propagation}{$key}{"load$w"} =
        under_load($s, change_fn($src, $s), 1, $count, "$key load ${w}W");

    $R{watches}{"$n $w"} = kube_requests($s->{kube}) if $s->{kube};

    $s->stop;
    $src->{teardown}->($s) if $src->{teardown};
}


# list and watch requests per resource in the fake API server's log
sub kube_requests {
    my ($kube) = @_;
    my $log = $kube->control('log') or return;
    my %n;

    for my $r (@{$log->{log} || []}) {
        my ($what) = ($r->{path} // '') =~
                     m{/(services|endpointslices|httproutes)$};

        next unless $what && ($r->{method} // '') eq 'GET';

        $n{$what}{($r->{query} // '') =~ /(^|&)watch=(1|true)/
                  ? 'watch' : 'list'}++;
    }

    $n{open} = $log->{watches};

    return \%n;
}


sub change_fn {
    my ($src, $s) = @_;

    return {
        prepare => sub { $src->{prepare}->($s, $_[0]) },
        apply   => sub { $src->{apply}->($s, $_[0]) },
        path    => $src->{path},
        expect  => $src->{expect},
    };
}


# $count changes from version $from on, each polled until enforced
sub changes {
    my ($s, $change, $from, $count, $what) = @_;
    my $http = GammaBench::Http->new($s->{addr});
    my $sampler = sampler($s);
    my $gap = $change->{reload} ? 0 : ($ENV{BENCH_GAP_MS} // 100) / 1000;
    my (@lat, $missed);

    $sampler->(1);

    for my $v ($from .. $from + $count - 1) {
        sleep $gap if $gap;
        $change->{prepare}->($v);

        my $t0 = time;
        $change->{apply}->($v);
        my $t1 = wait_enforced($http, $change->{path}
                                      ? $change->{path}->($v)
                                      : "/change-$v", $sampler,
                               $change->{timeout} // $ENFORCE_TIMEOUT,
                               $change->{expect} ? $change->{expect}->($v)
                                                 : undef);

        if (defined $t1) {
            push @lat, $t1 - $t0;
        } else {
            $missed++;
        }

        # outside the timed window: a sample takes 10-20 ms under load
        $sampler->();
    }

    # a mesh that does not apply a change answers wrongly; a reload that
    # takes longer than the timeout is only slow
    if ($missed) {
        my $why = "$missed of $count changes never enforced";
        $change->{reload} ? note("$what: $why") : fail($what, $why);
    }

    my $r = $sampler->();
    $r->{latencies} = \@lat;
    $r->{changes} = $count;
    $r->{missed} = $missed // 0;
    $r->{poll_reconnects} = $http->{reconnects};
    $r->{poll_errors} = $http->{errors};

    note(sprintf '%-18s %4d changes: p50 %.1f ms, p99 %.1f ms', $what,
         $count, (percentile(50, @lat) // 0) * 1000,
         (percentile(99, @lat) // 0) * 1000);

    return $r;
}


sub wait_enforced {
    my ($http, $path, $sampler, $timeout, $expect) = @_;
    my $deadline = time + $timeout;

    $expect //= $GammaBench::Servers::PROBE_BODY;

    my $start = time;

    while (time < $deadline) {
        my ($status, $body) = $http->get($path);

        return time if defined $status && $status == 200
                       && $body eq $expect;

        # only a change slower than a second (a reload) is sampled while
        # it is timed, so that its peak (two sets of workers) is seen
        $sampler->() if time - $start > 1;
        sleep $POLL_INTERVAL;
    }

    return undef;
}


# samples the memory of all of a server's processes at most every 250 ms
# (a sample reads /proc, 10-20 ms on a busy machine): after each change is
# enforced, not while it is timed, but during a change slower than 1 s
sub sampler {
    my ($s) = @_;
    my %m = (pss_peak => 0, procs_max => 0);
    my $last = 0;

    return sub {
        my ($first) = @_;

        return \%m if !$first && time - $last < 0.25;

        $last = time;
        my ($pss, $procs) = pss_total($s);

        $m{pss_base} = $pss if $first;
        $m{pss_peak} = $pss if $pss > $m{pss_peak};
        $m{procs_max} = $procs if $procs > $m{procs_max};

        return \%m;
    };
}


sub under_load {
    my ($s, $change, $from, $count, $what) = @_;
    my $w = wrk_start("http://$s->{addr}/load", $s->{name});

    sleep 1;

    my $r = changes($s, $change, $from, $count, $what);

    $r->{wrk} = wrk_stop($w);

    my $e = $r->{wrk};
    my $wrong = $e->{connect} + $e->{read} + $e->{write} + $e->{status};

    note(sprintf '%-18s %d requests, %d failed', $what, $e->{requests},
         $e->{errors});

    # nginx-gamma must not fail a request while routes change (a request
    # that merely timed out on a starved machine is not counted here)
    fail($what, "$wrong requests failed while routes changed")
        if $wrong && !$change->{reload};

    return $r;
}


# ---- nginx -s reload -------------------------------------------------------

sub reload {
    my $port = $ctx->{ports}{static};

    for my $case (@{$C->{reload}}) {
        my ($n, $count) = @$case;
        my $s = static_server("reload-$n", $n, $port);

        start_ready($s, 300);

        my $why = $s->check('/load');
        fail("static nginx.conf $n", $why) if $why;

        my $change = {
            reload  => 1,
            timeout => $RELOAD_TIMEOUT,
            prepare => sub { $s->write_routes($_[0]) },
            apply   => sub {
                my ($rc, $out) = run_cmd($s->reload_cmd);
                die "nginx -s reload failed: $out\n" if $rc;
            },
        };

        $R{commands}{reload} //= shell_join($s->reload_cmd);
        $R{reload}{$n} = under_load($s, $change, 1, $count, "reload $n");
        $s->stop;
    }
}
