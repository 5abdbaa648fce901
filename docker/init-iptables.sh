#!/bin/sh
#
# nginx-gamma init container: sends the pod's outbound TCP to the sidecar.
#
# Installs, in the nat table of iptables and ip6tables, a chain GAMMA_OUTPUT
# jumped to from OUTPUT that REDIRECTs outbound TCP connections to the mesh
# port, except
#   - connections of the proxy's own uid (its upstream traffic would loop),
#   - connections to the loopback address of the family (127.0.0.1, ::1),
#   - connections to the admin port and to the mesh port itself,
#   - the --exclude-ports and --exclude-cidrs,
# for the --cidr ranges (the Service CIDRs) or, without --cidr, for all
# outbound traffic.  Connections to the --grpc-ports (the Service ports
# that carry gRPC or other h2c) go to the h2c listener, --grpc-port,
# instead: nginx 1.22 cannot serve HTTP/1.1 and h2c on one port.  Inbound traffic is left alone unless --inbound-ports
# asks for it (chain GAMMA_INBOUND, jumped to from PREROUTING).
#
# Running it twice with the same options changes nothing; --remove takes
# it all out again.  It prints what it installed.
#
# Options may also come from the environment (an init container's env):
# GAMMA_MESH_PORT, GAMMA_PROXY_UID, GAMMA_ADMIN_PORT, GAMMA_CIDRS,
# GAMMA_EXCLUDE_PORTS, GAMMA_EXCLUDE_CIDRS, GAMMA_INBOUND_PORTS,
# GAMMA_INBOUND_PORT, GAMMA_GRPC_PORTS, GAMMA_GRPC_PORT, GAMMA_IPV6;
# IPTABLES and IP6TABLES name the tools.

set -eu

MESH_PORT=${GAMMA_MESH_PORT:-15001}
PROXY_UID=${GAMMA_PROXY_UID:-101}
ADMIN_PORT=${GAMMA_ADMIN_PORT:-15000}
CIDRS=${GAMMA_CIDRS:-}
EXCLUDE_PORTS=${GAMMA_EXCLUDE_PORTS:-}
EXCLUDE_CIDRS=${GAMMA_EXCLUDE_CIDRS:-}
INBOUND_PORTS=${GAMMA_INBOUND_PORTS:-}
INBOUND_PORT=${GAMMA_INBOUND_PORT:-15006}
GRPC_PORTS=${GAMMA_GRPC_PORTS:-}
GRPC_PORT=${GAMMA_GRPC_PORT:-15002}
IPV6=${GAMMA_IPV6:-auto}
IPTABLES=${IPTABLES:-iptables}
IP6TABLES=${IP6TABLES:-ip6tables}
ACTION=install

OUT_CHAIN=GAMMA_OUTPUT
IN_CHAIN=GAMMA_INBOUND
NEW_CHAIN=GAMMA_NEW

usage() {
    cat >&2 <<EOF
usage: $0 [options]
  --mesh-port N         where outbound TCP is redirected (default 15001)
  --proxy-uid UID       the proxy's uid: never redirected (default 101)
  --admin-port N        never redirected (default 15000)
  --cidr LIST           redirect only these destinations, e.g. the Service
                        CIDRs 10.96.0.0/12,fd00:10:96::/112 (default: all)
  --exclude-ports LIST  destination ports never redirected, e.g. 5432,6379
  --exclude-cidrs LIST  destinations never redirected
  --inbound-ports LIST  also redirect inbound TCP to these ports ("*": all)
  --inbound-port N      where inbound traffic goes (default 15006)
  --grpc-ports LIST     destination ports sent to the h2c listener instead
                        (gRPC Services: h2c with prior knowledge)
  --grpc-port N         the h2c listener (default 15002)
  --ipv6 auto|on|off    ip6tables too: auto when the nat table is there
  --remove              take the chains out again
  --dry-run             print the rules, install nothing
LISTs are comma- or space-separated.
EOF
    exit 2
}

die() {
    echo "init-iptables: $*" >&2
    exit 1
}

