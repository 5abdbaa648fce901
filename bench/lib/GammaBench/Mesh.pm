package GammaBench::Mesh;

# The benchmark mesh: N Services with their EndpointSlices and one
# producer HTTPRoute each, rendered either as manifests for nginx-gamma or
# as the static nginx.conf a generated-config product would write for the
# same routes (one server per ClusterIP, locations, split_clients).
#
# Service i (0 <= i < N): ns-<i % 100>/svc-<i>, ClusterIP 127.100.0.1 + i,
# port P (name "http"), every Service backed by the same endpoints (the
# benchmark's backend).  Its route-<i>:
#
#   Exact /healthz                          -> svc-<i>
#   PathPrefix /v2 and header x-canary: yes -> svc-<i+1>
#   everything else                         -> svc-<i> 90, svc-<i+1> 10
#
# The probe route "bench-probe" (the one the propagation benchmarks change)
# binds to the target Service and holds, at version V:
#
#   PathPrefix /change-<V> -> bench-probe (a backend answering "probe")
#   PathPrefix /load       -> svc-<target> (V even), else svc-<target+1>

use strict;
use warnings;


sub new {
    my ($class, %o) = @_;

    my $self = bless {
        services       => $o{services} // 1000,
        port           => $o{port} // 8080,
        endpoints      => $o{endpoints} // ['127.0.0.1:8090'],
        probe_endpoint => $o{probe_endpoint} // '127.0.0.1:8091',
    }, $class;

    $self->{target} = $o{target} // int($self->{services} / 2);

    return $self;
}


sub services { $_[0]{services} }
sub port     { $_[0]{port} }
sub target   { $_[0]{target} }

sub name { "svc-$_[1]" }
sub ns   { 'ns-' . ($_[1] % 100) }
sub next_of { ($_[1] + 1) % $_[0]{services} }


sub cluster_ip {
    my ($self, $i) = @_;
    my $n = $i + 1;

    return sprintf '127.%d.%d.%d', 100 + ($n >> 16), ($n >> 8) & 255,
                   $n & 255;
}


# where a client sends the load: the target Service's ClusterIP:port
sub target_addr {
    my ($self) = @_;

    return $self->cluster_ip($self->{target}) . ":$self->{port}";
}


sub probe_ip { '127.99.0.1' }


# ---- manifests -------------------------------------------------------

# Services, EndpointSlices and routes [from, to) as multi-document YAML
sub yaml {
    my ($self, $from, $to) = @_;

    return join '', map { $self->yaml_service($_) } $from .. $to - 1;
}


sub yaml_service {
    my ($self, $i) = @_;
    my ($ns, $name, $port) = ($self->ns($i), $self->name($i), $self->{port});
    my $j = $self->next_of($i);
    my ($nns, $nname) = ($self->ns($j), $self->name($j));

    return $self->yaml_svc_slice($ns, $name, $self->cluster_ip($i),
                                 $self->{endpoints}) . <<"_EOY_";
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-$i, namespace: $ns}
spec:
  parentRefs:
  - {group: "", kind: Service, name: $name, port: $port}
  rules:
  - matches:
    - path: {type: Exact, value: /healthz}
    backendRefs:
    - {name: $name, port: $port}
  - matches:
    - path: {type: PathPrefix, value: /v2}
      headers:
      - {name: x-canary, value: "yes"}
    backendRefs:
    - {name: $nname, namespace: $nns, port: $port}
  - backendRefs:
    - {name: $name, port: $port, weight: 90}
    - {name: $nname, namespace: $nns, port: $port, weight: 10}
_EOY_
}


sub yaml_svc_slice {
    my ($self, $ns, $name, $ip, $endpoints) = @_;
    my $port = $self->{port};
    my $epport = (split /:/, $endpoints->[0])[1];
    my $eps = join '', map {
        my ($addr) = split /:/;
        "- addresses: [\"$addr\"]\n  conditions: {ready: true}\n"
    } @$endpoints;

    return <<"_EOY_";
---
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: $ns}
spec:
  clusterIP: $ip
  ports:
  - {name: http, port: $port, targetPort: $epport}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name-bench
  namespace: $ns
  labels: {kubernetes.io/service-name: $name}
addressType: IPv4
ports:
- {name: http, port: $epport}
endpoints:
$eps
_EOY_
}


# the probe backend's Service, next to the target
sub yaml_probe_service {
    my ($self) = @_;

    return $self->yaml_svc_slice($self->ns($self->{target}), 'bench-probe',
                                 $self->probe_ip, [$self->{probe_endpoint}]);
}


# the probe Service without its slice (the slice propagation benchmark
# keeps the slice in a file of its own)
sub yaml_probe_service_only {
    my ($self) = @_;
    my ($svc) = grep { /^kind: Service$/m }
                split /(?=^---\n)/m, $self->yaml_probe_service;

    return $svc;
}


# the probe Service's EndpointSlice at version $v: even versions point at
# the probe backend, odd ones at the last regular endpoint
sub yaml_probe_slice {
    my ($self, $v) = @_;
    my $ep = $v % 2 ? $self->{endpoints}[-1] : $self->{probe_endpoint};
    my ($addr, $port) = split /:/, $ep;
    my $ns = $self->ns($self->{target});

    return <<"_EOY_";
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: bench-probe-bench
  namespace: $ns
  labels: {kubernetes.io/service-name: bench-probe}
addressType: IPv4
ports:
- {name: http, port: $port}
endpoints:
- addresses: ["$addr"]
  conditions: {ready: true}
_EOY_
}


