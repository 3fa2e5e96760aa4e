#!/usr/bin/env bash
# Warren drain benchmark: `warren worker` vs a minimal C consumer on librabbitmq,
# side by side against the same broker in the same run. See bench/README.md.
#
# usage: bench/run.sh [--count N] [--size BYTES] [--pairs N] [--check] [--log-cost] [--fake-warren]
#
#   --count N      messages per round (default 100000); --size BYTES: their size (256)
#   --pairs N      rounds per consumer, in alternating order C W, W C, ... (default 2);
#                  each consumer's best round is compared
#   --check        exit 3 when a target is missed (default: exit 0 once measured)
#   --log-cost     also run Warren with logging off (--log-level critical) and at debug (one
#                  line per message) in every pair, and compare the info-level rounds with the
#                  silent ones (target: info costs at most 10% of the drain rate)
#   --fake-warren  harness self-test: the C consumer stands in for `warren worker`
#
# Environment:
#   WARREN_AMQP_URL         broker to use (amqp://user:pass@host:port/vhost).
#                           Unset: a throwaway broker is started with
#                           scripts/broker.sh and destroyed on exit.
#   WARREN_BENCH_RABBITMQCTL  rabbitmqctl for that broker (only needed with
#                           WARREN_AMQP_URL; default $WARREN_TEST_RABBITMQCTL);
#                           used after each Warren round to confirm that no
#                           message is left unacknowledged.
#   WARREN_BINARY           warren executable to measure. Unset: built with
#                           `swift build -c release --product warren`.
#   WARREN_BENCH_CONCURRENCY  worker --concurrency (default 8).
#   WARREN_BENCH_TIMEOUT    per-phase deadline in seconds (default 300).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/bench/out"
COUNT=100000
SIZE=256
PREFETCH=200
QUEUE=bench.q
CONCURRENCY=${WARREN_BENCH_CONCURRENCY:-8}
TIMEOUT=${WARREN_BENCH_TIMEOUT:-300}
POLL_MS=20
FAKE_WARREN=0
CHECK=0
PAIRS=2
LOG_COST=0
TARGET_LOG_COST_RATIO=0.9
# The level of the main Warren rounds: the production default (nothing per message at info).
W_LEVEL=info
TARGET_RATE_RATIO=0.9
TARGET_RSS_MB=25

while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --count=*) COUNT=${1#*=}; shift ;;
    --size) SIZE=$2; shift 2 ;;
    --size=*) SIZE=${1#*=}; shift ;;
    --pairs) PAIRS=$2; shift 2 ;;
    --pairs=*) PAIRS=${1#*=}; shift ;;
    --check) CHECK=1; shift ;;
    --log-cost) LOG_COST=1; shift ;;
    --fake-warren) FAKE_WARREN=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench: unknown argument: $1" >&2; exit 64 ;;
  esac
done
[[ $COUNT =~ ^[1-9][0-9]*$ ]] || { echo "bench: --count must be a positive integer" >&2; exit 64; }
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || { echo "bench: --pairs must be a positive integer" >&2; exit 64; }
if ! [[ $SIZE =~ ^[0-9]+$ ]] || [ "$SIZE" -lt 10 ]; then echo "bench: --size must be >= 10" >&2; exit 64; fi

# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
mkdir -p "$OUT"
rm -f "$OUT"/watch-*.txt "$OUT"/time-*.txt "$OUT"/consume-*.txt "$OUT"/warren*.log "$OUT"/result.*
bench_logging bench run.log

BROKER_DIR=
WORKER_PID=
WATCH_PID=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  if [ -n "$WATCH_PID" ]; then kill "$WATCH_PID" 2>/dev/null || true; fi
  if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
    kill -KILL "$WORKER_PID" 2>/dev/null || true
  fi
  if [ -n "$BROKER_DIR" ]; then
    "$ROOT/scripts/broker.sh" destroy "$BROKER_DIR" >>"$LOG" 2>&1 || true
    rm -rf "$BROKER_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic via awk.
