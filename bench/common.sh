# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run). The caller defines ROOT and OUT, calls
# bench_logging before anything logs, and destroys BROKER_DIR (when set) on exit.

# Starts the run's log: LOG=$OUT/$2 (OUT must exist), emptied. Afterwards `log` prints "$1: …" to stderr and
# appends it to LOG, and `fail` logs an ERROR line and exits 1.
# shellcheck disable=SC2034  # LOG is for the caller too
bench_logging() {
  BENCH_NAME=$1
  LOG="$OUT/$2"
  : >"$LOG"
}
log() { echo "$BENCH_NAME: $*" | tee -a "$LOG" >&2; }
fail() { log "ERROR: $*"; exit 1; }

# Uses the broker of WARREN_AMQP_URL, or starts a throwaway one with scripts/broker.sh in a new
# temp dir (BROKER_DIR). Sets and exports WARREN_AMQP_URL; sets RABBITMQCTL (the throwaway
# node's, else WARREN_BENCH_RABBITMQCTL or WARREN_TEST_RABBITMQCTL, possibly empty).
# shellcheck disable=SC2034  # BROKER_DIR and RABBITMQCTL are for the caller
bench_broker() {
  if [ -z "${WARREN_AMQP_URL:-}" ]; then
    [ -x "$ROOT/scripts/broker.sh" ] || fail "WARREN_AMQP_URL unset and scripts/broker.sh missing"
    BROKER_DIR=$(mktemp -d /tmp/warren-bench-broker.XXXXXX)
    log "starting throwaway broker in $BROKER_DIR"
    "$ROOT/scripts/broker.sh" start "$BROKER_DIR" >>"$LOG" 2>&1 || fail "scripts/broker.sh start failed (see $LOG)"
    # Only the URL: the env file also sets HOME and RABBITMQ_* for the node itself.
    # shellcheck disable=SC1091
    WARREN_AMQP_URL=$(set +u; . "$BROKER_DIR/env" >/dev/null 2>&1; echo "${WARREN_AMQP_URL:-}")
    [ -n "$WARREN_AMQP_URL" ] || fail "$BROKER_DIR/env did not set WARREN_AMQP_URL"
    RABBITMQCTL="$BROKER_DIR/rabbitmqctl"
  else
    # WARREN_TEST_RABBITMQCTL: set by sourcing a scripts/broker.sh DIR/env.
    RABBITMQCTL=${WARREN_BENCH_RABBITMQCTL:-${WARREN_TEST_RABBITMQCTL:-}}
  fi
  export WARREN_AMQP_URL
}
