# docker/inject: the sidecar, init container, volume and annotations are
# added to every kind of workload, in multi-document YAML from files or
# stdin; injecting twice is injecting once; every other document comes out
# byte for byte as it went in.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;
use YAML::XS ();

$YAML::XS::Boolean = 'JSON::PP';

my $inject = 'docker/inject';
my $dir = tempdir('gamma-inject-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub write_file {
    my ($name, $body) = @_;
    open my $fh, '>', "$dir/$name" or die "$dir/$name: $!";
    print $fh $body;
    close $fh;
    return "$dir/$name";
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# runs inject with @args and $stdin; returns (exit status, stdout, stderr)
sub run_inject {
    my ($stdin, @args) = @_;
    my $in = write_file('stdin', $stdin // '');
    my $out = `$^X $inject @args < $in 2> $dir/stderr`;
    return ($? >> 8, $out, read_file("$dir/stderr"));
}

sub objects {
    return grep { ref } YAML::XS::Load($_[0]);
}

sub pod_spec {
    my ($obj) = @_;
    return $obj->{kind} eq 'Pod' ? $obj->{spec} : $obj->{spec}{template}{spec};
}

sub pod_meta {
    my ($obj) = @_;
    return $obj->{kind} eq 'Pod' ? $obj->{metadata}
                                 : $obj->{spec}{template}{metadata};
}

sub names {
    return join ',', map { $_->{name} } @{ $_[0] // [] };
}

my $Service = <<'_EOY_';
# a comment, odd spacing and flow style: all kept
apiVersion: v1
kind:   Service
metadata: {name: smiley, namespace: faces}   # trailing comment
spec:
  ports:
  - {name: http, port: 80, targetPort: 8080}
_EOY_

my $ConfigMap = <<'_EOY_';
apiVersion: v1
kind: ConfigMap
metadata:
  name: conf
data:
  nginx.conf: |
    server { listen 8080; }
  flag: "yes"
_EOY_

my $Workloads = <<'_EOY_';
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: faces}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - {name: migrate, image: example/migrate:1}
      containers:
      - {name: web, image: example/web:1}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: faces}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}, annotations: {team: data}}
    spec:
      containers:
      - {name: db, image: example/db:1}
      volumes:
      - {name: data, emptyDir: {}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: faces}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: agent, image: example/agent:1}
---
apiVersion: v1
kind: Pod
metadata: {name: one, namespace: faces}
spec:
  containers:
  - {name: one, image: example/one:1}
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: listed, namespace: faces}
  spec:
    selector: {matchLabels: {app: listed}}
    template:
      metadata: {labels: {app: listed}}
      spec:
        containers:
        - {name: listed, image: example/listed:1}
- apiVersion: v1
  kind: Service
  metadata: {name: listed, namespace: faces}
  spec:
    ports: [{port: 80}]
_EOY_

# --- every kind gets the same injection -------------------------------

my ($rc, $out, $err) = run_inject($Workloads);
is($rc, 0, 'inject succeeds on stdin') or diag($err);

my @objs = objects($out);
my @pods = map { $_->{kind} eq 'List' ? grep { $_->{kind} ne 'Service' }
                                        @{ $_->{items} }
                                      : $_ } @objs;
is(join(' ', map { "$_->{kind}/$_->{metadata}{name}" } @pods),
   'Deployment/web StatefulSet/db DaemonSet/agent Pod/one Deployment/listed',
   'every workload is there, the List item too');

