# Sourced by scripts/run.sh and scripts/test.sh: a throwaway RabbitMQ node that boots in
# the background while the build runs and is destroyed on every exit path.
# The sourcing script defines log() and calls, in order:
#   throwaway_broker_start NAME    start booting a node in a new temp dir
#   throwaway_broker_await         wait for it; exits 1 (with its log) if it did not start
#   throwaway_broker_destroy       stop and remove it (idempotent; also run by the EXIT trap)
# Afterwards broker_dir holds the node's directory (see scripts/broker.sh for its env file).

broker_dir="" broker_log="" broker_pid=""

throwaway_broker_start() {
    broker_dir=$(mktemp -d "${TMPDIR:-/tmp}/warren-$1.XXXXXX")
    broker_log=$(mktemp "${TMPDIR:-/tmp}/warren-$1-broker.XXXXXX")
    log "starting a throwaway broker in $broker_dir"
    # The build running meanwhile slows the boot down: allow longer than broker.sh's default.
    BROKER_START_TIMEOUT=${BROKER_START_TIMEOUT:-180} scripts/broker.sh start "$broker_dir" >"$broker_log" 2>&1 &
    broker_pid=$!
}

throwaway_broker_await() {
    [ -n "$broker_pid" ] || return 0
    if ! wait "$broker_pid"; then
        broker_pid=""
        cat "$broker_log" >&2
        log "the throwaway broker did not start"
        exit 1
    fi
    broker_pid=""
    log "broker ready at $(. "$broker_dir/env" && echo "$WARREN_AMQP_URL") (rabbitmqctl: $broker_dir/rabbitmqctl)"
}

throwaway_broker_destroy() {
    # A start still in progress is waited for: killing it midway could orphan the node.
    [ -z "$broker_pid" ] || wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
    if [ -n "$broker_dir" ]; then
        log "stopping the throwaway broker"
        scripts/broker.sh destroy "$broker_dir" || log "could not destroy $broker_dir"
        broker_dir=""
    fi
    [ -z "$broker_log" ] || rm -f "$broker_log"
    broker_log=""
}
