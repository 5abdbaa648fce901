#!/bin/bash
# nginx-gamma soak: nginx with the module (2 workers, the file source)
# under constant load from wrk while a route and an EndpointSlice change
# every second, for 10 minutes.  Reports the failed requests (must be 0),
# the changes applied, and the memory of every nginx process over time
# (must be flat); writes bench/soak.png, bench/soak.md and the "Soak"
# section of bench/results.md (make bench includes bench/soak.md there).
# A benchmark, not a test: not part of make test or CI.
#
#   bench/soak.sh [seconds]          (600 by default; SOAK_PORT=28600)
#
# Needs build/ngx_http_gamma_module.so (make module), wrk and gnuplot
# (make deps installs both), root or free ports 28600-28602 on loopback.

set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-600}
base=${SOAK_PORT:-28600}
mesh_port=$base backend_port=$((base + 1))
conns=${SOAK_CONNS:-32}
nginx=${NGINX:-/usr/sbin/nginx}
dir=$root/build/soak
target=127.30.0.1

[ -f "$root/build/ngx_http_gamma_module.so" ] || {
    echo "soak: run 'make module' first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "soak: wrk is missing" >&2; exit 1; }

rm -rf "$dir" && mkdir -p "$dir/logs" "$dir/mesh" "$dir/backend/logs"
cp "$root/build/ngx_http_gamma_module.so" "$dir/"

# ---- the backend: one nginx answering on three loopback addresses -------

cat > "$dir/backend/nginx.conf" <<_EOC_
worker_processes 1;
pid $dir/backend/logs/nginx.pid;
error_log $dir/backend/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$backend_port;
        listen 127.0.0.2:$backend_port;
        listen 127.0.0.3:$backend_port;
        return 200 "ok \$server_addr\n";
    }
}
_EOC_

# ---- nginx-gamma: 2 workers, the file source ------------------------------

user=; [ "$(id -u)" = 0 ] && user="user root;"
cat > "$dir/nginx.conf" <<_EOC_
load_module $dir/ngx_http_gamma_module.so;
$user
worker_processes 2;
pid $dir/logs/nginx.pid;
error_log $dir/logs/error.log info;
events { worker_connections 4096; }
http {
    include $root/conf/gamma-mesh.conf;
    gamma_source file:$dir/mesh;
    access_log off;
    keepalive_requests 1000000;
    server {
        listen $mesh_port;
        location / {
            include $root/conf/gamma-proxy.conf;
        }
    }
}
_EOC_

# a file replaced the recommended way: written aside, renamed over
put() {
    printf '%s' "$2" > "$dir/mesh/.$1.tmp"
    mv "$dir/mesh/.$1.tmp" "$dir/mesh/$1"
}

svc() {                     # name ip
    cat <<_EOY_
---
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: soak}
spec:
  clusterIP: $2
  ports: [{name: http, port: $mesh_port, targetPort: $backend_port}]
_EOY_
}

slice() {                   # service endpoint-addresses...
    local s=$1 a
    shift
    printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n'
    printf 'metadata:\n  name: %s-1\n  namespace: soak\n' "$s"
    printf '  labels: {kubernetes.io/service-name: %s}\n' "$s"
    printf 'addressType: IPv4\nports: [{name: http, port: %s}]\n' \
        "$backend_port"
    printf 'endpoints:\n'
    for a in "$@"; do
        printf -- '- addresses: ["%s"]\n  conditions: {ready: true}\n' "$a"
    done
}

route() {                   # version: weights and a path rule change
    local v=$1 wa=$((1 + $1 % 9)) wb=$((9 - $1 % 9))
    cat <<_EOY_
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: soak, namespace: soak}
spec:
  parentRefs: [{group: "", kind: Service, name: front}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v$v}}]
    backendRefs: [{name: pool-b, port: $mesh_port}]
  - backendRefs:
    - {name: pool-a, port: $mesh_port, weight: $wa}
    - {name: pool-b, port: $mesh_port, weight: $wb}
_EOY_
}

# every endpoint set is one the backend answers on: no request may fail
endpoints() {               # version
    case $(($1 % 4)) in
    0) slice pool-a 127.0.0.1 127.0.0.2 ;;
    1) slice pool-a 127.0.0.2 ;;
    2) slice pool-a 127.0.0.2 127.0.0.3 ;;
    3) slice pool-a 127.0.0.3 127.0.0.1 127.0.0.2 ;;
    esac
}

put services.yaml "$(svc front $target; svc pool-a 127.30.0.2;
                    svc pool-b 127.30.0.3; slice pool-b 127.0.0.3;
                    slice front 127.0.0.1)"
put route.yaml "$(route 0)"
put endpoints.yaml "$(endpoints 0)"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$dir/logs/nginx.pid" ] && kill -QUIT "$(cat "$dir/logs/nginx.pid")" \
        2>/dev/null || true
    [ -f "$dir/backend/logs/nginx.pid" ] && \
        kill -QUIT "$(cat "$dir/backend/logs/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

"$nginx" -p "$dir/backend/" -c "$dir/backend/nginx.conf" \
    -e "$dir/backend/logs/error.log"
"$nginx" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log"

