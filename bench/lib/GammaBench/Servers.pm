package GammaBench::Servers;

# The servers under test, each one process tree started in the foreground
# with worker_processes 1 (nbthread 1) and pinned to the server CPU:
#
#   backend  nginx answering 1 KB (and "probe" for the propagation probe)
#   plain    nginx, a static upstream and proxy_pass: our floor
#   haproxy  HAProxy doing the same proxying
#   gamma    nginx with the module on a generated mesh (file source)
#   static   nginx with the same mesh as a generated static nginx.conf
#
# Every proxy uses the proxy settings of the shipped conf/gamma-proxy.conf
# and keep-alive on both sides.

use strict;
use warnings;

use File::Path qw(make_path);
use GammaBench::Http;
use GammaBench::Proc qw(spawn run_cmd worker_of wait_for wait_log tree);
use Time::HiRes qw(time);

our $BODY = ('x' x 1023) . "\n";
our $PROBE_BODY = "probe\n";


# $ctx: root, work, nginx, haproxy, module, cpu (server CPU), ports
sub new {
    my ($class, $ctx, $kind, $name, %o) = @_;
    my $self = bless { %o, ctx => $ctx, kind => $kind, name => $name,
                       dir => "$ctx->{work}/$name" }, $class;

    make_path("$self->{dir}/logs");

    return $self;
}


