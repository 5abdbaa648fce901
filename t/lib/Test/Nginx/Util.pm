package Test::Nginx::Util;

# Runs Perl from a .t file (--- init, --- skip_eval, ...) in package
# main.  It stands before "use v5.36" below so that the code does not
# inherit that feature bundle (no indirect object syntax, ...).
sub eval_main {
    package main;
    return eval $_[0];
}

# Settings, $TEST_NGINX_* expansion, server root, nginx.conf and the
# nginx process for the project's Test::Nginx::Socket runner.
#
# Clean-room implementation of the behaviour described in
# shared/spec/test-format.md (A.5, A.6, A.11).  Where the spec leaves a
# freedom (A.11 item 3) we start nginx with "daemon off" as our own
# child process, so stopping it is a waitpid() and not a poll of a
# zombie, and a config error costs milliseconds instead of 30 s.

use v5.36;

use Cwd qw(getcwd);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec;
use IO::Socket::INET;
use IPC::Open3 qw(open3);
use POSIX qw(WNOHANG setpgid);
use Test::More ();
use Time::HiRes qw(sleep time);
use Time::Local ();

our @EXPORT = qw(
    repeat_each no_shuffle log_level master_on master_off
    master_process_enabled workers worker_connections env_to_nginx
    add_block_preprocessor add_cleanup_handler no_long_string
    no_root_location check_accum_error_log server_port server_root
    html_dir bail_out
);

our @EXPORT_OK = qw(
    $RepeatEach $NoShuffle $LogLevel $Timeout $Sleep $NoLongString
    $CheckAccumErrLog @BlockPreprocessors
    nginx_binary nginx_version version_cmp expand_env reset_block_env
    build_conf prepare_servroot write_user_files write_conf
    start_nginx stop_nginx reap_nginx nginx_pid nginx_started_once
    error_log_path read_log_lines log_size stderr_path tail_text
    parse_user_files eval_main exit_text
);

# How long a SIGQUIT may take before we SIGKILL the process group
# (under valgrind: its leak check at exit takes seconds).
use constant STOP_TIMEOUT  => $ENV{TEST_NGINX_USE_VALGRIND} ? 60 : 3;

# How long a stopped nginx's processes and ports may take to go away
# before the next nginx starts anyway (and fails to bind).
use constant GONE_TIMEOUT  => 30;

# How long nginx may take to write its pid file (bind() retries of a
# busy port alone take 2.5 s).
use constant START_TIMEOUT => $ENV{TEST_NGINX_USE_VALGRIND} ? 60 : 10;

# The settings a .t preamble can change.
our $RepeatEach        = 1;
our $NoShuffle         = $ENV{TEST_NGINX_NO_SHUFFLE} ? 1 : 0;
our $LogLevel          = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcess     = lc($ENV{TEST_NGINX_MASTER_PROCESS} // 'off') eq 'on';
our $Workers           = 1;
our $NoLongString      = 0;
our $NoRootLocation    = 0;
our $CheckAccumErrLog  = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG} ? 1 : 0;
our $Timeout           = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $Sleep             = $ENV{TEST_NGINX_SLEEP} || 0.015;
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;

# As upstream (which uses 1024 only in its HTTP/3 mode).
our $WorkerConnections = 64;

our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                  || 1984;
our $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                    || 't/servroot', getcwd());

# Sections and preamble code may use both, whatever the user set.
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
$ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

# Only the process that loaded us stops nginx: a fake API server that a
# .t file forks must not take nginx down when it exits.
my $OwnerPid = $$;

my $NginxPid;           # our nginx child (master or single process)
my $NginxReady;         # it has written its pid file
my $StartedOnce = 0;
my $StaleChecked = 0;
my $NginxV;             # cached "nginx -V" output
my %RandPorts;          # $TEST_NGINX_RAND_PORT_n of the current block
my @Listen;             # [host, port] the last written config listens on


# ---- preamble API ----------------------------------------------------

sub repeat_each (@n) {
    $RepeatEach = $n[0] if @n;
    return $RepeatEach;
}

sub no_shuffle () { $NoShuffle = 1 }

sub log_level (@level) {
    $LogLevel = $level[0] if @level;
    return $LogLevel;
}

