# The Kubernetes source when the libcurl.so.4 it loads at start cannot be
# used (a file that is not a library, libcurl 7.86): the source process
# logs why, naming the file and the package, never reaches the API
# server, stays not ready and tries again, twice as late each time; it
# does not crash.  A LD_LIBRARY_PATH set for the block puts the bad file
# before the system's libcurl.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use lib 't/lib';
use Cwd qw(abs_path);
use GammaTest;
use GammaAdmin;
use FakeKube;
use Time::HiRes qw(sleep time);

FakeKube::start();
FakeKube::gamma_test_source(extra => $GammaAdmin::Include);

master_on();
workers(2);
no_shuffle();
log_level('info');
gamma_mesh_config();

our $FakeCurl = abs_path('t/unit/fake_curl.c');

# a directory of the server root on LD_LIBRARY_PATH, for nginx to inherit
sub bad_libcurl {
    my ($make) = @_;
    my $dir = "$ENV{TEST_NGINX_SERVER_ROOT}/badcurl";
    -d $dir or mkdir $dir or die "mkdir $dir: $!";
    unlink "$dir/libcurl.so.4";
    $make->("$dir/libcurl.so.4");
    $ENV{LD_LIBRARY_PATH} = $dir;
}

# the lines of the error log that match $re, as [pid, line]
sub log_lines {
    my ($re) = @_;
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log"
        or return ();
    return map { /\] (\d+)#/ ? [$1, $_] : () } grep { $_ =~ $re } <$fh>;
}

# three attempts (at start, 1 s and 3 s later) by one source process; the
# instance not ready meanwhile and the API server never asked
sub check_retries {
    my ($re) = @_;
    FakeKube::wait_until(sub { main::log_lines($re) >= 3 },
                         8 * ($ENV{GAMMA_TEST_SLOW} || 1));
    my @l = main::log_lines($re);
    Test::More::cmp_ok(scalar @l, '>=', 3, 'tried at least three times');
    my %pids = map { $_->[0] => 1 } @l;
    my $p = GammaTest::gamma_processes();
    my @source = grep { $p->{$_} eq 'source' } keys %$p;
    Test::More::is_deeply([keys %pids], \@source,
                          'by the one source process, still running');
    my $res = GammaAdmin::get('/ready');
    Test::More::is("$res->{status} $res->{body}",
                   "503 not ready: no mesh state yet\n", 'not ready');
    my @api = grep { $_->{path} !~ m{^/_fake/} } @{ FakeKube::requests() };
    Test::More::is(scalar @api, 0, 'no request reached the API server');
    delete $ENV{LD_LIBRARY_PATH};
}

run_tests();

__DATA__

=== TEST 1: libcurl.so.4 is not a library: logged with dlerror()'s text, not ready, tried again
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
main::bad_libcurl(sub {
    open my $fh, '>', $_[0] or die "$_[0]: $!";
    print $fh "not a library\n";
    close $fh;
});
--- init
main::check_retries(qr/cannot load libcurl/);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- error_code: 503
--- error_log eval
qr{\[error\] \d+#\d+: gamma: kubernetes: cannot load libcurl \(libcurl\.so\.4, Debian package libcurl4 or libcurl4t64\): \S+/badcurl/libcurl\.so\.4: (file too short|invalid ELF header)}
--- no_error_log
exited on signal
[alert]



=== TEST 2: libcurl 7.86: the version found and the one needed are logged, not ready, tried again
--- post_setup_server_root
FakeKube::reset($GammaTest::Base);
main::bad_libcurl(sub {
    system('cc', '-shared', '-fPIC', '-o', $_[0], $main::FakeCurl) == 0
        or die "cc $main::FakeCurl failed";
});
--- init
main::check_retries(qr/the Kubernetes source needs 7\.87/);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.5:18080
--- error_code: 503
--- error_log
gamma: kubernetes: libcurl.so.4 is libcurl 7.86.0, the Kubernetes source needs 7.87 or later
--- no_error_log
exited on signal
[alert]
