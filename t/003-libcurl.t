# libcurl is not linked: the Kubernetes source loads it in the source
# process when it starts (module/source/gm_curl.c).  With the file source
# no process of the instance maps libcurl or a library only libcurl
# needs; t/057 checks that the Kubernetes source's workers and master do
# not either, while its source process does.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;

no_shuffle();
log_level('info');
gamma_mesh_config();

# libcurl and libraries that, of the instance's, only libcurl needs
our $CurlLibs = qr/^lib(?:curl|nghttp2|ssh2|rtmp|ldap|gnutls)\b[-\w.]*\.so/;

run_tests();

__DATA__

=== TEST 1: the file source: no process of the instance maps libcurl
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
GammaTest::gamma_wait_synced();
my $p = GammaTest::gamma_processes();
my %kinds;
$kinds{$_}++ for values %$p;
Test::More::is_deeply(\%kinds, { master => 1, worker => 2, source => 1 },
                      'a master, two workers and the source process');
for my $pid (sort { $a <=> $b } keys %$p) {
    my $libs = GammaTest::gamma_mapped_files($pid, $main::CurlLibs);
    Test::More::is_deeply($libs, [], "$p->{$pid} $pid maps no libcurl")
        or Test::More::diag(join ' ', @$libs);
}
my $mod = GammaTest::gamma_mapped_files((grep { $p->{$_} eq 'source' }
                                         keys %$p)[0], qr/^libjansson/);
Test::More::is(scalar @$mod, 1, 'the source process maps the libraries '
               . 'the module links (jansson)');
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
