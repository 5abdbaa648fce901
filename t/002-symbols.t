# The module exports only what nginx's loader needs (module/exports.map):
# another module loaded into the same process must never bind to one of
# our helpers by name, nor we to one of theirs.  And it does not link
# libcurl, which the Kubernetes source loads when it starts (t/003).

use strict;
use warnings;
use Test::More;

my ($so) = grep { m{ngx_http_gamma_module\.so$} }
           split ' ', $ENV{TEST_NGINX_LOAD_MODULES} || '';

ok($so && -f $so, 'TEST_NGINX_LOAD_MODULES names the module: '
                  . ($so // 'none'))
    or BAIL_OUT('set TEST_NGINX_LOAD_MODULES to ngx_http_gamma_module.so');

my @syms = map { (split ' ')[-1] }
           grep { /^\s*[0-9a-f]+ [A-Za-z] / }
           `nm -D --defined-only $so`;
is($?, 0, 'nm -D reads the module');

is_deeply([sort @syms],
          [qw(ngx_http_gamma_metrics_module ngx_http_gamma_module
              ngx_module_names ngx_module_order ngx_modules)],
          'only the modules and the loader tables are exported');

my @undefined = grep { /\bU gm_|\bU ngx_http_gamma_/ }
                `nm -D --undefined-only $so`;
is(scalar @undefined, 0, 'no gm_* or ngx_http_gamma_* is left undefined')
    or diag(@undefined);

my @needed = map { /\(NEEDED\).*\[(.+)\]/ ? $1 : () } `readelf -d $so`;
is($?, 0, 'readelf -d reads the module');
ok((grep { /^libjansson/ } @needed), 'NEEDED lists the libraries: @needed');
is_deeply([grep { /curl/ } @needed], [], 'libcurl is not NEEDED');

my @curl = grep { /\bU curl_/ } `nm -D --undefined-only $so`;
is(scalar @curl, 0, 'no curl_* function is bound at load') or diag(@curl);

done_testing();
