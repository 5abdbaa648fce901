# "make run", end to end: the demo mesh of conf/demo/ started the way the
# Makefile's "run" target starts it (its recipe as "make -n run" prints
# it, so that a change to the target is tested here), on a copy of conf/
# in a 0700 directory.  The demo has one worker, the copy two: "the change
# applies at once" has to hold for every worker.  Every curl command
# tools/demo-help prints gets the answer the help says; an edit of the
# copy's routes.yaml (a new file renamed over it, as editors do) applies
# on both workers with no reload; the gRPC route answers through the gRPC
# servers README's gRPC section starts for the demo.
#
# The demo's ClusterIPs listen on port 80: without root (or with port 80
# taken, e.g. by Debian's nginx.service on *:80) "make run" cannot start
# and neither can this test, which then skips saying why.

use strict;
use warnings;

use Cwd qw(abs_path);
use Errno qw(EACCES EADDRINUSE);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);
use YAML::XS ();

my $root = abs_path(dirname(__FILE__) . '/..');
my $slow = $ENV{GAMMA_TEST_SLOW} || 1;
my $workers = 2;
my $admin = '127.0.0.1:15000';

# --- can the demo's port be had here? ------------------------------------

{
    my $s = IO::Socket::INET->new(LocalAddr => '127.10.0.1', LocalPort => 80,
                                  Proto => 'tcp', Listen => 1,
                                  ReuseAddr => 1);
    if (!$s) {
        plan skip_all => 'port 80 needs root, as "make run" does'
            if $! == EACCES;
        plan skip_all => 'port 80 of 127.10.0.1 is taken (Debian\'s '
                         . 'nginx.service on *:80?): "make run" would fail'
            if $! == EADDRINUSE;
        plan skip_all => "cannot listen on 127.10.0.1:80: $!";
    }
    close $s;
}

umask 022;
# the copy is a checkout as "make run" may find one: its owner's, closed
# to others (0700: a home directory on Debian 12, /root), so that the
# user make run gives the workers and the source process has to be one
# that can read it
my $tmp = tempdir('gamma-demo-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chown((stat $root)[4, 5], $tmp) or die "chown $tmp: $!";

my (%children, $nginx_pid, $grpc_pid);

$SIG{INT} = $SIG{TERM} = sub { exit 1 };

END {
    local $?;
    stop($grpc_pid) if $grpc_pid;
    stop($nginx_pid) if $nginx_pid;
}

# the rest cannot be tested: say why and end here (BAIL_OUT would stop
# the other files of the run too)
sub give_up {
    my ($why) = @_;
    diag($why) if defined $why;
    done_testing();
    exit;
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# $path replaced the way an editor does: a new file renamed over the old
# one
sub replace_file {
    my ($path, $text) = @_;
    open my $fh, '>', "$path.new" or die "$path.new: $!";
    print $fh $text;
    close $fh or die "$path.new: $!";
    rename "$path.new", $path or die "rename $path: $!";
}

# the words of a shell command line, as bash splits them (bash is the
# Makefile's SHELL, so make's recipes are read as make would run them)
sub shell_words {
    my ($line) = @_;
    open my $fh, '-|', '/bin/bash', '-c', "set -f; printf '%s\\0' $line"
        or die "bash: $!";
    local $/;
    my $out = <$fh>;
    close $fh or return;
    return split /\0/, $out;
}

# a process of our own (its own process group, so that it goes with all
# of its children); its stdout and stderr into files of $tmp
sub spawn {
    my ($name, @argv) = @_;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        POSIX::setsid();
        chdir $tmp;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$tmp/$name.stdout";
        open STDERR, '>', "$tmp/$name.stderr";
        { no warnings 'exec'; exec { $argv[0] } @argv; }
        print STDERR "exec $argv[0]: $!\n";
        POSIX::_exit(127);
    }

    $children{$pid} = $name;
    return $pid;
}

sub alive {
    my ($pid) = @_;
    return 0 unless $children{$pid};
    return 1 if waitpid($pid, WNOHANG) == 0;
    delete $children{$pid};
    return 0;
}

# TERM, then KILL for the whole group after 10 s; true when TERM did it
sub stop {
    my ($pid) = @_;
    return 1 unless alive($pid);
    kill 'TERM', $pid;
    my $end = time + 10 * $slow;
    sleep 0.05 while alive($pid) && time < $end;
    return 1 unless alive($pid);
    kill 'KILL', -$pid;
    waitpid $pid, 0;
    delete $children{$pid};
    return 0;
}

# $n curls with @args at once; [HTTP status, body] each, status 0 when
# curl failed.  Connections that come together reach both workers: an
# idle worker alone takes every connection that comes by itself.
sub burst {
    my ($n, @args) = @_;
    my @kids;

    for my $i (1 .. $n) {
        unlink "$tmp/curl.$i.code", "$tmp/curl.$i.body";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open STDOUT, '>', "$tmp/curl.$i.code";
            { no warnings 'exec';
              exec 'curl', '-sS', '--max-time', 5 * $slow,
                   '-o', "$tmp/curl.$i.body", '-w', '%{http_code}', @args; }
            POSIX::_exit(127);
        }
        push @kids, $pid;
    }
    waitpid $_, 0 for @kids;

    return map {
        my $code = -s "$tmp/curl.$_.code" ? read_file("$tmp/curl.$_.code")
                                          : '000';
        my $body = -f "$tmp/curl.$_.body" ? read_file("$tmp/curl.$_.body")
                                          : '';
        [$code =~ /^\d{3}$/ ? $code + 0 : 0, $body];
    } 1 .. $n;
}