# the probe Service at version $v: its port named "http" (even: the
# probe backend's slice port) or "alt" (odd: a regular backend's)
sub yaml_probe_service_named {
    my ($self, $v) = @_;
    my $ns = $self->ns($self->{target});
    my $ip = $self->probe_ip;
    my $name = $v % 2 ? 'alt' : 'http';

    return <<"_EOY_";
---
apiVersion: v1
kind: Service
metadata: {name: bench-probe, namespace: $ns}
spec:
  clusterIP: $ip
  ports:
  - {name: $name, port: $self->{port}}
_EOY_
}


# the probe Service's slice with both ports, for yaml_probe_service_named
sub yaml_probe_slice_two {
    my ($self) = @_;
    my ($addr, $port) = split /:/, $self->{probe_endpoint};
    my ($raddr, $rport) = split /:/, $self->{endpoints}[0];
    my $ns = $self->ns($self->{target});

    die "the probe and the first backend need one address\n"
        unless $addr eq $raddr;

    return <<"_EOY_";
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: bench-probe-bench
  namespace: $ns
  labels: {kubernetes.io/service-name: bench-probe}
addressType: IPv4
ports:
- {name: http, port: $port}
- {name: alt, port: $rport}
endpoints:
- addresses: ["$addr"]
  conditions: {ready: true}
_EOY_
}


sub yaml_probe_route {
    my ($self, $version) = @_;
    my $t = $self->{target};
    my ($ns, $name, $port) = ($self->ns($t), $self->name($t), $self->{port});
    my $load = $version % 2 ? $self->next_of($t) : $t;
    my ($lns, $lname) = ($self->ns($load), $self->name($load));

    return <<"_EOY_";
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bench-probe, namespace: $ns}
spec:
  parentRefs:
  - {group: "", kind: Service, name: $name, port: $port}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /change-$version}
    backendRefs:
    - {name: bench-probe, port: $port}
  - matches:
    - path: {type: PathPrefix, value: /load}
    backendRefs:
    - {name: $lname, namespace: $lns, port: $port}
_EOY_
}


# writes the mesh into $dir, $per_file Services a file, and the probe's
# Service (the probe route is written by write_probe_route)
sub write_yaml_dir {
    my ($self, $dir, $per_file) = @_;
    my $n = $self->{services};

    $per_file ||= 1000;

    for (my $from = 0, my $k = 0; $from < $n; $from += $per_file, $k++) {
        my $to = $from + $per_file > $n ? $n : $from + $per_file;
        write_file(sprintf('%s/mesh-%03d.yaml', $dir, $k),
                   $self->yaml($from, $to));
    }

    write_file("$dir/probe-service.yaml", $self->yaml_probe_service);
}


# the way a careful writer (and a ConfigMap update) replaces a file:
# write a temporary file, then rename it over the old one
sub write_probe_route {
    my ($self, $dir, $version) = @_;

    write_file("$dir/.probe-route.tmp", $self->yaml_probe_route($version));
    rename "$dir/.probe-route.tmp", "$dir/probe-route.yaml"
        or die "rename: $!\n";
}


# ---- static nginx configuration ------------------------------------

# http-level configuration for the same mesh and the probe at $version;
# $proxy holds the proxy_* directives (the shipped gamma-proxy.conf's)
sub nginx_conf {
    my ($self, $version, $proxy) = @_;
    my $port = $self->{port};
    my @out;

    push @out, "# generated: $self->{services} Services, probe v$version\n",
        $proxy,
        "upstream bench_probe {\n",
        "    server $self->{probe_endpoint};\n    keepalive 16;\n}\n",
        "server {\n    listen $port default_server;\n",
        "    return 421;\n}\n";

    for my $i (0 .. $self->{services} - 1) {
        push @out, $self->nginx_service($i, $version);
    }

    return join '', @out;
}


sub nginx_upstream_name {
    my ($self, $i) = @_;

    (my $u = $self->ns($i) . '__' . $self->name($i)) =~ tr/-/_/;

    return $u;
}


sub nginx_service {
    my ($self, $i, $version) = @_;
    my $u = $self->nginx_upstream_name($i);
    my $nu = $self->nginx_upstream_name($self->next_of($i));
    my $servers = join '', map { "    server $_;\n" } @{$self->{endpoints}};
    my $v2 = "        if (\$http_x_canary = \"yes\") {\n"
             . "            proxy_pass http://$nu;\n        }\n"
             . "        proxy_pass http://\$${u}_split;\n";
    my $probe = '';

    if ($i == $self->{target}) {
        my $load = $version % 2 ? $nu : $u;
        $probe = "    location /change-$version {\n"
                 . "        proxy_pass http://bench_probe;\n    }\n"
                 . "    location /load {\n"
                 . "        proxy_pass http://$load;\n    }\n";
    }

    return <<"_EOC_";
upstream $u {
$servers    keepalive 16;
}
split_clients "\$request_id" \$${u}_split {
    90% $u;
    *   $nu;
}
server {
    listen ${\ $self->cluster_ip($i)}:$self->{port};
    location = /healthz {
        proxy_pass http://$u;
    }
    location = /v2 {
$v2    }
    location /v2/ {
$v2    }
    location / {
        proxy_pass http://\$${u}_split;
    }
$probe}
_EOC_
}


sub write_file {
    my ($path, $text) = @_;

    open my $fh, '>', $path or die "$path: $!\n";
    print $fh $text;
    close $fh or die "$path: $!\n";
}


sub read_file {
    my ($path) = @_;

    open my $fh, '<', $path or die "$path: $!\n";
    local $/;
    return <$fh>;
}


1;
