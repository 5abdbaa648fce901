# BackendTLSPolicy (gateway.networking.k8s.io/v1): requests to a backend
# go over TLS, verified against the CA of a ConfigMap (or the system's),
# with validation.hostname as SNI and as the name checked, or against
# subjectAltNames.  The backends are nginx servers with certificates from
# a CA made by openssl when the test starts.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use GammaTest;
use File::Temp qw(tempdir);

our $Dir = tempdir(CLEANUP => 1);
chmod 0755, $Dir;
$ENV{TEST_NGINX_TLS_DIR} = $Dir;

sub openssl {
    my $out = `openssl @_ 2>&1`;
    die "openssl @_: $out" if $?;
}

# a CA, another CA, and a server certificate of the first for
# backend.faces.svc with a URI SAN
sub make_certs {
    for my $ca ('ca', 'other-ca') {
        openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1",
                "-nodes -keyout $Dir/$ca.key -out $Dir/$ca.crt -days 2",
                "-subj /CN=gamma-test-$ca");
    }

    open my $fh, '>', "$Dir/san.ext" or die;
    print $fh "subjectAltName=DNS:backend.faces.svc,"
            . "URI:spiffe://cluster.local/ns/faces/sa/secure\n";
    close $fh;

    openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes",
            "-keyout $Dir/server.key -out $Dir/server.csr",
            "-subj /CN=backend.faces.svc");
    openssl("x509 -req -in $Dir/server.csr -CA $Dir/ca.crt",
            "-CAkey $Dir/ca.key -CAcreateserial -out $Dir/server.crt",
            "-days 2 -extfile $Dir/san.ext");
    chmod 0644, glob("$Dir/*");
}

make_certs();

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    return <$fh>;
}

no_shuffle();
log_level('info');
gamma_mesh_config();

# the TLS backends: one keeps connections alive, one closes each
our $Servers = <<'_EOC_';
    server {
        listen 127.11.6.1:18443 ssl;
        ssl_certificate $TEST_NGINX_TLS_DIR/server.crt;
        ssl_certificate_key $TEST_NGINX_TLS_DIR/server.key;
        access_log off;
        return 200 "tls sni=$ssl_server_name conn=$connection reused=$ssl_session_reused\n";
    }

    server {
        listen 127.11.6.2:18443 ssl;
        ssl_certificate $TEST_NGINX_TLS_DIR/server.crt;
        ssl_certificate_key $TEST_NGINX_TLS_DIR/server.key;
        keepalive_timeout 0;
        access_log off;
        return 200 "tls sni=$ssl_server_name reused=$ssl_session_reused\n";
    }
_EOC_

# Services secure (-> 127.11.6.1:18443) and secure2 (-> 127.11.6.2:18443)
sub secure {
    my $y = '';

    for my $i (1, 2) {
        my $name = $i == 1 ? 'secure' : 'secure2';
        $y .= <<"_EOY_";
---
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: faces}
spec:
  clusterIP: 127.10.6.$i
  ports:
  - {name: https, port: 18080, targetPort: 18443}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name-abcde
  namespace: faces
  labels: {kubernetes.io/service-name: $name}
addressType: IPv4
ports:
- {name: https, port: 18443}
endpoints:
- addresses: [127.11.6.$i]
_EOY_
    }

    return $y;
}

# a ConfigMap holding the bundle of file $ca
sub ca_map {
    my ($name, $ca) = @_;
    my $pem = slurp("$Dir/$ca.crt");
    $pem =~ s/^/    /mg;

    return <<"_EOY_";
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: $name
  namespace: faces
  labels: {policy.nginx-gamma.dev/ca-bundle: "true"}
data:
  ca.crt: |
$pem
_EOY_
}

# a BackendTLSPolicy on $svc; $validation: the rest of spec.validation
sub policy {
    my ($name, $svc, $validation, %opt) = @_;
    my $ts = $opt{created} // '2026-01-01T00:00:00Z';
    my $v = $opt{version} // 'v1';
    $validation =~ s/^/    /mg;

    return <<"_EOY_";
---
apiVersion: gateway.networking.k8s.io/$v
kind: BackendTLSPolicy
metadata: {name: $name, namespace: faces, creationTimestamp: "$ts"}
spec:
  targetRefs:
  - {group: "", kind: Service, name: $svc}
  validation:
$validation
_EOY_
}

our $Refs = "caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}]";

sub mesh { $GammaTest::Base . secure() . join('', @_) }

run_tests();

__DATA__

=== TEST 1: verified against the ConfigMap's CA, SNI from validation.hostname
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("tls", "secure", "hostname: backend.faces.svc\n$main::Refs"))]]
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- response_body_like: ^tls sni=backend\.faces\.svc conn=\d+ reused=\.$
--- response_headers
X-Gamma-Backend: faces/secure:18080



=== TEST 2: a backend without a policy keeps plain HTTP
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("tls", "secure", "hostname: backend.faces.svc\n$main::Refs"))]]
--- request
GET /plain
--- more_headers
X-Test-To: 127.10.0.3:18080
--- response_body
pod 127.11.0.3:18090 GET /plain host=127.10.0.3:18080



