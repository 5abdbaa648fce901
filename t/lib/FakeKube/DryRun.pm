package FakeKube::DryRun;

# The fake API server's side of the deployment manifests (docker/k8s,
# docker/inject): the kinds they use, served for discovery (so kubectl
# maps them) and for server-side dry runs (kubectl apply --dry-run=server:
# a GET that finds nothing, then a POST with dryRun=All).  A dry run
# checks what an API server would refuse in these objects and stores
# nothing:
#   - metadata.name present and a DNS subdomain; a namespace on
#     namespaced kinds only;
#   - Pods and pod templates: containers with a DNS-label name unique
#     across containers and initContainers, an image, valid ports,
#     volumeMounts naming a volume of the pod, capabilities that are
#     Linux capability names; a workload's selector matching its
#     template's labels;
#   - RBAC rules with verbs and resources, a binding's roleRef and
#     subjects.
# Other kinds get the name checks only.

use strict;
use warnings;

use Mojo::JSON qw(decode_json);

# the kinds, merged into FakeKube::Server's table (cluster: not namespaced)
our %Resources = (
    pods => { group => '', versions => ['v1'], kind => 'Pod',
              builtin => 1, short => ['po'] },
    serviceaccounts => { group => '', versions => ['v1'],
                         kind => 'ServiceAccount', builtin => 1,
                         short => ['sa'] },
    namespaces => { group => '', versions => ['v1'], kind => 'Namespace',
                    builtin => 1, cluster => 1, short => ['ns'] },
    deployments => { group => 'apps', versions => ['v1'],
                     kind => 'Deployment', builtin => 1,
                     short => ['deploy'] },
    statefulsets => { group => 'apps', versions => ['v1'],
                      kind => 'StatefulSet', builtin => 1,
                      short => ['sts'] },
    daemonsets => { group => 'apps', versions => ['v1'],
                    kind => 'DaemonSet', builtin => 1, short => ['ds'] },
    clusterroles => { group => 'rbac.authorization.k8s.io',
                      versions => ['v1'], kind => 'ClusterRole',
                      builtin => 1, cluster => 1 },
    clusterrolebindings => { group => 'rbac.authorization.k8s.io',
                             versions => ['v1'],
                             kind => 'ClusterRoleBinding', builtin => 1,
                             cluster => 1 },
    roles => { group => 'rbac.authorization.k8s.io', versions => ['v1'],
               kind => 'Role', builtin => 1 },
    rolebindings => { group => 'rbac.authorization.k8s.io',
                      versions => ['v1'], kind => 'RoleBinding',
                      builtin => 1 },
    leases => { group => 'coordination.k8s.io', versions => ['v1'],
                kind => 'Lease', builtin => 1 },
);

my %Capabilities = map { $_ => 1 } qw(
    AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND BPF CHECKPOINT_RESTORE
    CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID IPC_LOCK IPC_OWNER KILL
    LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN
    NET_BIND_SERVICE NET_BROADCAST NET_RAW PERFMON SETFCAP SETGID SETPCAP
    SETUID SYSLOG SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE
    SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG
    WAKE_ALARM ALL);

my $Label = qr/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
my $Subdomain = qr/^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

sub register {
    my ($table) = @_;
    @{$table}{ keys %Resources } = values %Resources;
}

