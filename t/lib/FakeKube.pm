package FakeKube;

# The test side of the fake Kubernetes API server (FakeKube::Server):
# makes a CA, certificates, a token and a kubeconfig per run, starts the
# server once per .t file, and drives it through its /_fake/ endpoints.
#
#   use FakeKube;
#   FakeKube::start();                  # before run_tests()
#   FakeKube::reset($yaml);             # the API server's objects
#   FakeKube::kubectl('apply', '-f', $file);
#   FakeKube::control('watches', { action => 'drop' });

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Mojo::JSON qw(encode_json decode_json);
use Mojo::UserAgent;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use YAML::XS ();

our $AdminToken = 'kubectl-admin-token';
our ($Dir, $Port, $Url, $Pid, $Owner);

my $launcher = abs_path(dirname(__FILE__)) . '/fake-kube-apiserver';

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or die "cannot read $path: $!";
    local $/;
    my $s = <$fh>;
    $s =~ s/^\s+|\s+$//g;
    return $s;
}

# writes the way the kubelet and editors do: a new file renamed over
sub write_file {
    my ($path, $body) = @_;
    my $tmp = "$path.tmp$$";
    open my $fh, '>', $tmp or die "cannot write $tmp: $!";
    print $fh $body;
    close $fh;
    rename $tmp, $path or die "cannot rename $tmp: $!";
}

sub openssl {
    my @cmd = ('openssl', @_);
    system("@cmd >/dev/null 2>&1") == 0 or die "failed: @cmd\n";
}

sub make_ca {
    my ($dir, $name) = @_;
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt',
            'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
            '-keyout', "$dir/$name.key", '-out', "$dir/$name.crt",
            '-subj', "/CN=$name", '-addext',
            'basicConstraints=critical,CA:TRUE', '-addext',
            'keyUsage=critical,keyCertSign,cRLSign');
}

# the CA, the server's certificate, another CA, a token, a kubeconfig
sub make_files {
    my ($dir, $port) = @_;

    make_ca($dir, 'ca');
    make_ca($dir, 'other-ca');

    write_file("$dir/server.ext",
               "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               . "basicConstraints=CA:FALSE\n"
               . "extendedKeyUsage=serverAuth\n");
    openssl('req', '-newkey', 'ec', '-pkeyopt',
            'ec_paramgen_curve:prime256v1', '-nodes',
            '-keyout', "$dir/server.key", '-out', "$dir/server.csr",
            '-subj', '/CN=fake-kube-apiserver');
    openssl('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.crt",
            '-CAkey', "$dir/ca.key", '-CAcreateserial', '-days', '2',
            '-extfile', "$dir/server.ext", '-out', "$dir/server.crt");

    write_file("$dir/token", "nginx-token-1\n");
    write_file("$dir/namespace", "fast-clients\n");
    write_kubeconfig($dir, $port);
}

sub write_kubeconfig {
    my ($dir, $port) = @_;

    write_file("$dir/kubeconfig", <<"_EOC_");
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $dir/ca.crt
users:
- name: admin
  user:
    token: $AdminToken
contexts:
- name: fake
  context: {cluster: fake, user: admin}
current-context: fake
_EOC_
}