need_arg() {
    [ "$2" -ge 2 ] || die "$1 needs a value"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --mesh-port) need_arg "$1" $#; MESH_PORT=$2; shift 2 ;;
        --proxy-uid) need_arg "$1" $#; PROXY_UID=$2; shift 2 ;;
        --admin-port) need_arg "$1" $#; ADMIN_PORT=$2; shift 2 ;;
        --cidr|--cidrs) need_arg "$1" $#; CIDRS="$CIDRS $2"; shift 2 ;;
        --exclude-ports) need_arg "$1" $#
                         EXCLUDE_PORTS="$EXCLUDE_PORTS $2"; shift 2 ;;
        --exclude-cidrs) need_arg "$1" $#
                         EXCLUDE_CIDRS="$EXCLUDE_CIDRS $2"; shift 2 ;;
        --inbound-ports) need_arg "$1" $#
                         INBOUND_PORTS="$INBOUND_PORTS $2"; shift 2 ;;
        --inbound-port) need_arg "$1" $#; INBOUND_PORT=$2; shift 2 ;;
        --grpc-ports) need_arg "$1" $#
                      GRPC_PORTS="$GRPC_PORTS $2"; shift 2 ;;
        --grpc-port) need_arg "$1" $#; GRPC_PORT=$2; shift 2 ;;
        --ipv6) need_arg "$1" $#; IPV6=$2; shift 2 ;;
        --remove) ACTION=remove; shift ;;
        --dry-run) ACTION=dry-run; shift ;;
        -h|--help) usage ;;
        *) echo "init-iptables: unknown argument $1" >&2; usage ;;
    esac
done

list() {
    echo "$1" | tr ',' ' '
}

is_port() {
    case "$1" in
        ''|*[!0-9]*) return 1 ;;
    esac
    [ "$1" -ge 1 ] && [ "$1" -le 65535 ]
}

is_uid() {
    case "$1" in
        ''|*[!0-9]*) return 1 ;;
    esac
}

# a CIDR or an address of either family; the tools check the rest
family_of() {
    case "$1" in
        *:*) echo 6 ;;
        *[!0-9./]*|'') echo bad ;;
        *) echo 4 ;;
    esac
}

check_options() {
    local p c

    for p in "$MESH_PORT" "$ADMIN_PORT" "$INBOUND_PORT" "$GRPC_PORT"; do
        is_port "$p" || die "\"$p\" is not a port"
    done

    for p in $(list "$GRPC_PORTS"); do
        is_port "$p" || die "--grpc-ports: \"$p\" is not a port"
    done

    for p in $(list "$EXCLUDE_PORTS"); do
        is_port "$p" || die "--exclude-ports: \"$p\" is not a port"
    done

    for p in $(list "$INBOUND_PORTS"); do
        [ "$p" = "*" ] || is_port "$p" ||
            die "--inbound-ports: \"$p\" is not a port"
    done

    is_uid "$PROXY_UID" || die "--proxy-uid: \"$PROXY_UID\" is not a uid"

    for c in $(list "$CIDRS") $(list "$EXCLUDE_CIDRS"); do
        [ "$(family_of "$c")" != bad ] || die "\"$c\" is not a CIDR"
    done

    case "$IPV6" in
        auto|on|off) ;;
        *) die "--ipv6: \"$IPV6\" is not auto, on or off" ;;
    esac
}

# the CIDRs of a list that belong to family $2
cidrs_of() {
    local c

    for c in $(list "$1"); do
        [ "$(family_of "$c")" = "$2" ] && echo "$c"
    done
    return 0
}

# run TOOL ARGS: the dry run prints instead
ipt() {
    if [ $ACTION = dry-run ]; then
        echo "$*"
    else
        "$@"
    fi
}

