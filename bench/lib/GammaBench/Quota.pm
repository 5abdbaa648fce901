package GammaBench::Quota;

# A CPU quota shared by a set of processes: a cgroup of the cpu controller
# (cgroup v2 "cpu.max", or v1 "cpu.cfs_quota_us"), made for the benchmark
# and removed when it ends.  The side-by-side runs put two proxies under
# one quota, so that the two of them, not wrk or the backend, are the
# bottleneck: the scheduler then gives each the same CPU time, and the one
# that costs more a request serves fewer.  Needs root and a mounted cpu
# controller; new() says why not otherwise, and the run goes on without.

use strict;
use warnings;

my @made;               # cgroups to remove at the end


# $share of one CPU (0.7) every $period_us; (object) or (undef, why)
sub new {
    my ($class, %o) = @_;
    my $period = $o{period_us} // 10000;
    my $quota = int($period * $o{share});
    my ($kind, $root) = find_root();

    return (undef, 'no cgroup cpu controller is mounted') unless $root;

    my $dir = "$root/gamma-bench-$$";

    mkdir $dir or $!{EEXIST}
        or return (undef, "mkdir $dir: $!");
    push @made, $dir;

    my $ok = $kind eq 'v2'
             ? put("$dir/cpu.max", "$quota $period")
             : put("$dir/cpu.cfs_period_us", $period)
               && put("$dir/cpu.cfs_quota_us", $quota);

    return (undef, "$dir: cannot set the quota: $!") unless $ok;

    return bless { dir => $dir, root => $root, kind => $kind,
                   share => $o{share}, period_us => $period }, $class;
}


# what the report says of it
sub describe {
    my ($self) = @_;

    return sprintf '%.0f%% of one CPU every %g ms (cgroup %s)',
                   100 * $self->{share}, $self->{period_us} / 1000,
                   $self->{kind} eq 'v2' ? 'v2 cpu.max'
                                         : 'v1 cpu.cfs_quota_us';
}


# moves the processes into the quota's cgroup
sub add {
    my ($self, @pids) = @_;

    put("$self->{dir}/cgroup.procs", $_) or return 0 for @pids;

    return 1;
}


# moves them back to the root cgroup
sub release {
    my ($self, @pids) = @_;

    put("$self->{root}/cgroup.procs", $_) for @pids;
}


# removes every cgroup made (their processes have exited or left)
sub remove_all {
    rmdir $_ for reverse @made;
    @made = ();
}


# (v2|v1, mount point) of the cpu controller, or ()
sub find_root {
    open my $fh, '<', '/proc/mounts' or return;

    my ($v1, $v2);

    while (my $line = <$fh>) {
        my (undef, $dir, $type, $opts) = split ' ', $line;

        $v1 //= $dir if $type eq 'cgroup' && grep { $_ eq 'cpu' }
                                              split /,/, $opts;
        $v2 //= $dir if $type eq 'cgroup2' && controllers($dir) =~ /\bcpu\b/;
    }

    # the root's children get the controller only once it is enabled
    return ('v2', $v2) if $v2 && (subtree($v2) =~ /\bcpu\b/
                                  || put("$v2/cgroup.subtree_control",
                                         '+cpu'));
    return ('v1', $v1) if $v1;
    return;
}


sub controllers { first_line("$_[0]/cgroup.controllers") }
sub subtree     { first_line("$_[0]/cgroup.subtree_control") }


sub first_line {
    my ($file) = @_;

    open my $fh, '<', $file or return '';
    return scalar(<$fh>) // '';
}


sub put {
    my ($file, $value) = @_;

    open my $fh, '>', $file or return 0;
    print {$fh} "$value\n" or return 0;

    return close $fh;
}


1;
