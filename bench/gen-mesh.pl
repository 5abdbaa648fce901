#!/usr/bin/perl
# Writes the benchmark mesh of N Services (+ as many EndpointSlices and
# HTTPRoutes): as manifests for nginx-gamma, or as the equivalent static
# nginx.conf.  The model is bench/lib/GammaBench/Mesh.pm.
#
#   bench/gen-mesh.pl 10000 > mesh.yaml
#   bench/gen-mesh.pl --out /tmp/mesh 10000            (a directory)
#   bench/gen-mesh.pl --format nginx 10000 > routes.conf
#
# Options: --port P (the Services' port, 8080), --endpoint ip:port (every
# Service's endpoints, repeatable; 127.0.0.1:8090), --probe-endpoint
# ip:port, --target I (the Service the probe route binds to, N/2),
# --probe V (also write the probe route at version V), --per-file K.

use strict;
use warnings;

use FindBin;
use Getopt::Long;
use lib "$FindBin::Bin/lib";
use GammaBench::Mesh;

my %o = (format => 'yaml', port => 8080, 'per-file' => 1000);

GetOptions(\%o, 'format=s', 'port=i', 'endpoint=s@', 'probe-endpoint=s',
           'target=i', 'probe=i', 'out=s', 'per-file=i')
    && @ARGV == 1 && $ARGV[0] =~ /^\d+$/
    or die "usage: $0 [options] <services>\n";

my $mesh = GammaBench::Mesh->new(
    services       => $ARGV[0],
    port           => $o{port},
    endpoints      => $o{endpoint},
    probe_endpoint => $o{'probe-endpoint'},
    target         => $o{target},
);

if ($o{format} eq 'nginx') {
    print $mesh->nginx_conf($o{probe} // 0, '');

} elsif ($o{out}) {
    $mesh->write_yaml_dir($o{out}, $o{'per-file'});
    $mesh->write_probe_route($o{out}, $o{probe}) if defined $o{probe};

} else {
    print $mesh->yaml(0, $mesh->services);
    print $mesh->yaml_probe_service, $mesh->yaml_probe_route($o{probe})
        if defined $o{probe};
}
