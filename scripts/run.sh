#!/usr/bin/env bash
# `make run`: build and run `warren worker ARGS...` against WARREN_AMQP_URL, or, when
# that is unset, against a throwaway broker that lives exactly as long as the worker.
#
# Ctrl-C: the terminal's SIGINT reaches the worker directly (same process group) and it
# shuts down gracefully; this script waits for it, then stops the throwaway broker.
# SIGTERM sent to this script (e.g. by make) is passed on to the worker.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "make run: $*" >&2; }
command -v swift >/dev/null 2>&1 || PATH=/opt/swift/usr/bin:$PATH

scripts/ensure-deps.sh

broker_dir="" broker_log="" broker_pid="" worker_pid=""
cleanup() {
    local rc=$?
    trap '' INT TERM   # a second Ctrl-C must not leave an orphaned broker behind
    # A start still in progress is waited for: killing it midway could orphan the node.
    [ -z "$broker_pid" ] || wait "$broker_pid" 2>/dev/null || true
    if [ -n "$broker_dir" ]; then
        log "stopping the throwaway broker"
        scripts/broker.sh destroy "$broker_dir" || log "could not destroy $broker_dir"
    fi
    [ -z "$broker_log" ] || rm -f "$broker_log"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${WARREN_AMQP_URL:-}" ]; then
    broker_dir=$(mktemp -d "${TMPDIR:-/tmp}/warren-run.XXXXXX")
    broker_log=$(mktemp "${TMPDIR:-/tmp}/warren-run-broker.XXXXXX")
    log "WARREN_AMQP_URL is unset: starting a throwaway broker in $broker_dir"
    # In the background: it boots (10-20 s) while the build runs, and since the build
    # slows it down, with a longer deadline than broker.sh's default.
    BROKER_START_TIMEOUT=${BROKER_START_TIMEOUT:-180} scripts/broker.sh start "$broker_dir" >"$broker_log" 2>&1 &
    broker_pid=$!
else
    log "using WARREN_AMQP_URL from the environment"
fi

scripts/check-warnings.sh swift build

if [ -n "$broker_pid" ]; then
    if ! wait "$broker_pid"; then
        broker_pid=""
        cat "$broker_log" >&2
        log "the throwaway broker did not start"
        exit 1
    fi
    broker_pid=""
    WARREN_AMQP_URL=$(. "$broker_dir/env" && echo "$WARREN_AMQP_URL")
    export WARREN_AMQP_URL
    log "broker ready at $WARREN_AMQP_URL (rabbitmqctl: $broker_dir/rabbitmqctl)"
fi

# While the worker runs, INT only has to be survived (the worker got it too) and TERM
# is forwarded; `wait` returns early whenever a trapped signal arrives, hence the loop.
trap 'log "interrupted: waiting for the worker to shut down"' INT
trap 'log "terminated: stopping the worker"; kill -TERM "$worker_pid" 2>/dev/null || true' TERM
log "starting .build/debug/warren worker $*"
# Background jobs of a script start with SIGINT ignored; give the worker the default
# back so Ctrl-C reaches it as it would in an interactive shell.
( trap - INT QUIT; exec .build/debug/warren worker "$@" ) &
worker_pid=$!
status=0
while :; do
    wait "$worker_pid" && status=0 || status=$?
    kill -0 "$worker_pid" 2>/dev/null || break
done
log "worker exited with status $status"
exit "$status"
