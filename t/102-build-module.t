# The image's build steps, here: docker/build-module.sh (what both
# Dockerfiles run) against Debian's nginx tree with --with-compat only,
# the path of the official-image flavour; Debian's nginx loads the result;
# the image's configuration (conf/sidecar.conf through the image's entry
# point) passes nginx -t; a missing library stops configure with its name.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

# Debian's tree and Debian's nginx, whatever nginx the other suites test
my $src = '/usr/share/nginx/src';
my $nginx = '/usr/sbin/nginx';

plan skip_all => "needs Debian's nginx-dev tree ($src) and $nginx"
    unless -f "$src/src/core/nginx.h" && -x $nginx;

my $dir = tempdir('gamma-build-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub write_file {
    my ($path, $body) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $body;
    close $fh;
}

# --- both Dockerfiles build with the script -----------------------------

for my $file ('docker/Dockerfile', 'docker/Dockerfile.nginx') {
    open my $fh, '<', $file or die "$file: $!";
    my $text = do { local $/; <$fh> };
    like($text, qr{^RUN /src/docker/build-module\.sh --out /out }m,
         "$file builds the module with docker/build-module.sh");
}

# --- the build ----------------------------------------------------------

my $out = `docker/build-module.sh --out $dir/out $src 2>&1`;
is($?, 0, 'build-module.sh builds against the Debian tree') or diag($out);
like($out, qr{ngx_http_gamma_module\.so \(nginx 1\.\d+\.\d+\)},
     'it says what it built');
ok(-f "$dir/out/ngx_http_gamma_module.so", 'the module is there');

my ($version) = `$nginx -v 2>&1` =~ m{nginx/(\S+)};
like($out, qr{against nginx \Q$version\E }, "the tree is nginx $version");

# Debian's nginx (its own configure flags) loads a --with-compat build
mkdir "$dir/mesh";
write_file("$dir/mesh/empty.yaml", "# nothing\n");
write_file("$dir/nginx.conf", <<"_EOC_");
load_module $dir/out/ngx_http_gamma_module.so;
error_log $dir/error.log;
pid $dir/nginx.pid;
events {}
http {
    include $ENV{PWD}/conf/gamma-mesh.conf;
    gamma_source file:$dir/mesh;
    server {
        listen 127.0.0.1:18097;
        location / {
            include $ENV{PWD}/conf/gamma-proxy.conf;
        }
    }
}
_EOC_
$out = `$nginx -t -p $dir -e $dir/error.log -c $dir/nginx.conf 2>&1`;
is($?, 0, "Debian's nginx loads the module") or diag($out);
like($out, qr/test is successful/, 'nginx -t passes');

# --- the image's configuration and entry point ---------------------------

$out = `env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443 \\
        GAMMA_CONF=$ENV{PWD}/conf/sidecar.conf GAMMA_MESH_PORT=15011 \\
        GAMMA_MODULE=$dir/out/ngx_http_gamma_module.so GAMMA_NGINX=$nginx \\
        TMPDIR=$dir docker/sidecar-entrypoint.sh -t 2>&1`;
is($?, 0, 'conf/sidecar.conf passes nginx -t through the entry point')
    or diag($out);
open my $fh, '<', "$dir/nginx-gamma-conf/nginx.conf" or die;
my $conf = do { local $/; <$fh> };
like($conf, qr/^\s*listen 15011 reuseport;$/m,
     'GAMMA_MESH_PORT is the listen port');

$out = `env GAMMA_MESH_PORT=x docker/sidecar-entrypoint.sh -t 2>&1`;
isnt($?, 0, 'a bad GAMMA_MESH_PORT is refused');
like($out, qr/GAMMA_MESH_PORT=x is not a port/, 'with the reason');

# --- a missing library stops configure, naming it -----------------------

# a compiler that cannot find jansson.h, as on a machine without
# libjansson-dev
write_file("$dir/cc", <<'_EOS_');
#!/bin/sh
for a in "$@"; do
    case "$a" in
        *.c) grep -q '<jansson.h>' "$a" 2>/dev/null &&
                 { echo "fatal error: jansson.h: No such file" >&2; exit 1; } ;;
    esac
done
exec cc "$@"
_EOS_
chmod 0755, "$dir/cc";
$out = `docker/build-module.sh --out $dir/nojansson $src --with-cc=$dir/cc 2>&1`;
isnt($?, 0, 'without jansson the build fails');
like($out, qr/error: the nginx-gamma module requires the jansson JSON library/,
     'at configure time, naming the library');
like($out, qr/apt-get install libjansson-dev/, 'and the Debian package');
ok(!-e "$dir/nojansson/ngx_http_gamma_module.so", 'no module is made');

done_testing();
