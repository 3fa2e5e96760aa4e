# shellcheck shell=bash
# Sourced by scripts/release-symbol-order.sh and bench/instructions.sh: what running the static
# release binary under callgrind against a broker needs. The caller sets ROOT, then calls
#   callgrind_workdir NAME
# which makes WORK (a temp dir /tmp/NAME.XXXXXX), clears BROKER_DIR and WORKER (a pid the caller
# sets while a worker runs), removes all three on exit (kills the worker, destroys the broker)
# and cds to ROOT; then
#   callgrind_workload [BINARY]
# which builds the static release binary unless BINARY is given, writes a copy callgrind can
# read to $WORK/warren, compiles the C helper to $WORK/wb, starts a throwaway broker in
# $WORK/broker unless WARREN_AMQP_URL is set (setting BROKER_DIR), exports WARREN_AMQP_URL, and
# sets H and P, the broker's host and port for wb.
callgrind_workdir() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  BROKER_DIR= WORKER=
  trap callgrind_cleanup EXIT
  cd "$ROOT"
}

callgrind_cleanup() {
  [ -z "$WORKER" ] || kill -KILL "$WORKER" 2>/dev/null || true
  [ -z "$BROKER_DIR" ] || "$ROOT/scripts/broker.sh" destroy "$BROKER_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

callgrind_workload() {
  local binary=${1:-}
  if [ -z "$binary" ]; then
    scripts/release-build.sh --product warren --scratch-path .build-static >&2
    binary="$(scripts/release-build.sh --scratch-path .build-static --show-bin-path)/warren"
  fi
  # valgrind 3.19 cannot read the DWARF 5 the toolchain writes; function names come from .symtab.
  strip --strip-debug -o "$WORK/warren" "$binary"
  cc -O2 -o "$WORK/wb" bench/c-consumer/warren_bench.c -lrabbitmq
  if [ -z "${WARREN_AMQP_URL:-}" ]; then
    BROKER_DIR="$WORK/broker"
    scripts/broker.sh start "$BROKER_DIR" >&2
    # shellcheck disable=SC1091
    . "$BROKER_DIR/env"
  fi
  [[ $WARREN_AMQP_URL =~ ^amqp://([^:@/]*(:[^@/]*)?@)?([^:/]+)(:([0-9]+))? ]] || { echo "cannot parse WARREN_AMQP_URL" >&2; exit 1; }
  H=${BASH_REMATCH[3]} P=${BASH_REMATCH[5]:-5672}
  export WARREN_AMQP_URL
}