for my $obj (@pods) {
    my $what = "$obj->{kind} $obj->{metadata}{name}";
    my $spec = pod_spec($obj);
    my ($side) = grep { $_->{name} eq 'nginx-gamma' } @{ $spec->{containers} };
    my ($init) = grep { $_->{name} eq 'nginx-gamma-init' }
                 @{ $spec->{initContainers} };

    is($spec->{containers}[-1]{name}, 'nginx-gamma', "$what: the sidecar");
    is($spec->{initContainers}[-1]{name}, 'nginx-gamma-init',
       "$what: the init container, last of the init containers");
    is_deeply($init->{securityContext}{capabilities},
              { add => ['NET_ADMIN', 'NET_RAW'], drop => ['ALL'] },
              "$what: the init container has NET_ADMIN and NET_RAW only");
    is_deeply($init->{command}, ['/usr/local/bin/gamma-init-iptables'],
              "$what: the init container runs the init script");
    is($side->{securityContext}{runAsUser}, 101,
       "$what: the sidecar runs as uid 101");
    is_deeply($side->{securityContext}{capabilities}, { drop => ['ALL'] },
              "$what: the sidecar has no capabilities");
    my %ports = map { $_->{name} => $_->{containerPort} } @{ $side->{ports} };
    is($ports{'gamma-probe'}, 15021,
       "$what: the probe port of conf/gamma-probes.conf");
    is_deeply([map { $side->{$_}{httpGet} } qw(readinessProbe livenessProbe)],
              [{ path => '/ready', port => 'gamma-probe' },
               { path => '/healthz', port => 'gamma-probe' }],
              "$what: readiness and liveness probes on it");
    ok((grep { $_ eq '--proxy-uid' } @{ $init->{args} })
       && $init->{args}[1] eq '101',
       "$what: the rules exclude the sidecar's uid");
    ok((grep { $_->{name} eq 'nginx-gamma-tmp' && $_->{emptyDir} }
        @{ $spec->{volumes} }), "$what: the /tmp volume");
    is(pod_meta($obj)->{annotations}{'nginx-gamma.io/injected'}, 'true',
       "$what: the injected annotation");
}

my ($web) = grep { $_->{metadata}{name} eq 'web' } @pods;
is(names(pod_spec($web)->{initContainers}), 'migrate,nginx-gamma-init',
   "the application's init container runs before interception");
is(pod_meta($web)->{annotations}{'kubectl.kubernetes.io/default-container'},
   'web', "kubectl's default container is the application's");

my ($db) = grep { $_->{metadata}{name} eq 'db' } @pods;
is(names(pod_spec($db)->{volumes}), 'data,nginx-gamma-tmp',
   'the volumes of the pod are kept');
is(pod_meta($db)->{annotations}{team}, 'data', 'annotations are kept');

my ($list) = grep { $_->{kind} eq 'List' } @objs;
is_deeply($list->{items}[1],
          { apiVersion => 'v1', kind => 'Service',
            metadata => { name => 'listed', namespace => 'faces' },
            spec => { ports => [{ port => 80 }] } },
          'a Service in a List is unchanged');

# --- idempotent ---------------------------------------------------------

my ($rc2, $twice) = run_inject($out);
is($rc2, 0, 'inject of injected YAML succeeds');
is($twice, $out, 'inject twice = inject once, byte for byte');

my $file = write_file('deployment.yaml', read_file('docker/k8s/deployment.yaml'));
is(`$^X $inject $file`, read_file($file),
   'docker/k8s/deployment.yaml is what inject writes');

# --- other documents byte for byte ------------------------------------

my $mixed = "$Service---\n$ConfigMap---\n"
            . "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
            . "spec:\n  containers: [{name: p, image: example/p:1}]\n"
            . "---\n$Service";
($rc, $out) = run_inject($mixed);
is($rc, 0, 'inject of a mixed stream succeeds');
ok(index($out, "$Service---\n$ConfigMap---\n") == 0,
   'a Service and a ConfigMap before a workload come out byte for byte');
ok(substr($out, -length "---\n$Service") eq "---\n$Service",
   'a Service after a workload comes out byte for byte');
($rc, $out) = run_inject("$Service---\n$ConfigMap");
is($out, "$Service---\n$ConfigMap", 'a file without workloads is unchanged');

# files, one after the other
my $f1 = write_file('a.yaml', $ConfigMap);
my $f2 = write_file('b.yaml', $Service);
is(`$^X $inject $f1 $f2`, "$ConfigMap---\n$Service",
   'two files: their documents, separated');

# --- options ------------------------------------------------------------

($rc, $out, $err) = run_inject($Workloads, '--mesh-port', 15011,
                               '--exclude-ports', '5432,6379',
                               '--exclude-cidrs', '10.1.0.0/16',
                               '--image', 'registry.example/gamma:1');