calc() { awk "BEGIN { printf \"%.10g\", $1 }"; }
# nonneg EXPR: like calc, but at least 0 (tick rounding can make a difference slightly negative).
nonneg() { awk "BEGIN { v = $1; printf \"%.10g\", (v < 0) ? 0 : v }"; }

# ------------------------------------------------------------------- build
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing GNU time"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >>"$LOG" 2>&1 || \
      { apt-get update -qq >>"$LOG" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >>"$LOG" 2>&1; } || \
      fail "cannot install GNU time"
  else
    fail "/usr/bin/time (GNU time) is required: apt-get install time"
  fi
fi

CB="$OUT/warren_bench"
log "building $CB"
cc -O2 -Wall -o "$CB" "$ROOT/bench/c-consumer/warren_bench.c" -lrabbitmq >>"$LOG" 2>&1 || fail "C build failed (see $LOG)"

if [ "$FAKE_WARREN" = 1 ]; then
  WARREN_BINARY="$OUT/fake-warren"   # written once the broker address is known
elif [ -z "${WARREN_BINARY:-}" ]; then
  # The artifact users run (make release, the Docker image): release, Swift runtime linked
  # statically. Its own scratch path keeps the ordinary release build intact.
  log "building warren (release, --static-swift-stdlib)"
  (cd "$ROOT" && swift build -c release --static-swift-stdlib --product warren --scratch-path .build-static) >>"$LOG" 2>&1 \
    || fail "swift build failed (see $LOG)"
  WARREN_BINARY="$(cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/warren"
fi
[ "$FAKE_WARREN" = 1 ] || [ -x "$WARREN_BINARY" ] || fail "no warren binary at $WARREN_BINARY"
log "warren binary: $WARREN_BINARY"

# ------------------------------------------------------------------ broker
bench_broker

