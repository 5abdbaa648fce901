# Memory after a large manifest (issue 18, item 7): 100,000 objects (33,334
# Services, as many EndpointSlices and HTTPRoutes of the benchmark mesh)
# loaded, then removed.  The private memory of the source process and of
# each worker, the shared zone aside (its size is fixed), comes back near
# what it was before the load.  Measured from /proc/PID/smaps: Private_*
# of every mapping but nginx's shared zones ("/dev/zero (deleted)"); the
# PSS of smaps_rollup is printed too.  GAMMA_MEMORY_SERVICES changes the
# size (the finding was at 33,334).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use Time::HiRes qw(sleep time);

master_on();
workers(2);
no_shuffle();
log_level('info');
gamma_mesh_config();

our $Services = $ENV{GAMMA_MEMORY_SERVICES} || 33334;
our $Slow = $ENV{GAMMA_TEST_SLOW} || 1;

sub error_log {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die;
    return <$fh>;
}

# the newest generation both workers serve, 0 before the first
sub served {
    my %gen;
    for (error_log()) {
        $gen{$1} = $2 if /\[\w+\] (\d+)#.*gamma: snapshot (\d+) in service/;
    }
    my @g = values %gen;
    return @g >= 2 ? (sort { $a <=> $b } @g)[0] : 0;
}

sub wait_served {
    my ($after, $limit) = @_;
    my $start = time;
    while (time - $start < $limit * $Slow) {
        my $g = served();
        return $g if $g > $after;
        sleep 0.1;
    }
    die "no generation after $after served by both workers in $limit s";
}

# the source process and the workers: the master's children
sub processes {
    my $p = GammaTest::gamma_processes();
    delete $p->{$_} for grep { $p->{$_} eq 'master' } keys %$p;
    return $p;
}

# kB: private memory but nginx's shared zones, and PSS of the rollup
sub memory {
    my ($pid) = @_;
    my ($private, $zone, $pss) = (0, 0, 0);
    open my $fh, '<', "/proc/$pid/smaps" or return;
    my $in_zone = 0;
    while (<$fh>) {
        if (/^[0-9a-f]+-[0-9a-f]+ /) {
            $in_zone = m{ /dev/zero \(deleted\)$} ? 1 : 0;
        } elsif (/^Private_(?:Clean|Dirty):\s+(\d+) kB/) {
            $in_zone ? ($zone += $1) : ($private += $1);
        }
    }
    open $fh, '<', "/proc/$pid/smaps_rollup" or return;
    while (<$fh>) { $pss = $1 if /^Pss:\s+(\d+) kB/ }
    return { private => $private, zone => $zone, pss => $pss };
}

sub sample {
    my ($what) = @_;
    my $p = processes();
    my %m;
    for my $pid (sort keys %$p) {
        my $m = memory($pid) or next;
        push @{$m{$p->{$pid}}}, $m;
        Test::More::diag(sprintf "%-14s %-6s %6d: private %7.1f MB, zone "
                         . "%6.1f MB, pss %7.1f MB", $what, $p->{$pid}, $pid,
                         $m->{private} / 1024, $m->{zone} / 1024,
                         $m->{pss} / 1024);
    }
    return \%m;
}

run_tests();

__DATA__

=== TEST 1: 100,000 objects loaded and removed: the private memory of the source process and of the workers, and the zone's resident pages, come back near their size before
--- http_config
    gamma_zone 512m;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
my $g = main::wait_served(0, 10);
my $before = main::sample('before');
my $mesh = `perl bench/gen-mesh.pl $main::Services`;
die "gen-mesh.pl failed" if $? || !$mesh;
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/big.yaml", $mesh);
$g = main::wait_served($g, 120);
my $loaded = main::sample('loaded');
unlink "$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/big.yaml" or die;
$g = main::wait_served($g, 60);
# the generation before is freed once no request uses it
sleep 2;
my $after = main::sample('removed');
for my $kind (qw(source worker)) {
    my @b = @{$before->{$kind} || []};
    my @l = @{$loaded->{$kind} || []};
    my @a = @{$after->{$kind} || []};
    Test::More::ok(@b && @b == @a, "$kind: measured before and after");
    for my $i (0 .. $#a) {
        my ($pb, $pl, $pa) = map { $_->[$i]{private} // 0 } \@b, \@l, \@a;
        # near: 16 MB or a quarter of what the load added, whichever is
        # more, over the size before
        my $slack = 16 * 1024;
        $slack = ($pl - $pb) / 4 if ($pl - $pb) / 4 > $slack;
        Test::More::cmp_ok($pa, '<=', $pb + $slack,
            sprintf "%s %d: %.1f MB before, %.1f loaded, %.1f after",
                    $kind, $i, $pb / 1024, $pl / 1024, $pa / 1024);
    }
}
# the zone's pages of the freed generations are given back too
my ($zb, $zl, $za) = map { $_->{source}[0]{zone} // 0 } $before, $loaded,
                                                         $after;
Test::More::cmp_ok($za, '<=', $zb + ($zl - $zb) / 4,
    sprintf "source: zone %.1f MB before, %.1f loaded, %.1f after",
            $zb / 1024, $zl / 1024, $za / 1024);
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Service: faces/smiley:18080
--- timeout: 10



=== TEST 2: a 512 MB zone: nginx's page descriptors (3 MB of zeroes the master writes before it forks) are not resident, the master holds under 1 MB of the zone
--- http_config
    gamma_zone 512m;
--- user_files eval
[["mesh/base.yaml", $GammaTest::Base]]
--- init
main::wait_served(0, 10);
my $master = do {
    open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid" or die;
    0 + <$fh>;
};
my ($rss, $in_zone) = (0, 0);
open my $fh, '<', "/proc/$master/smaps" or die "smaps: $!";
while (<$fh>) {
    if (/^[0-9a-f]+-[0-9a-f]+ /) {
        $in_zone = m{ /dev/zero \(deleted\)$} ? 1 : 0;
    } elsif ($in_zone && /^Rss:\s+(\d+) kB/) {
        $rss += $1;
    }
}
Test::More::cmp_ok($rss, '<', 1024,
                   "the master's resident pages of shared zones: $rss kB");
--- request
GET /
--- more_headers
X-Test-To: 127.10.0.1:18080
--- response_headers
X-Gamma-Service: faces/smiley:18080
--- timeout: 10
