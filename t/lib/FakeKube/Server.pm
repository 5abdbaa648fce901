package FakeKube::Server;

# A fake Kubernetes API server for the tests (spec/kube-api.md, B.13):
# HTTPS, bearer tokens, discovery, list with pagination, watch streams with
# bookmarks, create/replace/patch/delete (enough for kubectl apply and
# delete), and fault injection driven through /_fake/... endpoints.
#
# State: one global revision; objects keyed by resource, namespace, name;
# a bounded history of events per resource for watches to replay.

use strict;
use warnings;

use Mojo::Base 'Mojolicious', -signatures;
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json encode_json true false);
use Mojo::Util qw(b64_encode b64_decode);
use Storable qw(dclone);
use Time::HiRes qw(time);

use FakeKube::DryRun;

# resource plural => what it is; the first version is the storage version
our %Resources = (
    services => { group => '', versions => ['v1'], kind => 'Service',
                  builtin => 1, short => ['svc'] },
    configmaps => { group => '', versions => ['v1'], kind => 'ConfigMap',
                    builtin => 1, short => ['cm'] },
    endpointslices => { group => 'discovery.k8s.io', versions => ['v1'],
                        kind => 'EndpointSlice', builtin => 1 },
    httproutes => { group => 'gateway.networking.k8s.io',
                    versions => ['v1', 'v1beta1'], kind => 'HTTPRoute' },
    grpcroutes => { group => 'gateway.networking.k8s.io',
                    versions => ['v1'], kind => 'GRPCRoute' },
    referencegrants => { group => 'gateway.networking.k8s.io',
                         versions => ['v1beta1', 'v1'],
                         kind => 'ReferenceGrant' },
    backendtlspolicies => { group => 'gateway.networking.k8s.io',
                            versions => ['v1'], kind => 'BackendTLSPolicy' },
    leases => { group => 'coordination.k8s.io', versions => ['v1'],
                kind => 'Lease' },
    xmeshes => { group => 'gateway.networking.x-k8s.io',
                 versions => ['v1alpha1'], kind => 'XMesh', cluster => 1 },
    xbackendtrafficpolicies => { group => 'gateway.networking.x-k8s.io',
                                 versions => ['v1alpha1'],
                                 kind => 'XBackendTrafficPolicy' },
    trafficpolicies => { group => 'policy.nginx-gamma.dev',
                         versions => ['v1alpha1'], kind => 'TrafficPolicy' },
);

# the kinds of the deployment manifests, for discovery and dry runs
FakeKube::DryRun::register(\%Resources);

# merge keys of strategic merge patch lists, by field name
my %MergeKey = (ports => 'port', containers => 'name', env => 'name',
                volumes => 'name', volumeMounts => 'mountPath');

has state => sub { {} };

sub startup ($self) {
    $self->reset_state({});
    $self->routes->any('/*rest' => { rest => '' } => sub ($c) {
        $self->dispatch_request($c);
    });
    $self->routes->any('/' => sub ($c) { $self->dispatch_request($c) });
}

