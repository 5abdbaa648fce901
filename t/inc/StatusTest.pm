package StatusTest;

# What the status tests (t/09x) share: the routes whose status they check,
# reading an object's status from the fake API server, counting writes
# in its request log, and extra nginx instances started by hand.

use strict;
use warnings;

use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use FakeKube;

our $Ctl = 'nginx-gamma.dev/mesh';

our $Routes = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: valid, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley, port: 18080}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
    controllerName: example.com/other
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: theirs,
       observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-parent, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: nosuch}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-backend, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: face}
  rules:
  - backendRefs:
    - {name: gone, port: 18080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad-filter, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley2}
  rules:
  - filters:
    - type: ExtensionRef
      extensionRef: {group: example.com, kind: Thing, name: x}
    backendRefs:
    - {name: smiley, port: 18080}
_EOY_

our $Gone = <<'_EOY_';
apiVersion: v1
kind: Service
metadata: {name: gone, namespace: faces}
spec:
  clusterIP: 127.10.0.9
  ports:
  - {name: http, port: 18080}
_EOY_

sub get {
    my ($path) = @_;
    my $res = FakeKube::ua()->get("$FakeKube::Url$path" => {
        Authorization => "Bearer $FakeKube::AdminToken" })->result;
    return $res->is_success ? $res->json : undef;
}

sub route {
    my ($name) = @_;
    return get("/apis/gateway.networking.k8s.io/v1/namespaces/faces/"
               . "httproutes/$name");
}

# our entry of a route's status.parents[], or undef
sub ours {
    my ($name) = @_;
    my $r = route($name) or return undef;
    my @e = grep { $_->{controllerName} eq $Ctl }
            @{ $r->{status}{parents} // [] };
    return $e[0];
}

# "type=status/reason" of each condition of our entry, in order
sub conditions {
    my ($name) = @_;
    my $e = ours($name) or return '';
    return join ' ', map { "$_->{type}=$_->{status}/$_->{reason}" }
                     @{ $e->{conditions} };
}

sub lease {
    return get('/apis/coordination.k8s.io/v1/namespaces/faces/leases/'
               . 'gamma-test');
}

# the writes in the fake server's log matching $re
sub writes {
    my ($re) = @_;
    return [grep { $_->{path} =~ $re }
            @{ FakeKube::control('writes')->{writes} }];
}

# --- nginx instances started by hand ----------------------------------

my (%Inst, %Dirs);

sub conf {
    my ($dir, $port) = @_;
    my $mod = $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $load = join '', map { "load_module $_;\n" } split ' ', $mod;
    my $user = $> == 0 ? "user root;\n" : '';

    return <<"_EOC_";
${load}${user}daemon on;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    gamma_source kubernetes $FakeKube::Url;
    gamma_kubernetes_token_file $FakeKube::Dir/token;
    gamma_kubernetes_ca_file $FakeKube::Dir/ca.crt;
    gamma_kubernetes_backoff 50ms 300ms;
    gamma_status_writer on;
    gamma_status_lease faces/gamma-test;
    server {
        listen 127.0.0.1:$port;
        location / { return 204; }
    }
}
_EOC_
}

# starts instance $name listening on 127.0.0.1:$port
sub start {
    my ($name, $port) = @_;
    my $dir = tempdir("status-$name-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    my $bin = $ENV{TEST_NGINX_BINARY} // 'nginx';

    mkdir "$dir/logs";
    open my $fh, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
    print $fh conf($dir, $port);
    close $fh;

    system($bin, '-p', "$dir/", '-c', "$dir/nginx.conf") == 0
        or die "cannot start nginx instance $name";

    $Inst{$name} = $Dirs{$name} = $dir;
    return $dir;
}

sub pid {
    my ($name) = @_;
    open my $fh, '<', "$Inst{$name}/nginx.pid" or return undef;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

# QUIT (a clean stop) or another signal; waits until the master is gone
sub stop {
    my ($name, $sig) = @_;
    my $pid = pid($name) or return;
    kill $sig // 'QUIT', $pid;
    my $start = time;
    while (kill(0, $pid) && time - $start < 10) {
        sleep 0.05;
    }
    delete $Inst{$name};
}

sub error_log {
    my ($name) = @_;
    my $dir = $Dirs{$name} // return '';
    open my $fh, '<', "$dir/error.log" or return '';
    local $/;
    return <$fh>;
}

END { stop($_, 'TERM') for keys %Inst }

1;