sub nginx_head {
    my ($self, $level) = @_;
    my $d = $self->{dir};

    # cg_worker() reads the master's "start worker process" notice
    $level = 'notice' if $self->{callgrind} && $level eq 'warn';

    return <<"_EOC_";
worker_processes @{[$self->{workers} // 1]};
pid $d/logs/nginx.pid;
error_log $d/logs/error.log $level;
events {
    worker_connections 4096;
}
_EOC_
}


# the shipped proxy settings without the module: its Host variable (which
# only differs when a route filter rewrites the Host) becomes $http_host
sub proxy_settings {
    my ($self) = @_;
    my $file = "$self->{ctx}{root}/conf/gamma-proxy.conf";

    open my $fh, '<', $file or die "$file: $!\n";

    return join '', grep { !/^\s*(#|$|gamma\b|proxy_pass\b)|\$gamma_/ }
                    map { s/\$gamma_upstream_host\b/\$http_host/gr } <$fh>;
}


sub write_conf {
    my ($self, $text) = @_;

    $self->{conf} = "$self->{dir}/"
        . ($self->{kind} eq 'haproxy' ? 'haproxy.cfg' : 'nginx.conf');
    GammaBench::Mesh::write_file($self->{conf}, $text);
}


# ---- the configurations ------------------------------------------------

sub backend_conf {
    my ($self) = @_;
    my $p = $self->{ctx}{ports};
    my $port = $self->{port} // $p->{backend};
    my $probe = $self->{probe_port} // $p->{probe};

    $self->{addr} = "127.0.0.1:$port";

    return $self->nginx_head('warn') . <<"_EOC_";
http {
    access_log off;
    keepalive_requests 1000000;
    default_type text/plain;
    server {
        listen 127.0.0.1:$port;
        listen 127.0.0.2:$port;
        return 200 "$BODY";
    }
    server {
        listen 127.0.0.1:$probe;
        return 200 "$PROBE_BODY";
    }
}
_EOC_
}


sub plain_conf {
    my ($self) = @_;
    my $p = $self->{ctx}{ports};

    $self->{addr} = "127.0.0.1:$self->{port}";

    return $self->nginx_head('warn') . <<"_EOC_";
http {
    access_log off;
    keepalive_requests 1000000;
    upstream backend {
        server 127.0.0.1:$p->{backend};
        server 127.0.0.2:$p->{backend};
        keepalive 64;
        keepalive_timeout 60s;
    }
    server {
        listen $self->{addr};
        location / {
${\ indent($self->proxy_settings, 12)}
            proxy_pass http://backend;
        }
    }
}
_EOC_
}


sub gamma_conf {
    my ($self) = @_;
    my ($ctx, $d) = ($self->{ctx}, $self->{dir});

    $self->{addr} = $self->{mesh}->target_addr;

    return "load_module $ctx->{module};\n" . $self->nginx_head('info')
           . <<"_EOC_";
http {
    include $ctx->{root}/conf/gamma-mesh.conf;
    gamma_source $self->{source};
    # 50,000 Services: a 70 MB snapshot, three of them at a change
    gamma_zone 512m;
    access_log off;
    ${\ ($self->{http_extra} // '')}
    keepalive_requests 1000000;
    server {
        listen $self->{port};
        location / {
            include $ctx->{root}/conf/gamma-proxy.conf;
        }
    }
}
_EOC_
}


# a generated-config product's nginx.conf: the routes are an include
sub static_conf {
    my ($self) = @_;
    my $d = $self->{dir};

    $self->{addr} = $self->{mesh}->target_addr;
    $self->write_routes($self->{version} // 0);

    return $self->nginx_head('notice') . <<"_EOC_";
http {
    access_log off;
    keepalive_requests 1000000;
    # one split_clients variable per route rule
    variables_hash_max_size 262144;
    variables_hash_bucket_size 128;
    include $d/routes.conf;
}
_EOC_
}


sub write_routes {
    my ($self, $version) = @_;
    my $d = $self->{dir};

    GammaBench::Mesh::write_file("$d/.routes.tmp",
        $self->{mesh}->nginx_conf($version, $self->proxy_settings));
    rename "$d/.routes.tmp", "$d/routes.conf" or die "rename: $!\n";
}


sub haproxy_conf {
    my ($self) = @_;
    my $p = $self->{ctx}{ports};

    $self->{addr} = "127.0.0.1:$self->{port}";

    return <<"_EOC_";
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
    http-reuse always
frontend fe
    bind $self->{addr}
    default_backend be
backend be
    balance roundrobin
    server b1 127.0.0.1:$p->{backend}
    server b2 127.0.0.2:$p->{backend}
_EOC_
}


sub indent {
    my ($text, $n) = @_;
    my $pad = ' ' x $n;

    $text =~ s/^/$pad/mg;
    $text =~ s/\n\z//;

    return $text;
}


# ---- running -------------------------------------------------------------

sub start {
    my ($self) = @_;
    my $ctx = $self->{ctx};
    my $method = "$self->{kind}_conf";

    $self->write_conf($self->$method);
    $self->{started} = time;

    if ($self->{kind} eq 'haproxy') {
        $self->{cmd} = [$ctx->{haproxy}, '-db', '-f', $self->{conf}];

    } else {
        $self->{cmd} = [$ctx->{nginx}, '-p', "$self->{dir}/",
                        '-c', $self->{conf},
                        '-e', "$self->{dir}/logs/error.log",
                        '-g', 'daemon off;'];
    }

    # every process under callgrind, one file each (%p: its pid).  vgdb
    # (callgrind_control) does not reach a forked worker: nginx's workers
    # dump (and start again from zero) when a SIGUSR1 to the master makes
    # them reopen their logs (cg_mark)
    if ($self->{callgrind}) {
        # the worker (nobody, when started as root) writes its own file
        chmod 0777, $self->{dir};
        $self->{callgrind_out} = "$self->{dir}/callgrind.out";
        unshift @{$self->{cmd}}, 'valgrind', '--tool=callgrind',
            "--callgrind-out-file=$self->{callgrind_out}.%p",
            $self->{kind} eq 'haproxy'
            ? () : '--dump-before=ngx_reopen_files';
    }

    $self->{pid} = spawn(cmd => $self->{cmd},
                         cpu => exists $self->{cpu} ? $self->{cpu}
                                                    : $ctx->{cpu_server},
                         name => $self->{name},
                         log => "$self->{dir}/logs/stdout.log");

    return $self;
}


# waits until the server answers; nginx-gamma until its first snapshot
sub wait_ready {
    my ($self, $timeout) = @_;

    $timeout //= 60;

    if ($self->{kind} eq 'gamma') {
        $self->{ready_line} = wait_log("$self->{dir}/logs/error.log",
                                       qr/gamma: snapshot 1 in service/,
                                       $timeout, $self->{pid});
    }

    wait_for("$self->{name} on $self->{addr}", $timeout, sub {
        die "$self->{name} exited, see $self->{dir}/logs\n"
            unless GammaBench::Proc::alive($self->{pid});
        IO::Socket::INET->new(PeerAddr => $self->{addr}, Timeout => 1);
    });

    $self->{ready} = time;

    return $self;
}


sub stop {
    my ($self) = @_;

    GammaBench::Proc::stop($self->{pid}, 'TERM', 10);
    delete $self->{pid};
}


# the processes whose CPU time the server costs
sub pids {
    my ($self) = @_;

    return tree($self->{pid});
}


# the process that serves: the nginx worker, or haproxy itself
sub worker {
    my ($self) = @_;

    return $self->{kind} eq 'haproxy'
           ? $self->{pid} : worker_of($self->{pid});
}


# the process callgrind counts: haproxy, or the one nginx worker (as in
# service: the master, and nginx-gamma's source process, are others), and
# the file its dumps go to.  Under valgrind /proc shows no process titles:
# the master's "start worker process" line names the worker.
sub cg_worker {
    my ($self) = @_;
    my $pid = $self->{pid};

    if ($self->{kind} ne 'haproxy') {
        my $line = wait_log("$self->{dir}/logs/error.log",
                            qr/start worker process \d+/, 60, $pid);
        ($pid) = $line =~ /start worker process (\d+)/;
    }

    return ($pid, "$self->{callgrind_out}.$pid");
}


# callgrind dumps the counts so far into dump $n and starts from zero
sub cg_mark {
    my ($self, $n) = @_;
    my ($pid, $out) = $self->cg_worker;

    if ($self->{kind} eq 'haproxy') {
        run_cmd('callgrind_control', $n == 1 ? '-z' : '-d', $pid);
        return "$out.1";
    }

    kill 'USR1', $self->{pid};
    wait_for("dump $n of $self->{name}", 60, sub { -s "$out.$n" });

    return "$out.$n";
}


# "nginx -s reload", as a generated-config product applies a change
sub reload_cmd {
    my ($self) = @_;

    return ($self->{ctx}{nginx}, '-p', "$self->{dir}/", '-c', $self->{conf},
            '-e', "$self->{dir}/logs/error.log", '-s', 'reload');
}


# does the server answer the load's request with the 1 KB body?
sub check {
    my ($self, $path) = @_;
    my $http = GammaBench::Http->new($self->{addr});
    my ($status, $body) = $http->get($path // '/');

    return 'no answer' unless defined $status;
    return "status $status" if $status != 200;
    return 'wrong body (' . length($body) . ' bytes)' if $body ne $BODY;
    return '';
}


1;
