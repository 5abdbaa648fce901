package GammaBench::Kube;

# The Kubernetes source's side of the propagation benchmarks: the tests'
# fake API server (t/lib/fake-kube-apiserver, HTTPS, bearer token, list
# and watch), loaded with the benchmark mesh, and every change PUT to it
# the way "kubectl replace" sends it.

use strict;
use warnings;

use GammaBench::Mesh ();
use GammaBench::Proc qw(spawn wait_for);
use JSON::PP;
use Mojo::UserAgent;
use YAML::XS ();


sub new {
    my ($class, %o) = @_;

    return bless { %o, url => "https://127.0.0.1:$o{port}" }, $class;
}


sub start {
    my ($self) = @_;

    mkdir $self->{dir};

    $self->{pid} = spawn(
        cmd  => ['perl', "$self->{root}/t/lib/fake-kube-apiserver",
                 '--dir', $self->{dir}, '--port', $self->{port}, '--quiet'],
        cpu  => $self->{cpu},
        name => 'fake-kube-apiserver',
        log  => "$self->{dir}/server.log");

    wait_for("the fake API server on $self->{url}", 60, sub {
        die "the fake API server exited, see $self->{dir}/server.log\n"
            unless GammaBench::Proc::alive($self->{pid});
        -f "$self->{dir}/ca.crt" && $self->control('ping');
    });

    chomp($self->{token} = GammaBench::Mesh::read_file("$self->{dir}/token"));

    return $self;
}


sub stop {
    my ($self) = @_;

    GammaBench::Proc::stop($self->{pid}, 'TERM', 10) if $self->{pid};
    delete $self->{pid};
}


sub ua {
    my ($self) = @_;

    $self->{ua} //= Mojo::UserAgent->new(ca => "$self->{dir}/ca.crt",
                                          request_timeout => 60);

    return $self->{ua};
}


# the fake server's own /_fake/ endpoints
sub control {
    my ($self, $what, $body) = @_;
    my $tx = $self->ua->post("$self->{url}/_fake/$what",
                             json => $body // {});
    my $res = eval { $tx->result };    # dies when nothing listens yet

    return $res && $res->is_success ? $res->json : undef;
}


# the directives of nginx-gamma that read this server
sub directive {
    my ($self) = @_;

    return "kubernetes $self->{url};\n"
           . "    gamma_kubernetes_token_file $self->{dir}/token;\n"
           . "    gamma_kubernetes_ca_file $self->{dir}/ca.crt";
}


# stores objects given as YAML documents, without watch events
sub load {
    my ($self, @yaml) = @_;
    my @objects = map { objects($_) } @yaml;

    $self->control('objects', { objects => \@objects, silent => 1 })
        or die "the fake API server refused the mesh\n";
}


# an HTTPRoute as the API server receives it: PUT of the whole object
sub put_route {
    my ($self, $body) = @_;
    my $m = $body->{metadata};
    my $tx = $self->ua->put(
        "$self->{url}/apis/gateway.networking.k8s.io/v1/namespaces/"
        . "$m->{namespace}/httproutes/$m->{name}",
        { Authorization => "Bearer $self->{token}" }, json => $body);

    $tx->result->is_success
        or die "PUT of the route: " . $tx->result->code . "\n";
}


# YAML documents as JSON-ready data: booleans, and numbers for numerals
sub objects {
    my ($yaml) = @_;

    local $YAML::XS::Boolean = 'JSON::PP';

    return map { numbers($_) } grep { ref } YAML::XS::Load($yaml);
}


sub numbers {
    my ($v) = @_;

    if (ref $v eq 'HASH') {
        $v->{$_} = $_ eq 'value' ? $v->{$_} : numbers($v->{$_})
            for keys %$v;
    } elsif (ref $v eq 'ARRAY') {
        $_ = numbers($_) for @$v;
    } elsif (defined $v && !ref $v && $v =~ /^\d+$/) {
        return $v + 0;
    }

    return $v;
}


1;
