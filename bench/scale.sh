#!/bin/bash
# Compile time and memory at scale: starts nginx with the module on a
# generated mesh of N Services (+ as many EndpointSlices and HTTPRoutes)
# and reports what the watcher logged for the first snapshot and the
# worker's RSS.  Not a test: it prints numbers and never fails on them.
#
#   bench/scale.sh 1000 10000 50000

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module=$root/build/ngx_http_gamma_module.so
nginx=${NGINX:-/usr/sbin/nginx}

[ -f "$module" ] || make -C "$root" module >/dev/null

printf "%-9s %-12s %-12s %-14s %-12s %s\n" services parse+compile \
       compile snapshot_bytes worker_rss bytes/service

base_rss=""

for n in 0 "$@"; do
    dir=$(mktemp -d /tmp/gamma-scale.XXXXXX)
    mkdir -p "$dir/mesh" "$dir/logs"
    "$root/bench/gen-mesh.pl" "$n" > "$dir/mesh/mesh.yaml"

    cat > "$dir/nginx.conf" <<CONF
load_module $module;
worker_processes 1;
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;
events { worker_connections 1024; }
http {
    gamma_source file:$dir/mesh;
    server {
        listen 127.0.0.1:18555;
        location / { gamma on; return 204; }
    }
}
CONF

    start=$(date +%s%N)
    "$nginx" -p "$dir" -c "$dir/nginx.conf"

    # the first snapshot line says the compile time and size
    for _ in $(seq 600); do
        grep -q "snapshot 1 in service" "$dir/logs/error.log" 2>/dev/null \
            && break
        sleep 0.1
    done
    total=$(( ($(date +%s%N) - start) / 1000000 ))

    line=$(grep -o "snapshot 1: .*" "$dir/logs/error.log" || true)
    bytes=$(echo "$line" | sed -n 's/.* \([0-9]*\) bytes.*/\1/p')
    ms=$(echo "$line" | sed -n 's/.* \([0-9]*\) ms.*/\1/p')

    worker=$(pgrep -P "$(cat "$dir/logs/nginx.pid")" | head -1)
    rss=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$worker/status")

    kill -QUIT "$(cat "$dir/logs/nginx.pid")"
    sleep 0.3

    if [ "$n" = 0 ]; then
        base_rss=$rss
        continue
    fi

    printf "%-9s %-12s %-12s %-14s %-12s %s\n" "$n" "${total} ms" \
           "${ms} ms" "$bytes" "$rss" "$(( (rss - base_rss) / n ))"
    rm -rf "$dir"
done
