# The Kubernetes manifests of docker/k8s/ and docker/inject's output on the
# demo Deployments, through kubectl against the tests' fake API server:
# "kubectl apply --dry-run=server" (the server checks the objects and
# stores nothing, t/lib/FakeKube/DryRun.pm) and "kubectl create
# --dry-run=client -o yaml" (no request but discovery).  The fake server
# has no OpenAPI schema, hence --validate=false.  Also: the reader role
# grants exactly what the module lists and watches, and the demo has the
# objects of conf/demo/mesh/.

use strict;
use warnings;

use lib 't/lib';
use File::Temp qw(tempdir);
use Test::More;
use YAML::XS ();
use FakeKube;

$YAML::XS::Boolean = 'JSON::PP';

my @manifests = sort(glob('docker/k8s/*.yaml'), glob('docker/k8s/demo/*.yaml'));
my $dir = tempdir('gamma-k8s-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub objects_of {
    my ($path) = @_;
    return grep { ref } YAML::XS::Load(read_file($path));
}

sub kind_names {
    return map { lc("$_->{kind}") . '/' . $_->{metadata}{name} } @_;
}

ok(scalar @manifests >= 6, 'docker/k8s has its manifests: @manifests');

FakeKube::start();
FakeKube::reset('');

# what kubectl prints for each object: "deployment.apps/smiley created
# (server dry run)"
sub applied {
    my ($out) = @_;
    return sort map { m{^(\S+?)(?:\.[a-z0-9.]+)?/(\S+) created \((server|client) dry run\)$}
                      ? "$1/$2" : () } split /\n/, $out;
}

my $injected = "$dir/faces-injected.yaml";
system("$^X docker/inject docker/k8s/demo/faces.yaml > $injected") == 0
    or die "docker/inject failed";

for my $file (@manifests, $injected) {
    my @objs = objects_of($file);
    my ($rc, $out) = FakeKube::kubectl('apply', '--dry-run=server',
                                       '--validate=false', '-f', $file);
    is($rc, 0, "kubectl apply --dry-run=server -f $file") or diag($out);
    is_deeply([applied($out)], [sort(kind_names(@objs))],
              "$file: every object created (server dry run)")
        or diag($out);

    ($rc, $out) = FakeKube::kubectl('create', '--dry-run=client',
                                    '--validate=false', '-o', 'yaml',
                                    '-f', $file);
    is($rc, 0, "kubectl create --dry-run=client -o yaml -f $file")
        or diag($out);
    my @back = grep { ref } eval { YAML::XS::Load($out) };
    @back = @{ $back[0]{items} } if @back == 1 && $back[0]{kind} eq 'List';
    is(scalar @back, scalar @objs, "$file: kubectl wrote every object back");
}

my ($rc, $out) = FakeKube::kubectl('get', 'deployments,serviceaccounts',
                                   '-A', '-o', 'name');
is($out, '', 'a dry run stores nothing');

# the server checks what it dry-runs: a broken injection would not pass
my $bad = "$dir/bad.yaml";
open my $fh, '>', $bad or die;
print $fh <<'_EOY_';
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: faces}
spec:
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers:
      - name: app
        image: example/app:1
        volumeMounts: [{name: missing, mountPath: /tmp}]
        securityContext: {capabilities: {add: [NET_WIZARD]}}
      - {name: app, image: example/app:1}
_EOY_
close $fh;
($rc, $out) = FakeKube::kubectl('apply', '--dry-run=server', '--validate=false',
                                '-f', $bad);
isnt($rc, 0, 'the dry run refuses a broken Deployment');
like($out, qr/selector does not match template labels/, 'selector');
like($out, qr/volumeMounts.name: Not found: "missing"/, 'a volume mount');
like($out, qr/capabilities: Invalid value: "NET_WIZARD"/, 'a capability');
like($out, qr/containers\[1\].name: Duplicate value: "app"/, 'a container name');

# --- the reader role: exactly what module/source lists and watches ------

my $c = read_file('module/source/gm_kube_resource.c');
my %used;
while ($c =~ /\{\s*GM_KIND_\w+,\s*"([^"]*)",\s*\{[^}]*\},\s*"(\w+)"/g) {
    $used{$1}{$2} = 1;
}
ok(scalar keys %used, 'the resources of gm_kube_resource.c are read');

my ($reader) = grep { $_->{kind} eq 'ClusterRole'
                      && $_->{metadata}{name} eq 'nginx-gamma-reader' }
               objects_of('docker/k8s/rbac.yaml');
my %granted;
for my $rule (@{ $reader->{rules} }) {
    is_deeply([sort @{ $rule->{verbs} }], ['list', 'watch'],
              "list and watch only on @{ $rule->{resources} }");
    for my $g (@{ $rule->{apiGroups} }) {
        $granted{$g}{$_} = 1 for @{ $rule->{resources} };
    }
}
is_deeply(\%granted, \%used,
          'the reader role grants the resources the module watches, no more');

my @status = objects_of('docker/k8s/rbac-status.yaml');
ok((grep { $_->{kind} eq 'Role'
           && grep { grep { $_ eq 'leases' } @{ $_->{resources} } }
              @{ $_->{rules} } } @status),
   'the status writer has its own role, with Leases');
my %writes;
for my $rule (map { @{ $_->{rules} // [] } } @status) {
    $writes{"$_ @{[sort @{ $rule->{verbs} }]}"} = 1
        for @{ $rule->{resources} };
}
is_deeply([sort keys %writes],
          ['grpcroutes/status get update', 'httproutes/status get update',
           'leases create get update',
           'xmeshes create get', 'xmeshes/status update'],
          'the status writer gets exactly the rights it uses');
ok(!-e 'conf/kubernetes/rbac.yaml', 'one copy of the RBAC rules');

# --- the demo: the objects of conf/demo/mesh/ ---------------------------

sub services {
    my @svc = grep { $_->{kind} eq 'Service' } @_;
    return { map { ("$_->{metadata}{namespace}/$_->{metadata}{name}"
                    => [map { "$_->{name} $_->{port} $_->{targetPort}" }
                        @{ $_->{spec}{ports} }]) } @svc };
}

is_deeply(services(objects_of('docker/k8s/demo/faces.yaml')),
          services(objects_of('conf/demo/mesh/services.yaml')),
          'the demo has the Services of conf/demo/mesh');
is_deeply([objects_of('docker/k8s/demo/routes.yaml')],
          [objects_of('conf/demo/mesh/routes.yaml')],
          'and its routes');

my @deploys = grep { $_->{kind} eq 'Deployment' }
              objects_of('docker/k8s/demo/faces.yaml');
for my $svc (grep { $_->{kind} eq 'Service' }
             objects_of('docker/k8s/demo/faces.yaml'))
{
    my $sel = $svc->{spec}{selector};
    ok((grep { my $l = $_->{spec}{template}{metadata}{labels};
               !grep { ($l->{$_} // '') ne $sel->{$_} } keys %$sel }
        @deploys), "a Deployment backs Service $svc->{metadata}{name}");
}

done_testing();
