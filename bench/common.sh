# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run). The caller defines ROOT, LOG and the
# functions `log` and `fail`, and destroys BROKER_DIR (when set) on exit.

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
