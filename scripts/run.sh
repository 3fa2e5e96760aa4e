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

. scripts/lib/throwaway-broker.sh
worker_pid=""
cleanup() {
    local rc=$?
    trap '' INT TERM   # a second Ctrl-C must not leave an orphaned broker behind
    throwaway_broker_destroy
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${WARREN_AMQP_URL:-}" ]; then
    log "WARREN_AMQP_URL is unset"
    throwaway_broker_start run
else
    log "using WARREN_AMQP_URL from the environment"
fi

scripts/check-warnings.sh swift build

throwaway_broker_await
if [ -n "$broker_dir" ]; then
    WARREN_AMQP_URL=$(. "$broker_dir/env" && echo "$WARREN_AMQP_URL")
    export WARREN_AMQP_URL
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
