# The Kubernetes API source with a master and four workers: the instance
# lists and watches each resource once (the source process's watcher),
# whatever worker_processes says, and every worker serves what it built.
# libcurl is mapped in the source process alone (t/003: the file source).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use GammaTest;
use FakeKube;
use Time::HiRes qw(sleep time);

FakeKube::start();

FakeKube::gamma_test_source();

master_on();
workers(4);
no_shuffle();
log_level('info');
gamma_mesh_config();

# API requests of one verb by resource path, from the fake's request log
sub count_requests {
    my ($watch) = @_;
    my %n;
    for my $r (@{ FakeKube::requests() }) {
        next unless $r->{method} eq 'GET' && $r->{path} !~ m{^/_fake/};
        my $is_watch = ($r->{query} // '') =~ /(^|&)watch=(1|true)/ ? 1 : 0;
        next unless $is_watch == $watch;
        next unless grep { $r->{path} =~ m{/\Q$_\E$} } @FakeKube::Watched;
        $n{$r->{path}}++;
    }
    return \%n;
}

run_tests();

__DATA__

=== TEST 1: four workers: one list and one watch per resource for the instance
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
sleep 0.5;
my $watches = main::count_requests(1);
my $lists = main::count_requests(0);
my $n = @FakeKube::Watched;
Test::More::is(scalar keys %$watches, $n, "$n resources are watched")
    or Test::More::diag(join ', ', keys %$watches);
Test::More::is_deeply([grep { $watches->{$_} != 1 } sort keys %$watches], [],
                      'each resource has exactly one watch');
Test::More::is_deeply([grep { $lists->{$_} != 1 } sort keys %$lists], [],
                      'each resource was listed once');
Test::More::is(FakeKube::control('log')->{watches}, $n,
               "$n watch streams are open");
--- request
GET /hello
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_body
pod 127.11.0.3:18090 GET /hello host=127.10.0.3:18080
--- response_headers
X-Gamma-Service: faces/face:18080
--- no_error_log
[error]
[warn]



=== TEST 2: libcurl is loaded in the source process only, not in the master or a worker
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
--- init
FakeKube::wait_watches();
my $p = GammaTest::gamma_processes();
my %kinds;
$kinds{$_}++ for values %$p;
Test::More::is_deeply(\%kinds, { master => 1, worker => 4, source => 1 },
                      'a master, four workers and the source process');
my $curl = qr/^libcurl[-\w]*\.so\.4/;
# and libraries that, of the instance's, only libcurl needs
my $deps = qr/^lib(?:nghttp2|ssh2|rtmp|ldap|gnutls)\b[-\w.]*\.so/;
for my $pid (sort { $a <=> $b } keys %$p) {
    my $libs = GammaTest::gamma_mapped_files($pid, $curl);
    if ($p->{$pid} eq 'source') {
        Test::More::is(scalar @$libs, 1, "source $pid maps libcurl: @$libs");
        next;
    }
    push @$libs, @{ GammaTest::gamma_mapped_files($pid, $deps) };
    Test::More::is_deeply($libs, [], "$p->{$pid} $pid maps no libcurl")
        or Test::More::diag(join ' ', @$libs);
}
--- request
GET /hello
--- more_headers
X-Test-To: 127.10.0.5:18080
--- response_body
pod 127.11.0.5:18090 GET /hello host=127.10.0.5:18080
--- response_headers
X-Gamma-Service: colors/color:18080
--- no_error_log
[error]
[warn]
