#!/usr/bin/env bash
# Throwaway RabbitMQ node on loopback, for `make run`, `make test` and the benchmarks.
#
#   scripts/broker.sh start   DIR         start a node whose whole state lives in DIR
#                                         (an existing DIR is started again with the
#                                         same name, ports and data)
#   scripts/broker.sh stop    DIR         stop it, keeping DIR
#   scripts/broker.sh destroy DIR         stop it and delete DIR
#   scripts/broker.sh status  DIR         exit 0 if the node process is alive
#   scripts/broker.sh ctl     DIR ARGS..  rabbitmqctl against that node
#
# Clusters (`rabbitmqctl join_cluster`): nodes must share an Erlang cookie and find each
# other through one epmd. Give every node of the cluster, at its first start,
#   BROKER_COOKIE=<same secret>     written to DIR/home/.erlang.cookie
#   BROKER_EPMD_PORT=<same port>    one epmd for all of them; no node's `stop` kills it
#                                   (the last node's `stop` does, once none is registered)
#
# After start, DIR holds:
#   env         sourceable `export` lines: WARREN_AMQP_URL, WARREN_TEST_RABBITMQCTL, and
#               every RABBITMQ_*/ERL_*/HOME variable the node runs with
#   rabbitmqctl wrapper that needs no environment: DIR/rabbitmqctl list_queues name messages
#               (and WARREN_TEST_AMQPS_PORT when made with BROKER_TLS_DIR, see init_tls)
#   pid         the node's process-group leader;  epmd.pid: its private epmd
#   server.log  the node's stdout/stderr;  log/: RabbitMQ's own log files
#
# Why it looks like this:
# - Several nodes may run on one machine (a dev broker, parallel test runs), so each one
#   gets its own node name, AMQP port, distribution port, epmd port and rabbitmqctl
#   port range, all on 127.0.0.1: nothing is shared and nothing listens outside.
# - The Debian /usr/sbin/rabbitmq-server wrapper switches to the `rabbitmq` user, who
#   cannot write DIR; /usr/lib/rabbitmq/bin/rabbitmq-server runs as whoever calls it
#   (root or not), with HOME=DIR/home so that it and rabbitmqctl share one Erlang cookie.
# - Every rabbitmqctl call costs ~0.8 CPU-seconds, so startup is detected with cheap
#   `epmd -names` polls first and rabbitmqctl only once the node has registered.
set -euo pipefail

RMQ_BIN=/usr/lib/rabbitmq/bin
START_DEADLINE=${BROKER_START_TIMEOUT:-90}   # seconds; a cold start takes 9-20 s
STOP_DEADLINE=${BROKER_STOP_TIMEOUT:-30}     # seconds before the process group is killed

