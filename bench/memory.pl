#!/usr/bin/perl
# Where the memory of an nginx-gamma instance goes: starts it on the
# benchmark mesh (file source) with N Services and W workers, and prints
# for each process its PSS split by mapping: the snapshot zone (the shared
# anonymous mapping), the heap and other private anonymous memory, and
# files (nginx, the libraries); then the zone's use as the source process
# logs it.  Not a test.
#
#   bench/memory.pl [--workers W] [--changes C] [--keep] N...
#
# --changes C: then C changes of a route (one generation each), and the
# same figures once the last generation before is freed.  --keep: leaves
# the instance running (one N) and says how to stop it.
#
# Environment: BENCH_PORT (first port, 28600), GAMMA_MODULE (the module,
# build/ngx_http_gamma_module.so).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use Getopt::Long;
use Time::HiRes qw(sleep);

use lib dirname(abs_path(__FILE__)) . '/lib';
use GammaBench::Mesh;
use GammaBench::Proc qw(tree wait_log);
use GammaBench::Servers;


my $root = abs_path(dirname(abs_path(__FILE__)) . '/..');
my %opt = (workers => 1, changes => 0);

GetOptions(\%opt, 'workers=i', 'changes=i', 'keep') && @ARGV
    or die "usage: bench/memory.pl [--workers W] [--changes C] [--keep] "
           . "N...\n";

my $base = $ENV{BENCH_PORT} // 28600;
my $work = "$root/build/bench/memory";
my $ctx = {
    root    => $root,
    work    => $work,
    nginx   => $ENV{NGINX} // '/usr/sbin/nginx',
    module  => "$work/ngx_http_gamma_module.so",
    nice    => 0,
    ports   => { backend => $base + 90, probe => $base + 91 },
};

my @kept;                       # --keep: left running when we exit

# a run that failed stops everything, kept or not
END { GammaBench::Proc::stop_all() unless @kept && $? == 0 }

die "--keep: one N (the instances share their port)\n"
    if $opt{keep} && @ARGV > 1;

remove_tree($work);
make_path($work);
copy($ENV{GAMMA_MODULE} // "$root/build/ngx_http_gamma_module.so",
     $ctx->{module})
    or die "copy: $!\n";

run($_) for @ARGV;

printf "kept running: master pid %d, prefix %s; stop it with kill %d\n",
       $_->{pid}, $_->{dir}, $_->{pid} for @kept;


sub run {
    my ($n) = @_;
    my $port = $base + 20;
    my $mesh = GammaBench::Mesh->new(
        services       => $n,
        port           => $port,
        endpoints      => ["127.0.0.1:$ctx->{ports}{backend}",
                           "127.0.0.2:$ctx->{ports}{backend}"],
        probe_endpoint => "127.0.0.1:$ctx->{ports}{probe}");
    my $s = GammaBench::Servers->new($ctx, 'gamma', "gamma-$n",
                                     mesh => $mesh, port => $port,
                                     workers => $opt{workers});
    my $log = "$s->{dir}/logs/error.log";

    make_path("$s->{dir}/mesh");
    $mesh->write_yaml_dir("$s->{dir}/mesh", 1000);
    $mesh->write_probe_route("$s->{dir}/mesh", 0);
    $s->{source} = "file:$s->{dir}/mesh";

    $s->start;
    wait_log($log, qr/gamma: snapshot 1 published/, 300, $s->{pid});
    sleep 2;

    report($n, $s, 'after the first snapshot');

    for my $v (1 .. $opt{changes}) {
        $mesh->write_probe_route("$s->{dir}/mesh", $v);
        wait_log($log, qr/gamma: snapshot @{[$v + 1]} published/, 300,
                 $s->{pid});
        wait_log($log, qr/gamma: snapshot $v freed/, 60, $s->{pid});
    }

    if ($opt{changes}) {
        sleep 1;
        report($n, $s, "after $opt{changes} changes");
    }

    if ($opt{keep}) {
        push @kept, $s;
    } else {
        $s->stop;
    }
}


sub report {
    my ($n, $s, $when) = @_;
    my %sum;

    printf "%d Services, %d workers, %s\n", $n, $opt{workers}, $when;
    printf "  %-8s %8s %8s %8s %8s %8s\n", qw(process PSS zone heap anon
                                             files);

    for my $pid (tree($s->{pid})) {
        my $role = $pid == $s->{pid} ? 'master'
                 : GammaBench::Proc::comm($pid) =~ /cache manager/
                 ? 'source' : 'worker';
        my $m = smaps($pid);

        printf "  %-8s %8.2f %8.2f %8.2f %8.2f %8.2f\n", $role,
            map { ($m->{$_} // 0) / 1024 } qw(total zone heap anon files);
        $sum{$_} += $m->{$_} // 0 for keys %$m;
    }

    printf "  %-8s %8.2f %8.2f %8.2f %8.2f %8.2f  (MB)\n", 'sum',
        map { ($sum{$_} // 0) / 1024 } qw(total zone heap anon files);
    printf "  KB per Service: %.2f\n", $sum{total} / $n if $n;

    open my $fh, '<', "$s->{dir}/logs/error.log" or return;
    my $zone = '';
    while (<$fh>) {
        $zone = $1 if /(snapshot \d+ (?:published|freed).*)/;
    }
    print "  $zone\n";
}


# PSS in KB by kind of mapping
sub smaps {
    my ($pid) = @_;
    my (%m, $kind);

    open my $fh, '<', "/proc/$pid/smaps" or return \%m;

    while (my $line = <$fh>) {
        if ($line =~ /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ (\d+)\s*(.*)$/) {
            my ($perm, $inode, $name) = ($1, $2, $3);
            $kind = $name =~ /zero|SYSV|^\/dev\/shm/ || $perm =~ /s/
                    ? 'zone'
                  : $name eq '[heap]' ? 'heap'
                  : $inode == 0 ? 'anon' : 'files';
        } elsif ($line =~ /^Pss:\s+(\d+) kB/) {
            $m{$kind} += $1;
            $m{total} += $1;
        }
    }

    return \%m;
}