url_re='^amqps?://(([^:@/]*)(:([^@/]*))?@)?([^:/?]+)(:([0-9]+))?(/([^?]*))?'
[[ $WARREN_AMQP_URL =~ $url_re ]] || fail "cannot parse WARREN_AMQP_URL=$WARREN_AMQP_URL"
urldecode() { local s=${1//+/ }; printf '%b' "${s//%/\\x}"; }
HOST=${BASH_REMATCH[5]}
PORT=${BASH_REMATCH[7]:-5672}
export BENCH_AMQP_USER; BENCH_AMQP_USER=$(urldecode "${BASH_REMATCH[2]:-guest}")
export BENCH_AMQP_PASS; BENCH_AMQP_PASS=$(urldecode "${BASH_REMATCH[4]:-guest}")
export BENCH_AMQP_VHOST; BENCH_AMQP_VHOST=$(urldecode "${BASH_REMATCH[9]:-}")
[ -n "$BENCH_AMQP_VHOST" ] || BENCH_AMQP_VHOST=/
log "broker $HOST:$PORT vhost $BENCH_AMQP_VHOST"

# The broker's Erlang VM, to measure its CPU per round (optional).
BROKER_PID=$(ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true)

if [ "$FAKE_WARREN" = 1 ]; then
  cat >"$WARREN_BINARY" <<EOF
#!/bin/sh
# bench self-test: plays 'warren worker' with the C consumer (never exits by itself)
exec "$CB" consume "$HOST" "$PORT" "$QUEUE" "$PREFETCH" 999999999999
EOF
  chmod +x "$WARREN_BINARY"
fi

# ------------------------------------------------------------------ helpers
ready() { "$CB" ready "$HOST" "$PORT" "$QUEUE"; }

# cpu_ticks PID: utime+stime of a live process, in clock ticks.
cpu_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  stat=${stat##*) }
  awk '{ print $12 + $13 }' <<<"$stat"
}
# hwm_kb PID: peak resident set size (VmHWM) in kB.
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# ctxsw PID: voluntary + involuntary context switches summed over all threads.
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ { n += $2 } END { print n + 0 }'; }
# nthreads PID
nthreads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# unacked: messages_unacknowledged of $QUEUE via rabbitmqctl (empty if unavailable).
unacked() {
  [ -n "$RABBITMQCTL" ] || return 0
  "$RABBITMQCTL" -q list_queues -p "$BENCH_AMQP_VHOST" name messages_unacknowledged 2>>"$LOG" |
    awk -v q="$QUEUE" '$1 == q { print $2 }'
}

# declare: (re)create $QUEUE exactly as Warren declares it. Every round starts
# from a new, empty queue, so no round inherits another's queue index state.
declare_queue() {
  "$CB" declare "$HOST" "$PORT" "$QUEUE" "$QUEUE.dlx" classic 2>>"$LOG" || fail "declare failed (see $LOG)"
}

prefill() {
  local n
  declare_queue
  n=$(ready)
  [ "$n" = 0 ] || fail "queue $QUEUE has $n ready messages before prefill"
  log "prefilling $COUNT x $SIZE B persistent messages"
  timeout "$TIMEOUT" "$CB" publish "$HOST" "$PORT" "$QUEUE" "$COUNT" "$SIZE" >>"$LOG" 2>&1 ||
    fail "prefill failed (see $LOG)"
  n=$(ready)
  [ "$n" = "$COUNT" ] || fail "after prefill $QUEUE has $n ready messages, expected $COUNT"
  settle
}


# start_watch FILE: background ready-count watcher, returns once it is polling.
start_watch() {
  "$CB" watch "$HOST" "$PORT" "$QUEUE" "$COUNT" "$POLL_MS" "$TIMEOUT" >"$1" 2>>"$LOG" &
  WATCH_PID=$!
  sleep 0.3
  kill -0 "$WATCH_PID" 2>/dev/null || fail "queue watcher failed to start"
}

# wait_watch: wait for the watcher to see the queue empty (it has its own deadline).
wait_watch() {
  local rc=0
  wait "$WATCH_PID" || rc=$?
  WATCH_PID=
  return $rc
}


broker_ticks() { if [ -n "$BROKER_PID" ]; then cpu_ticks "$BROKER_PID"; else echo 0; fi; }

# ------------------------------------------------------------------- setup
log "queue $QUEUE: durable, x-dead-letter-exchange=$QUEUE.dlx, x-queue-type=classic (re-created for each round)"

# ------------------------------------------------------------------ rounds
# Each round leaves its figures in R[consumer,round,key].
declare -A R

# round_c N: prefill, then drain with the C consumer.
round_c() {
  local r=$1 tag=c-$1 b0 b1 s0 s1 t0 t1 usr sys rss vcsw icsw cpu first empty n
  prefill
  log "round $r, C consumer (prefetch $PREFETCH, per-message ack)"
  start_watch "$OUT/watch-$tag.txt"
  b0=$(broker_ticks); s0=$(sys_busy_ticks)
  t0=$(now)
  timeout "$TIMEOUT" /usr/bin/time -f "%e %U %S %M %w %c" -o "$OUT/time-$tag.txt" \
    "$CB" consume "$HOST" "$PORT" "$QUEUE" "$PREFETCH" "$COUNT" >"$OUT/consume-$tag.txt" 2>>"$LOG" ||
    fail "C consumer failed (see $LOG)"
  wait_watch || fail "watcher failed in round $r (C)"
  b1=$(broker_ticks); s1=$(sys_busy_ticks)
  t1=$(now)
  read -r _ usr sys rss vcsw icsw <"$OUT/time-$tag.txt"
  cpu=$(calc "$usr + $sys")
  first=$(awk '$1 == "first_drop" { print $2 }' "$OUT/watch-$tag.txt")
  empty=$(awk '$1 == "empty" { print $2 }' "$OUT/watch-$tag.txt")
  R[c,$r,span]=$(calc "$empty - $t0")
  R[c,$r,rate]=$(calc "$COUNT / ($empty - $t0)")
  R[c,$r,rate_d]=$(calc "$COUNT / ($empty - $first)")
  R[c,$r,us]=$(calc "$cpu * 1e6 / $COUNT")
  R[c,$r,rss_kb]=$rss
  R[c,$r,csw]=$(calc "($vcsw + $icsw) / $COUNT")
  R[c,$r,broker]=$(calc "($b1 - $b0) / $CLK_TCK / ($t1 - $t0)")
  R[c,$r,other]=$(nonneg "((($s1 - $s0) - ($b1 - $b0)) / $CLK_TCK - $cpu) / ($t1 - $t0)")
  R[c,$r,note]="own clock: $(cat "$OUT/consume-$tag.txt")"
  cat "$OUT/consume-$tag.txt" >>"$LOG"
  n=$(ready); [ "$n" = 0 ] || fail "queue not empty after round $r (C): $n ready"
}

# round_warren N [KEY LEVEL]: prefill, then drain with `warren worker --log-level LEVEL`
# (default: key w, level $W_LEVEL); the figures go to R[KEY,N,...].
round_warren() {
  local r=$1 k=${2:-w} level=${3:-$W_LEVEL}
  local tag=warren-$k-$1 b0 b1 s0 s1 w1 t0 t_seen t_done first empty n u deadline rc
  local cpu_end rss csw threads unacked_note stop_note exit_status
  prefill
  log "round $r, warren worker (prefetch $PREFETCH, concurrency $CONCURRENCY, handler noop, log level $level)"
  start_watch "$OUT/watch-$tag.txt"
  b0=$(broker_ticks); s0=$(sys_busy_ticks)
  t0=$(now)
  if [ "$FAKE_WARREN" = 1 ]; then
    "$WARREN_BINARY" >"$OUT/$tag.log" 2>&1 &
  else
    WARREN_AMQP_URL="$WARREN_AMQP_URL" "$WARREN_BINARY" worker --queue "$QUEUE" --queue-type classic \
      --prefetch "$PREFETCH" --concurrency "$CONCURRENCY" --log-level "$level" --log-format json --handler noop --http-port 0 \
      >"$OUT/$tag.log" 2>&1 &
  fi
  WORKER_PID=$!
  # Watch the queue drain, bailing out if the worker dies.
  while kill -0 "$WATCH_PID" 2>/dev/null; do
    if ! kill -0 "$WORKER_PID" 2>/dev/null; then
      wait "$WORKER_PID" && rc=0 || rc=$?
      WORKER_PID=
      tail -n 20 "$OUT/$tag.log" | sed 's/^/  warren: /' >&2
      fail "warren worker exited early (status $rc) before draining the queue"
    fi
    sleep 0.05
  done
  wait_watch || fail "queue did not drain within ${TIMEOUT}s in round $r (see $OUT/$tag.log)"
  t_seen=$(now)
  b1=$(broker_ticks); s1=$(sys_busy_ticks); w1=$(cpu_ticks "$WORKER_PID")
  # Ready is 0; the worker may still hold up to $PREFETCH unacked messages.
  unacked_note="unacked=0 confirmed by rabbitmqctl"
  if [ -n "$RABBITMQCTL" ]; then
    deadline=$(( $(date +%s) + 60 ))
    while :; do
      u=$(unacked)
      [ "$u" = 0 ] && break
      [ "$(date +%s)" -lt "$deadline" ] || fail "worker still has ${u:-?} unacked messages 60 s after the queue emptied"
      sleep 0.2
    done
  else
    unacked_note="unacked NOT checked (no rabbitmqctl); waited 1 s"
    sleep 1
  fi
  t_done=$(now)
  cpu_end=$(cpu_ticks "$WORKER_PID")
  rss=$(hwm_kb "$WORKER_PID")
  csw=$(ctxsw "$WORKER_PID")
  threads=$(nthreads "$WORKER_PID")
  kill -0 "$WORKER_PID" 2>/dev/null || fail "warren worker exited before it could be measured"
  kill -TERM "$WORKER_PID"
  deadline=$(( $(date +%s) + 15 ))
  while kill -0 "$WORKER_PID" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$WORKER_PID" 2>/dev/null; then
    log "WARNING: warren worker ignored SIGTERM for 15 s; killing it"
    kill -KILL "$WORKER_PID" 2>/dev/null || true
    stop_note="killed after 15 s (did not stop on SIGTERM)"
  else
    stop_note="stopped on SIGTERM"
  fi
  wait "$WORKER_PID" 2>/dev/null && exit_status=0 || exit_status=$?
  WORKER_PID=
  first=$(awk '$1 == "first_drop" { print $2 }' "$OUT/watch-$tag.txt")
  empty=$(awk '$1 == "empty" { print $2 }' "$OUT/watch-$tag.txt")
  R[$k,$r,span]=$(calc "$empty - $t0")
  R[$k,$r,rate]=$(calc "$COUNT / ($empty - $t0)")
  R[$k,$r,rate_d]=$(calc "$COUNT / ($empty - $first)")
  R[$k,$r,us]=$(calc "$cpu_end / $CLK_TCK * 1e6 / $COUNT")
  R[$k,$r,rss_kb]=$rss
  R[$k,$r,csw]=$(calc "$csw / $COUNT")
  R[$k,$r,broker]=$(calc "($b1 - $b0) / $CLK_TCK / ($t_seen - $t0)")
  R[$k,$r,other]=$(nonneg "(($s1 - $s0) - ($b1 - $b0) - $w1) / $CLK_TCK / ($t_seen - $t0)")
  R[$k,$r,note]="$unacked_note; measured $(calc "$t_done - $t_seen" | awk '{ printf "%.2f", $1 }') s after empty with $threads threads, then $stop_note, exit status $exit_status"
  n=$(ready); [ "$n" = 0 ] || fail "queue not empty after round $r (warren): $n ready"
  if [ -s "$OUT/$tag.log" ]; then
    log "warren printed $(wc -l <"$OUT/$tag.log") log line(s) at level $level (see $OUT/$tag.log)"
  fi
}

# Pairs alternate their order (C W, W C, C W...) so that neither consumer
# always runs first on a fresh queue or after the same neighbour.
# Warm-up, not counted. The broker's own cost per message drifts a lot with its state: in
# one run the same C consumer drained at 34k msg/s in its first round on a fresh node and
# 18.5k in its last (broker CPU 39 vs 65 us per message), as the node accumulates the
# cleanup of earlier rounds' persistent messages. A warm-up drain keeps the first measured
# round from being the only one on an untouched node; the alternating C W W C order then
# gives both consumers early and late rounds. Compare figures within one run only.
log "warm-up drain (not counted)"
round_c 0

ORDER=()
for ((p = 1; p <= PAIRS; p++)); do
  if (( p % 2 )); then
    round_c "$p"; round_warren "$p"; ORDER+=("c $p" "w $p")
    if [ "$LOG_COST" = 1 ]; then
      round_warren "$p" q critical; round_warren "$p" d debug; ORDER+=("q $p" "d $p")
    fi
  else
    if [ "$LOG_COST" = 1 ]; then
      round_warren "$p" d debug; round_warren "$p" q critical; ORDER+=("d $p" "q $p")
    fi
    round_warren "$p"; round_c "$p"; ORDER+=("w $p" "c $p")
  fi
done
KEYS="c w"
[ "$LOG_COST" = 1 ] && KEYS="c w q d"

# ----------------------------------------------------------------- report
# best K KEY max|min: the best value of KEY over consumer K's rounds.
best() {
  local k=$1 key=$2 how=$3 p v out=
  for ((p = 1; p <= PAIRS; p++)); do
    v=${R[$k,$p,$key]}
    if [ -z "$out" ] || awk -v v="$v" -v o="$out" -v h="$how" \
        'BEGIN { exit !((h == "max") ? v + 0 > o + 0 : v + 0 < o + 0) }'; then
      out=$v
    fi
  done
  echo "$out"
}
C_RATE=$(best c rate max);    W_RATE=$(best w rate max)
C_RATE_D=$(best c rate_d max); W_RATE_D=$(best w rate_d max)
C_US=$(best c us min);        W_US=$(best w us min)
C_RSS_KB=$(best c rss_kb max); W_RSS_KB=$(best w rss_kb max)
MAX_OTHER=0
for ((p = 1; p <= PAIRS; p++)); do
  for k in $KEYS; do
    MAX_OTHER=$(calc "(${R[$k,$p,other]} > $MAX_OTHER) ? ${R[$k,$p,other]} : $MAX_OTHER")
  done
done
C_MB=$(calc "$C_RSS_KB / 1024"); W_MB=$(calc "$W_RSS_KB / 1024")
RATE_RATIO=$(calc "$W_RATE / $C_RATE")
RATE_RATIO_D=$(calc "$W_RATE_D / $C_RATE_D")
CPU_RATIO=$(calc "$W_US / $C_US")
RSS_RATIO=$(calc "$W_MB / $C_MB")
NOISY=$(awk -v m="$MAX_OTHER" 'BEGIN { print (m > 0.25) ? 1 : 0 }')
RATE_OK=$(awk -v r="$RATE_RATIO" -v t="$TARGET_RATE_RATIO" 'BEGIN { print (r >= t) ? "PASS" : "MISS" }')
RSS_OK=$(awk -v m="$W_MB" -v t="$TARGET_RSS_MB" 'BEGIN { print (m <= t) ? "PASS" : "MISS" }')

row() {  # row LABEL RATE RATE_D US RSS_KB [SPAN BROKER OTHER]
  if [ $# -gt 5 ]; then
    printf '%-11s | %8.0f | %13.0f | %10.2f | %11.1f | %11.3fs | %4.2f cores | %4.2f cores\n' \
      "$1" "$2" "$3" "$4" "$(calc "$5 / 1024")" "$6" "$7" "$8"
  else
    printf '%-11s | %8.0f | %13.0f | %10.2f | %11.1f |\n' "$1" "$2" "$3" "$4" "$(calc "$5 / 1024")"
  fi
}
name() { case $1 in c) echo C ;; w) echo Warren ;; q) echo "W/log off" ;; d) echo "W/debug" ;; esac; }
if [ "$LOG_COST" = 1 ]; then
  Q_RATE=$(best q rate max); D_RATE=$(best d rate max)
  Q_RATE_D=$(best q rate_d max); D_RATE_D=$(best d rate_d max)
  Q_US=$(best q us min); D_US=$(best d us min)
  Q_RSS_KB=$(best q rss_kb max); D_RSS_KB=$(best d rss_kb max)
  LOG_INFO_RATIO=$(calc "$W_RATE / $Q_RATE")
  LOG_DEBUG_RATIO=$(calc "$D_RATE / $Q_RATE")
  LOG_OK=$(awk -v r="$LOG_INFO_RATIO" -v t="$TARGET_LOG_COST_RATIO" 'BEGIN { print (r >= t) ? "PASS" : "MISS" }')