sub master_on ()  { $MasterProcess = 1 }
sub master_off () { $MasterProcess = 0 }

sub master_process_enabled (@on) {
    $MasterProcess = $on[0] ? 1 : 0 if @on;
    return $MasterProcess;
}

sub workers (@n) {
    $Workers = $n[0] if @n;
    return $Workers;
}

sub worker_connections (@n) {
    $WorkerConnections = $n[0] if @n;
    return $WorkerConnections;
}

sub env_to_nginx (@vars) { push @EnvToNginx, @vars }

sub add_block_preprocessor ($cb) { unshift @BlockPreprocessors, $cb }

sub add_cleanup_handler ($cb) { unshift @CleanupHandlers, $cb }

sub no_long_string () { $NoLongString = 1 }

sub no_root_location () { $NoRootLocation = 1 }

sub check_accum_error_log () { $CheckAccumErrLog = 1 }

sub server_port (@port) {
    if (@port) {
        $ServerPort = $port[0];
        $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
    }
    return $ServerPort;
}

sub server_root () { $ServRoot }

sub html_dir () { "$ServRoot/html" }

sub bail_out ($msg) {
    Test::More::BAIL_OUT($msg);
}


# ---- the nginx binary ------------------------------------------------

sub nginx_binary () {
    return $ENV{TEST_NGINX_BINARY} if $ENV{TEST_NGINX_BINARY};

    for my $dir (File::Spec->path) {
        my $bin = "$dir/nginx";
        return $bin if -f $bin && -x _;
    }

    return '/usr/sbin/nginx';
}

sub nginx_v () {
    return $NginxV if defined $NginxV;

    my $bin = nginx_binary();
    my ($in, $fh, $out) = (undef, undef, '');
    my $pid = eval { open3($in, $fh, undef, $bin, '-V') };

    if ($pid) {
        close $in;
        local $/;
        $out = readline($fh) // '';
        waitpid($pid, 0);
    }

    if (!$pid || $? != 0 || $out !~ m{nginx version: \S+?/(\d+\.\d+\.\d+)}) {
        bail_out("failed to run '$bin -V': " . ($@ || $out || $!));
    }

    $NginxV = $out;
    return $NginxV;
}

sub nginx_version () {
    nginx_v() =~ m{nginx version: \S+?/(\d+\.\d+\.\d+)};
    return $1;
}

# Compares dotted versions: -1, 0 or 1 like <=>.
sub version_cmp ($a, $b) {
    my @a = split /\./, $a;
    my @b = split /\./, $b;

    while (@a || @b) {
        my $r = (shift(@a) // 0) <=> (shift(@b) // 0);
        return $r if $r;
    }

    return 0;
}


# ---- $TEST_NGINX_* expansion -------------------------------------------

sub reset_block_env () {
    delete $ENV{$_} for keys %RandPorts;
    %RandPorts = ();
}

sub expand_env ($text) {
    return $text unless defined $text && !ref $text;
    $text =~ s/\$(TEST_NGINX_[A-Z0-9_]+)/env_value($1)/ge;
    return $text;
}

sub env_value ($name) {
    if ($name =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
        # Also visible to --- init code of the same block.
        $RandPorts{$name} = free_port() unless $RandPorts{$name};
        $ENV{$name} = $RandPorts{$name};
        return $RandPorts{$name};
    }

    my $value = $ENV{$name};
    bail_out("No environment $name defined.") unless defined $value;
    return $value;
}

# A port that is free now, distinct from the server port and from the
# block's other random ports.
sub free_port () {
    my %taken = map { $_ => 1 } $ServerPort, values %RandPorts;

    for (1 .. 100) {
        my $sock = IO::Socket::INET->new(Listen => 1, LocalPort => 0,
                                         Proto => 'tcp', ReuseAddr => 1)
            or next;
        my $port = $sock->sockport;
        close $sock;
        return $port unless $taken{$port};
    }

    bail_out("cannot find a free port for \$TEST_NGINX_RAND_PORT_n");
}


# ---- server root and files ------------------------------------------

sub error_log_path () { "$ServRoot/logs/error.log" }

sub stderr_path () { "$ServRoot/logs/stderr.log" }

sub write_file ($path, $data, $mtime = undef) {
    make_path(dirname($path));
    utf8::encode($data) if utf8::is_utf8($data);

    open my $fh, '>:raw', $path or bail_out("cannot write $path: $!");
    print {$fh} $data;
    close $fh or bail_out("cannot write $path: $!");

    utime($mtime, $mtime, $path) if defined $mtime;
}

sub prepare_servroot () {
    kill_stale_nginx() unless $StaleChecked++;

    # Only what we create: TEST_NGINX_SERVROOT may point anywhere.
    remove_tree(map { "$ServRoot/$_" } qw(conf logs html cache));
    remove_tree(glob("$ServRoot/*_temp"));

    make_path(map { "$ServRoot/$_" } qw(conf logs html));
    write_file("$ServRoot/html/index.html", "It works!");
}

# The files of a user_files section as [name, body, date]: ">>> name
# [date]" text, or an eval'ed [[name, body, date?], ...].  As upstream,
# a line holding ">>> name" anywhere starts a file, and the date is a
# "touch -t" stamp in GMT ([[CC]YY]MMDDhhmm[.ss]).
sub parse_user_files ($spec) {
    return () unless $spec;

    if (ref $spec) {
        bail_out("user_files: wrong value type: " . ref($spec)
                 . ", only scalar or ARRAY are accepted")
            unless ref $spec eq 'ARRAY';
        bail_out("user_files eval: each file is an array [name, body,"
                 . " date?]") if grep { ref ne 'ARRAY' } @$spec;
        return map { [@$_[0 .. 2]] } @$spec;
    }

    my @files;
    for my $line (split /^/m, $spec) {
        if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
            push @files, [$1, undef, $2];
        } elsif (@files) {
            $files[-1][1] .= $line;
        }
    }

    return @files;
}