=== TEST 3: a certificate of another CA: 502, and the log says why
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "other-ca"),
  main::policy("tls", "secure", "hostname: backend.faces.svc\n$main::Refs"))]]
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- error_code: 502
--- error_log
gamma: backend faces/secure:18080: the certificate does not verify against the CA of BackendTLSPolicy faces/tls
[crit]
SSL_do_handshake() failed (SSL: error:0A000086:SSL routines::certificate verify failed) while SSL handshaking to upstream



=== TEST 4: a hostname the certificate does not cover: 502
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("tls", "secure", "hostname: other.faces.svc\n$main::Refs"))]]
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- error_code: 502
--- error_log
gamma: backend faces/secure:18080: the certificate matches no name of BackendTLSPolicy faces/tls (validation.hostname other.faces.svc)
[crit]



=== TEST 5: subjectAltNames: a Hostname SAN matches though the hostname does not
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("tls", "secure", <<"_V_"))]]
hostname: sni.example
$main::Refs
subjectAltNames:
- {type: Hostname, hostname: backend.faces.svc}
_V_
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- response_body_like: ^tls sni=sni\.example conn=



=== TEST 6: subjectAltNames: a URI SAN matches
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("tls", "secure", <<"_V_"))]]
hostname: backend.faces.svc
$main::Refs
subjectAltNames:
- {type: URI, uri: "spiffe://cluster.local/ns/faces/sa/secure"}
_V_
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- response_body_like: ^tls sni=backend\.faces\.svc



=== TEST 7: subjectAltNames that do not match: 502, even with the right hostname
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("tls", "secure", <<"_V_"))]]
hostname: backend.faces.svc
$main::Refs
subjectAltNames:
- {type: URI, uri: "spiffe://cluster.local/ns/other/sa/x"}
- {type: Hostname, hostname: other.faces.svc}
_V_
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- error_code: 502
--- error_log
the certificate matches no name of BackendTLSPolicy faces/tls (subjectAltNames, first spiffe://cluster.local/ns/other/sa/x)
[crit]



=== TEST 8: a CA ConfigMap that does not exist: 502 (never plain text), then added: TLS, no reload
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(
  main::policy("tls", "secure", "hostname: backend.faces.svc\n$main::Refs"))]]
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.6.1:18080');
my $res = $c->request('GET', '/');
Test::More::is($res->{status}, 502, 'no CA yet: 502');
$c->close;
GammaTest::gamma_write("$ENV{TEST_NGINX_SERVER_ROOT}/html/mesh/ca.yaml",
                       main::ca_map("ca", "ca"));
Time::HiRes::sleep(0.5);
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- response_body_like: ^tls sni=backend\.faces\.svc
--- error_log
gamma: backend faces/secure:18080 needs TLS (BackendTLSPolicy faces/tls) but CA ConfigMap faces/ca does not exist, answering 502



=== TEST 9: wellKnownCACertificates System: the test CA is not in it, 502
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::policy("tls", "secure",
  "hostname: backend.faces.svc\nwellKnownCACertificates: System"))]]
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- error_code: 502
--- error_log
does not verify against the CA of BackendTLSPolicy faces/tls
[crit]



=== TEST 10: two policies on one Service: the older applies (v1alpha3 read too)
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("young", "secure", "hostname: other.faces.svc\n$main::Refs",
               created => '2026-02-01T00:00:00Z'),
  main::policy("old", "secure", "hostname: backend.faces.svc\n$main::Refs",
               created => '2026-01-01T00:00:00Z', version => 'v1alpha3'))]]
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- response_body_like: ^tls sni=backend\.faces\.svc
--- error_log
BackendTLSPolicy faces/young: faces/secure:18080 already has the older BackendTLSPolicy faces/old, conflicted



=== TEST 11: connections to the backend stay alive across requests
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("tls", "secure", "hostname: backend.faces.svc\n$main::Refs"))]]
--- init
GammaTest::gamma_wait_synced();
my $c = GammaTest::gamma_client(to => '127.10.6.1:18080');
my @conn = map { ($c->request('GET', '/')->{body} =~ /conn=(\d+)/)[0] } 1 .. 3;
Test::More::ok(defined $conn[0] && $conn[0] eq $conn[1] && $conn[1] eq $conn[2],
               "one backend connection for three requests (@conn)");
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.1:18080
--- response_body_like: ^tls sni=backend\.faces\.svc



=== TEST 12: a new connection resumes the TLS session
--- http_config eval: $main::Servers
--- user_files eval
[["mesh/base.yaml", main::mesh(main::ca_map("ca", "ca"),
  main::policy("tls", "secure2", "hostname: backend.faces.svc\n$main::Refs"))]]
--- init
GammaTest::gamma_wait_synced();
# one client connection: one worker, whose session cache is its own
my $c = GammaTest::gamma_client(to => '127.10.6.2:18080');
my $first = $c->request('GET', '/')->{body};
my $second = $c->request('GET', '/')->{body};
Test::More::like($first, qr/reused=\.$/, 'the first handshake is a full one');
Test::More::like($second, qr/reused=r$/,
                 'the next connection resumes the session');
--- request
GET /
--- more_headers
X-Test-To: 127.10.6.2:18080
--- response_body_like: ^tls sni=backend\.faces\.svc reused=
