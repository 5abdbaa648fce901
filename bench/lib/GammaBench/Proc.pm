package GammaBench::Proc;

# The processes a benchmark starts: every server runs in the foreground as
# our own child (nginx "daemon off", haproxy -db), pinned with taskset, and
# is stopped by stop_all() when the benchmark ends, however it ends.  Also
# reads CPU time and memory from /proc.

use strict;
use warnings;

use Exporter 'import';
use POSIX qw(:sys_wait_h _exit);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(spawn stop stop_all run_cmd cpu_seconds run_seconds
                    rss pss children worker_of wait_for wait_log tree
                    shell_join reap);

my %running;            # pid => name
our $NICE = 0;          # the priority everything we start runs at
my $ticks = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;


# starts @$cmd pinned to $cpu (undef: not pinned), output into $log
sub spawn {
    my (%o) = @_;
    my @cmd = @{$o{cmd}};

    unshift @cmd, 'taskset', '-c', $o{cpu} if defined $o{cpu};

    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        setpgrp(0, 0);
        setpriority(0, 0, $NICE) if $NICE;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $o{log} // '/dev/null';
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or print STDERR "exec $cmd[0]: $!\n";
        _exit(127);
    }

    $running{$pid} = $o{name} // $cmd[0];

    return $pid;
}


# TERM, then KILL after $grace seconds; reaps the child
sub stop {
    my ($pid, $sig, $grace) = @_;

    return unless $pid && $running{$pid};

    kill $sig // 'TERM', $pid;

    my $deadline = time + ($grace // 5);

    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) != 0) {
            delete $running{$pid};
            return;
        }
        sleep 0.01;
    }

    print STDERR "bench: $running{$pid} ($pid) ignored SIG$sig, killed\n"
        if $ENV{BENCH_DEBUG};

    # the whole group: an nginx master may leave workers behind
    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid $pid, 0;
    delete $running{$pid};
}


# reaps the child if it has exited
sub alive {
    my ($pid) = @_;

    return 0 unless $running{$pid};
    return 1 if waitpid($pid, WNOHANG) == 0;

    delete $running{$pid};

    return 0;
}


# waits for a child spawn() started to exit: its exit code
sub reap {
    my ($pid) = @_;

    waitpid $pid, 0;
    delete $running{$pid};

    return $? >> 8;
}


sub stop_all {
    stop($_, 'TERM', 3) for keys %running;
}


# runs a command to its end; returns its exit status and its output
sub run_cmd {
    my (@cmd) = @_;

    my $pid = open(my $fh, '-|') // die "fork: $!\n";

    if ($pid == 0) {
        setpriority(0, 0, $NICE) if $NICE;
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or print "exec $cmd[0]: $!\n";
        _exit(127);
    }

    $running{$pid} = $cmd[0];
    my $out = do { local $/; <$fh> };
    close $fh;
    delete $running{$pid};

    return ($? >> 8, $out);
}


# CPU time of a process (all its threads), in seconds
sub cpu_seconds {
    my (@pids) = @_;
    my $sum = 0;

    for my $pid (@pids) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $line = <$fh>;
        $line =~ s/^.*\) //;
        my @f = split ' ', $line;
        $sum += ($f[11] + $f[12]) / $ticks;      # utime, stime
    }

    return $sum;
}


# the time processes ran on a CPU, in seconds, to the nanosecond
# (/proc/PID/schedstat; the tick-counted CPU time where it is missing)
sub run_seconds {
    my (@pids) = @_;
    my $sum = 0;

    for my $pid (@pids) {
        if (open my $fh, '<', "/proc/$pid/schedstat") {
            $sum += (split ' ', scalar <$fh>)[0] / 1e9;
        } else {
            $sum += cpu_seconds($pid);
        }
    }

    return $sum;
}


sub status_kb {
    my ($pid, $key) = @_;

    open my $fh, '<', "/proc/$pid/status" or return 0;

    while (my $line = <$fh>) {
        return $1 * 1024 if $line =~ /^$key:\s+(\d+) kB/;
    }

    return 0;
}


# resident set, bytes; 'VmHWM' as $key for the peak
sub rss { status_kb($_[0], $_[1] // 'VmRSS') }


# proportional set size: shared pages counted once across processes
sub pss {
    my ($pid) = @_;

    open my $fh, '<', "/proc/$pid/smaps_rollup" or return 0;

    while (my $line = <$fh>) {
        return $1 * 1024 if $line =~ /^Pss:\s+(\d+) kB/;
    }

    return 0;
}


sub children {
    my ($pid) = @_;
    my @kids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @kids, $1 if $line =~ /^(\d+) .*\) \S+ (\d+) / && $2 == $pid;
    }

    return @kids;
}


# a process and all its descendants
# one pass over /proc for the whole tree: a pass costs 10-20 ms on a busy
# machine, and the propagation client samples the tree while it polls
sub tree {
    my ($pid) = @_;
    my (%kids, @tree);

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @{$kids{$2}}, $1 if $line =~ /^(\d+) .*\) \S+ (\d+) /;
    }

    my @todo = ($pid);

    while (defined(my $p = shift @todo)) {
        push @tree, $p;
        push @todo, @{$kids{$p} || []};
    }

    return @tree;
}


# the (only) worker of an nginx master
sub worker_of {
    my ($master) = @_;
    my ($worker) = grep { comm($_) =~ /nginx/ } children($master);

    return $worker;
}


sub comm {
    open my $fh, '<', "/proc/$_[0]/cmdline" or return '';
    return <$fh> // '';
}


# waits until $cond returns true; dies after $timeout seconds
sub wait_for {
    my ($what, $timeout, $cond) = @_;
    my $deadline = time + $timeout;

    until ($cond->()) {
        die "timed out waiting for $what\n" if time > $deadline;
        sleep 0.005;
    }
}


# waits for a line matching $re in $file, written by process $pid if
# given (which must not exit meanwhile); returns the line
sub wait_log {
    my ($file, $re, $timeout, $pid) = @_;
    my $found;

    wait_for("/$re/ in $file", $timeout, sub {
        die "process $pid exited, see $file\n" if $pid && !alive($pid);

        open my $fh, '<', $file or return 0;
        while (my $line = <$fh>) {
            if ($line =~ $re) {
                $found = $line;
                return 1;
            }
        }
        return 0;
    });

    return $found;
}


# a command line as one would type it
sub shell_join {
    return join ' ', map { m{^[\w/.:,=+@%-]+$} ? $_ : "'$_'" } @_;
}


1;
