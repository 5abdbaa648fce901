#!/bin/sh
#
# The sidecar's entry point: nginx in the foreground, as the user the
# container runs as, with /etc/nginx-gamma/nginx.conf (conf/sidecar.conf).
#
# GAMMA_MESH_PORT (docker/inject sets it from --mesh-port) other than 15001
# writes a copy of the configuration with that listen port under /tmp.
# For tests outside the image: GAMMA_CONF (the configuration, next to the
# files it includes), GAMMA_MODULE (the module's path in load_module),
# GAMMA_NGINX (the binary; NGINX is nginx's own variable).
# Arguments go to nginx (e.g. -t).

set -eu

conf=${GAMMA_CONF:-/etc/nginx-gamma/nginx.conf}
conf_dir=$(dirname "$conf")
port=${GAMMA_MESH_PORT:-15001}
module=${GAMMA_MODULE:-}
nginx=${GAMMA_NGINX:-nginx}

case "$port" in
    ''|*[!0-9]*) echo "gamma-sidecar: GAMMA_MESH_PORT=$port is not a port" >&2
                 exit 1 ;;
esac

# the access log goes to /dev/stdout; a runtime whose stdout this user
# cannot reopen (a root-owned terminal or file) gets it in /tmp instead
log=
if ! (: >> /dev/stdout) 2>/dev/null; then
    log=${TMPDIR:-/tmp}/nginx-gamma-access.log
    echo "gamma-sidecar: /dev/stdout cannot be opened as uid $(id -u):" \
         "access log in $log" >&2
fi

if [ "$port" != 15001 ] || [ -n "$module" ] || [ -n "$log" ]; then
    run=${TMPDIR:-/tmp}/nginx-gamma-conf
    mkdir -p "$run"

    for f in "$conf_dir"/*.conf; do
        [ "$f" = "$conf" ] || ln -sf "$f" "$run/"
    done

    sed -e "s/^\([[:space:]]*listen[[:space:]]\{1,\}\)15001\([; ]\)/\1$port\2/" \
        -e "${module:+s|^load_module .*;|load_module $module;|}" \
        -e "${log:+s|access_log /dev/stdout|access_log $log|}" \
        "$conf" > "$run/nginx.conf"
    conf=$run/nginx.conf
fi

exec "$nginx" -e stderr -c "$conf" -g 'daemon off;' "$@"