sub curl {
    my ($r) = burst(1, @_);
    return @$r;
}

sub wait_for {
    my ($cond, $limit) = @_;
    my $end = time + $limit * $slow;
    while (time < $end) {
        my $r = $cond->();
        return $r if $r;
        sleep 0.05;
    }
    return $cond->();
}

sub log_tail {
    my ($name) = @_;
    my $f = "$tmp/$name.stderr";
    return '' unless -f $f;
    # not the many "closed keepalive connection" of the polls
    my @lines = grep { !/ closed keepalive connection$/ }
                split /\n/, read_file($f);
    return join "\n", "--- ${name}'s stderr:", @lines[-40 .. -1 ],
        '---' if @lines > 40;
    return join "\n", "--- ${name}'s stderr:", @lines, '---';
}

# --- the "run" target's recipe --------------------------------------------

my @recipe;
{
    local %ENV = %ENV;
    # under "make test": nothing of the outer make's flags or level
    delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES)};
    open my $fh, '-|', 'make', '-C', $root, '--no-print-directory', '-s',
         '-n', '-o', 'deps', '-o', 'module', 'run'
        or die "make: $!";
    my $text = do { local $/; <$fh> };
    close $fh;
    is($?, 0, 'make -n run prints the recipe') or give_up($text);
    # a line ending in a backslash goes on on the next one
    $text =~ s/\\\n/\\\x01/g;
    @recipe = map { s/\x01/\n/gr } grep { /\S/ } split /\n/, $text;
}

my (@nginx, $help);

for my $line (@recipe) {
    if ($line =~ /^mkdir -p (.*)$/s) {
        make_path(map { m{^/} ? s{^\Q$root\E/}{$tmp/}r : "$tmp/$_" }
                  shell_words($1));

    } elsif ($line =~ m{^(\S*/demo-help)$}) {
        $help = $1;

    } elsif ($line =~ /^exec (.*)$/s) {
        @nginx = shell_words($1);

    } else {
        fail("make run: a line of the recipe that t/103 does not know: "
             . "$line");
    }
}

ok(@nginx, 'make run execs nginx') or give_up("@recipe");
ok($help, 'make run prints tools/demo-help') or give_up("@recipe");

# the modules -g loads: the ones under test in their place
my @g = grep { $nginx[$_ - 1] eq '-g' } 1 .. $#nginx;
is(scalar @g, 1, 'make run gives nginx its globals with -g')
    or give_up("@nginx");
my @loaded = $nginx[$g[0]] =~ /\bload_module\s+([^;\s]+)\s*;/g;
ok(@loaded, 'the globals load the module: ' . join(' ', @loaded));
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
@modules = @loaded unless @modules;

# every path of the repository in the command line is the copy's in $tmp
for (@nginx) {
    s{\Q$root\E/}{$tmp/}g;
}
my $first = 1;
$nginx[$g[0]] =~ s{\bload_module\s+[^;\s]+\s*;}
                  {$first-- > 0 ? join(' ', map { "load_module $_;" }
                                                @modules) : ''}ge;
$nginx[0] = $ENV{TEST_NGINX_BINARY} if $ENV{TEST_NGINX_BINARY};

note("nginx's command line: @nginx");

