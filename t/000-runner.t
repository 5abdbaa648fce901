# Self-tests of the project's Test::Nginx::Socket (t/lib/Test/Nginx):
# first the request, response and config code on its own, then the
# fixtures under t/runner/ run as separate processes against the real
# nginx, each with its own server root and port.  Files that must fail
# are checked for their "not ok" lines.

use v5.36;

use FindBin qw($Bin);
use lib "$Bin/lib";

use File::Temp qw(tempdir);
use IPC::Open3 qw(open3);
use Test::More;
use Time::HiRes qw(time);

use Test::Nginx::Client qw(
    parse_request build_request build_packets parse_responses
    header_value strip_request_comments
);
use Test::Nginx::Util qw(
    build_conf expand_env parse_user_files reset_block_env version_cmp
);

my $Lib = "$Bin/lib";
my $Fixtures = "$Bin/runner";
my $Tmp = tempdir('gamma-runner-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $NextPort = 19850;


# ---- requests --------------------------------------------------------------

{
    my $r = parse_request(strip_request_comments(
        "\n  # a comment\n# another\n  GET /t\nbody"));
    is_deeply([@$r{qw(method uri version body)}],
              ['GET', '/t', 'HTTP/1.1', 'body'],
              'request: comments and blanks stripped, HTTP/1.1 implied');

    $r = parse_request("HEAD");
    is_deeply([@$r{qw(method uri version)}], ['HEAD', '/', 'HTTP/1.1'],
              'request: the URI defaults to /');

    is(parse_request("# a comment\nGET /t")->{method}, '#',
       'request: only a plain --- request string loses its comments');
    like(parse_request("GET\t/t"), qr/^Request line is not valid/,
         'request: words are separated by spaces');
    like(parse_request("GET /t HTTP/1.1 x"), qr/^Request line is not valid/,
         'request: at most three words');
    is(parse_request(''), 'Request line should be non-empty',
       'request: an empty request');

    is(build_request(%{parse_request("POST /t\n  hello world  \n")},
                     connection => 'close')->{data},
       "POST /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
       . "Content-Length: 11\r\n\r\nhello world",
       'request: body trimmed, Host, Connection and Content-Length added');

    is(build_request(method => 'GET', uri => '/', version => 'HTTP/1.0',
                     more_headers => "# no\nHost: a.b\n"
                                     . "Connection: keep-alive\nX-A:1",
                     connection => 'close')->{data},
       "GET / HTTP/1.0\r\nHost: a.b\r\nConnection: keep-alive\r\n"
       . "X-A: 1\r\n\r\n",
       'request: more_headers replace Host and Connection');

    is(build_request(%{parse_request("POST /t\n abc \n")},
                     more_headers => 'Content-Length: 5',
                     connection => 'close')->{data},
       "POST /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
       . "Content-Length: 5\r\n\r\n abc \n",
       'request: a Content-Length in more_headers: the body goes as is');

    is(build_request(%{parse_request("POST /t\nabc")},
                     more_headers => 'content-length: 3',
                     connection => 'close')->{data},
       "POST /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
       . "content-length: 3\r\nContent-Length: 3\r\n\r\nabc",
       'request: like upstream, the Content-Length test is case-sensitive');

    is(build_request(%{parse_request("POST /c\n3\r\nabc\r\n0\r\n\r\n")},
                     more_headers => 'Transfer-Encoding: chunked',
                     connection => 'close')->{data},
       "POST /c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
       . "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
       'request: a chunked body is sent as is, without Content-Length');

    my $b = build_packets([["GE"], ["T /t\n", 0.5]], connection => 'close');
    is_deeply($b->{packets},
              [{ data => 'GE', delay => undef },
               { data => "T /t HTTP/1.1\r\nHost: localhost\r\n"
                         . "Connection: close\r\n\r\n", delay => 0.5 }],
              'packets: cut inside the request line, delay kept');

    $b = build_packets([["POST /t\nhel"], ["lo"]], connection => 'close');
    is_deeply([map { $_->{data} } @{$b->{packets}}],
              ["POST /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               . "Content-Length: 5\r\n\r\nhel", 'lo'],
              'packets: cut inside the body');
}


# ---- responses -------------------------------------------------------------

{
    my ($r) = parse_responses("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                              . "X-A: 1\r\nX-A: 2\r\n\r\nhelloEXTRA");
    is_deeply([@$r{qw(status body complete)}], [200, 'hello', 1],
              'response: Content-Length body');
    is($r->{raw_headers}, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                          . "X-A: 1\r\nX-A: 2\r\n",
       'response: raw headers end with the last header line, as upstream');
    is(header_value($r, 'x-a'), '1, 2', 'response: repeated headers joined');
    is(header_value($r, 'X-None'), undef, 'response: absent header');

    ($r) = parse_responses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                           . "\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n"
                           . "X-T: 1\r\n\r\n");
    is_deeply([@$r{qw(body complete)}], ['abcde', 1],
              'response: chunked body with extension and trailer');

    my @r = parse_responses("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
                            . "HTTP/1.1 100 Continue\r\n\r\n"
                            . "HTTP/1.1 404 Not Found\r\n\r\nrest", [1, 0]);
    is_deeply([map { [$_->{status}, $_->{body}] } @r],
              [[200, ''], [100, "HTTP/1.1 404 Not Found\r\n\r\nrest"]],
              'response: HEAD; an unframed body (here a 100) takes the rest');

    ($r) = parse_responses("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel");
    is($r->{body}, 'hel', 'response: a short body is what came');
}


# ---- config and env --------------------------------------------------------

{
    is_deeply([parse_user_files(">>> a.txt\nA\n>>> d/b.txt 1700000000\nB\n")],
              [['a.txt', "A\n", undef], ['d/b.txt', "B\n", 1700000000]],
              'user_files: ">>> name [mtime]" sections');
    is_deeply([parse_user_files([['x', 'X', 5], ['/abs/y', 'Y']])],
              [['x', 'X', 5], ['/abs/y', 'Y', undef]],
              'user_files: eval form');

    is(version_cmp('1.22.1', '1.19.5'), 1, 'version_cmp: newer');
    is(version_cmp('1.2', '1.2.0'), 0, 'version_cmp: missing parts are 0');

    local $ENV{TEST_NGINX_UNIT_X} = 'x-value';
    is(expand_env('a $TEST_NGINX_UNIT_X $uri'), 'a x-value $uri',
       'env: $TEST_NGINX_* expanded, nginx variables kept');

    reset_block_env();
    my $p = expand_env('$TEST_NGINX_RAND_PORT_1');
    like($p, qr/^\d+$/, 'env: $TEST_NGINX_RAND_PORT_1 is a port');
    is(expand_env('$TEST_NGINX_RAND_PORT_1'), $p,
       'env: the random port is stable within a block');
    isnt(expand_env('$TEST_NGINX_RAND_PORT_2'), $p,
         'env: random ports differ');

    local $ENV{TEST_NGINX_LOAD_MODULES} = '/m/a.so /m/b.so';
    my $conf = build_conf(main_config => 'MAIN;', config => 'CONFIG;',
                          http_config => "HTTP;\nproxy_temp_path /p;",
                          post_main_config => 'POST;');
    like($conf, qr/\A worker_processes\s+1;\n daemon\ off;\n
                   master_process\ off;\n error_log\ \S+\/logs\/error\.log
                   \ debug;\n pid\s+\S+\/logs\/nginx\.pid;\n/x,
         'conf: preamble');
    my @at = map { index $conf, $_ }
             'load_module /m/a.so; load_module /m/b.so;', 'MAIN;', 'http {',
             'HTTP;', "listen          $ENV{TEST_NGINX_SERVER_PORT};",
             'CONFIG;', 'location / {', 'POST;', 'events {',
             'accept_mutex off;', 'worker_connections  64;';
    ok(!grep({ $at[$_] <= $at[$_ - 1] } 1 .. $#at) && $at[0] > 0,
       'conf: sections in CPAN order') or diag("@at\n$conf");
    unlike($conf, qr/^\s+proxy_temp_path \S+proxy_temp;/m,
           'conf: no default proxy_temp_path when http_config sets it');
    like($conf, qr/^\s+client_body_temp_path \S+\/client_body_temp;/m,
         'conf: temp paths under the server root');
}


# ---- fixtures against the real nginx -----------------------------------

# Runs a fixture under perl (or prove) with its own server root and
# port and no TEST_NGINX_* from our environment but the binary.
sub run_fixture ($name, %opt) {
    my $root = $opt{root} // "$Tmp/$name";
    my $port = $opt{port} // $NextPort++;

    local %ENV = %ENV;
    delete $ENV{$_} for grep { /^TEST_NGINX_/ && $_ ne 'TEST_NGINX_BINARY' }
                        keys %ENV;
    %ENV = (%ENV, TEST_NGINX_SERVROOT => $root,
            TEST_NGINX_SERVER_PORT => $port, %{$opt{env} // {}});

    my $file = "$Fixtures/$name.tt";
    my @cmd = $opt{prove} ? ('prove', '-I', $Lib, '-v', $file)
                          : ($^X, "-I$Lib", $file);

    my $start = time;
    my $pid = open3(my $in, my $out, undef, @cmd);
    close $in;
    my $output = do { local $/; readline($out) // '' };
    waitpid $pid, 0;

    return { out => $output, rc => $? >> 8, root => $root, port => $port,
             elapsed => time - $start };
}

sub slurp ($path) {
    open my $fh, '<', $path or return '';
    local $/;
    return readline($fh);
}

sub lines_like ($run, $what, @res) {
    my @missing = grep { $run->{out} !~ $_ } @res;
    ok(!@missing, $what) or diag("missing: @missing\n$run->{out}");
}

sub count_not_ok ($run) {
    return scalar(() = $run->{out} =~ /^not ok /mg);
}

{
    # TEST_NGINX_NO_CLEAN leaves nginx running; the next run on the
    # same server root stops it before starting its own.  First, so
    # that PID 1 has reaped the orphan by the end.
    my %where = (root => "$Tmp/noclean", port => $NextPort++);
    my $run = run_fixture('plan', %where,
                          env => { TEST_NGINX_NO_CLEAN => 1 });
    my $pid = slurp("$where{root}/logs/nginx.pid") =~ s/\s+//gr;
    ok($pid && kill(0, $pid), 'TEST_NGINX_NO_CLEAN leaves nginx running');

    $run = run_fixture('plan', %where);
    is($run->{rc}, 0, 'a left nginx is stopped by the next run')
        or diag($run->{out});
    ok(!-e "/proc/$pid" || slurp("/proc/$pid/stat") =~ /^\d+ \(.*\) Z/,
       'the left nginx is gone');
}

{
    my $run = run_fixture('pass', prove => 1);
    my $blocks = () = slurp("$Fixtures/pass.tt") =~ /^=== /mg;
    is($run->{rc}, 0, 'pass.tt: prove exits 0') or diag($run->{out});
    like($run->{out}, qr/^Result: PASS$/m, 'pass.tt: Result: PASS');
    is(count_not_ok($run), 0, 'pass.tt: no "not ok"');
    like($run->{out}, qr/^ok \d+ # skip .*TEST 24: .*\n.*TEST 24:/m,
         'pass.tt: skip_nginx skipped its 2 tests');
    like(slurp("$run->{root}/conf/nginx.conf"),
         qr/^env TEST_NGINX_GREETING;$/m, 'pass.tt: env_to_nginx');
    like($run->{out}, qr/^WARNING: .*TEST 40: .* - unknown section --- respone_body: Test::Nginx ignores it/m,
         'pass.tt: an unknown section warns');
    like($run->{out}, qr/^WARNING: .*TEST 41: .* - request 0: the delay_before of the first packet is ignored/m,
         'pass.tt: a delay on the first packet warns');
    cmp_ok($run->{elapsed} / $blocks, '<', 0.5,
           "pass.tt: under 0.5 s a block ($blocks blocks in "
           . sprintf('%.2f s)', $run->{elapsed}));
}

{
    my $run = run_fixture('fail');
    isnt($run->{rc}, 0, 'fail.tt: exits non-zero');
    lines_like($run, 'fail.tt: each block fails for its reason',
        qr/^ok \d+ - .*TEST 1: control block that passes - status code ok$/m,
        qr/^not ok \d+ - .*TEST 2: wrong body - response_body - /m,
        qr/^not ok \d+ - .*TEST 3: .* - status code ok$/m,
        qr/^not ok \d+ - .*TEST 4: .* - unexpected line in error\.log: .*/m,
        qr/^not ok .*TEST 4: .*\[alert\] 1\\#1: injected alert$/m,
        qr/^not ok \d+ - .*TEST 5: .* - header X-Missing ok$/m,
        qr/^not ok .*TEST 6: .* - die as expected: nginx started but /m,
        qr/^not ok .*TEST 7: .* - ERROR: nginx failed to start: exited with/m,
        qr/^# .*unknown directive "no_such_directive_here"/m,
        qr/^not ok \d+ - ERROR: client socket timed out - .*TEST 8: timeout/m,
        qr/^not ok .*TEST 9: .* - ERROR: nginx exited on signal 9 during/m,
        qr/^not ok .*TEST 10: .* - unexpected line in error\.log: .*\[crit\]/m,
        qr/^not ok .*TEST 10: .*connect\(\) to unix:\/nonexistent\/gamma/m,
        qr/^ok \d+ - .*TEST 11: .* should exist in error\.log \(req 0\)$/m,
        qr/^not ok .*TEST 11: .* should exist in error\.log \(req 1\)$/m,
        qr/^not ok \d+ - .*TEST 12: .* - status code ok$/m,
        qr/^not ok .*TEST 13: .* - unexpected line in error\.log: .*Assertion/m);
    is(count_not_ok($run), 15, 'fail.tt: no other failures')
        or diag($run->{out});
}

{
    my $marker = "$Tmp/cleanup-marker";
    my $run = run_fixture('master',
                          env => { RUNNER_CLEANUP_MARKER => $marker });
    lines_like($run, 'master.tt: workers serve, a killed worker fails',
        qr/^ok \d+ - .*TEST 1: .* - response_body - response is expected$/m,
        qr/^not ok .*TEST 2: .* - unexpected line in error\.log: .*\[alert\]/m,
        qr/^not ok .*TEST 2: .* worker process \d+ exited on signal 9$/m,
        qr/^ok \d+ - .*TEST 3: .* - response_body - .* \(req 1\)$/m);
    is(count_not_ok($run), 1, 'master.tt: only the killed worker fails')
        or diag($run->{out});
    like(slurp("$run->{root}/conf/nginx.conf"),
         qr/^worker_processes\s+2;\ndaemon off;\nmaster_process on;$/m,
         'master.tt: master_on and workers in nginx.conf');
    is(slurp($marker), "cleaned up\n", 'master.tt: cleanup handler ran');
}

{
    my $run = run_fixture('plan', prove => 1);
    is($run->{rc}, 0, 'plan.tt: a counted plan with repeat_each passes')
        or diag($run->{out});
    like($run->{out}, qr/^1\.\.24$/m, 'plan.tt: 1..24 planned');
    is(scalar(() = $run->{out} =~ /^ok \d+ # skip /mg), 6,
       'plan.tt: skip_nginx skipped 3 tests in each repetition');
}

SKIP: {
    # TEST_NGINX_USE_VALGRIND with valgrind's own options: nginx runs
    # under it (its log file per process), the verdicts are the same
    skip 'valgrind is not installed', 3 unless -x '/usr/bin/valgrind';

    my $log = "$Tmp/vg";
    mkdir $log;
    my $run = run_fixture('plan', prove => 1, env => {
        TEST_NGINX_USE_VALGRIND => "--tool=memcheck --log-file=$log/vg.%p",
    });
    is($run->{rc}, 0, 'plan.tt under valgrind passes') or diag($run->{out});
    my @logs = glob "$log/vg.*";
    ok(@logs >= 3, 'valgrind ran each nginx: ' . scalar(@logs) . ' logs');
    my ($pid) = slurp("$run->{root}/logs/error.log") =~ /\] (\d+)#\d+: /;
    ok($pid && -e "$log/vg.$pid", "the last nginx ($pid) ran under valgrind");
}

{
    my $run = run_fixture('loadmod');
    is($run->{rc}, 0, 'loadmod.tt: passes') or diag($run->{out});
    like(slurp("$run->{root}/conf/nginx.conf"),
         qr/^load_module \/nonexistent\/ngx_gamma_fake_module\.so;$/m,
         'loadmod.tt: TEST_NGINX_LOAD_MODULES gives load_module');
}

# Each form Test::Nginx rejects (and the few this runner rejects on top,
# see the POD of Test::Nginx::Socket) bails out with the message its
# fixture names in a "# Bails out: <regex>" line.
for my $file (sort glob "$Fixtures/reject-*.tt $Fixtures/bail-*.tt") {
    my ($name) = $file =~ m{/([^/]+)\.tt$};
    my ($re) = slurp($file) =~ /^# Bails out: (.*)$/m;
    my $run = run_fixture($name);
    isnt($run->{rc}, 0, "$name.tt: exits non-zero");
    like($run->{out}, qr/^Bail out!.*$re/m, "$name.tt: bails out")
        or diag($run->{out});
}

{
    # A process holding a port of the previous config delays the next
    # nginx until the port is free, instead of a failed bind().
    my $port = $NextPort++;
    my $run = run_fixture('wait', env => { TEST_NGINX_HOLD_PORT => $port });
    is($run->{rc}, 0, 'wait.tt: the next nginx waits for a busy port')
        or diag($run->{out});
    cmp_ok($run->{elapsed}, '>', 1.2, 'wait.tt: it waited for the holder');
}

{
    my @left = grep {
        slurp("$_/cmdline") =~ /\Q$Tmp\E/
        && slurp("$_/stat") !~ /^\d+ \(.*\) Z/
    } glob '/proc/[0-9]*';
    is_deeply(\@left, [], 'no nginx left running');
}

done_testing();
