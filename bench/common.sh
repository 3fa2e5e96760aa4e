# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run): the log, the broker, waiting for a quiet
# machine. The caller defines ROOT and OUT, calls bench_logging before anything logs, and
# destroys BROKER_DIR (when set) on exit.

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

CLK_TCK=$(getconf CLK_TCK)
# sys_busy_ticks: non-idle CPU ticks of the whole machine, all cores.
sys_busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# settle: give the broker time to finish writing what was just published, and wait (at most
# WARREN_BENCH_SETTLE_MAX seconds, default 30) for the machine to be quiet: < 0.3 cores busy over
# one second. On a machine that is never quiet, a smaller cap shortens a run (the rounds then
# carry the "other load" warning anyway).
settle() {
  local max=${WARREN_BENCH_SETTLE_MAX:-30} a b
  local deadline=$(( $(date +%s) + max ))
  sleep 1
  while :; do
    a=$(sys_busy_ticks); sleep 1; b=$(sys_busy_ticks)
    if [ $(( (b - a) * 10 )) -lt $(( 3 * CLK_TCK )) ]; then return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "WARNING: machine still busy ($(awk "BEGIN { printf \"%.2f\", ($b - $a) / $CLK_TCK }") cores) after ${max} s; measuring anyway"
      return 0
    fi
  done
}