my ($conf_at) = grep { $nginx[$_ - 1] eq '-c' } 1 .. $#nginx;
ok($conf_at && $nginx[$conf_at] eq "$tmp/conf/demo/nginx.conf",
   'the configuration is conf/demo/nginx.conf')
    or give_up("@nginx");
my ($pid_file) = $nginx[$g[0]] =~ /\bpid\s+([^;\s]+)\s*;/;
ok($pid_file, 'the globals name the pid file');

system('cp', '-R', "$root/conf", "$tmp/conf") == 0 or die "cp conf: $?";

# two workers where the demo has one: an edit must reach every worker
my $conf = read_file("$tmp/conf/demo/nginx.conf");
ok($conf =~ s/^worker_processes\s+\S+;$/worker_processes $workers;/m,
   "conf/demo/nginx.conf's worker_processes, set to $workers here");
replace_file("$tmp/conf/demo/nginx.conf", $conf);

# --- what the demo's pods answer, which pods each Service has -------------

# pod servers: 'return 200 "NAME ... from pod $server_addr, ..."'
my %pods;
for my $block (split /\bserver\s*\{/, $conf) {
    my ($name) = $block =~ /^\s*return\s+200\s+"(\S+) .*from pod /m
        or next;
    push @{ $pods{$name} }, $block =~ /^\s*listen\s+([\d.]+):\d+;/mg;
}
ok(keys %pods, 'conf/demo/nginx.conf has pods: ' . join(' ', sort keys %pods));

my (%cluster_ip, %endpoints);
for my $file (glob("$tmp/conf/demo/mesh/*.yaml")) {
    for my $o (grep { ref } YAML::XS::Load(read_file($file))) {
        if ($o->{kind} eq 'Service') {
            my $name = $o->{metadata}{name};
            $cluster_ip{"$name $o->{spec}{clusterIP}:$_->{port}"} = 1
                for @{ $o->{spec}{ports} };
        } elsif ($o->{kind} eq 'EndpointSlice') {
            my $svc = $o->{metadata}{labels}{'kubernetes.io/service-name'};
            push @{ $endpoints{$svc} }, map { @{ $_->{addresses} } }
                                        @{ $o->{endpoints} };
        }
    }
}

# --- the help ---------------------------------------------------------------

my $help_text = `cd \Q$root\E && $help`;
is($?, 0, "$help runs");

my (@calls, $edit);
for my $line (split /\n/, $help_text) {
    next unless $line =~ /\S/;

    if ($line =~ /^(?:\S|\s+#)/) {
        # prose: each "NAME 127.x.x.x:PORT" is a Service of the mesh
        while ($line =~ /\b([a-z][\w-]*) (127\.[\d.]+:\d+)\b/g) {
            ok($cluster_ip{"$1 $2"}, "help: Service $1 has ClusterIP $2");
        }
        $edit = $1 if $line =~ /^\s+#.*\bedit (\S+\.yaml)\b/;
        next;
    }

    if ($line =~ /^\s+(curl\s.*?)\s+#\s*->\s*(\S+)\s*$/) {
        my ($cmd, $want) = ($1, $2);
        my @argv = shell_words($cmd);
        my ($url) = grep { m{^http://} } @argv;
        if ($argv[0] eq 'curl' && $url && ($want =~ /^\d{3}$/
                                           || $pods{$want}))
        {
            push @calls, [$cmd, $want, [@argv[1 .. $#argv]], $url];
            next;
        }
    }

    fail("a line of tools/demo-help that t/103 does not understand: "
         . "'$line'");
}

ok(scalar @calls, 'the help has curl commands: ' . scalar @calls);

for my $name (sort keys %pods) {
    is(join(' ', sort @{ $endpoints{$name} || [] }),
       join(' ', sort @{ $pods{$name} }),
       "the pods answering \"$name\" are Service ${name}'s endpoints");
}

# --- nginx, as make run starts it ---------------------------------------

$nginx_pid = spawn('nginx', @nginx);

my $ready = wait_for(sub {
    return 0 unless alive($nginx_pid);
    my ($code, $body) = curl("http://$admin/ready");
    return $code == 200 && $body =~ /^ready: generation \d+$/m;
}, 10);
ok($ready, 'the demo is ready (every worker serves the mesh)')
    or give_up(log_tail('nginx'));

# not in the system's /var/lib/nginx, which a root nginx chowns
my ($prefix_at) = grep { $nginx[$_ - 1] eq '-p' } 1 .. $#nginx;
ok($prefix_at && -d "$nginx[$prefix_at]/temp/body"
   && -d "$nginx[$prefix_at]/temp/proxy",
   "nginx's temporary files are under the demo's prefix (temp/)");

# the master and its children (workers, the source process)
sub family {
    my @kids;
    for my $stat (glob('/proc/[0-9]*/stat')) {
        my $s = eval { read_file($stat) } // next;
        my ($pid, $ppid) = $s =~ /^(\d+) \(.*\) \S (\d+) /s or next;
        push @kids, $pid if $ppid == $nginx_pid;
    }
    return join ' ', $nginx_pid, sort { $a <=> $b } @kids;
}

sub workers {
    return grep {
        (eval { read_file("/proc/$_/cmdline") } // '')
            =~ /^nginx: worker process/
    } split ' ', family();
}

is(read_file($pid_file) =~ s/\s+//gr, $nginx_pid,
   'the pid file names the master');
my @workers = workers();
is(scalar @workers, $workers, "$workers workers");
my $family = family();

# whether an answer ([status, body]) to $url is $want (a status, or the
# pod that answers): undef when it is, else what came
sub wrong {
    my ($r, $url, $want) = @_;
    my ($code, $body) = @$r;
    my ($path) = $url =~ m{^http://[^/]+(/.*)?$};
    $path //= '/';

    if ($want =~ /^\d{3}$/) {
        return $code == $want ? undef : "$code $body";
    }

    my ($name, $pod, $got_path) =
        $body =~ /^(\S+) .* from pod ([\d.]+), path (\S+)$/;
    return undef if $code == 200 && defined $name && $name eq $want
                    && (grep { $_ eq $pod } @{ $pods{$want} })
                    && $got_path eq $path;
    return "$code $body";
}

# the first thing wrong in a burst of 4 requests, or undef
sub check {
    my ($args, $url, $want) = @_;
    my ($w) = grep { defined } map { wrong($_, $url, $want) }
              burst(4, @$args);
    return $w;
}

# connections from $client each worker closed, by the error log after
# byte $from ("client ... closed keepalive connection", level info)
sub served_by {
    my ($client, $from) = @_;
    my %n;
    $n{$_}++ for substr(read_file("$tmp/nginx.stderr"), $from)
        =~ /\[info\] (\d+)#\d+: \*\d+ client \Q$client\E closed keepalive /g;
    return %n;
}

# bursts of requests for $url from $client until every worker took some of
# them: undef when each answered $want, else what went wrong
sub on_every_worker {
    my ($client, $url, $want) = @_;
    my $from = -s "$tmp/nginx.stderr";
    my %seen;
    my $end = time + 5 * $slow;

    while (time < $end) {
        my $w = check(['--interface', $client, $url], $url, $want);
        return "got: $w" if defined $w;
        sleep 0.05;
        %seen = served_by($client, $from);
        return undef if @workers == grep { $seen{$_} } @workers;
    }
    return 'connections of each worker: '
           . join(', ', map { "$_ " . ($seen{$_} // 0) } @workers);
}

for my $c (@calls) {
    my ($cmd, $want, $args, $url) = @$c;
    my $w = check($args, $url, $want);
    ok(!defined $w, "$cmd -> $want") or diag("got: $w");
}

# --- an edit of routes.yaml, no reload ------------------------------------

ok($edit && -f "$root/$edit", "the help says which file to edit: "
                              . ($edit // 'none'));
$edit = "$tmp/$edit" if $edit;

SKIP: {
    skip 'no file to edit', 7 unless $edit && -f $edit;

    my $orig = read_file($edit);
    my @docs = YAML::XS::Load($orig);

    # the producer route's /heart rule goes to face instead of smiley2
    my ($rule) = grep {
        grep { ($_->{path}{value} // '') eq '/heart' } @{ $_->{matches} || [] }
    } map { @{ $_->{spec}{rules} || [] } }
      grep { ref && $_->{kind} eq 'HTTPRoute'
             && $_->{metadata}{namespace} eq 'faces' } @docs;
    ok($rule, "$edit: faces' route has a /heart rule")
        or skip 'nothing to edit', 6;
    $rule->{backendRefs} = [{ name => 'face', port => 80 }];

    # clients of namespace faces-gui (every address but 127.20.0.1), each
    # address for one phase, so that the error log tells whose
    # connections each worker took
    my $url = 'http://127.10.0.1/heart';
    is(on_every_worker('127.20.0.2', $url, 'smiley2'), undef,
       'before: /heart answers smiley2, on every worker');

    my $t0 = time;
    replace_file($edit, YAML::XS::Dump(grep { ref } @docs));
    my $applied = wait_for(sub {
        !defined wrong([curl('--interface', '127.20.0.3', $url)], $url,
                       'face') }, 5);
    ok($applied, sprintf('after the edit /heart answers face (%.2f s)',
                         time - $t0));
    is(on_every_worker('127.20.0.4', $url, 'face'), undef,
       '... on every worker');

    replace_file($edit, $orig);
    ok(wait_for(sub {
        !defined wrong([curl('--interface', '127.20.0.5', $url)], $url,
                       'smiley2') }, 5),
       'restored, /heart answers smiley2 again');
    is(on_every_worker('127.20.0.6', $url, 'smiley2'), undef,
       '... on every worker');

    is(family(), $family, 'no reload: the master, workers and source '
                          . 'process are the same processes');
}

# the help's answers again, after the round trip
for my $c (@calls) {
    my ($cmd, $want, $args, $url) = @$c;
    is(check($args, $url, $want), undef, "again: $cmd -> $want");
}

# --- gRPC ----------------------------------------------------------------

SKIP: {
    my $readme = read_file("$root/README.md") =~ s/\s+/ /gr;
    my $start = qr{`(/usr/bin/python3 t/inc/gamma_grpc\.py [^`]+)`};
    my $then = qr{`curl '([^']+)'`};
    my ($server, $call) = $readme =~
        m{The demo \(`conf/demo/`\) has a GRPCRoute .*?$start, then $then};
    ok($server && $call, "README's gRPC section starts the demo's gRPC "
                         . 'servers and calls');
    skip "README's commands not found", 4 unless $call;

    my $grpc_yaml = read_file("$tmp/conf/demo/mesh/grpc.yaml");
    my $comment = join ' ', map { s/^#\s*//r } grep { /^#/ }
                  split /\n/, $grpc_yaml;
    $comment =~ s/\s*\\\s*/ /g;
    $comment =~ s/\s+/ /g;
    ok(index($comment, $server) >= 0,
       'conf/demo/mesh/grpc.yaml starts them the same way');

    skip 'python3-grpcio is missing', 3
        unless system('/usr/bin/python3 -c "import grpc" 2>/dev/null') == 0;

    my @argv = shell_words($server);
    $_ = "$root/$_" for grep { m{^t/} } @argv;
    $grpc_pid = spawn('grpc', @argv);
    my @addrs = map { m{^[^=]+=(\S+)$} ? $1 : $_ }
                grep { /:\d+$/ } @argv;
    my $up = wait_for(sub {
        return 0 unless alive($grpc_pid);
        for my $a (@addrs) {
            IO::Socket::INET->new(PeerAddr => $a, Proto => 'tcp')
                or return 0;
        }
        return 1;
    }, 10);
    ok($up, "the gRPC servers listen: @addrs")
        or do { diag(log_tail('grpc')); skip 'no gRPC servers', 2 };

    my $body = (curl($call))[1];
    like($body, qr/^code OK\nserver v[12]\n/,
         "curl '$call': answered by v1 or v2");

    # grpc.yaml: "x-canary: yes" always goes to v2
    my @v2 = grep { /^code OK\nserver v2\n/ }
             map { (curl("$call&md=x-canary:yes"))[1] } 1 .. 4;
    is(scalar @v2, 4, 'x-canary: yes goes to v2');
}

# --- the end ---------------------------------------------------------------

stop($grpc_pid) if $grpc_pid;
ok(stop($nginx_pid), 'nginx stops on TERM');

my $log = read_file("$tmp/nginx.stderr");
my @bad = $log =~ /^(.*\[(?:alert|crit|emerg)\].*)$/mg;
ok(!@bad, 'no alert, crit or emerg in the error log')
    or diag(join "\n", @bad);

# which workers took the clients' connections (info: "closed keepalive
# connection"): a note, not a test, as the kernel chooses
my %took;
$took{$_}++ for $log =~ /\[info\] (\d+)#\d+: \*\d+ client 127\.20\.0\.1 closed /g;
note('connections of 127.20.0.1 by worker: ',
     join(', ', map { "$_ " . ($took{$_} // 0) } @workers));

# make run shows the access log on stdout: a line per mesh request
my $access = read_file("$tmp/nginx.stdout");
like($access,
     qr{^127\.20\.0\.1 -> \S*smiley\S* \[consumer fast-clients/smiley-route }m,
     'the access log on stdout shows the consumer route');

done_testing();