fi

{
  echo "Warren drain benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) cores"
  echo "$COUNT persistent ${SIZE}-byte JSON messages, classic queue $QUEUE, prefetch $PREFETCH, per-message ack"
  echo "warren: $WARREN_BINARY worker --concurrency $CONCURRENCY --log-level $W_LEVEL --handler noop$( [ "$FAKE_WARREN" = 1 ] && echo '  [FAKE: C consumer stands in for warren]')"
  echo
  printf '%-11s | %8s | %13s | %10s | %11s | %12s | %10s | %10s\n' \
    consumer "msgs/s" "msgs/s(drain)" "CPU us/msg" "peak RSS MB" "start->empty" "broker" "other load"
  printf '%-11s-+-%8s-+-%13s-+-%10s-+-%11s-+-%12s-+-%10s-+-%10s\n' \
    ----------- -------- ------------- ---------- ----------- ------------ ---------- ----------
  for o in "${ORDER[@]}"; do
    read -r k p <<<"$o"
    row "$(name "$k") #$p" "${R[$k,$p,rate]}" "${R[$k,$p,rate_d]}" "${R[$k,$p,us]}" "${R[$k,$p,rss_kb]}" \
      "${R[$k,$p,span]}" "${R[$k,$p,broker]}" "${R[$k,$p,other]}"
  done
  if [ "$PAIRS" -gt 1 ]; then
    printf '%-11s-+-%8s-+-%13s-+-%10s-+-%11s-+\n' ----------- -------- ------------- ---------- -----------
    row "C best" "$C_RATE" "$C_RATE_D" "$C_US" "$C_RSS_KB"
    row "Warren best" "$W_RATE" "$W_RATE_D" "$W_US" "$W_RSS_KB"
    if [ "$LOG_COST" = 1 ]; then
      row "W/off best" "$Q_RATE" "$Q_RATE_D" "$Q_US" "$Q_RSS_KB"
      row "W/dbg best" "$D_RATE" "$D_RATE_D" "$D_US" "$D_RSS_KB"
    fi
    echo "(best of $PAIRS rounds each: highest rates, lowest CPU, highest RSS)"
  fi
  echo
  printf 'Warren/C: rate %.3fx (drain-only %.3fx), CPU per message %.2fx, peak RSS %.2fx\n' \
    "$RATE_RATIO" "$RATE_RATIO_D" "$CPU_RATIO" "$RSS_RATIO"
  printf 'target rate    >= %.1f x C     : %.3f x  %s\n' "$TARGET_RATE_RATIO" "$RATE_RATIO" "$RATE_OK"
  printf 'target RSS     <= %d MB        : %.1f MB  %s\n' "$TARGET_RSS_MB" "$W_MB" "$RSS_OK"
  if [ "$LOG_COST" = 1 ]; then
    printf 'logging: info / off rate %.3fx (drain-only %.3fx); debug (a line per message) / off %.3fx (drain-only %.3fx)\n' \
      "$LOG_INFO_RATIO" "$(calc "$W_RATE_D / $Q_RATE_D")" "$LOG_DEBUG_RATIO" "$(calc "$D_RATE_D / $Q_RATE_D")"
    printf 'target logging at info >= %.2f x off : %.3f x  %s\n' "$TARGET_LOG_COST_RATIO" "$LOG_INFO_RATIO" "$LOG_OK"
  fi
  echo
  echo "msgs/s        = messages / (process start -> ready count 0), polled every ${POLL_MS} ms over AMQP;"
  echo "                includes process start-up and connection set-up (the basis of the targets)."
  echo "msgs/s(drain) = messages / (first delivery seen -> ready count 0)."
  echo "CPU us/msg    = process user+sys CPU (start-up included) / messages; RSS = peak (VmHWM), MB = MiB."
  echo "broker        = broker (beam.smp) CPU / wall time, from consumer start until the queue was seen empty."
  echo "other load    = CPU used by everything else on the machine meanwhile (should be ~0)."
  if [ "$NOISY" = 1 ]; then
    echo "WARNING: other processes used > 0.25 cores during a round: the figures are unreliable; rerun on a quiet machine."
  fi
  for o in "${ORDER[@]}"; do
    read -r k p <<<"$o"
    printf '%s #%s: %.3f context switches/msg; %s\n' "$(name "$k")" "$p" "${R[$k,$p,csw]}" "${R[$k,$p,note]}"
  done
} | tee "$OUT/result.txt"