is($rc, 0, 'inject with options succeeds') or diag($err);
my ($o) = objects($out);
my $spec = pod_spec($o);
my ($init) = grep { $_->{name} eq 'nginx-gamma-init' }
             @{ $spec->{initContainers} };
is_deeply($init->{args},
          [qw(--proxy-uid 101 --mesh-port 15011 --admin-port 15000
              --exclude-ports), '5432,6379', '--exclude-cidrs', '10.1.0.0/16'],
          'the init container gets the mesh port and the exclusions');
is($spec->{containers}[-1]{ports}[0]{containerPort}, 15011,
   'the sidecar listens on the mesh port');
is_deeply($spec->{containers}[-1]{env},
          [{ name => 'GAMMA_MESH_PORT', value => '15011' }],
          'and is told so');
is($init->{image}, 'registry.example/gamma:1', '--image: the init container');
is($spec->{containers}[-1]{image}, 'registry.example/gamma:1',
   '--image: the sidecar');
is(pod_meta($o)->{annotations}{'nginx-gamma.io/exclude-ports'}, '5432,6379',
   'the annotation says which ports are excluded');

# injected with other options: injected anew, once
my ($rc3, $again) = run_inject($out);
my ($a) = objects($again);
is(scalar(grep { $_->{name} eq 'nginx-gamma' }
          @{ pod_spec($a)->{containers} }), 1,
   're-injected with the defaults: one sidecar');
is(pod_spec($a)->{containers}[-1]{ports}[0]{containerPort}, 15001,
   're-injected with the defaults: the default mesh port');

($rc, $out, $err) = run_inject($Workloads, '--exclude-ports', 'x');
is($rc, 1, 'a bad port is refused');
like($err, qr/--exclude-ports: "x" is not a port/, 'with the reason');

# --grpc-ports: the init container sends them to the h2c listener
($rc, $out, $err) = run_inject($Workloads, '--grpc-ports', '"7070, 9090"');
is($rc, 0, 'inject with --grpc-ports succeeds') or diag($err);
($o) = objects($out);
($init) = grep { $_->{name} eq 'nginx-gamma-init' }
          @{ pod_spec($o)->{initContainers} };
is_deeply($init->{args},
          [qw(--proxy-uid 101 --mesh-port 15001 --admin-port 15000
              --grpc-ports), '7070,9090'],
          '--grpc-ports: the init container gets the list');
is(pod_meta($o)->{annotations}{'nginx-gamma.io/grpc-ports'}, '7070,9090',
   'the annotation says which ports are gRPC');
my ($rc4, $twice4) = run_inject($out, '--grpc-ports', '7070,9090');
is($twice4, $out, 'inject twice with --grpc-ports = once');
($rc, $out, $err) = run_inject($Workloads, '--grpc-ports', '70000');
is($rc, 1, 'a bad gRPC port is refused');
like($err, qr/--grpc-ports: "70000" is not a port/, 'with the reason');

# --- skipped and refused ------------------------------------------------

my $host = <<'_EOY_';
apiVersion: v1
kind: Pod
metadata: {name: node-agent}
spec:
  hostNetwork: true
  containers: [{name: a, image: example/a:1}]
---
apiVersion: v1
kind: Pod
metadata:
  name: opted-out
  annotations: {nginx-gamma.io/inject: disabled}
spec:
  containers: [{name: a, image: example/a:1}]
_EOY_
($rc, $out, $err) = run_inject($host);
is($rc, 0, 'inject succeeds');
is($out, $host, 'a hostNetwork pod and an opted-out pod are unchanged');
like($err, qr{Pod default/node-agent skipped \(hostNetwork}, 'hostNetwork: said');
like($err, qr{Pod default/opted-out skipped \(nginx-gamma.io/inject: disabled\)},
     'opted out: said');

($rc, $out, $err) = run_inject("$ConfigMap---\nkind: Pod\nspec: [a\n");
is($rc, 1, 'bad YAML fails');
like($err, qr{^inject: stdin, document 2: not YAML}, 'naming the document');

($rc, $out, $err) = run_inject("kind: Pod\nmetadata: {name: e}\nspec: {}\n");
is($rc, 1, 'a pod without containers fails');
like($err, qr{Pod default/e: the pod has no containers}, 'naming it');

done_testing();