# the outbound rules into chain $2 with tool $1 for family $3
outbound_rules() {
    local tool=$1 chain=$2 fam=$3 loopback p c

    if [ "$fam" = 4 ]; then loopback=127.0.0.1/32; else loopback=::1/128; fi

    ipt "$tool" -t nat -A "$chain" -m owner --uid-owner "$PROXY_UID" \
        -j RETURN
    ipt "$tool" -t nat -A "$chain" -d "$loopback" -j RETURN

    for p in "$ADMIN_PORT" "$MESH_PORT" $(grpc_listener) \
             $(list "$EXCLUDE_PORTS")
    do
        ipt "$tool" -t nat -A "$chain" -p tcp --dport "$p" -j RETURN
    done

    for c in $(cidrs_of "$EXCLUDE_CIDRS" "$fam"); do
        ipt "$tool" -t nat -A "$chain" -d "$c" -j RETURN
    done

    if [ -z "$(list "$CIDRS" | tr -d ' ')" ]; then
        for p in $(list "$GRPC_PORTS"); do
            ipt "$tool" -t nat -A "$chain" -p tcp --dport "$p" -j REDIRECT \
                --to-ports "$GRPC_PORT"
        done
        ipt "$tool" -t nat -A "$chain" -p tcp -j REDIRECT \
            --to-ports "$MESH_PORT"
        return
    fi

    for c in $(cidrs_of "$CIDRS" "$fam"); do
        for p in $(list "$GRPC_PORTS"); do
            ipt "$tool" -t nat -A "$chain" -p tcp -d "$c" --dport "$p" \
                -j REDIRECT --to-ports "$GRPC_PORT"
        done
        ipt "$tool" -t nat -A "$chain" -p tcp -d "$c" -j REDIRECT \
            --to-ports "$MESH_PORT"
    done
}

# the h2c listener, never redirected itself, when gRPC ports go there
grpc_listener() {
    [ -z "$(list "$GRPC_PORTS" | tr -d ' ')" ] || echo "$GRPC_PORT"
}

inbound_rules() {
    local tool=$1 chain=$2 p

    for p in $(list "$INBOUND_PORTS"); do
        if [ "$p" = "*" ]; then
            # never the proxy's own ports
            ipt "$tool" -t nat -A "$chain" -p tcp --dport "$INBOUND_PORT" \
                -j RETURN
            ipt "$tool" -t nat -A "$chain" -p tcp --dport "$ADMIN_PORT" \
                -j RETURN
            ipt "$tool" -t nat -A "$chain" -p tcp -j REDIRECT \
                --to-ports "$INBOUND_PORT"
        else
            ipt "$tool" -t nat -A "$chain" -p tcp --dport "$p" -j REDIRECT \
                --to-ports "$INBOUND_PORT"
        fi
    done
}

# the chain's rules as the tool prints them, under the name $3
chain_rules() {
    "$1" -t nat -S "$2" 2>/dev/null | sed "s/^\(-[AN]\) $2\b/\1 $3/"
}

chain_exists() {
    "$1" -t nat -S "$2" >/dev/null 2>&1
}

# builds the wanted rules in a scratch chain and compares: an unchanged
# chain is left as it is, counters and all
sync_chain() {
    local tool=$1 chain=$2 kind=$3 fam=$4

    chain_exists "$tool" "$NEW_CHAIN" && {
        "$tool" -t nat -F "$NEW_CHAIN"
        "$tool" -t nat -X "$NEW_CHAIN"
    }
    "$tool" -t nat -N "$NEW_CHAIN"

    if [ "$kind" = out ]; then
        outbound_rules "$tool" "$NEW_CHAIN" "$fam"
    else
        inbound_rules "$tool" "$NEW_CHAIN"
    fi

    if chain_exists "$tool" "$chain" &&
       [ "$(chain_rules "$tool" "$NEW_CHAIN" "$chain")" = \
         "$(chain_rules "$tool" "$chain" "$chain")" ]
    then
        changed=no
    else
        chain_exists "$tool" "$chain" || "$tool" -t nat -N "$chain"
        "$tool" -t nat -F "$chain"
        if [ "$kind" = out ]; then
            outbound_rules "$tool" "$chain" "$fam"
        else
            inbound_rules "$tool" "$chain"
        fi
        changed=yes
    fi

    "$tool" -t nat -F "$NEW_CHAIN"
    "$tool" -t nat -X "$NEW_CHAIN"
}

