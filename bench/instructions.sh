#!/usr/bin/env bash
# Instructions per message, counted by callgrind: Warren's shipped static binary and the C
# consumer drain the same queue, twice each (SMALL and LARGE messages); the difference of the
# two totals divided by LARGE - SMALL is the cost of one message, without startup and shutdown.
#
# usage: bench/instructions.sh [--handlers noop,demo] [--bodies ok,permanent] [--counts 2000,10000]
#                              [--queue-type quorum|classic] [--top N] [--no-c] [--keep DIR]
#   WARREN_BINARY=<path>   the binary to count (default: scripts/release-build.sh's, built first)
#   WARREN_AMQP_URL=...    use that broker (default: a throwaway node, started and destroyed)
#
# Why instructions and not seconds: this VM has no hardware counters, and CPU time on 2 shared
# cores moves by 10-20 % from round to round. Callgrind counts the same total for the same binary
# and inputs whatever else the machine does, so a change of a few hundred instructions per
# message shows. It counts user space only: the kernel's share (syscalls, context switches) is
# bench/run.sh's CPU µs per message. Callgrind runs the program ~50x slower, on one thread at a
# time, so the order in which threads interleave differs from a real run (batches are larger).
#
# --keep DIR keeps each case's callgrind outputs there (for callgrind_annotate --inclusive=yes).
# Prints one line per case: instructions/msg, and with --top N the N functions whose own cost
# per message grew the most between SMALL and LARGE (what a message spends its instructions on).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HANDLERS=noop,demo BODIES=ok COUNTS=2000,10000 QTYPE=quorum TOP=0 WITH_C=1 KEEP=
while [ $# -gt 0 ]; do
  case "$1" in
    --handlers) HANDLERS=$2; shift 2 ;;
    --bodies) BODIES=$2; shift 2 ;;
    --counts) COUNTS=$2; shift 2 ;;
    --queue-type) QTYPE=$2; shift 2 ;;
    --top) TOP=$2; shift 2 ;;
    --no-c) WITH_C=0; shift ;;
    --keep) KEEP=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 64 ;;
  esac
done
SMALL=${COUNTS%,*} LARGE=${COUNTS#*,}
[ "$LARGE" -gt "$SMALL" ] || { echo "--counts SMALL,LARGE with LARGE > SMALL" >&2; exit 64; }
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 69; }

# shellcheck source=scripts/lib/callgrind-workload.sh
. "$ROOT/scripts/lib/callgrind-workload.sh"
callgrind_workdir warren-instructions
callgrind_workload "${WARREN_BINARY:-}"
Q=bench.instructions

body_of() {
  case "$1" in
    ok) echo "" ;;
    permanent) echo '{"fail":"permanent"}' ;;
    transient) echo '{"fail":"transient"}' ;;
    *) echo "unknown body $1 (ok, permanent, transient)" >&2; exit 64 ;;
  esac
}

# prefill COUNT BODY: a fresh queue (declared as Warren declares it) holding COUNT messages.
prefill() {
  "$WORK/wb" delete "$H" "$P" "$Q" "$Q.dead" "$Q.retry.10m" >/dev/null 2>&1 || true
  "$WORK/wb" declare "$H" "$P" "$Q" "$Q.dlx" "$QTYPE" >/dev/null
  if [ -n "$2" ]; then "$WORK/wb" publish "$H" "$P" "$Q" "$1" 256 "$2" >/dev/null
  else "$WORK/wb" publish "$H" "$P" "$Q" "$1" 256 >/dev/null; fi
}

# total OUT: the instructions callgrind counted in every thread of the run.
total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