# Machine-readable copy.
cat >"$OUT/result.env" <<EOF
count=$COUNT
size=$SIZE
pairs=$PAIRS
c_msgs_per_s=$C_RATE
c_drain_msgs_per_s=$C_RATE_D
c_cpu_us_per_msg=$C_US
c_peak_rss_kb=$C_RSS_KB
warren_msgs_per_s=$W_RATE
warren_drain_msgs_per_s=$W_RATE_D
warren_cpu_us_per_msg=$W_US
warren_peak_rss_kb=$W_RSS_KB
rate_ratio=$RATE_RATIO
cpu_ratio=$CPU_RATIO
rss_ratio=$RSS_RATIO
max_other_load_cores=$MAX_OTHER
rate_target=$RATE_OK
rss_target=$RSS_OK
EOF
if [ "$LOG_COST" = 1 ]; then
  cat >>"$OUT/result.env" <<EOF
warren_log_off_msgs_per_s=$Q_RATE
warren_log_debug_msgs_per_s=$D_RATE
log_info_over_off_ratio=$LOG_INFO_RATIO
log_debug_over_off_ratio=$LOG_DEBUG_RATIO
log_cost_target=$LOG_OK
EOF
fi

if [ "$CHECK" = 1 ] && { [ "$RATE_OK" != PASS ] || [ "$RSS_OK" != PASS ] || [ "${LOG_OK:-PASS}" != PASS ]; }; then
  exit 3
fi
exit 0