# A "touch -t" stamp ([[CC]YY]MMDDhhmm[.ss], GMT) as epoch seconds.
sub touch_time ($stamp) {
    my ($digits, $ss) = $stamp =~ /^\s*(\d{8}|\d{10}|\d{12})(?:\.(\d\d))?\s*$/
        or return undef;
    my @d = $digits =~ /(\d\d)/g;
    my ($cc, $yy) = @d == 6 ? splice(@d, 0, 2)
                  : @d == 5 ? (undef, shift @d) : (undef, undef);
    my ($mm, $dd, $hh, $mi) = @d;
    my $year = defined $cc ? "$cc$yy"
             : defined $yy ? ($yy >= 69 ? 1900 : 2000) + $yy
             : (gmtime)[5] + 1900;

    return eval {
        Time::Local::timegm($ss // 0, $mi, $hh, $dd, $mm - 1, $year);
    };
}

sub write_user_files ($spec) {
    for my $file (parse_user_files($spec)) {
        my ($name, $body, $date) = @$file;
        my $abs = File::Spec->file_name_is_absolute($name);
        my $path = $abs ? $name : "$ServRoot/html/$name";
        my $mtime;

        if ($date) {
            # Upstream touches html/<name> even for an absolute name.
            bail_out("user_files: a date on the absolute path $name fails"
                     . " under Test::Nginx (it runs touch on html/$name)")
                if $abs;
            $mtime = touch_time($date)
                // bail_out("user_files: bad date '$date' for $name:"
                            . " Test::Nginx passes it to touch -t"
                            . " ([[CC]YY]MMDDhhmm[.ss], GMT)");
        }

        write_file($path, expand_env($body // ''), $mtime);
    }
}

sub write_conf ($conf) {
    write_file("$ServRoot/conf/nginx.conf", $conf);
    @Listen = listen_addrs($conf);
}

# The TCP addresses a config listens on, as [host, port]; unix sockets
# and names other than localhost are left out.
sub listen_addrs ($conf) {
    my @addrs;

    while ($conf =~ /(?:^|[\s;{])listen\s+([^\s;]+)/g) {
        my $l = $1;
        my ($host, $port) = $l =~ /^(\d+)$/ ? ('0.0.0.0', $1)
                          : $l =~ /^([\d.]+|\*|localhost):(\d+)$/ ? ($1, $2)
                          : next;
        $host = '0.0.0.0' if $host eq '*';
        $host = '127.0.0.1' if $host eq 'localhost';
        push @addrs, [$host, $port];
    }

    return @addrs;
}


# ---- nginx.conf --------------------------------------------------------

# %c: log_level, main_config, http_config, config, post_main_config,
# server_name.  All texts already env-expanded.
sub build_conf (%c) {
    $c{$_} //= '' for qw(main_config config post_main_config);

    my $root = $ServRoot;
    my $level = $c{log_level} || $LogLevel;
    my $http_config = $c{http_config} // '';
    my $master = $MasterProcess ? 'on' : 'off';
    my $server_name = $c{server_name} // 'localhost';

    my $env = join '', map { 'env ' . conf_quote($_) . ";\n" } @EnvToNginx;

    my $modules = '';
    if (my @so = split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '') {
        $modules = join(' ', map { "load_module $_;" } @so) . "\n";
    }

    my $temp = '';
    for my $kind (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $http_config =~ /\b${kind}_temp_path\b/;
        next if $kind =~ /cgi/ && nginx_v() =~ /--without-http_${kind}_module/;
        $temp .= "    ${kind}_temp_path $root/${kind}_temp;\n";
    }

    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $root/html;
            index index.html index.htm;
        }
_EOC_

    # "user" only matters to workers, but nginx accepts it as root in
    # single-process mode too, without a warning.
    my $user = $> == 0 ? "user root;\n" : '';

    # daemon off: nginx stays our child (see the top of this file).
    return <<"_EOC_";
worker_processes  $Workers;
daemon off;
master_process $master;
error_log $root/logs/error.log $level;
pid       $root/logs/nginx.pid;
$env$modules
$c{main_config}

http {
    access_log $root/logs/access.log;
$temp
    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config

    server {
        listen          $ServerPort;
        server_name     '$server_name';
        client_max_body_size 30M;

$c{config}

$root_location    }
}

$c{post_main_config}

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
}
$user
_EOC_
}

sub conf_quote ($word) {
    return $word unless $word =~ /[\s;'"{}\\]/;
    $word =~ s/(["\\])/\\$1/g;
    return qq{"$word"};
}


# ---- the nginx process -------------------------------------------------

sub nginx_pid () { $NginxPid }

sub nginx_started_once () { $StartedOnce }

# Starts nginx as our child.  Returns { ok => 1 } once nginx wrote our
# pid to its pid file: by then the listening sockets are open, and we
# do not probe the port because a probe connection leaves lines in
# error.log that no_error_log and grep_error_log would see.  Otherwise
# returns { ok => 0, status => wait status or undef, error => text }.
sub start_nginx (@opt) {
    my %opt = @opt;

    catch_signals() unless $StartedOnce;

    # With SIGCHLD ignored (a .t file that forks a fake server may do
    # that) the kernel reaps nginx for us and its exit status is lost.
    $SIG{CHLD} = 'DEFAULT' if ($SIG{CHLD} // '') eq 'IGNORE';

    my $bin = nginx_binary();
    my @cmd = ($bin, '-p', "$ServRoot/", '-c', "$ServRoot/conf/nginx.conf");

    # -e (1.19.5+) sends even the earliest messages to our error.log.
    push @cmd, '-e', error_log_path()
        if version_cmp(nginx_version(), '1.19.5') >= 0;

    # As upstream, a block that must die runs without valgrind.
    unshift @cmd, valgrind_cmd() unless $opt{no_valgrind};

    my $pid = fork // bail_out("fork() failed: $!");

    if ($pid == 0) {
        # Own process group: we can SIGKILL the master and its workers.
        setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', stderr_path();
        { exec { $cmd[0] } @cmd }
        print STDERR "cannot exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    # Known before we wait: a signal that ends us now must stop it.
    ($NginxPid, $NginxReady) = ($pid, 0);

    my $deadline = time + START_TIMEOUT;

    while (time < $deadline) {
        if (defined(my $status = reap_nginx())) {
            return { ok => 0, status => $status, error => exit_text($status) };
        }

        if (pid_file_pid() == $pid) {
            ($NginxReady, $StartedOnce) = (1, 1);
            return { ok => 1 };
        }

        sleep 0.002;
    }

    stop_nginx();
    return { ok => 0, status => undef,
             error => 'did not write its pid file within '
                      . START_TIMEOUT . ' s' };
}

# TEST_NGINX_USE_VALGRIND as upstream defines it: a number means
# upstream's memcheck options (and ./valgrind.suppress when there is one,
# TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR adding --exit-on-first-error),
# anything else is valgrind's options.  Errors go where the options say
# (valgrind's stderr, our stderr.log, by default): like upstream, they
# fail no test.
sub valgrind_cmd () {
    my $use = $ENV{TEST_NGINX_USE_VALGRIND} or return ();

    return ('valgrind', '-q', split ' ', $use) unless $use =~ /^\d+$/;

    my @opts = qw(--num-callers=100 -q --tool=memcheck --leak-check=full
                  --keep-debuginfo=yes --show-possibly-lost=no
                  --gen-suppressions=all);
    push @opts, '--suppressions=valgrind.suppress' if -f 'valgrind.suppress';
    push @opts, '--exit-on-first-error=yes', '--error-exitcode=1'
        if $ENV{TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR};

    return ('valgrind', @opts);
}

# nginx sits in its own process group, so a Ctrl-C reaches only us:
# exit through our END block, which stops nginx, unless the .t file
# handles the signal itself.  SIGPIPE too ("prove ... | head"): then
# ignored, so that writing the test summary to the closed pipe does not
# end us again before nginx is stopped.
sub catch_signals () {
    for my $sig (qw(INT TERM HUP PIPE)) {
        next if $SIG{$sig} && $SIG{$sig} ne 'DEFAULT';
        my $num = POSIX->can("SIG$sig")->();
        $SIG{$sig} = sub {
            $SIG{PIPE} = 'IGNORE';
            exit 128 + $num;
        };
    }
}

sub pid_file_pid () {
    open my $fh, '<', "$ServRoot/logs/nginx.pid" or return 0;
    my $line = readline($fh) // '';
    return $line =~ /^(\d+)\n/ ? $1 : 0;
}

# Stops our nginx: SIGQUIT, then SIGKILL to its process group.  Returns
# undef if none was running, else { status, killed }.  $NginxPid stays
# set until the process is reaped, so that our END block, should a
# signal end us in here, finishes the job.
sub stop_nginx () {
    return undef unless $NginxPid;

    my $pid = $NginxPid;
    my $status;

    # Before its pid file, nginx may not handle SIGQUIT yet.  After it,
    # nginx checks its quit flag only when epoll_wait() returns, so a
    # SIGQUIT landing just before that call (a fresh nginx often has
    # not reached it yet) is not acted on until some event comes:
    # repeating the signal wakes it.
    if ($NginxReady) {
        my $deadline = time + STOP_TIMEOUT;

        while (!defined $status && time < $deadline) {
            kill QUIT => $pid;
            $status = wait_child($pid, 0.02);
        }
    }

    my $killed = 0;

    if (!defined $status) {
        kill KILL => -$pid;
        $status = wait_child($pid, GONE_TIMEOUT) // 0;
        $killed = 1;
    }

    forget_nginx($pid);
    wait_gone($pid);
    return { status => $status, killed => $killed };
}

# Waits until nothing is left of the nginx whose process group is
# $pgid: no live process in the group (a slow worker, or a master that
# valgrind or ASan make slow to exit) and every address the config
# listened on can be bound again.  Otherwise the next block's nginx
# fails with "bind() ... failed (98: Address already in use)".
sub wait_gone ($pgid) {
    my $deadline = time + GONE_TIMEOUT;

    while (group_alive($pgid)) {
        if (time >= $deadline) {
            Test::More::diag("nginx process group $pgid still alive after "
                             . GONE_TIMEOUT . ' s');
            return;
        }
        sleep 0.005;
    }

    for my $addr (@Listen) {
        until (port_free(@$addr)) {
            if (time >= $deadline) {
                Test::More::diag("$addr->[0]:$addr->[1] still in use "
                                 . GONE_TIMEOUT . ' s after nginx stopped');
                return;
            }
            sleep 0.005;
        }
    }
}

# A process of group $pgid that is not a zombie (zombies hold no
# sockets, and PID 1 may be slow to reap an orphaned worker).
sub group_alive ($pgid) {
    return 0 unless kill 0 => -$pgid;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = readline($fh) // next;
        my ($state, $pgrp) = $line =~ /\) (\S) \d+ (\d+) / or next;
        return 1 if $pgrp == $pgid && $state ne 'Z';
    }

    return 0;
}

# Binds host:port the way nginx does (SO_REUSEADDR), so only a
# listening socket makes it fail.
sub port_free ($host, $port) {
    my $sock = IO::Socket::INET->new(LocalAddr => $host, LocalPort => $port,
                                     Proto => 'tcp', Listen => 1,
                                     ReuseAddr => 1);
    return 1 if $sock;
    return !$!{EADDRINUSE};
}

# If our nginx has exited on its own, reaps it and returns its wait
# status; else undef.
sub reap_nginx () {
    return undef unless $NginxPid;

    my $pid = $NginxPid;
    my $status = wait_child($pid, 0);
    forget_nginx($pid) if defined $status;
    return $status;
}

sub forget_nginx ($pid) {
    # Workers whose master died abnormally would keep the port.
    kill KILL => -$pid if kill 0 => -$pid;
    undef $NginxPid;
}

# The wait status of child $pid once it exits within $timeout, else
# undef.  A child already reaped (we were interrupted) counts as 0.
sub wait_child ($pid, $timeout) {
    my $deadline = time + $timeout;

    while (1) {
        my $r = waitpid $pid, WNOHANG;
        return $? if $r == $pid;
        return 0 if $r < 0;
        return undef if time >= $deadline;
        sleep 0.002;
    }
}

sub exit_text ($status) {
    return 'unknown status' unless defined $status;
    return 'exited on signal ' . ($status & 127) if $status & 127;
    return 'exited with code ' . ($status >> 8);
}

# An nginx left running by an earlier run (TEST_NGINX_NO_CLEAN, or a
# killed test) holds our port: stop it before the first start.
sub kill_stale_nginx () {
    my $pid = pid_file_pid() or return;
    return if $pid == ($NginxPid // 0);

    open my $fh, '<', "/proc/$pid/cmdline" or return;
    my $cmdline = readline($fh) // '';
    return unless $cmdline =~ /nginx/ && $cmdline =~ /\Q$ServRoot\E/;

    kill QUIT => $pid;
    my $deadline = time + STOP_TIMEOUT;
    while (process_alive($pid) && time < $deadline) {
        sleep 0.01;
    }
    kill KILL => -$pid, $pid if process_alive($pid);

    # Its config is still in conf/: wait for its ports too.
    @Listen = listen_addrs(do {
        open my $fh, '<', "$ServRoot/conf/nginx.conf";
        local $/;
        $fh ? readline($fh) // '' : '';
    });
    wait_gone($pid);
}

# kill 0 succeeds on zombies; an orphan's zombie counts as dead.
sub process_alive ($pid) {
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = readline($fh) // '';
    return $stat !~ /^\d+ \(.*\) Z/s;
}


# ---- error.log -------------------------------------------------------

sub log_size () { -s error_log_path() // 0 }

# Complete lines of error.log from byte $from on, and the offset after
# the last complete line (a line nginx is still writing is left for
# the next read).
sub read_log_lines ($from, $path = error_log_path()) {
    open my $fh, '<:raw', $path or return ([], $from);
    seek $fh, $from, 0;

    local $/;
    my $data = readline($fh) // '';
    my $end = rindex $data, "\n";
    return ([], $from) if $end < 0;

    $data = substr $data, 0, $end + 1;
    return ([split /\n/, $data], $from + length $data);
}

# The last $n lines of a file without [debug] noise, for diagnostics.
sub tail_text ($path, $n = 20) {
    my ($lines) = read_log_lines(0, $path);
    my @lines = grep { !/\[debug\]/ } @$lines;
    splice @lines, 0, @lines - $n if @lines > $n;
    return join '', map { "$_\n" } @lines;
}


# ---- end of the run ------------------------------------------------------

END {
    if ($$ == $OwnerPid) {
        # Keep the exit status Test::Builder computes after us.
        local $?;
        stop_nginx() unless $ENV{TEST_NGINX_NO_CLEAN};
        $_->() for @CleanupHandlers;
    }
}

1;