# count_warren HANDLER COUNT BODY OUT: Warren drains COUNT messages under callgrind, then stops.
count_warren() {
  prefill "$2" "$3"
  valgrind --tool=callgrind --dump-instr=no --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$4" \
    "$WORK/warren" worker --queue "$Q" --queue-type "$QTYPE" --prefetch 200 --concurrency 8 \
    --log-level info --log-format json --handler "$1" --retry-delays 10m --http-port 0 \
    >"$WORK/worker.log" 2>&1 &
  WORKER=$!
  local deadline=$(( $(date +%s) + 600 ))
  until [ "$("$WORK/wb" ready "$H" "$P" "$Q" 2>/dev/null)" = 0 ]; do
    kill -0 "$WORKER" 2>/dev/null || { tail "$WORK/worker.log" >&2; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the queue did not drain in 600 s" >&2; exit 1; }
    sleep 0.5
  done
  # The drain on SIGTERM finishes the last prefetch window (and, on the failure path, waits for
  # its copies' confirms) before the worker exits.
  kill -TERM "$WORKER"
  wait "$WORKER" || true
  WORKER=
}

# count_c COUNT OUT: the C consumer drains COUNT messages under callgrind.
count_c() {
  prefill "$1" ""
  valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$2" \
    "$WORK/wb" consume "$H" "$P" "$Q" 200 "$1" >/dev/null 2>&1
}

# top SMALL_OUT LARGE_OUT MESSAGES: the functions whose own cost grew the most, per message.
top() {
  python3 - "$1" "$2" "$3" "$TOP" <<'EOF'
import re, sys, collections
def selfcost(path):
    cost = collections.Counter()
    fn = None
    names = {}
    skip = False
    with open(path) as f:
        for line in f:
            if skip:
                # The line after calls= is the call's inclusive cost, not the caller's own.
                skip = False
                continue
            if line.startswith("calls="):
                skip = True
            elif line.startswith("fn="):
                m = re.match(r"fn=(?:\((\d+)\))?\s*(.*)", line.rstrip("\n"))
                ident, name = m.group(1), m.group(2)
                if ident and name: names[ident] = name
                fn = names.get(ident, name) if ident else name
            elif line[:1].isdigit() and fn is not None:
                parts = line.split()
                if len(parts) >= 2: cost[fn] += int(parts[1])
    return cost
small, large = selfcost(sys.argv[1]), selfcost(sys.argv[2])
messages, n = int(sys.argv[3]), int(sys.argv[4])
diff = {k: (large[k] - small.get(k, 0)) / messages for k in large}
for name, per in sorted(diff.items(), key=lambda kv: -kv[1])[:n]:
    print(f"    {per:9.0f}  {name[:150]}")
EOF
}

printf 'instructions per message (callgrind, (%s - %s messages) / %s, %s queue, prefetch 200)\n' \
  "$LARGE" "$SMALL" "$((LARGE - SMALL))" "$QTYPE"
if [ "$WITH_C" = 1 ]; then
  count_c "$SMALL" "$WORK/c.small"
  count_c "$LARGE" "$WORK/c.large"
  c=$(( ($(total "$WORK/c.large") - $(total "$WORK/c.small")) / (LARGE - SMALL) ))
  printf '  %-28s %8d\n' "C consumer" "$c"
fi
for body in ${BODIES//,/ }; do
  for handler in ${HANDLERS//,/ }; do
    content=$(body_of "$body")
    count_warren "$handler" "$SMALL" "$content" "$WORK/w.small"
    count_warren "$handler" "$LARGE" "$content" "$WORK/w.large"
    w=$(( ($(total "$WORK/w.large") - $(total "$WORK/w.small")) / (LARGE - SMALL) ))
    line=$(printf '  %-28s %8d' "warren $handler, body $body" "$w")
    [ "$WITH_C" = 1 ] && line="$line$(awk -v w="$w" -v c="$c" 'BEGIN { printf "   %.2f x C", w / c }')"
    echo "$line"
    [ "$TOP" = 0 ] || top "$WORK/w.small" "$WORK/w.large" "$((LARGE - SMALL))"
    if [ -n "$KEEP" ]; then
      mkdir -p "$KEEP"
      cp "$WORK/w.small" "$KEEP/$handler-$body.$SMALL.callgrind"
      cp "$WORK/w.large" "$KEEP/$handler-$body.$LARGE.callgrind"
    fi
  done
done