# FakeKube::Server's dispatch hands a request with dryRun here; returns
# true when it answered
sub handle {
    my ($server, $c, $p) = @_;
    my $method = $c->req->method;

    # nothing cluster-wide is ever stored here (but XMeshes)
    if ($method eq 'GET' && $p->{res}{cluster} && defined $p->{name}
        && !$server->state->{objects}{ $p->{plural} }{"/$p->{name}"})
    {
        $server->not_found($c, $p);
        return 1;
    }

    return 0 unless ($c->param('dryRun') // '') eq 'All';

    if ($method ne 'POST' || defined $p->{name}) {
        $server->status($c, 405, 'MethodNotAllowed',
                        "the fake API server dry-runs creations only");
        return 1;
    }

    my $obj = eval { decode_json($c->req->body) };
    if (ref $obj ne 'HASH') {
        $server->status($c, 400, 'BadRequest', 'invalid body');
        return 1;
    }

    my @errors = validate($p, $obj);

    if (@errors) {
        my $name = $obj->{metadata}{name} // '';
        $server->status($c, 422, 'Invalid',
                        "$p->{res}{kind} \"$name\" is invalid: "
                        . join(', ', @errors),
                        { name => $name, kind => $p->{res}{kind},
                          causes => [map { { message => $_ } } @errors] });
        return 1;
    }

    my $m = $obj->{metadata};
    $m->{namespace} = $p->{ns} // $m->{namespace} // 'default'
        unless $p->{res}{cluster};
    $m->{uid} //= 'dry-run';
    $m->{creationTimestamp} //= '2026-01-01T00:00:00Z';

    $c->render(status => 201, json => $server->served($p, $obj));
    return 1;
}

sub validate {
    my ($p, $obj) = @_;
    my @e;
    my $m = $obj->{metadata} // {};

    push @e, 'metadata.name: Required value' unless defined $m->{name};
    push @e, "metadata.name: Invalid value: \"$m->{name}\""
        if defined $m->{name} && $m->{name} !~ $Subdomain;

    if ($p->{res}{cluster}) {
        push @e, 'metadata.namespace: Forbidden: not allowed on this type'
            if defined $m->{namespace} && $m->{namespace} ne '';
    }

    if (($obj->{kind} // '') ne $p->{res}{kind}) {
        push @e, "kind: Invalid value: \"" . ($obj->{kind} // '') . '"';
    }

    my $kind = $p->{res}{kind};
    my $spec = $obj->{spec} // {};

    if ($kind eq 'Pod') {
        push @e, pod_spec('spec', $spec);

    } elsif ($kind =~ /^(Deployment|StatefulSet|DaemonSet)$/) {
        push @e, workload($spec);

    } elsif ($kind =~ /^(ClusterRole|Role)$/) {
        push @e, rbac_rules($obj->{rules} // []);

    } elsif ($kind =~ /Binding$/) {
        push @e, binding($obj);
    }

    return @e;
}

sub workload {
    my ($spec) = @_;
    my @e;
    my $sel = $spec->{selector}{matchLabels};
    my $labels = $spec->{template}{metadata}{labels} // {};

    push @e, 'spec.selector: Required value' unless ref $sel eq 'HASH';

    for my $k (sort keys %{ $sel // {} }) {
        push @e, 'spec.template.metadata.labels: Invalid value: '
                 . "selector does not match template labels ($k)"
            if ($labels->{$k} // "\0") ne $sel->{$k};
    }

    push @e, pod_spec('spec.template.spec', $spec->{template}{spec} // {});
    return @e;
}

sub pod_spec {
    my ($at, $spec) = @_;
    my @e;
    my %names;
    my %volumes;

    for my $v (@{ $spec->{volumes} // [] }) {
        my $n = $v->{name} // '';
        push @e, "$at.volumes: Invalid value: \"$n\"" if $n !~ $Label;
        push @e, "$at.volumes: Duplicate value: \"$n\"" if $volumes{$n}++;
    }

    my $containers = $spec->{containers};
    push @e, "$at.containers: Required value"
        unless ref $containers eq 'ARRAY' && @$containers;

    for my $list (qw(initContainers containers)) {
        my $i = 0;
        for my $ct (@{ $spec->{$list} // [] }) {
            push @e, container("$at.$list\[$i]", $ct, \%names, \%volumes);
            $i++;
        }
    }

    return @e;
}

sub container {
    my ($at, $ct, $names, $volumes) = @_;
    my @e;
    my $n = $ct->{name} // '';

    push @e, "$at.name: Invalid value: \"$n\"" if $n !~ $Label;
    push @e, "$at.name: Duplicate value: \"$n\"" if $names->{$n}++;
    push @e, "$at.image: Required value"
        unless defined $ct->{image} && $ct->{image} ne '';

    for my $port (@{ $ct->{ports} // [] }) {
        my $cp = $port->{containerPort} // 0;
        push @e, "$at.ports.containerPort: Invalid value: $cp"
            if $cp !~ /^\d+$/ || $cp < 1 || $cp > 65535;
    }

    for my $vm (@{ $ct->{volumeMounts} // [] }) {
        my $v = $vm->{name} // '';
        push @e, "$at.volumeMounts.name: Not found: \"$v\""
            unless $volumes->{$v};
        push @e, "$at.volumeMounts.mountPath: Required value"
            unless defined $vm->{mountPath} && $vm->{mountPath} =~ m{^/};
    }

    my $caps = $ct->{securityContext}{capabilities} // {};
    for my $cap (@{ $caps->{add} // [] }, @{ $caps->{drop} // [] }) {
        push @e, "$at.securityContext.capabilities: Invalid value: \"$cap\""
            unless $Capabilities{$cap};
    }

    for my $list (qw(args command)) {
        next unless defined $ct->{$list};
        push @e, "$at.$list: Invalid value: not a list of strings"
            if ref $ct->{$list} ne 'ARRAY' || grep { ref } @{ $ct->{$list} };
    }

    return @e;
}

sub rbac_rules {
    my ($rules) = @_;
    my @e;
    my $i = 0;

    for my $r (@$rules) {
        push @e, "rules[$i].verbs: Required value"
            unless ref $r->{verbs} eq 'ARRAY' && @{ $r->{verbs} };
        push @e, "rules[$i].resources: Required value"
            unless (ref $r->{resources} eq 'ARRAY' && @{ $r->{resources} })
                   || $r->{nonResourceURLs};
        push @e, "rules[$i].apiGroups: Required value"
            unless ref $r->{apiGroups} eq 'ARRAY' || $r->{nonResourceURLs};
        $i++;
    }

    return @e;
}

sub binding {
    my ($obj) = @_;
    my @e;
    my $ref = $obj->{roleRef} // {};

    push @e, 'roleRef.kind: Unsupported value'
        unless ($ref->{kind} // '') =~ /^(ClusterRole|Role)$/;
    push @e, 'roleRef.name: Required value' unless $ref->{name};
    push @e, 'roleRef.apiGroup: Unsupported value'
        unless ($ref->{apiGroup} // '') eq 'rbac.authorization.k8s.io';

    for my $s (@{ $obj->{subjects} // [] }) {
        push @e, 'subjects.namespace: Required value'
            if ($s->{kind} // '') eq 'ServiceAccount' && !$s->{namespace};
        push @e, 'subjects.name: Required value' unless $s->{name};
    }

    return @e;
}

1;
