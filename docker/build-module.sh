#!/bin/bash
#
# Builds nginx-gamma against an nginx source tree: the same steps for both
# Dockerfiles, the tests (t/102-build-module.t) and "make
# test-nginx-release".
#
#   docker/build-module.sh [--static | --binary] [--out DIR] [--build DIR] \
#                          SRC [ARGS]
#
# SRC is an nginx source tree of the exact version the module will be
# loaded into: Debian's /usr/share/nginx/src (nginx-dev), an unpacked
# nginx-X.Y.Z.tar.gz, or a checkout of the nginx repository (auto/configure).
# ARGS go to configure after --with-compat (e.g. --with-http_ssl_module).
#
# Dynamic (the default): DIR/ngx_http_gamma_module.so, binary-compatible
# with any nginx of that version built --with-compat (Debian's and the
# official image's are).  --static: DIR/nginx with the module compiled in
# (--add-module), for testing the static link.  --binary: a dynamic build
# also copies the nginx it configured to DIR/nginx (a test nginx of that
# version, for "make test-nginx-release").
#
# The tree itself is never written to: it is copied into the build
# directory (DIR/build-<version>-<dynamic|static> unless --build says).

set -euo pipefail

usage() {
    echo "usage: $0 [--static | --binary] [--out DIR] [--build DIR] NGINX_SRC" \
         "[configure args]" >&2
    exit 2
}

die() {
    echo "build-module.sh: $*" >&2
    exit 1
}

link=dynamic
binary=0
out=
build=

while [ $# -gt 0 ]; do
    case "$1" in
        --static) link=static; shift ;;
        --binary) binary=1; shift ;;
        --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
        --build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
        --help|-h) usage ;;
        --) shift; break ;;
        -*) echo "build-module.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done

[ $# -ge 1 ] || usage
src=$1
shift

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${out:-$PWD}" && cd "${out:-$PWD}" && pwd)

header="$src/src/core/nginx.h"
[ -f "$header" ] || die "$src is not an nginx source tree (no src/core/nginx.h)"

version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"$/\1/p' "$header")
[ -n "$version" ] || die "no NGINX_VERSION in $header"

build=${build:-$out/build-$version-$link}

echo "nginx-gamma: building the $link module against nginx $version ($src)"

rm -rf "$build"
mkdir -p "$build"
cp -a "$src/." "$build/"
cd "$build"

if [ -f configure ]; then
    configure=./configure
elif [ -f auto/configure ]; then
    configure=auto/configure
else
    die "$src has neither configure nor auto/configure"
fi

if [ $link = static ]; then
    add=--add-module=$repo
else
    add=--add-dynamic-module=$repo
fi

if ! sh $configure --with-compat "$@" "$add" > configure.log 2>&1; then
    # the module's library checks name what is missing
    grep -A3 "error:" configure.log >&2 || tail -20 configure.log >&2
    die "configure failed (the whole log: $build/configure.log)"
fi

jobs=$(nproc 2>/dev/null || echo 2)

if [ $link = static ]; then
    make -s -j"$jobs" -f objs/Makefile binary > make.log 2>&1 ||
        { tail -30 make.log >&2; die "make failed ($build/make.log)"; }
    cp objs/nginx "$out/nginx"
    echo "nginx-gamma: $out/nginx (nginx $version, module built in)"
else
    target=modules
    [ $binary = 1 ] && target="binary modules"
    make -s -j"$jobs" -f objs/Makefile $target > make.log 2>&1 ||
        { tail -30 make.log >&2; die "make failed ($build/make.log)"; }
    cp objs/ngx_http_gamma_module.so "$out/ngx_http_gamma_module.so"
    [ $binary = 1 ] && cp objs/nginx "$out/nginx"
    echo "nginx-gamma: $out/ngx_http_gamma_module.so (nginx $version)"
fi
