# The regex budget of a request (issue 18, item 1): all the regex tests of
# one request share one budget of PCRE2 steps.  A request that runs out
# of it is answered 400 with a rate-limited log line naming the Service
# and the route; meanwhile, requests to other Services are not held up
# behind it (the finding: 20 routes x 16 rules of /(a+)+(bIxJ|) let one
# 41-byte request take 0.6-0.8 s of a worker, and a request to another
# Service waited 0.57 s).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

master_on();
workers(2);
no_shuffle();
log_level('info');
gamma_mesh_config();

# 20 routes of 16 rules each, every one the hostile regex, on smiley
our $Evil = join '', map { <<"_EOY_" . join('', map { <<'_EOR_' } 1 .. 16) } 1 .. 20;
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: evil-$_, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
_EOY_
  - matches:
    - path: {type: RegularExpression, value: "/(a+)+(bIxJ|)"}
    backendRefs:
    - {name: smiley2, port: 18080}
_EOR_

# one hostile rule, then a catch-all
our $One = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: one, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - name: evil
    matches:
    - path: {type: RegularExpression, value: "/(a+)+(bIxJ|)"}
    backendRefs:
    - {name: smiley2, port: 18080}
  - name: fallback
    backendRefs:
    - {name: smiley, port: 18080}
_EOY_

# 41 bytes: "GET /a{38}b HTTP/1.1\r\n"
our $Hostile = '/' . ('a' x 38) . 'b';

# one request on a connection of its own; its status and seconds taken
sub timed_get {
    my ($to, $path) = @_;
    my $t0 = time;
    my $c = GammaTest::gamma_client(to => $to);
    my $res = $c->request('GET', $path);
    $c->close;
    return ($res->{status}, time - $t0);
}