# one jump from the built-in chain $2 to $3, added once
jump() {
    local tool=$1 from=$2 to=$3

    if ! "$tool" -t nat -C "$from" -p tcp -j "$to" 2>/dev/null; then
        "$tool" -t nat -A "$from" -p tcp -j "$to"
        changed=yes
    fi
}

unjump() {
    local tool=$1 from=$2 to=$3

    while "$tool" -t nat -C "$from" -p tcp -j "$to" 2>/dev/null; do
        "$tool" -t nat -D "$from" -p tcp -j "$to"
    done
}

remove_chain() {
    local tool=$1 from=$2 chain=$3

    unjump "$tool" "$from" "$chain"
    if chain_exists "$tool" "$chain"; then
        "$tool" -t nat -F "$chain"
        "$tool" -t nat -X "$chain"
        echo "init-iptables: $tool: removed $chain"
    fi
}

install_family() {
    local tool=$1 fam=$2 out_changed in_changed chain

    if [ -n "$(list "$CIDRS" | tr -d ' ')" ] &&
       [ -z "$(cidrs_of "$CIDRS" "$fam")" ]
    then
        # Service CIDRs given, none of this family: nothing to redirect
        remove_chain "$tool" OUTPUT "$OUT_CHAIN"
        out_changed=no
    else
        sync_chain "$tool" "$OUT_CHAIN" out "$fam"
        out_changed=$changed
        changed=no
        jump "$tool" OUTPUT "$OUT_CHAIN"
        [ $changed = yes ] && out_changed=yes
    fi

    in_changed=no
    if [ -n "$(list "$INBOUND_PORTS" | tr -d ' ')" ]; then
        sync_chain "$tool" "$IN_CHAIN" in "$fam"
        in_changed=$changed
        changed=no
        jump "$tool" PREROUTING "$IN_CHAIN"
        [ $changed = yes ] && in_changed=yes
    else
        remove_chain "$tool" PREROUTING "$IN_CHAIN"
    fi

    if [ $out_changed = yes ] || [ $in_changed = yes ]; then
        echo "init-iptables: $tool: installed"
    else
        echo "init-iptables: $tool: unchanged"
    fi

    for chain in "$OUT_CHAIN" "$IN_CHAIN"; do
        chain_exists "$tool" "$chain" && "$tool" -t nat -S "$chain" |
            sed "s/^/    /"
    done
    return 0
}

ipv6_wanted() {
    case "$IPV6" in
        off) return 1 ;;
        on) return 0 ;;
    esac

    if "$IP6TABLES" -t nat -S OUTPUT >/dev/null 2>&1; then
        return 0
    fi

    echo "init-iptables: $IP6TABLES: no nat table, IPv6 left alone" >&2
    return 1
}

check_options

case $ACTION in
    dry-run)
        echo "# $IPTABLES"
        outbound_rules "$IPTABLES" "$OUT_CHAIN" 4
        inbound_rules "$IPTABLES" "$IN_CHAIN"
        if [ "$IPV6" != off ]; then
            echo "# $IP6TABLES"
            outbound_rules "$IP6TABLES" "$OUT_CHAIN" 6
            inbound_rules "$IP6TABLES" "$IN_CHAIN"
        fi
        ;;

    remove)
        for tool in "$IPTABLES" "$IP6TABLES"; do
            [ "$tool" = "$IP6TABLES" ] && ! ipv6_wanted && continue
            remove_chain "$tool" OUTPUT "$OUT_CHAIN"
            remove_chain "$tool" PREROUTING "$IN_CHAIN"
        done
        ;;

    install)
        command -v "$IPTABLES" >/dev/null || die "$IPTABLES is not installed"
        install_family "$IPTABLES" 4
        if ipv6_wanted; then
            install_family "$IP6TABLES" 6
        fi
        ;;
esac