sub reset_state ($self, $opt) {
    my $st = $self->state;

    for my $w (values %{ $st->{watches} // {} }) {
        $self->end_watch($w, 'drop');
    }

    Mojo::IOLoop->remove($st->{bookmark_timer}) if $st->{bookmark_timer};
    Mojo::IOLoop->remove($st->{stream}{timer}) if $st->{stream};

    %$st = (
        rev => $st->{rev} // 1000,      # keeps growing across resets
        objects => {},                  # plural => "ns/name" => object
        history => {},                  # plural => [ { rev, type, obj, old } ]
        compacted => {},                # plural => history starts after it
        history_max => $opt->{history_max} // 10000,
        watches => {},
        watch_id => 0,
        tokens => $opt->{tokens} // $st->{tokens} // [],
        absent => { map { $_ => 1 } @{ $opt->{absent} // [] } },
        rules => $opt->{rules} // [],
        log => [],
        snapshots => {},
        split => $opt->{split} // 1,
    );

    # "bookmark_every": seconds between bookmarks on every open watch
    # (frozen ones and the plurals of "bookmark_skip" aside), as a real API
    # server sends them now and then
    if ($opt->{bookmark_every}) {
        my %skip = map { $_ => 1 } @{ $opt->{bookmark_skip} // [] };
        $st->{bookmark_timer} = Mojo::IOLoop->recurring(
            $opt->{bookmark_every} => sub {
                for my $w (values %{ $st->{watches} }) {
                    $self->send_bookmark($w)
                        if $w->{bookmarks} && !$skip{ $w->{plural} };
                }
            });
    }
}

sub dispatch_request ($self, $c) {
    my $path = $c->req->url->path->to_string;
    my $method = $c->req->method;

    if ($path =~ m{^/_fake/(.*)$}) {
        return $self->control($c, $1);
    }

    my $token = ($c->req->headers->authorization // '') =~ /^Bearer\s+(\S+)/
                ? $1 : '';

    push @{ $self->state->{log} }, {
        time => time, method => $method, path => $path,
        query => $c->req->url->query->to_string, token => $token,
    };

    my $tokens = $self->state->{tokens};

    if (@$tokens && !grep { $_ eq $token } @$tokens) {
        return $self->status($c, 401, 'Unauthorized', 'Unauthorized');
    }

    return if $self->injected_fault($c, $method, $path);

    return $self->discovery($c, $path) if $method eq 'GET'
        && $path =~ m{^/(api|apis|version|openapi)(/|$)}
        && !$self->parse_path($path);

    my $p = $self->parse_path($path)
        or return $self->status($c, 404, 'NotFound',
                                'the server could not find the requested '
                                . 'resource');

    if ($self->state->{absent}{ $p->{plural} }) {
        return $self->status($c, 404, 'NotFound',
                             'the server could not find the requested '
                             . 'resource');
    }

    return if FakeKube::DryRun::handle($self, $c, $p);

    if (!defined $p->{name}) {
        return $self->watch($c, $p) if $method eq 'GET'
            && ($c->param('watch') // '') =~ /^(1|true)$/;
        return $self->list($c, $p) if $method eq 'GET';
        return $self->create($c, $p) if $method eq 'POST';
        return $self->status($c, 405, 'MethodNotAllowed',
                             "$method is not allowed on a collection");
    }

    return $self->status_subresource($c, $p, $method) if $p->{subresource};
    return $self->get_object($c, $p) if $method eq 'GET';
    return $self->replace($c, $p) if $method eq 'PUT';
    return $self->patch($c, $p) if $method eq 'PATCH';
    return $self->delete_object($c, $p) if $method eq 'DELETE';

    return $self->status($c, 405, 'MethodNotAllowed', "$method");
}

# /api/v1[/namespaces/ns]/plural[/name], /apis/g/v[/namespaces/ns]/plural...
sub parse_path ($self, $path) {
    my ($group, $version, $rest);

    if ($path =~ m{^/api/(v1)/(.+)$}) {
        ($group, $version, $rest) = ('', $1, $2);
    } elsif ($path =~ m{^/apis/([^/]+)/([^/]+)/(.+)$}) {
        ($group, $version, $rest) = ($1, $2, $3);
    } else {
        return undef;
    }

    my @seg = split m{/}, $rest;
    my $ns;

    if (@seg >= 3 && $seg[0] eq 'namespaces') {
        $ns = $seg[1];
        splice @seg, 0, 2;
    }

    my $sub = @seg == 3 && $seg[2] eq 'status' ? pop @seg : undef;
    return undef if @seg < 1 || @seg > 2;

    my $res = $Resources{ $seg[0] } or return undef;
    return undef if $res->{group} ne $group
        || !grep { $_ eq $version } @{ $res->{versions} };

    $ns //= '' if $res->{cluster};

    return { plural => $seg[0], res => $res, ns => $ns, name => $seg[1],
             version => $version, subresource => $sub,
             api_version => $group eq '' ? $version : "$group/$version" };
}

# --- discovery -------------------------------------------------------

sub discovery ($self, $c, $path) {
    my $st = $self->state;

    if ($path eq '/version') {
        return $c->render(json => { major => '1', minor => '30',
                                    gitVersion => 'v1.30.0-fake',
                                    platform => 'linux/amd64' });
    }

    if ($path eq '/api') {
        return $c->render(json => { kind => 'APIVersions',
                                    versions => ['v1'] });
    }

    my %groups;
    for my $plural (sort keys %Resources) {
        my $r = $Resources{$plural};
        next if $r->{group} eq '' || $st->{absent}{$plural};
        for my $v (@{ $r->{versions} }) {
            $groups{ $r->{group} }{$v} = 1;
        }
    }

    if ($path eq '/apis') {
        my @list = map {
            my $g = $_;
            my @v = map { { groupVersion => "$g/$_", version => $_ } }
                    sort keys %{ $groups{$g} };
            { name => $g, versions => \@v, preferredVersion => $v[0] };
        } sort keys %groups;

        return $c->render(json => { kind => 'APIGroupList',
                                    apiVersion => 'v1', groups => \@list });
    }

    if ($path =~ m{^/api/(v1)$} || $path =~ m{^/apis/([^/]+/[^/]+)$}) {
        my $gv = $1;
        my @res;

        for my $plural (sort keys %Resources) {
            my $r = $Resources{$plural};
            next if $st->{absent}{$plural};
            for my $v (@{ $r->{versions} }) {
                my $rgv = $r->{group} eq '' ? $v : "$r->{group}/$v";
                next if $rgv ne $gv;
                push @res, {
                    name => $plural, singularName => lc $r->{kind},
                    namespaced => $r->{cluster} ? false : true,
                    kind => $r->{kind},
                    verbs => [qw(create delete deletecollection get list
                                 patch update watch)],
                    ($r->{short} ? (shortNames => $r->{short}) : ()),
                };
            }
        }

        return $self->status($c, 404, 'NotFound', 'no such group version')
            unless @res;

        return $c->render(json => { kind => 'APIResourceList',
                                    apiVersion => 'v1',
                                    groupVersion => $gv,
                                    resources => \@res });
    }

    return $self->status($c, 404, 'NotFound',
                         'the server could not find the requested resource');
}

# --- objects ---------------------------------------------------------

sub status ($self, $c, $code, $reason, $message, $details = undef) {
    $c->res->headers->content_type('application/json');
    return $c->render(status => $code, json => {
        kind => 'Status', apiVersion => 'v1', metadata => {},
        status => $code < 300 ? 'Success' : 'Failure',
        message => $message, reason => $reason, code => $code,
        ($details ? (details => $details) : ()),
    });
}

sub served ($self, $p, $obj) {
    my $o = dclone($obj);
    $o->{apiVersion} = $p->{api_version};
    $o->{kind} = $p->{res}{kind};
    return $o;
}

sub get_object ($self, $c, $p) {
    my $obj = $self->state->{objects}{ $p->{plural} }{"$p->{ns}/$p->{name}"};

    return $self->not_found($c, $p) unless $obj;
    return $c->render(json => $self->served($p, $obj));
}

sub not_found ($self, $c, $p) {
    return $self->status($c, 404, 'NotFound',
                         "$p->{plural} \"$p->{name}\" not found",
                         { name => $p->{name}, kind => $p->{plural} });
}

sub body_json ($self, $c) {
    my $body = eval { decode_json($c->req->body) };
    return ref $body eq 'HASH' ? $body : undef;
}

sub create ($self, $c, $p) {
    my $obj = $self->body_json($c)
        or return $self->status($c, 400, 'BadRequest', 'invalid body');

    my $name = $obj->{metadata}{name}
        or return $self->status($c, 422, 'Invalid', 'metadata.name: Required');
    my $ns = $p->{ns} // $obj->{metadata}{namespace} // 'default';

    if ($self->state->{objects}{ $p->{plural} }{"$ns/$name"}) {
        return $self->status($c, 409, 'AlreadyExists',
                             "$p->{plural} \"$name\" already exists");
    }

    $obj->{metadata}{namespace} = $ns;
    my $new = $self->store($p->{plural}, $obj);

    return $c->render(status => 201, json => $self->served($p, $new));
}

sub replace ($self, $c, $p) {
    my $obj = $self->body_json($c)
        or return $self->status($c, 400, 'BadRequest', 'invalid body');
    my $old = $self->state->{objects}{ $p->{plural} }{"$p->{ns}/$p->{name}"};

    return $self->not_found($c, $p) unless $old;

    my $rv = $obj->{metadata}{resourceVersion};
    if (defined $rv && $rv ne '' && $rv ne $old->{metadata}{resourceVersion}) {
        return $self->status($c, 409, 'Conflict', 'the object has been '
                             . 'modified; please apply your changes to the '
                             . 'latest version and try again');
    }

    $obj->{metadata}{name} = $p->{name};
    $obj->{metadata}{namespace} = $p->{ns};

    return $c->render(json => $self->served($p,
                                            $self->store($p->{plural}, $obj)));
}

sub patch ($self, $c, $p) {
    my $old = $self->state->{objects}{ $p->{plural} }{"$p->{ns}/$p->{name}"};
    return $self->not_found($c, $p) unless $old;

    my $type = $c->req->headers->content_type // '';
    my $patch = eval { decode_json($c->req->body) };
    my $new = dclone($old);

    if ($type =~ /json-patch/) {
        $new = json_patch($new, $patch)
            // return $self->status($c, 422, 'Invalid', 'bad JSON patch');
    } elsif (ref $patch eq 'HASH') {
        $new = merge_patch($new, $patch, $type =~ /strategic/ ? 1 : 0);
    } else {
        return $self->status($c, 400, 'BadRequest', 'invalid patch');
    }

    $new->{metadata}{name} = $p->{name};
    $new->{metadata}{namespace} = $p->{ns};

    return $c->render(json => $self->served($p,
                                            $self->store($p->{plural}, $new)));
}

sub delete_object ($self, $c, $p) {
    my $obj = $self->remove($p->{plural}, $p->{ns}, $p->{name})
        or return $self->not_found($c, $p);

    return $self->status($c, 200, undef, undef, {
        name => $p->{name}, kind => $p->{plural},
        uid => $obj->{metadata}{uid} });
}

# --- the /status subresource ----------------------------------------
# PUT replaces .status only, PATCH merges into it (merge patch); both keep
# .spec and metadata.generation, and a resourceVersion that is not the
# current one is a 409, as for the API server's CRDs with a status
# subresource.  Every write is in the request log (method, path).

sub status_subresource ($self, $c, $p, $method) {
    my $old = $self->state->{objects}{ $p->{plural} }{"$p->{ns}/$p->{name}"};

    return $self->not_found($c, $p) unless $old;
    return $c->render(json => $self->served($p, $old)) if $method eq 'GET';
    return $self->status($c, 405, 'MethodNotAllowed', "$method")
        unless $method eq 'PUT' || $method eq 'PATCH';

    my $body = $self->body_json($c)
        or return $self->status($c, 400, 'BadRequest', 'invalid body');
    my $rv = $body->{metadata}{resourceVersion};

    if (defined $rv && $rv ne '' && $rv ne $old->{metadata}{resourceVersion}) {
        return $self->status($c, 409, 'Conflict', 'Operation cannot be '
                             . "fulfilled on $p->{plural} \"$p->{name}\": "
                             . 'the object has been modified; please apply '
                             . 'your changes to the latest version and try '
                             . 'again');
    }

    my $new = dclone($old);
    $new->{status} = $method eq 'PUT'
                     ? $body->{status} // {}
                     : merge_patch($new->{status} // {}, $body->{status} // {},
                                   0);

    return $c->render(json => $self->served($p,
                                            $self->store_status($p, $new)));
}

# a new version with the same generation: status changes do not bump it
sub store_status ($self, $p, $obj) {
    my $st = $self->state;
    my $key = "$p->{ns}/$p->{name}";
    my $old = $st->{objects}{ $p->{plural} }{$key};

    $obj->{metadata}{resourceVersion} = '' . ++$st->{rev};
    $st->{objects}{ $p->{plural} }{$key} = $obj;
    $self->record($p->{plural}, 'MODIFIED', $obj, $old, 0);

    return $obj;
}

# the writes of the request log: [{method, path, time}], for tests to count
sub writes ($self) {
    return [ map { { method => $_->{method}, path => $_->{path},
                     time => $_->{time}, token => $_->{token} } }
             grep { $_->{method} ne 'GET' } @{ $self->state->{log} } ];
}

# stores a new version of an object and tells the watches
sub store ($self, $plural, $obj, $silent = 0) {
    my $st = $self->state;
    my $key = "$obj->{metadata}{namespace}/$obj->{metadata}{name}";
    my $old = $st->{objects}{$plural}{$key};
    my $res = $Resources{$plural};

    $obj = dclone($obj);
    $obj->{apiVersion} = $res->{group} eq ''
                         ? $res->{versions}[0]
                         : "$res->{group}/$res->{versions}[0]";
    $obj->{kind} = $res->{kind};

    my $m = $obj->{metadata};
    $m->{resourceVersion} = '' . ++$st->{rev};
    $m->{uid} = $old ? $old->{metadata}{uid}
                     : sprintf('00000000-0000-4000-8000-%012d', $st->{rev});
    $m->{creationTimestamp} = $old ? $old->{metadata}{creationTimestamp}
                                   : $m->{creationTimestamp}
                                     // utc_now();
    $m->{generation} = $old ? ($old->{metadata}{generation} // 1) + 1 : 1;
    default_route($obj) if $res->{kind} eq 'HTTPRoute';

    $st->{objects}{$plural}{$key} = $obj;
    $self->record($plural, $old ? 'MODIFIED' : 'ADDED', $obj, $old, $silent);

    return $obj;
}

sub remove ($self, $plural, $ns, $name, $silent = 0) {
    my $st = $self->state;
    my $old = delete $st->{objects}{$plural}{"$ns/$name"} or return undef;

    my $obj = dclone($old);
    $obj->{metadata}{resourceVersion} = '' . ++$st->{rev};
    $self->record($plural, 'DELETED', $obj, $old, $silent);

    return $obj;
}

sub utc_now {
    my @t = gmtime;
    return sprintf '%04d-%02d-%02dT%02d:%02d:%02dZ', $t[5] + 1900, $t[4] + 1,
                   @t[3, 2, 1, 0];
}

# what the API server's CRD schema defaults
# (of what has the schema's types: a test may store wrong ones)
sub default_route ($obj) {
    my $spec = $obj->{spec} //= {};
    my $list = sub ($v) { ref $v eq 'ARRAY' ? @$v : () };

    return if ref $spec ne 'HASH';

    for my $pr (grep { ref eq 'HASH' } $list->($spec->{parentRefs})) {
        $pr->{group} //= 'gateway.networking.k8s.io';
        $pr->{kind} //= 'Gateway';
    }

    for my $rule (grep { ref eq 'HASH' } $list->($spec->{rules})) {
        $rule->{matches} //= [{ path => { type => 'PathPrefix',
                                          value => '/' } }];
        for my $b (grep { ref eq 'HASH' } $list->($rule->{backendRefs})) {
            $b->{group} //= '';
            $b->{kind} //= 'Service';
            $b->{weight} //= 1;
        }
    }
}

sub record ($self, $plural, $type, $obj, $old, $silent) {
    my $st = $self->state;
    my $h = $st->{history}{$plural} //= [];
    my $ev = { rev => $st->{rev}, type => $type, obj => $obj, old => $old };

    if ($silent) {
        # a change the watches never see: their history is gone with it
        @$h = ();
        $st->{compacted}{$plural} = $st->{rev};
        return;
    }

    push @$h, $ev;

    while (@$h > $st->{history_max}) {
        my $e = shift @$h;
        $st->{compacted}{$plural} = $e->{rev};
    }

    for my $w (values %{ $st->{watches} }) {
        $self->deliver($w, $ev) if $w->{plural} eq $plural;
    }
}

# --- patches ---------------------------------------------------------

sub merge_patch ($target, $patch, $strategic, $field = '') {
    return dclone($patch) if ref $patch ne 'HASH';

    if ($strategic && ($patch->{'$patch'} // '') eq 'replace') {
        my %p = %$patch;
        delete $p{'$patch'};
        return dclone(\%p);
    }

    $target = {} if ref $target ne 'HASH';

    for my $k (sort keys %$patch) {
        my $v = $patch->{$k};

        if ($strategic && $k =~ /^\$/) {
            if ($k eq '$retainKeys') {
                my %keep = map { $_ => 1 } @$v;
                delete $target->{$_} for grep { !$keep{$_} } keys %$target;
            } elsif ($k =~ m{^\$deleteFromPrimitiveList/(.+)$}) {
                my %del = map { $_ => 1 } @$v;
                $target->{$1} = [grep { !$del{$_} } @{ $target->{$1} // [] }];
            }
            next;
        }

        if (!defined $v) {
            delete $target->{$k};
        } elsif (ref $v eq 'HASH') {
            $target->{$k} = merge_patch($target->{$k}, $v, $strategic, $k);
        } elsif ($strategic && ref $v eq 'ARRAY' && $MergeKey{$k}
                 && ref $target->{$k} eq 'ARRAY') {
            $target->{$k} = merge_list($target->{$k}, $v, $MergeKey{$k});
        } else {
            $target->{$k} = dclone([$v])->[0];
        }
    }

    return $target;
}

sub merge_list ($old, $patch, $key) {
    my @out = map { dclone($_) } @$old;

    for my $item (@$patch) {
        next if ref $item ne 'HASH';
        my ($i) = grep { ($out[$_]{$key} // '') eq ($item->{$key} // '') }
                  0 .. $#out;

        if (($item->{'$patch'} // '') eq 'delete') {
            splice @out, $i, 1 if defined $i;
        } elsif (defined $i) {
            $out[$i] = merge_patch($out[$i], $item, 1);
        } else {
            push @out, merge_patch({}, $item, 1);
        }
    }

    return \@out;
}

sub json_patch ($doc, $ops) {
    return undef if ref $ops ne 'ARRAY';

    for my $op (@$ops) {
        my @path = map { s/~1/\//gr =~ s/~0/~/gr }
                   grep { length } split m{/}, $op->{path} // '';
        my $last = pop @path // return undef;
        my $node = $doc;

        for my $seg (@path) {
            $node = ref $node eq 'ARRAY' ? $node->[$seg] : $node->{$seg};
            return undef unless ref $node;
        }

        if ($op->{op} =~ /^(add|replace)$/) {
            if (ref $node eq 'ARRAY') {
                $last = @$node if $last eq '-';
                if ($op->{op} eq 'add') {
                    splice @$node, $last, 0, $op->{value};
                } else {
                    $node->[$last] = $op->{value};
                }
            } else {
                $node->{$last} = $op->{value};
            }
        } elsif ($op->{op} eq 'remove') {
            ref $node eq 'ARRAY' ? splice(@$node, $last, 1)
                                 : delete $node->{$last};
        } elsif ($op->{op} ne 'test') {
            return undef;
        }
    }

    return $doc;
}

# --- selectors -------------------------------------------------------

sub parse_selector ($text) {
    my @req;
    $text //= '';

    while ($text =~ /\G\s*([^,()]+?(?:\([^)]*\))?)\s*(?:,|$)/gc) {
        my $t = $1;
        if ($t =~ /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/) {
            push @req, [$2, $1, [map { s/^\s+|\s+$//gr } split /,/, $3]];
        } elsif ($t =~ /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/) {
            push @req, [$2 eq '!=' ? 'ne' : 'eq', $1, $3];
        } elsif ($t =~ /^!\s*(\S+)$/) {
            push @req, ['absent', $1];
        } elsif ($t =~ /^(\S+)$/) {
            push @req, ['exists', $1];
        }
        last if pos($text) >= length $text;
    }

    return \@req;
}

sub labels_match ($req, $labels) {
    $labels //= {};

    for my $r (@$req) {
        my ($op, $k, $v) = @$r;
        my $have = $labels->{$k};
        return 0 if $op eq 'eq' && (!defined $have || $have ne $v);
        return 0 if $op eq 'ne' && defined $have && $have eq $v;
        return 0 if $op eq 'exists' && !defined $have;
        return 0 if $op eq 'absent' && defined $have;
        return 0 if $op eq 'in'
                    && (!defined $have || !grep { $_ eq $have } @$v);
        return 0 if $op eq 'notin' && defined $have && grep { $_ eq $have } @$v;
    }

    return 1;
}

sub fields_match ($text, $obj) {
    for my $t (split /,/, $text // '') {
        my ($k, $op, $v) = $t =~ /^([^!=]+)(==|=|!=)(.*)$/ or next;
        my $have = $k eq 'metadata.name' ? $obj->{metadata}{name}
                 : $k eq 'metadata.namespace' ? $obj->{metadata}{namespace}
                 : undef;
        next unless defined $have;
        return 0 if ($op eq '!=') == ($have eq $v);
    }

    return 1;
}

sub filter ($self, $c, $p) {
    my $labels = parse_selector($c->param('labelSelector'));
    my $fields = $c->param('fieldSelector');

    return sub ($obj) {
        return 0 if !$obj;
        return 0 if defined $p->{ns} && $obj->{metadata}{namespace} ne $p->{ns};
        return labels_match($labels, $obj->{metadata}{labels})
               && fields_match($fields, $obj);
    };
}

# --- list ------------------------------------------------------------

sub list ($self, $c, $p) {
    my $st = $self->state;
    my $limit = $c->param('limit') // 0;
    my $cont = $c->param('continue');
    my ($items, $rv, $offset);

    if (defined $cont && $cont ne '') {
        my ($id, $off) = split /:/, (b64_decode($cont) // ''), 2;
        my $snap = $st->{snapshots}{ $id // '' };

        return $self->status($c, 410, 'Expired', 'The provided continue '
            . 'parameter is too old to display a consistent list result. '
            . 'You can start a new list without the continue parameter.')
            unless $snap;

        ($items, $rv, $offset) = (@$snap, $off);
    } else {
        my $match = $self->filter($c, $p);
        my $objs = $st->{objects}{ $p->{plural} } // {};
        $items = [map { $objs->{$_} } grep { $match->($objs->{$_}) }
                  sort keys %$objs];
        $rv = '' . $st->{rev};
        $offset = 0;
    }

    my $end = $limit > 0 && $offset + $limit < @$items
              ? $offset + $limit : scalar @$items;
    my %meta = (resourceVersion => $rv);

    if ($end < @$items) {
        my $id = ++$st->{snapshot_id};
        $st->{snapshots}{$id} = [$items, $rv];
        $meta{continue} = b64_encode("$id:$end", '');
        $meta{remainingItemCount} = @$items - $end;
    }

    my @out = map {
        my $o = $self->served($p, $_);
        # built-in list items carry no kind or apiVersion
        delete @$o{qw(kind apiVersion)} if $p->{res}{builtin};
        $o;
    } @$items[$offset .. $end - 1];

    return $c->render(json => { kind => "$p->{res}{kind}List",
                                apiVersion => $p->{api_version},
                                metadata => \%meta, items => \@out });
}

# --- watch -----------------------------------------------------------

sub watch ($self, $c, $p) {
    my $st = $self->state;
    my $rv = $c->param('resourceVersion') // '';
    my $initial = ($c->param('sendInitialEvents') // '') eq 'true';

    if (defined $c->param('resourceVersionMatch') && !$initial) {
        return $self->status($c, 400, 'BadRequest', 'resourceVersionMatch is '
            . 'forbidden for watch unless sendInitialEvents is provided');
    }

    my $w = {
        id => ++$st->{watch_id}, c => $c, plural => $p->{plural}, p => $p,
        match => $self->filter($c, $p),
        bookmarks => ($c->param('allowWatchBookmarks') // '') eq 'true',
        queue => [], stalled => $self->take_rule('watch', $p, 'stall'),
    };

    $st->{watches}{ $w->{id} } = $w;
    $c->inactivity_timeout(0);
    $c->res->headers->content_type('application/json');
    $c->res->code(200);
    $c->on(finish => sub { delete $st->{watches}{ $w->{id} } });

    my $timeout = $c->param('timeoutSeconds') || 1800;
    $w->{timer} = Mojo::IOLoop->timer($timeout => sub {
        $self->end_watch($w, 'timeout');
    });

    # the headers go out at once: an empty chunk would end the body, so a
    # blank line (which clients skip between events) carries them
    $c->write_chunk("\n");

    if ($rv eq '' || $rv eq '0') {
        my $objs = $st->{objects}{ $p->{plural} } // {};
        for my $key (sort keys %$objs) {
            $self->send_event($w, 'ADDED', $objs->{$key})
                if $w->{match}->($objs->{$key});
        }
        if ($initial && $w->{bookmarks}) {
            $self->send_bookmark($w, { 'k8s.io/initial-events-end' => 'true' });
        }
        return;
    }

    my $compacted = $st->{compacted}{ $p->{plural} } // 0;

    if ($rv !~ /^\d+$/ || $rv < $compacted) {
        $self->send_line($w, { type => 'ERROR', object => {
            kind => 'Status', apiVersion => 'v1', metadata => {},
            status => 'Failure', reason => 'Expired', code => 410,
            message => "too old resource version: $rv ($compacted)" } });
        return $self->end_watch($w, 'end');
    }

    for my $ev (@{ $st->{history}{ $p->{plural} } // [] }) {
        $self->deliver($w, $ev) if $ev->{rev} > $rv;
    }
}

# an event as this watch sees it: selectors turn changes into ADDED/DELETED
sub deliver ($self, $w, $ev) {
    my $now = $w->{match}->($ev->{type} eq 'DELETED' ? $ev->{old} : $ev->{obj});
    my $was = $ev->{type} eq 'ADDED' ? 0 : $w->{match}->($ev->{old});

    if ($ev->{type} eq 'DELETED') {
        $self->send_event($w, 'DELETED', $ev->{obj}) if $was;
    } elsif ($now && $was) {
        $self->send_event($w, 'MODIFIED', $ev->{obj});
    } elsif ($now) {
        $self->send_event($w, 'ADDED', $ev->{obj});
    } elsif ($was) {
        $self->send_event($w, 'DELETED', $ev->{obj});
    }
}

sub send_event ($self, $w, $type, $obj) {
    $self->send_line($w, { type => $type,
                           object => $self->served($w->{p}, $obj) });
}

sub send_bookmark ($self, $w, $annotations = undef) {
    my $res = $w->{p}{res};
    $self->send_line($w, { type => 'BOOKMARK', object => {
        kind => $res->{kind}, apiVersion => $w->{p}{api_version},
        metadata => { resourceVersion => '' . $self->state->{rev},
                      ($annotations ? (annotations => $annotations) : ()),
                      ($res->{builtin} ? (creationTimestamp => undef) : ()) },
    } });
}

# Lines are queued and written on the next tick: a burst goes out as
# several events in one chunk, and each write is split in two chunks, so
# chunk boundaries never match event boundaries.
sub send_line ($self, $w, $event) {
    $self->queue_raw($w, encode_json($event) . "\n");
}

sub queue_raw ($self, $w, $data) {
    return if $w->{stalled} || $w->{ended};

    push @{ $w->{queue} }, $data;
    return if $w->{flush_pending};

    $w->{flush_pending} = 1;
    Mojo::IOLoop->next_tick(sub { $self->flush($w) });
}

sub flush ($self, $w) {
    $w->{flush_pending} = 0;
    # the client may have closed the watch since the flush was queued
    return if $w->{ended} || !@{ $w->{queue} } || !$w->{c}->tx;

    my $data = join '', @{ $w->{queue} };
    $w->{queue} = [];

    if ($self->state->{split} && length $data > 1) {
        my $half = int(length($data) / 2);
        $w->{c}->write_chunk(substr($data, 0, $half));
        $w->{c}->write_chunk(substr($data, $half));
    } else {
        $w->{c}->write_chunk($data);
    }
}

# how: "timeout" (bookmark, then the zero chunk), "end" (the zero chunk),
# "drop" (close without the zero chunk)
sub end_watch ($self, $w, $how) {
    return if $w->{ended};

    if ($how eq 'timeout' && $w->{bookmarks} && !$w->{stalled}) {
        $self->send_bookmark($w);
    }

    $self->flush($w);
    $w->{ended} = 1;
    Mojo::IOLoop->remove($w->{timer}) if $w->{timer};
    delete $self->state->{watches}{ $w->{id} };

    return unless $w->{c}->tx;               # the client closed it

    if ($how eq 'drop') {
        my $id = $w->{c}->tx->connection;
        my $stream = $id ? Mojo::IOLoop->stream($id) : undef;
        $stream->close_gracefully if $stream;
    } else {
        $w->{c}->write_chunk('');
    }
}

# --- faults ----------------------------------------------------------

# Rules: { verb => list|watch|get|any, plural => ..., status => code,
#          retry_after => s, stall => 1, continue => 1, count => n,
#          body => text or body_b64 => bytes (the response as it is) }
sub take_rule ($self, $verb, $p, $kind = 'status', $c = undef) {
    my $st = $self->state;

    for my $i (0 .. $#{ $st->{rules} }) {
        my $r = $st->{rules}[$i];
        next if ($r->{verb} // 'any') ne 'any' && $r->{verb} ne $verb;
        next if $r->{plural} && (!$p || $r->{plural} ne $p->{plural});
        next if $kind eq 'stall' ? !$r->{stall} : !$r->{status};
        next if $r->{continue} && !($c && $c->param('continue'));

        splice @{ $st->{rules} }, $i, 1 if defined $r->{count}
                                          && --$r->{count} <= 0;
        return $r;
    }

    return undef;
}

sub injected_fault ($self, $c, $method, $path) {
    my $p = $self->parse_path($path);
    my $verb = $method ne 'GET' ? lc $method
             : !$p || defined $p->{name} ? 'get'
             : ($c->param('watch') // '') =~ /^(1|true)$/ ? 'watch' : 'list';

    my $r = $self->take_rule($verb, $p, 'status', $c) or return 0;

    # a body as it is (body_b64: any bytes), say a malformed list
    if (defined $r->{body} || defined $r->{body_b64}) {
        $c->res->headers->content_type('application/json');
        $c->render(status => $r->{status},
                   data => $r->{body} // b64_decode($r->{body_b64}));
        return 1;
    }

    $c->res->headers->header('Retry-After' => $r->{retry_after})
        if $r->{retry_after};

    my %reason = (401 => 'Unauthorized', 403 => 'Forbidden',
                  404 => 'NotFound', 410 => 'Expired',
                  429 => 'TooManyRequests', 500 => 'InternalError',
                  503 => 'ServiceUnavailable', 504 => 'Timeout');

    my $msg = $r->{message}
              // ($r->{status} != 410 ? "injected fault $r->{status}"
                  : $r->{continue} ? 'The provided continue parameter is '
                    . 'too old to display a consistent list result. You can '
                    . 'start a new list without the continue parameter.'
                  : "The resourceVersion for the provided $verb is too old.");

    $self->status($c, $r->{status}, $reason{ $r->{status} } // 'Unknown',
                  $msg);
    return 1;
}

# --- control ---------------------------------------------------------

sub control ($self, $c, $what) {
    my $st = $self->state;
    my $body = $c->req->body ne '' ? $self->body_json($c) // {} : {};

    if ($what eq 'ping') {
        return $c->render(json => { ok => true, rev => $st->{rev} });
    }

    if ($what eq 'reset') {
        $self->reset_state($body);
        $self->upsert_all($body->{objects} // [], 0);
        return $c->render(json => { rev => $st->{rev} });
    }

    if ($what eq 'objects') {               # upsert, emits events
        $self->upsert_all($body->{objects} // [], $body->{silent});
        return $c->render(json => { rev => $st->{rev} });
    }

    if ($what eq 'delete') {                # [{plural, namespace, name}]
        my $n = 0;
        for my $k (@{ $body->{objects} // [] }) {
            $n++ if $self->remove($k->{plural}, $k->{namespace}, $k->{name},
                                  $body->{silent});
        }
        return $c->render(json => { rev => $st->{rev}, deleted => $n });
    }

    if ($what eq 'compact') {               # watches from before get 410
        for my $plural (keys %Resources) {
            $st->{history}{$plural} = [];
            $st->{compacted}{$plural} = $st->{rev};
        }
        return $c->render(json => { rev => $st->{rev} });
    }

    if ($what eq 'watches') {       # { action, code, raw, raw_b64, repeat }
        return $self->control_watches($c, $body);
    }

    if ($what eq 'faults') {                # add rules
        push @{ $st->{rules} }, @{ $body->{rules} // [] };
        return $c->render(json => { rules => scalar @{ $st->{rules} } });
    }

    if ($what eq 'absent') {                # { plural => 0|1 }
        $st->{absent}{$_} = $body->{$_} for keys %$body;
        return $c->render(json => { absent => $st->{absent} });
    }

    if ($what eq 'tokens') {
        $st->{tokens} = $body->{tokens} // [];
        return $c->render(json => { ok => true });
    }

    if ($what eq 'log') {
        return $c->render(json => { log => $st->{log},
                                    watches => scalar keys %{ $st->{watches} },
                                    rev => $st->{rev} });
    }

    if ($what eq 'writes') {                # what was written, in order
        return $c->render(json => { writes => $self->writes });
    }

    if ($what eq 'state') {
        my %out;
        for my $plural (keys %{ $st->{objects} }) {
            $out{$plural} = [sort keys %{ $st->{objects}{$plural} }];
        }
        return $c->render(json => { rev => $st->{rev}, objects => \%out });
    }

    if ($what eq 'freeze' || $what eq 'faults_clear') {
        return $self->control_stalls($c, $what, $body);
    }

    if ($what eq 'stream') {
        return $self->control_stream($c, $body);
    }

    return $self->status($c, 404, 'NotFound', "no control endpoint $what");
}

# "freeze" { plural }: the open watches stay open and send nothing more,
# not even their end at timeoutSeconds, as a connection stalled on the
# way; new requests are served as usual.  "faults_clear": no more rules.
sub control_stalls ($self, $c, $what, $body) {
    my $st = $self->state;

    if ($what eq 'faults_clear') {
        my $n = scalar @{ $st->{rules} };
        $st->{rules} = [];
        return $c->render(json => { cleared => $n });
    }

    my @w = grep { !$body->{plural} || $_->{plural} eq $body->{plural} }
            values %{ $st->{watches} };

    for my $w (@w) {
        $w->{stalled} = 1;
        $w->{queue} = [];
        Mojo::IOLoop->remove($w->{timer}) if $w->{timer};
        delete $w->{timer};
    }

    return $c->render(json => { frozen => scalar @w });
}

# "stream" { objects, interval_ms }: the server upserts one object every
# interval (10 ms), at its own pace rather than a client's, and answers at
# once; { } answers how far it got: the time of each upsert and whether
# it is done.  A reset ends it.
sub control_stream ($self, $c, $body) {
    my $st = $self->state;
    my @objs = @{ $body->{objects} // [] };

    unless (@objs) {
        my $s = $st->{stream} // { times => [], left => 0 };
        return $c->render(json => { times => $s->{times},
                                    done => $s->{left} ? false : true });
    }

    Mojo::IOLoop->remove($st->{stream}{timer}) if $st->{stream};

    my $s = $st->{stream} = { times => [], left => scalar @objs };
    my $every = ($body->{interval_ms} // 10) / 1000;

    $s->{timer} = Mojo::IOLoop->recurring($every => sub ($loop) {
        if (($st->{stream} // 0) != $s || !@objs) {
            $loop->remove($s->{timer});
            return;
        }
        $self->upsert_all([shift @objs], 0);
        push @{ $s->{times} }, time;
        $s->{left} = @objs;
    });

    return $c->render(json => { streaming => scalar @objs });
}

sub control_watches ($self, $c, $body) {
    my $st = $self->state;
    my $action = $body->{action} // 'drop';
    my @w = grep { !$body->{plural} || $_->{plural} eq $body->{plural} }
            values %{ $st->{watches} };

    for my $w (@w) {
        if ($action eq 'bookmark') {
            $self->send_bookmark($w) if $w->{bookmarks};
        } elsif ($action eq 'raw') {            # raw_b64: any bytes
            my $raw = $body->{raw} // b64_decode($body->{raw_b64});
            $self->queue_raw($w, $raw x ($body->{repeat} // 1));
        } elsif ($action eq 'error') {
            $self->send_line($w, { type => 'ERROR', object => {
                kind => 'Status', apiVersion => 'v1', metadata => {},
                status => 'Failure', code => $body->{code} // 500,
                reason => $body->{reason} // 'InternalError',
                message => $body->{message} // 'injected error' } });
            $self->end_watch($w, 'end');
        } else {
            $self->end_watch($w, $action);     # drop, end, timeout
        }
    }

    return $c->render(json => { watches => scalar @w });
}

sub upsert_all ($self, $objects, $silent) {
    for my $obj (@$objects) {
        my ($plural) = grep { $Resources{$_}{kind} eq ($obj->{kind} // '') }
                       keys %Resources;
        die "unknown kind $obj->{kind}\n" unless $plural;
        $obj->{metadata}{namespace} //= 'default';
        $self->store($plural, $obj, $silent);
    }
}

1;
