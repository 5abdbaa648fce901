#!/usr/bin/perl
# The policy benchmark: a mesh of N Services (bench/gen-mesh.pl) served
# without policies, then with one TrafficPolicy per Service (a default
# request timeout and a retry stanza).  It reports the first snapshot's
# compile time and size from the error log, and the requests per second
# wrk gets through one Service in both cases.  Policies are resolved at
# compile time: the ratio should stay near 1.
#
#   perl bench/policy.pl [--services 10000] [--duration 10] [--rounds 1]
#   (rounds alternate which case goes first; the ratio's median is kept)
#   (take /tmp/gamma-test.lock: it binds 18180 and 18190 on loopback)

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Getopt::Long;
use Time::HiRes qw(sleep time);

my $root = abs_path(dirname(__FILE__) . '/..');
my %o = (services => 10000, duration => 10, conns => 16, rounds => 1);
GetOptions(\%o, 'services=i', 'duration=i', 'conns=i', 'rounds=i')
    or die "usage\n";

my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $module = "$root/build/ngx_http_gamma_module.so";
my ($port, $backend) = (18180, 18190);

sub write_file {
    my ($path, $body) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $body;
    close $fh;
}

# one TrafficPolicy per Service of the generated mesh (Mesh.pm's names)
sub policies {
    my ($n) = @_;
    my $y = '';

    for my $i (0 .. $n - 1) {
        my $ns = 'ns-' . ($i % 100);
        $y .= <<"_EOY_";
---
apiVersion: policy.nginx-gamma.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: pol-$i, namespace: $ns}
spec:
  targetRefs: [{group: "", kind: Service, name: svc-$i}]
  default:
    timeouts: {request: 5s}
    retry: {attempts: 1, codes: [503]}
_EOY_
    }

    return $y;
}

sub conf {
    my ($dir) = @_;

    return <<"_EOC_";
load_module $module;
worker_processes 1;
error_log $dir/error.log info;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
    include $root/conf/gamma-mesh.conf;
    gamma_source file:$dir/mesh;
    gamma_namespace default;
    access_log off;
    server {
        listen $port reuseport;
        location / { include $root/conf/gamma-proxy.conf; }
    }
    server {
        listen 127.0.0.1:$backend;
        access_log off;
        return 200 "ok\\n";
    }
}
_EOC_
}

sub run {
    my ($label, $with) = @_;
    my $dir = tempdir(CLEANUP => !$ENV{KEEP});

    # the workers run as nobody
    chmod 0755, $dir;

    mkdir "$dir/mesh" or die "$dir/mesh: $!";
    system("$root/bench/gen-mesh.pl", '--out', "$dir/mesh", '--port', $port,
           '--endpoint', "127.0.0.1:$backend", $o{services}) == 0
        or die "gen-mesh failed\n";
    write_file("$dir/mesh/policies.yaml", policies($o{services})) if $with;
    write_file("$dir/nginx.conf", conf($dir));

    system($nginx, '-p', $dir, '-c', "$dir/nginx.conf") == 0
        or die "nginx did not start\n";

    my ($ms, $bytes);
    my $start = time;

    while (time - $start < 120) {
        my $log = `cat $dir/error.log`;
        if ($log =~ /snapshot 1: [^\n]*?(\d+) bytes, (\d+) ms/) {
            ($bytes, $ms) = ($1, $2);
            last if $log =~ /snapshot 1 in service/;
        }
        sleep 0.2;
    }

    my $target = sprintf '127.100.%d.%d', (int($o{services} / 2) + 1) >> 8,
                         (int($o{services} / 2) + 1) & 255;
    my $out = `wrk -t1 -c$o{conns} -d$o{duration}s http://$target:$port/ 2>&1`;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    my $rss = `ps -o rss= -C nginx | sort -n | tail -1` + 0;

    # gone before the next run: its reuseport listener would share the load
    my $pid = `cat $dir/nginx.pid` + 0;
    system('kill', '-QUIT', $pid);
    $start = time;
    sleep 0.1 while kill(0, $pid) && time - $start < 60;

    printf "| %s | %d | %s ms | %.1f MB | %.0f | %s |\n", $label,
           $o{services}, $ms // '?', ($bytes // 0) / 1e6, $rps // 0,
           $non2xx // 0;

    return $rps // 0;
}

print "| mesh | Services | first compile | snapshot | req/s | non-2xx |\n";
print "|---|---|---|---|---|---|\n";

my @ratios;

for my $round (1 .. $o{rounds}) {
    my %rps;

    for my $with ($round % 2 ? (0, 1) : (1, 0)) {
        $rps{$with} = run($with ? 'a TrafficPolicy per Service'
                                : 'no policies', $with);
    }

    push @ratios, $rps{0} ? $rps{1} / $rps{0} : 0;
}

@ratios = sort { $a <=> $b } @ratios;

printf "\nreq/s with policies / without, by round (sorted): %s; "
       . "median %.3f\n", join(', ', map { sprintf '%.3f', $_ } @ratios),
       $ratios[$#ratios / 2];