for _ in $(seq 100); do
    curl -sf "http://$target:$mesh_port/" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "http://$target:$mesh_port/" >/dev/null || {
    echo "soak: nginx-gamma does not answer" >&2; tail "$dir/logs/error.log"
    exit 1; }

# ---- memory of every process of the instance, every 5 s ----------------------

master=$(cat "$dir/logs/nginx.pid")
sample() {
    local t0=$1 now p kind rss pss
    now=$(date +%s)
    for p in $master $(pgrep -P "$master"); do
        case $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null) in
        *master*) kind=master ;;
        *cache\ manager*) kind=source ;;
        *worker*) kind=worker-$p ;;
        *) continue ;;
        esac
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        pss=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
        echo "$((now - t0)) $kind ${rss:-0} ${pss:-0}"
    done
}

start=$(date +%s)
(
    while :; do sample "$start"; sleep 5; done
) > "$dir/memory.dat" &
pids+=($!)

# ---- churn: the route every second, the endpoints every second too --------

(
    v=1
    while :; do
        put route.yaml "$(route $v)"
        sleep 0.5
        put endpoints.yaml "$(endpoints $v)"
        sleep 0.5
        v=$((v + 1))
        echo $v > "$dir/changes"
    done
) &
pids+=($!)

echo "soak: ${secs}s of wrk -t2 -c$conns on $target:$mesh_port with churn" >&2
wrk -t2 -c"$conns" -d"${secs}s" -s "$root/bench/wrk-report.lua" \
    "http://$target:$mesh_port/" > "$dir/wrk.log" 2>&1 || true

for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
sample "$start" >> "$dir/memory.dat"

# ---- results -------------------------------------------------------------

line=$(grep '^BENCH ' "$dir/wrk.log" || true)
[ -n "$line" ] || { echo "soak: wrk failed" >&2; cat "$dir/wrk.log"; exit 1; }
eval "$(echo "${line#BENCH }" | tr ' ' '\n' | sed 's/^/w_/')"
failed=$((w_connect + w_read + w_write + w_status + w_timeout))
changes=$(( $(cat "$dir/changes") - 1 ))
gens=$(grep -c 'gamma: snapshot [0-9]* published' "$dir/logs/error.log" || true)
alerts=$(grep -cE '\[(alert|crit|emerg)\]' "$dir/logs/error.log" || true)

# memory: the first and last sample of each process, and the peak
mem=$(awk '{ k = $2; if (!(k in first)) first[k] = $3; last[k] = $3;
             if ($3 > peak[k]) peak[k] = $3 }
       END { for (k in first)
               printf "| %s | %.1f | %.1f | %.1f |\n", k, first[k] / 1024,
                      peak[k] / 1024, last[k] / 1024 }' "$dir/memory.dat" |
      sort)

if command -v gnuplot >/dev/null; then
    kinds=$(awk '{print $2}' "$dir/memory.dat" | sort -u)
    plot=
    for k in $kinds; do
        plot="$plot${plot:+, }'$dir/memory.dat' using 1:"
        plot="$plot(strcol(2) eq \"$k\" ? \$3 / 1024 : 1/0)"
        plot="$plot with linespoints title '$k'"
    done
    gnuplot <<_EOG_
set terminal png size 900,450
set output '$root/bench/soak.png'
set title 'nginx-gamma soak: RSS of each process under load and churn'
set xlabel 'seconds'
set ylabel 'RSS (MB)'
set yrange [0:*]
set key outside
plot $plot
_EOG_
fi

version=$("$nginx" -v 2>&1 | sed 's/.*\///')
load=$(cut -d' ' -f1-3 /proc/loadavg)
rps=$(awk "BEGIN { printf \"%.0f\", $w_requests / ($w_duration_us / 1e6) }")

result=$(cat <<_EOR_
## Soak

\`bench/soak.sh $secs\` on $(date -u +%Y-%m-%d) ($(nproc) CPUs, load average
$load at the end): nginx $version, 2 workers, the file source; wrk
-t2 -c$conns for $secs s against one Service whose HTTPRoute (weights
and a path rule) and EndpointSlice (1 to 3 endpoints)
were each replaced (written aside, renamed) $changes times.

- requests: $w_requests ($rps/s), **failed: $failed** (connect $w_connect,
  read $w_read, write $w_write, non-2xx/3xx $w_status, timeout $w_timeout)
- generations published: $gens; [alert]/[crit]/[emerg] lines: $alerts
- latency p50 $((w_p50_us / 1000)) ms, p99 $((w_p99_us / 1000)) ms

RSS (MB) of each process, first sample, peak, last sample (every 5 s,
\`build/soak/memory.dat\`; plot: soak.png):

| process | first | peak | last |
|---|---|---|---|
$mem

![RSS over the soak](soak.png)
_EOR_
)

echo "$result"

# bench/soak.md keeps the results (make bench includes it in results.md);
# the section replaces the previous one in bench/results.md
printf '%s\n' "$result" > "$root/bench/soak.md"
res=$root/bench/results.md
touch "$res"
awk -v new="$result" '
    /^## Soak$/ { skip = 1; print new; done = 1; next }
    skip && /^## / { skip = 0 }
    !skip { print }
    END { if (!done) { print ""; print new } }' "$res" > "$res.tmp"
mv "$res.tmp" "$res"

[ "$failed" = 0 ] && [ "$alerts" = 0 ]
