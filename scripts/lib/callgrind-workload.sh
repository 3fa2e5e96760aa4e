# shellcheck shell=bash
# Sourced by scripts/release-symbol-order.sh and bench/instructions.sh: what running the static
# release binary under callgrind against a broker needs. The caller sets ROOT, WORK (a temp dir
# it removes on exit) and BROKER_DIR= (destroyed on exit when set), cds to ROOT, then calls
#   callgrind_workload [BINARY]
# which builds the static release binary unless BINARY is given, writes a copy callgrind can
# read to $WORK/warren, compiles the C helper to $WORK/wb, starts a throwaway broker in
# $WORK/broker unless WARREN_AMQP_URL is set (setting BROKER_DIR), exports WARREN_AMQP_URL, and
# sets H and P, the broker's host and port for wb.
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