sub start {
    $Port = $ENV{TEST_NGINX_KUBE_PORT} ||= 19840;
    $Url = "https://127.0.0.1:$Port";
    $Dir = tempdir('fake-kube-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    $Owner = $$;

    make_files($Dir, $Port);

    $ENV{TEST_NGINX_KUBE_DIR} = $Dir;
    $ENV{TEST_NGINX_KUBE_URL} = $Url;

    $Pid = fork // die "fork: $!";

    if ($Pid == 0) {
        exec $^X, $launcher, '--dir', $Dir, '--port', $Port, '--quiet';
        die "cannot run $launcher: $!";
    }

    my $start = time;

    # it took more than 15 s to start on a machine with a load of 15
    while (time - $start < 40) {
        return if eval { control('ping') };
        die "the fake API server exited\n" if waitpid($Pid, WNOHANG) == $Pid;
        sleep 0.05;
    }

    die "the fake API server did not start on $Url: $@";
}

# TERM stops the server gracefully: it waits for the open connections,
# and a watch of an nginx still running (a bail-out leaves it) stays open
sub stop {
    return unless $Pid && $Owner && $Owner == $$;
    kill 'TERM', $Pid;
    my $start = time;
    while (waitpid($Pid, WNOHANG) == 0) {
        kill 'KILL', $Pid if time - $start > 5;
        sleep 0.05;
    }
    $Pid = undef;
}

END { stop() }

my $ua;

sub ua {
    return $ua //= Mojo::UserAgent->new->ca("$Dir/ca.crt")
                       ->request_timeout(20)->inactivity_timeout(20);
}

sub control {
    my ($what, $body) = @_;
    my $tx = ua()->post("$Url/_fake/$what" => json => $body // {});
    my $res = $tx->result;
    die "fake API server: $what: " . $res->code . ' ' . $res->body . "\n"
        unless $res->is_success;
    return $res->json;
}

sub objects {
    my ($yaml) = @_;
    local $YAML::XS::Boolean = 'JSON::PP';
    return [grep { ref } YAML::XS::Load($yaml)];
}

# the API server holds exactly these objects; opt: absent, history_max
sub reset {
    my ($yaml, %opt) = @_;
    return control('reset', { objects => objects($yaml // ''),
                              tokens => [read_file("$Dir/token"),
                                         $AdminToken],
                              %opt });
}

sub upsert {
    my ($yaml, %opt) = @_;
    return control('objects', { objects => objects($yaml), %opt });
}

sub remove {
    my (@keys) = @_;            # "plural/namespace/name"
    return control('delete', { objects => [map {
        my ($plural, $ns, $name) = split m{/};
        { plural => $plural, namespace => $ns, name => $name }
    } @keys] });
}

sub requests {
    return control('log')->{log};
}

# The resources nginx-gamma lists and watches by default, read from the
# module's own table (module/source/gm_kube_resource.c: the plural ends
# each entry), so the suites that count lists and watches follow what the
# module watches; less those a directive has to ask for
# (gm_kube_source.c skips them otherwise).
our %OnDemand = (referencegrants => 'gamma_reference_grants require');

our @Watched = do {
    my $src = read_file(abs_path(dirname(__FILE__))
                        . '/../../module/source/gm_kube_resource.c');
    grep { !$OnDemand{$_} } $src =~ /"([a-z0-9]+)",\s*[01]\s*[,}]/g;
};

die "no resources found in gm_kube_resource.c\n" unless @Watched;

# waits until nginx watches: n streams open (default: one per resource
# watched; one per resource and namespace with gamma_kubernetes_namespaces);
# nginx accepts connections before its first sync
sub wait_watches {
    my ($n, $limit) = @_;
    my $t = wait_until(sub { control('log')->{watches} >= ($n // @Watched) },
                       $limit // 15);
    die "nginx did not start its watches\n" unless defined $t;
    return $t;
}

# kubectl as a user runs it; returns (exit status, output)
sub kubectl {
    my @args = @_;
    my $cmd = "kubectl --kubeconfig=$Dir/kubeconfig --cache-dir=$Dir/kcache";
    my $out = `$cmd @args 2>&1`;
    return ($? >> 8, $out);
}

# The route most suites start from: smiley's traffic to smiley2.
our $Route = <<'_EOY_';
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smiley-route, namespace: faces}
spec:
  parentRefs:
  - {group: "", kind: Service, name: smiley}
  rules:
  - backendRefs:
    - {name: smiley2, port: 18080}
_EOY_

# Points GammaTest's mesh (t/inc) at the fake API server: its
# gamma_source line becomes $source (by default the fake's URL, token and
# CA and a short backoff) followed by $extra.
sub gamma_test_source {
    my (%opt) = @_;
    my $source = $opt{source} // <<'_EOC_';
    gamma_source kubernetes $TEST_NGINX_KUBE_URL;
    gamma_kubernetes_token_file $TEST_NGINX_KUBE_DIR/token;
    gamma_kubernetes_ca_file $TEST_NGINX_KUBE_DIR/ca.crt;
    gamma_kubernetes_backoff 50ms 300ms;
_EOC_

    $GammaTest::HttpConfig =~ s/^\s*gamma_source file:\S+;\n/$source/m
        or die "no gamma_source line in GammaTest's configuration";
    $GammaTest::HttpConfig .= $opt{extra} // '';
}

# Polls the Service at $to on one keep-alive connection until its answer
# says X-Gamma-Backend: $want; returns the seconds it took, or undef.
sub wait_backend {
    my ($to, $want, $limit) = @_;
    my $c = GammaTest::gamma_client(to => $to);

    my $t = wait_until(sub {
        my $res = $c->request('GET', '/');
        return ($res->{headers}{'x-gamma-backend'} // '') eq $want;
    }, $limit // 3);

    $c->close;
    return $t;
}

# polls until $cb returns true, at most $limit seconds; returns the time
# a last look after the limit too: a check that itself took long (a
# loaded fake server) is not the end of the wait
sub wait_until {
    my ($cb, $limit) = @_;
    my $start = time;

    for ( ;; ) {
        my $over = time - $start >= ($limit // 5);
        return time - $start if $cb->();
        return undef if $over;
        sleep 0.02;
    }
}

1;