sub pct { my $p = shift; my @s = sort { $a <=> $b } @_; $s[$p * $#s] }
sub median { pct(0.5, @_) }
sub maxof { pct(1, @_) }

# a request to face, another Service, every 10 ms for $secs
sub benign {
    my $secs = shift;
    my (@dt, %codes);
    my $end = time + $secs;
    while (time < $end) {
        my ($status, $dt) = timed_get('127.10.0.3:18080', '/x');
        $codes{$status}++;
        push @dt, $dt;
        sleep 0.01;
    }
    return (\%codes, @dt);
}

sub error_log {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die;
    return <$fh>;
}

# hostile clients in processes of their own for $secs, each a request
# every $pause s or so: they write "status seconds" lines to $file.N
sub hostile_clients {
    my ($n, $secs, $pause, $file) = @_;
    my @pids;
    for my $i (1 .. $n) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open my $out, '>', "$file.$i" or POSIX::_exit(1);
            my $end = time + $secs;
            while (time < $end) {
                my ($status, $dt) = eval {
                    timed_get('127.10.0.1:18080', $Hostile) };
                print $out ($status // 'error'), ' ', ($dt // 0), "\n";
                sleep $pause;
            }
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    return @pids;
}

run_tests();

__DATA__

=== TEST 1: 320 hostile regexes: the hostile request gets 400 in a few ms, and a request to another Service is not held up while hostile ones run
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/evil.yaml", $main::Evil]]
--- init
GammaTest::gamma_wait_synced();
Time::HiRes::sleep(0.3);
my (undef, @base) = main::benign(1.5);
my $file = "$ENV{TEST_NGINX_SERVER_ROOT}/logs/hostile";
# two clients, a hostile request every 20 ms each: without the budget,
# both workers would be stuck in them all the time
my @pids = main::hostile_clients(2, 3, 0.02, $file);
Time::HiRes::sleep(0.2);
my ($codes, @load) = main::benign(2.5);
my %codes = %$codes;
waitpid $_, 0 for @pids;
my (@hostile, %hcodes);
for my $f (glob "$file.*") {
    open my $fh, '<', $f or die;
    while (<$fh>) {
        my ($s, $dt) = split;
        $hcodes{$s}++;
        push @hostile, $dt;
    }
}
my $ms = sub { sprintf '%.1f', $_[0] * 1000 };
Test::More::is(join(',', keys %hcodes), '400', 'every hostile request: 400');
Test::More::ok(@hostile > 50, scalar(@hostile) . ' hostile requests');
# against the requests before the hostile ones (a new connection each, a
# loaded machine's waits): 20 ms more at most, and the budget's steps are
# a few ms of CPU; without the budget it would be 600-800 ms
Test::More::ok(main::median(@hostile) < main::median(@base) + 0.02,
    'a hostile request took ' . $ms->(main::median(@hostile)) . ' ms '
    . '(median; slowest ' . $ms->(main::maxof(@hostile)) . ' ms; a benign '
    . 'one before ' . $ms->(main::median(@base)) . ' ms; without the budget '
    . '600-800 ms)');
Test::More::is(join(',', keys %codes), '200', 'the other Service: 200s');
Test::More::ok(@load > 50, scalar(@load) . ' requests to the other Service');
my $delay = main::median(@load) - main::median(@base);
my $delay90 = main::pct(0.9, @load) - main::pct(0.9, @base);
# held up behind a hostile request, a request would wait out its regexes
# (0.57 s without the budget); the machine's own load moves these by a
# few ms between the two runs
Test::More::ok($delay < 0.01 && $delay90 < 0.02,
    'the other Service under the hostile load: median '
    . $ms->(main::median(@load)) . ' ms, 90th percentile '
    . $ms->(main::pct(0.9, @load)) . ' ms; before it: '
    . $ms->(main::median(@base)) . ' and ' . $ms->(main::pct(0.9, @base))
    . ' ms (slowest ' . $ms->(main::maxof(@load)) . ' ms)');
my @lines = grep { /ran out of the regex budget/ } main::error_log();
Test::More::ok(@lines >= 1 && @lines <= 2 * 5,
    scalar(@lines) . ' log lines for ' . scalar(@hostile)
    . ' hostile requests: at most one a second per worker');
Test::More::ok((grep { /\((\d+) more such requests/ && $1 > 0 } @lines) > 0,
    'a line counts the requests left unlogged');
--- request eval
"GET $main::Hostile"
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 400
--- error_log eval
qr{\[warn\] .*gamma: a request to faces/smiley:18080 ran out of the regex budget \(100000 steps\) in rule faces/evil-1/rule0 of HTTPRoute faces/evil-1, answering 400 \(\d+ more such requests since the last line\)}
--- no_error_log
[error]



=== TEST 2: one hostile rule: a cheap request is decided either way (no match: the fallback; a match)
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/one.yaml", $main::One]]
--- request eval
["GET /aaaaaaaab", "GET /aaaaaaaabIxJ"]
--- more_headers eval
["X-Test-To: 127.10.0.1:18080", "X-Test-To: 127.10.0.1:18080"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Gamma-Backend: faces/smiley:18080",
 "X-Gamma-Backend: faces/smiley2:18080"]
--- no_error_log
ran out of the regex budget



=== TEST 3: one hostile rule: a request its test cannot decide within the budget answers 400, not the fallback
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/one.yaml", $main::One]]
--- request
GET /aaaaaaaaaaaaaab
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 400
--- response_headers
!X-Gamma-Route
--- error_log eval
qr{gamma: a request to faces/smiley:18080 ran out of the regex budget \(100000 steps\) in rule faces/one/evil of HTTPRoute faces/one, answering 400 \(0 more}



=== TEST 4: gamma_regex_budget raises the budget: the same request is decided (no match, the fallback)
--- http_config
    gamma_regex_budget 1000000;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/one.yaml", $main::One]]
--- request
GET /aaaaaaaaaaaaaab
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 200
--- response_headers
X-Gamma-Backend: faces/smiley:18080
--- no_error_log
ran out of the regex budget



=== TEST 5: gamma_regex_budget lowers it: a request the default decides gets 400
--- http_config
    gamma_regex_budget 1000;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base], ["mesh/one.yaml", $main::One]]
--- request
GET /aaaaaaaab
--- more_headers
X-Test-To: 127.10.0.1:18080
--- error_code: 400
--- error_log eval
qr{ran out of the regex budget \(1000 steps\) in rule faces/one/evil}



=== TEST 6: gamma_regex_budget rejects 0
--- http_config
    gamma_regex_budget 0;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- config
--- must_die
--- error_log
invalid value "0" in "gamma_regex_budget" directive, it must be a number of steps from 1 to 100000000



=== TEST 7: gamma_regex_budget rejects more than its maximum
--- http_config
    gamma_regex_budget 100000001;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- config
--- must_die
--- error_log
invalid value "100000001" in "gamma_regex_budget" directive



=== TEST 8: gamma_regex_budget is not given twice
--- http_config
    gamma_regex_budget 1000;
    gamma_regex_budget 2000;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- config
--- must_die
--- error_log
"gamma_regex_budget" directive is duplicate