log() { echo "broker.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# A process counts as alive unless it is gone or a zombie: in containers whose PID 1
# does not reap, a dead node can linger as a zombie and `kill -0` would still succeed.
alive() {
    local pid=$1 stat
    [ -n "$pid" ] || return 1
    if [ -d /proc/self ]; then
        read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
        stat=${stat##*) }           # fields after "pid (comm) ": state ppid pgrp ...
        [ "${stat%% *}" != Z ]
    else
        kill -0 "$pid" 2>/dev/null
    fi
}

# Some process of this process group still alive (the rabbitmq-server shell, beam.smp,
# erl_child_setup, inet_gethost...). Pure bash: this runs in a polling loop.
group_alive() {
    local pgid=$1 f stat fields
    [ -d /proc/self ] || { kill -0 -- "-$pgid" 2>/dev/null; return; }
    for f in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null <"$f" || continue
        read -r -a fields <<<"${stat##*) }"
        [ "${fields[2]}" = "$pgid" ] && [ "${fields[0]}" != Z ] && return 0
    done
    return 1
}

find_tool() {  # first of the candidates that exists, else the name on PATH
    local name=$1; shift
    local c
    for c in "$@"; do [ -x "$c" ] && { echo "$c"; return; }; done
    command -v "$name" || die "$name not found (run scripts/ensure-deps.sh)"
}

# Ports come from below the kernel's ephemeral range: a port handed out by binding
# port 0 is an ephemeral one, which an outgoing connection can take while the node is
# stopped, and `start` on an existing DIR must get the same ports back. Each is checked
# free by binding it on 127.0.0.1 and on the wildcard address. rabbitmqctl needs a range
# of 11 ports for its own Erlang distribution (Debian's default, 35672-35682, is shared
# by every node on the machine), so that range is picked here too.
pick_ports() {
    if command -v python3 >/dev/null 2>&1; then
        python3 - <<'EOF'
import random, socket

def free(port):
    for addr in ("127.0.0.1", "0.0.0.0"):
        s = socket.socket()
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True

try:
    eph_lo, eph_hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except OSError:
    eph_lo, eph_hi = 32768, 60999
lo, hi = (20000, eph_lo - 12) if eph_lo - 20000 >= 1000 else (eph_hi + 1, 65535 - 12)
if hi - lo < 1000:
    lo, hi = 10000, 65535 - 12      # odd kernel settings: any port will do
taken, picked = set(), []
for _ in range(10000):
    want = 11 if len(picked) == 3 else 1    # the 4th is rabbitmqctl's range start
    p = random.randint(lo, hi)
    block = range(p, p + want)
    if taken.intersection(block) or not all(free(q) for q in block):
        continue
    taken.update(block)
    picked.append(p)
    if len(picked) == 4:
        print(*picked)
        break
else:
    raise SystemExit("broker.sh: no free ports found")
EOF
    else
        # No python3: random ports in 20000-31999, free when nothing accepts a connection.
        local picked=() p q ok
        while [ ${#picked[@]} -lt 4 ]; do
            p=$((20000 + RANDOM % 12000)); ok=1
            for q in $(seq "$p" $((p + ( ${#picked[@]} == 3 ? 10 : 0 )))); do
                if (exec 3<>"/dev/tcp/127.0.0.1/$q") 2>/dev/null || [[ " ${picked[*]} " == *" $q "* ]]; then ok=0; break; fi
            done
            [ $ok = 1 ] && picked+=("$p")
        done
        echo "${picked[@]}"
    fi
}

port_in_use() {  # something accepts connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Writes the config, the env file and the rabbitmqctl wrapper of a new DIR.
init_dir() {
    local dir=$1 amqp dist epmd ctl name tls_port=
    read -r amqp dist epmd ctl < <(pick_ports)
    epmd=${BROKER_EPMD_PORT:-$epmd}
    name="warren-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')@localhost"
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
    chmod 700 "$dir/home"   # the Erlang cookie lives here
    if [ -n "${BROKER_COOKIE:-}" ]; then
        (umask 077 && printf '%s' "$BROKER_COOKIE" >"$dir/home/.erlang.cookie")
        chmod 400 "$dir/home/.erlang.cookie"
    fi

    # No plugins: the management plugin alone adds seconds to every start.
    echo '[].' >"$dir/enabled_plugins"
    # guest may log in over TCP (from 127.0.0.1 only, since that is all we listen on).
    cat >"$dir/rabbitmq.conf" <<EOF
loopback_users = none
listeners.tcp.default = 127.0.0.1:$amqp
EOF
    [ -z "${BROKER_TLS_DIR:-}" ] || init_tls "$dir" "$amqp $dist $epmd $ctl"
    # Empty on purpose: keeps /etc/rabbitmq/rabbitmq-env.conf (NODENAME, ports...) out.
    : >"$dir/rabbitmq-env.conf"

    {
        echo "# Written by scripts/broker.sh for node $name."
        echo "# Sourcing it also sets HOME (the node's Erlang cookie lives there): prefer a"
        echo "# subshell, or just $dir/rabbitmqctl, which needs no environment."
        echo "# amqp-tools (librabbitmq) read the trailing '/' as vhost \"\": add %2f for them."
        echo "export WARREN_AMQP_URL=amqp://guest:guest@127.0.0.1:$amqp/"
        echo "export WARREN_TEST_RABBITMQCTL=$dir/rabbitmqctl"
        echo "export WARREN_BROKER_DIR=$dir"
        echo "export HOME=$dir/home"
        echo "export RABBITMQ_NODENAME=$name"
        echo "export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
        echo "export RABBITMQ_NODE_PORT=$amqp"
        echo "export RABBITMQ_DIST_PORT=$dist"
        echo "export RABBITMQ_CTL_DIST_PORT_MIN=$ctl"
        echo "export RABBITMQ_CTL_DIST_PORT_MAX=$((ctl + 10))"
        echo "export ERL_EPMD_PORT=$epmd"
        echo "export ERL_EPMD_ADDRESS=127.0.0.1"
        [ -z "${BROKER_EPMD_PORT:-}" ] || echo "export WARREN_BROKER_SHARED_EPMD=1"
        echo "export ERL_CRASH_DUMP=$dir/erl_crash.dump"
        echo "export RABBITMQ_MNESIA_BASE=$dir/mnesia"
        echo "export RABBITMQ_LOG_BASE=$dir/log"
        echo "export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf"
        echo "export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config"
        echo "export RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf"
        echo "export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins"
        # The distribution port would otherwise listen on every interface.
        echo "export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'"
        [ -z "${tls_port:-}" ] || echo "export WARREN_TEST_AMQPS_PORT=$tls_port"
    } >"$dir/env"

    local ctl_bin
    ctl_bin=$(find_tool rabbitmqctl "$RMQ_BIN/rabbitmqctl")
    cat >"$dir/rabbitmqctl" <<EOF
#!/bin/sh
# rabbitmqctl for the node in $dir, usable from any process without other environment.
# Not /usr/sbin/rabbitmqctl: as root it switches to the rabbitmq user, whose HOME has
# another Erlang cookie.
set -a
. "$dir/env"
set +a
exec "$ctl_bin" "\$@"
EOF
    chmod +x "$dir/rabbitmqctl"
}

# BROKER_TLS_DIR, when a DIR is created: a TLS listener too, with BROKER_TLS_DIR's ca.pem,
# server.pem and server.key, that requires a client certificate signed by ca.pem, and the
# EXTERNAL mechanism (rabbitmq_auth_mechanism_ssl; the user is the certificate's CN). For the
# TLS tests. Sets tls_port (not one of the ports in $2).
init_tls() {
    local dir=$1 taken=" $2 " p
    tls_port=
    while [ -z "$tls_port" ]; do
        for p in $(pick_ports); do
            [[ $taken == *" $p "* ]] || { tls_port=$p; break; }
        done
    done
    cat >>"$dir/rabbitmq.conf" <<EOF
listeners.ssl.default = 127.0.0.1:$tls_port
ssl_options.cacertfile = $BROKER_TLS_DIR/ca.pem
ssl_options.certfile = $BROKER_TLS_DIR/server.pem
ssl_options.keyfile = $BROKER_TLS_DIR/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
ssl_cert_login_from = common_name
EOF
    echo '[rabbitmq_auth_mechanism_ssl].' >"$dir/enabled_plugins"
}

cmd_start() {
    local dir=$1
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -f "$dir/env" ] || init_dir "$dir"
    set -a; . "$dir/env"; set +a

    if alive "$(cat "$dir/pid" 2>/dev/null || true)"; then
        log "node $RABBITMQ_NODENAME is already running"
        echo "$WARREN_AMQP_URL"
        return 0
    fi
    # A restart reuses the old ports; say clearly if something took one meanwhile.
    local p
    for p in "$RABBITMQ_NODE_PORT" "$RABBITMQ_DIST_PORT"; do
        ! port_in_use "$p" || die "port $p of $dir is now taken by another process"
    done

    local epmd server epmd_pid pid short=${RABBITMQ_NODENAME%@*}
    epmd=$(find_tool epmd /usr/bin/epmd /usr/lib/erlang/bin/epmd)
    server=$RMQ_BIN/rabbitmq-server
    [ -x "$server" ] || server=$(find_tool rabbitmq-server)

    # Our own epmd, so that `stop` can kill it without touching other nodes' epmd
    # (erl would otherwise start a detached one nobody owns). Already up: reuse it.
    if ! "$epmd" -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1; then
        setsid "$epmd" -port "$ERL_EPMD_PORT" -address 127.0.0.1 </dev/null >>"$dir/epmd.log" 2>&1 &
        epmd_pid=$!
        # A shared epmd is nobody's: `stop` then asks it to quit, which it refuses while
        # another node of the cluster is still registered.
        [ -n "${WARREN_BROKER_SHARED_EPMD:-}" ] || echo "$epmd_pid" >"$dir/epmd.pid"
        local until=$((SECONDS + 10))
        until "$epmd" -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1; do
            alive "$epmd_pid" || die "epmd exited: $(tail -n 5 "$dir/epmd.log")"
            [ $SECONDS -lt $until ] || die "epmd did not answer on port $ERL_EPMD_PORT"
            sleep 0.1
        done
    fi

    log "starting $RABBITMQ_NODENAME (AMQP 127.0.0.1:$RABBITMQ_NODE_PORT) in $dir"
    # setsid: own session and process group, so `stop` can kill the whole group and
    # Ctrl-C in the caller's terminal does not reach the node directly.
    # stdin/stdout closed so that callers like $(broker.sh start) do not wait on it.
    # From DIR, and ERL_CRASH_DUMP: a node that dies writes erl_crash.dump into its
    # working directory, which would otherwise be the caller's (the repo).
    (cd "$dir" && exec setsid "$server" </dev/null >>"$dir/server.log" 2>&1) &
    pid=$!
    echo "$pid" >"$dir/pid"

    local deadline=$((SECONDS + START_DEADLINE)) remaining names
    while :; do
        if ! alive "$pid"; then
            log "the node exited during startup; last lines of $dir/server.log:"
            tail -n 30 "$dir/server.log" >&2 || true
            log "(RabbitMQ's own logs: $dir/log)"
            cmd_stop "$dir" 2>/dev/null   # our epmd must not outlive the failed start
            exit 1
        fi
        remaining=$((deadline - SECONDS))
        if [ $remaining -le 0 ]; then
            log "node did not start within ${START_DEADLINE}s; last lines of $dir/server.log:"
            tail -n 20 "$dir/server.log" >&2 || true
            log "(RabbitMQ's own logs: $dir/log)"
            cmd_stop "$dir"
            exit 1
        fi
        # Registered with epmd = the Erlang distribution is up: only now is rabbitmqctl
        # worth its CPU. await_startup then blocks until the broker has booted.
        names=$("$epmd" -port "$ERL_EPMD_PORT" -names 2>/dev/null || true)
        if [[ $'\n'$names == *$'\n'"name $short at"* ]]; then
            if "$dir/rabbitmqctl" -q await_startup --timeout "$remaining" >>"$dir/ctl.log" 2>&1; then
                break
            fi
            sleep 1   # rabbitmqctl is expensive; the node is not ready yet
        else
            sleep 0.2
        fi
    done
    log "node $RABBITMQ_NODENAME is up after ${SECONDS}s"
    echo "$WARREN_AMQP_URL"
}

cmd_stop() {
    local dir=$1
    [ -f "$dir/env" ] || die "$dir is not a broker directory (no env file)"
    dir=$(cd "$dir" && pwd)
    set -a; . "$dir/env"; set +a
    local pid epmd_pid
    pid=$(cat "$dir/pid" 2>/dev/null || true)

    if alive "$pid"; then
        log "stopping $RABBITMQ_NODENAME"
        # Graceful first: it flushes message stores so a restart finds the data.
        timeout "$STOP_DEADLINE" "$dir/rabbitmqctl" -q stop >>"$dir/ctl.log" 2>&1 || true
        local deadline=$((SECONDS + STOP_DEADLINE))
        while group_alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        if group_alive "$pid"; then
            log "node still alive after ${STOP_DEADLINE}s: killing its process group"
            kill -TERM -- "-$pid" 2>/dev/null || true
            deadline=$((SECONDS + 5))
            while group_alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    elif [ -n "$pid" ] && group_alive "$pid"; then
        # The leader is gone but children survived (e.g. the shell was killed).
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"

    epmd_pid=$(cat "$dir/epmd.pid" 2>/dev/null || true)
    if alive "$epmd_pid"; then
        kill "$epmd_pid" 2>/dev/null || true
    elif [ -z "$epmd_pid" ] && command -v epmd >/dev/null 2>&1; then
        # Not ours by pid (e.g. started by erl): ask it to quit. It refuses while any
        # node is still registered, so other nodes are never cut off.
        epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
    fi
    rm -f "$dir/epmd.pid"
}

cmd_destroy() {
    local dir=$1
    [ -e "$dir" ] || return 0
    # Refuse to rm -rf anything that broker.sh did not create.
    if [ -f "$dir/env" ]; then
        cmd_stop "$dir"
    elif [ -n "$(ls -A "$dir")" ]; then
        die "$dir is not a broker directory; not deleting it"
    fi
    rm -rf "$dir"
}

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2
case $cmd in
    start)   cmd_start "$dir" ;;
    stop)    cmd_stop "$dir" ;;
    destroy) cmd_destroy "$dir" ;;
    status)  [ -f "$dir/pid" ] && alive "$(cat "$dir/pid")" ;;
    ctl)     [ -x "$dir/rabbitmqctl" ] || die "$dir is not a broker directory"; exec "$dir/rabbitmqctl" "$@" ;;
    *)       usage ;;
esac
