#!/usr/bin/env bash
# Warren throughput benchmark (issue 17): `warren worker` vs a minimal C consumer on librabbitmq,
# side by side against the same broker in the same run: drain rate and CPU per message on a
# classic and a quorum queue with the demo and noop handlers, the failure paths (dead-letter,
# retry queue), end-to-end latency at a paced rate, peak RSS, and optionally the scaling in
# message count and queue depth. One table, a PASS/MISS per target. See bench/README.md.
#
# usage: bench/run.sh [--count N] [--fail-count N] [--size BYTES] [--pairs N] [--sections LIST]
#                     [--queue-types LIST] [--latency-rate N] [--latency-seconds S] [--scaling]
#                     [--check] [--log-cost] [--fake-warren]
#
#   --count N          messages per drain round (default 100000); --size BYTES: their size (256)
#   --fail-count N     messages per failure-path round (default 50000; small bodies)
#   --pairs N          rounds per consumer and row, in alternating order (default 2); each
#                      row's best round is compared
#   --sections LIST    comma-separated subset of drain,failure,latency (default: all three)
#   --queue-types LIST classic,quorum (default both) for the drain and failure sections
#   --latency-rate N   paced publishes per second in the latency section (default 2000)
#   --latency-seconds S  how long the paced publisher runs (default 10)
#   --latency-queue-type T  queue type of the latency section (default quorum, Warren's default)
#   --scaling          also drain 10k, 100k and 1M messages and time the first 100k of a 1.1M
#                      queue (Warren, quorum, demo handler; the C consumer at 100k, 1M and the
#                      depth test; adds ~5 minutes)
#   --check            exit 3 when a target is missed (default: exit 0 once measured)
#   --log-cost         also run Warren (classic, noop) with logging off (--log-level critical) and
#                      at debug (one line per message) in every pair (target: info costs at most
#                      10% of the drain rate)
#   --fake-warren      harness self-test: the C consumer stands in for `warren worker` (expect
#                      ~1.0x in the drain and latency rows; in the failure rows the C failure-path
#                      reference stands in, so expect ~1.0x in the "W / C" reference rows)
#
# Environment:
#   WARREN_AMQP_URL         broker to use (amqp://user:pass@host:port/vhost).
#                           Unset: a throwaway broker is started with
#                           scripts/broker.sh and destroyed on exit.
#   WARREN_BENCH_RABBITMQCTL  rabbitmqctl for that broker (only needed with
#                           WARREN_AMQP_URL; default $WARREN_TEST_RABBITMQCTL);
#                           used after each Warren round to confirm that no
#                           message is left unacknowledged.
#   WARREN_BINARY           warren executable to measure. Unset: built as it ships
#                           (scripts/release-build.sh, as `make release` and the image: .build-static).
#   WARREN_BENCH_CONCURRENCY  worker --concurrency (default 8).
#   WARREN_BENCH_TIMEOUT    per-phase deadline in seconds (default 300).
#   WARREN_BENCH_SETTLE_MAX longest wait for a quiet machine before each round (default 30 s).
#   WARREN_BENCH_SCALING_COUNTS  --scaling's three message counts (default "10000 100000 1000000";
#                           smaller ones only to test the harness).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/bench/out"
COUNT=100000
FAIL_COUNT=50000
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
SECTIONS=drain,failure,latency
QTYPES=classic,quorum
LAT_RATE=2000
LAT_SECONDS=10
LAT_QTYPE=quorum
SCALING=0
# Warren's retry delay in every round: long enough that no retried copy comes back to Q while
# a round runs, so the transient failure row measures one pass (handler, copy to the retry
# queue, confirm, ack). The default policy (1s,10s,1m) takes the same path for the first attempt.
RETRY_DELAY=10m
# The same delay in ms, for the C failure-path reference's declare of Q.retry.$RETRY_DELAY (the
# arguments Warren declares it with: x-message-ttl).
RETRY_TTL_MS=600000
# The level of the main Warren rounds: the production default (nothing per message at info).
W_LEVEL=info
# Targets (issue 17).
TARGET_RATE_RATIO=0.95
TARGET_CPU_RATIO=1.5
AIM_CPU_RATIO=1.2
TARGET_FAIL_RATIO=0.5
TARGET_P99_RATIO=1.2
TARGET_RSS_MB=20
TARGET_LOG_COST_RATIO=0.9
# Scaling: Warren's CPU per message at 1M (and for the first 100k of a 1.1M queue) at most this
# x its CPU per message at 100k (linear in count, flat in depth).
TARGET_SCALING_CPU_RATIO=1.2

while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --count=*) COUNT=${1#*=}; shift ;;
    --fail-count) FAIL_COUNT=$2; shift 2 ;;
    --fail-count=*) FAIL_COUNT=${1#*=}; shift ;;
    --size) SIZE=$2; shift 2 ;;
    --size=*) SIZE=${1#*=}; shift ;;
    --pairs) PAIRS=$2; shift 2 ;;
    --pairs=*) PAIRS=${1#*=}; shift ;;
    --sections) SECTIONS=$2; shift 2 ;;
    --sections=*) SECTIONS=${1#*=}; shift ;;
    --queue-types) QTYPES=$2; shift 2 ;;
    --queue-types=*) QTYPES=${1#*=}; shift ;;
    --latency-rate) LAT_RATE=$2; shift 2 ;;
    --latency-rate=*) LAT_RATE=${1#*=}; shift ;;
    --latency-seconds) LAT_SECONDS=$2; shift 2 ;;
    --latency-seconds=*) LAT_SECONDS=${1#*=}; shift ;;
    --latency-queue-type) LAT_QTYPE=$2; shift 2 ;;
    --latency-queue-type=*) LAT_QTYPE=${1#*=}; shift ;;
    --scaling) SCALING=1; shift ;;
    --check) CHECK=1; shift ;;
    --log-cost) LOG_COST=1; shift ;;
    --fake-warren) FAKE_WARREN=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench: unknown argument: $1" >&2; exit 64 ;;
  esac
done
for v in COUNT FAIL_COUNT PAIRS LAT_RATE LAT_SECONDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive integer" >&2; exit 64; }
done
if ! [[ $SIZE =~ ^[0-9]+$ ]] || [ "$SIZE" -lt 10 ]; then echo "bench: --size must be >= 10" >&2; exit 64; fi
IFS=, read -r -a QTYPE_LIST <<<"$QTYPES"
for t in "${QTYPE_LIST[@]}" "$LAT_QTYPE"; do
  case $t in classic|quorum) ;; *) echo "bench: unknown queue type: $t" >&2; exit 64 ;; esac
done
IFS=, read -r -a SECTION_LIST <<<"$SECTIONS"
for s in "${SECTION_LIST[@]}"; do
  case $s in drain|failure|latency) ;; *) echo "bench: unknown section: $s" >&2; exit 64 ;; esac
done
section() { [[ ",$SECTIONS," == *",$1,"* ]]; }
LAT_COUNT=$(( LAT_RATE * LAT_SECONDS ))

# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
mkdir -p "$OUT"
rm -f "$OUT"/watch-*.txt "$OUT"/time-*.txt "$OUT"/consume-*.txt "$OUT"/warren*.log "$OUT"/latency-*.txt \
  "$OUT"/metrics-*.txt "$OUT"/result.*
bench_logging bench run.log
RUN_START=$(date +%s)

BROKER_DIR=
WORKER_PID=
WATCH_PID=
LAT_PID=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  if [ -n "$WATCH_PID" ]; then kill "$WATCH_PID" 2>/dev/null || true; fi
  if [ -n "$LAT_PID" ]; then kill "$LAT_PID" 2>/dev/null || true; fi
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
  log "building warren (scripts/release-build.sh: release, --static-swift-stdlib, its link flags)"
  (cd "$ROOT" && scripts/release-build.sh --product warren --scratch-path .build-static) >>"$LOG" 2>&1 \
    || fail "swift build failed (see $LOG)"
  WARREN_BINARY="$(cd "$ROOT" && scripts/release-build.sh --scratch-path .build-static --show-bin-path)/warren"
fi
[ "$FAKE_WARREN" = 1 ] || [ -x "$WARREN_BINARY" ] || fail "no warren binary at $WARREN_BINARY"
log "warren binary: $WARREN_BINARY"
# Peak RSS is mostly the binary's own file pages, and how many pages a fault maps depends on how
# the file sits in the page cache: a binary just written by the linker or `cp` is cached in large
# folios, and this kernel maps a whole folio on a fault, so the same executable measured 17.8 or
# 18.7 MB idle depending on the copy. Drop its cached pages once (written back first, or they
# stay), so every run starts where a freshly started container does: the binary read on demand.
if [ "$FAKE_WARREN" != 1 ]; then
  sync "$WARREN_BINARY" && dd if="$WARREN_BINARY" iflag=nocache count=0 status=none ||
    log "could not drop $WARREN_BINARY from the page cache: its RSS may read up to ~1 MB high"
fi

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
  # BENCH_FAKE_MODE=latency makes it the latency consumer (which prints its histogram and exits
  # after BENCH_FAKE_COUNT messages); BENCH_FAKE_MODE=fail with BENCH_FAKE_ARGS (c_fail_args) the
  # failure-path reference; otherwise it consumes until SIGTERM.
  cat >"$WARREN_BINARY" <<EOF
#!/bin/sh
# bench self-test: plays 'warren worker' with the C consumer
exec "$CB" "\${BENCH_FAKE_MODE:-consume}" "$HOST" "$PORT" "$QUEUE" "$PREFETCH" "\${BENCH_FAKE_COUNT:-999999999999}" \${BENCH_FAKE_ARGS:-}
EOF
  chmod +x "$WARREN_BINARY"
fi

# ------------------------------------------------------------------ helpers
ready() { "$CB" ready "$HOST" "$PORT" "${1:-$QUEUE}"; }

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
broker_ticks() { if [ -n "$BROKER_PID" ]; then cpu_ticks "$BROKER_PID"; else echo 0; fi; }

# unacked: messages_unacknowledged of $QUEUE via rabbitmqctl (empty if unavailable).
unacked() {
  [ -n "$RABBITMQCTL" ] || return 0
  "$RABBITMQCTL" -q list_queues -p "$BENCH_AMQP_VHOST" name messages_unacknowledged 2>>"$LOG" |
    awk -v q="$QUEUE" '$1 == q { print $2 }'
}

# wait_unacked_zero: after the ready count reached 0 the consumer may still hold up to
# $PREFETCH unacked messages; wait until the broker says none (or 1 s without rabbitmqctl).
# Sets UNACKED_NOTE for the round.
wait_unacked_zero() {
  local deadline u
  if [ -z "$RABBITMQCTL" ]; then sleep 1; UNACKED_NOTE="unacked NOT checked (no rabbitmqctl); waited 1 s"; return; fi
  deadline=$(( $(date +%s) + 60 ))
  while :; do
    u=$(unacked)
    [ "$u" = 0 ] && break
    [ "$(date +%s)" -lt "$deadline" ] || fail "consumer still has ${u:-?} unacked messages 60 s after the queue emptied"
    sleep 0.2
  done
  UNACKED_NOTE="unacked=0 confirmed by rabbitmqctl"
}

# fresh_queue TYPE: delete Q, Q.dead and the retry queue (a previous round's copies must not
# reach this one) and declare Q again exactly as Warren declares it. Warren declares Q.dlx,
# Q.dead and Q.retry.* itself when it connects.
fresh_queue() {
  "$CB" delete "$HOST" "$PORT" "$QUEUE" "$QUEUE.dead" "$QUEUE.retry.$RETRY_DELAY" 2>>"$LOG" || fail "delete failed (see $LOG)"
  "$CB" declare "$HOST" "$PORT" "$QUEUE" "$QUEUE.dlx" "$1" 2>>"$LOG" || fail "declare failed (see $LOG)"
}

# prefill TYPE N [BODY]: a new queue of TYPE holding N messages ($SIZE-byte JSON, or BODY).
prefill() {
  local qt=$1 n=$2 body=${3:-} got t0
  fresh_queue "$qt"
  got=$(ready)
  [ "$got" = 0 ] || fail "queue $QUEUE has $got ready messages before prefill"
  log "prefilling $n ${body:-${SIZE}-byte} persistent messages into a $qt queue"
  t0=$(now)
  # shellcheck disable=SC2086  # BODY is one word or nothing
  timeout "$TIMEOUT" "$CB" publish "$HOST" "$PORT" "$QUEUE" "$n" "$SIZE" ${body:+"$body"} >>"$LOG" 2>&1 ||
    fail "prefill failed (see $LOG)"
  PREFILL_S=$(calc "$(now) - $t0")
  got=$(ready)
  [ "$got" = "$n" ] || fail "after prefill $QUEUE has $got ready messages, expected $n"
  settle
}

# start_watch FILE START [DEST DEST_COUNT]: background watcher, returns once it is polling.
start_watch() {
  local file=$1; shift
  "$CB" watch "$HOST" "$PORT" "$QUEUE" "$1" "$POLL_MS" "$TIMEOUT" "${@:2}" >"$file" 2>>"$LOG" &
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

# c_fail_args QTYPE DEST: the arguments after COUNT of `warren_bench fail` whose copies go where
# Warren's go for DEST (Q.dead: dead-lettered; Q.retry.<delay>: a retry).
c_fail_args() {
  local target=dead
  [ "$2" = "$QUEUE.dead" ] || target=retry
  echo "$1 $target $QUEUE.retry.$RETRY_DELAY $RETRY_TTL_MS"
}

# start_warren TAG QTYPE HANDLER LEVEL [DEST]: `warren worker` in the background (WORKER_PID).
# DEST (failure rounds) only matters to --fake-warren: the C failure-path reference then plays it.
start_warren() {
  local tag=$1 qt=$2 handler=$3 level=$4 dest=${5:-}
  if [ "$FAKE_WARREN" = 1 ] && [ -n "$dest" ]; then
    BENCH_FAKE_MODE=fail BENCH_FAKE_ARGS=$(c_fail_args "$qt" "$dest") "$WARREN_BINARY" >"$OUT/$tag.log" 2>&1 &
  elif [ "$FAKE_WARREN" = 1 ]; then
    "$WARREN_BINARY" >"$OUT/$tag.log" 2>&1 &
  else
    "$WARREN_BINARY" worker --queue "$QUEUE" --queue-type "$qt" --prefetch "$PREFETCH" \
      --concurrency "$CONCURRENCY" --log-level "$level" --log-format json --handler "$handler" \
      --retry-delays "$RETRY_DELAY" --http-port 0 >"$OUT/$tag.log" 2>&1 &
  fi
  WORKER_PID=$!
}

# stop_warren: SIGTERM (SIGKILL after 15 s); sets STOP_NOTE to how it stopped.
stop_warren() {
  local deadline exit_status note
  kill -0 "$WORKER_PID" 2>/dev/null || fail "warren worker exited before it could be measured"
  kill -TERM "$WORKER_PID"
  deadline=$(( $(date +%s) + 15 ))
  while kill -0 "$WORKER_PID" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$WORKER_PID" 2>/dev/null; then
    log "WARNING: warren worker ignored SIGTERM for 15 s; killing it"
    kill -KILL "$WORKER_PID" 2>/dev/null || true
    note="killed after 15 s (did not stop on SIGTERM)"
  else
    note="stopped on SIGTERM"
  fi
  wait "$WORKER_PID" 2>/dev/null && exit_status=0 || exit_status=$?
  WORKER_PID=
  STOP_NOTE="$note, exit status $exit_status"
}

# worker_alive TAG: fail (with its log) when the worker died.
worker_alive() {
  local rc
  if ! kill -0 "$WORKER_PID" 2>/dev/null; then
    wait "$WORKER_PID" && rc=0 || rc=$?
    WORKER_PID=
    tail -n 20 "$OUT/$1.log" | sed 's/^/  warren: /' >&2
    fail "warren worker exited early (status $rc)"
  fi
}

# ------------------------------------------------------------------ rounds
# Each round leaves its figures in R[KEY,ROUND,field]. Keys: d.<qtype>.c|noop|demo (drain),
# f.<qtype>.ok|perm|trans (failure path, Warren), f.<qtype>.c.ok|perm|trans (failure path, the C
# reference), l.<qtype>.c|w (latency), s.<name> (scaling), d.classic.q|dbg (--log-cost).
declare -A R
ROUNDS=()   # "KEY ROUND" in the order run

# drain_round KEY P CONSUMER QTYPE N [BODY HANDLER LEVEL DEST UNTIL EXTRA]
#   CONSUMER c (the C consumer; with DEST the C failure-path reference, `warren_bench fail`, whose
#   copies go where Warren's go for DEST) or w (warren worker --handler HANDLER --log-level LEVEL).
#   The queue is prefilled with N messages (plus EXTRA left behind: the depth test), the clock
#   runs from the consumer's start until the ready count is UNTIL (default 0) and, with DEST,
#   DEST holds N messages (every copy arrived where it belongs).
drain_round() {
  local key=$1 p=$2 who=$3 qt=$4 n=$5 body=${6:-} handler=${7:-noop} level=${8:-$W_LEVEL} dest=${9:-} until=${10:-0}
  local extra=${11:-0} tag b0 b1 s0 s1 w1 t0 t_seen first empty got cpu usr sys rss vcsw icsw note
  tag=$(tr . - <<<"$key")-$p
  prefill "$qt" $(( n + extra )) "$body"
  R[$key,$p,prefill_s]=$PREFILL_S
  R[$key,$p,who]=$who
  log "round $key #$p: $who, $qt, $n messages${body:+ of $body}, handler $handler${dest:+, until $dest holds $n}"
  if [ -n "$dest" ]; then
    BENCH_WATCH_UNTIL=$until start_watch "$OUT/watch-$tag.txt" $(( n + extra )) "$dest" "$n"
  else
    BENCH_WATCH_UNTIL=$until start_watch "$OUT/watch-$tag.txt" $(( n + extra ))
  fi
  b0=$(broker_ticks); s0=$(sys_busy_ticks)
  t0=$(now)
  if [ "$who" = c ]; then
    local cmd=(consume "$HOST" "$PORT" "$QUEUE" "$PREFETCH" "$n") fail_args
    if [ -n "$dest" ]; then
      read -r -a fail_args <<<"$(c_fail_args "$qt" "$dest")"
      cmd=(fail "${cmd[@]:1}" "${fail_args[@]}")
    fi
    timeout "$TIMEOUT" /usr/bin/time -f "%e %U %S %M %w %c" -o "$OUT/time-$tag.txt" \
      "$CB" "${cmd[@]}" >"$OUT/consume-$tag.txt" 2>>"$LOG" || fail "C ${cmd[0]} failed (see $LOG)"
    wait_watch || fail "watcher failed in round $key #$p"
    b1=$(broker_ticks); s1=$(sys_busy_ticks); t_seen=$(now)
    read -r _ usr sys rss vcsw icsw <"$OUT/time-$tag.txt"
    cpu=$(calc "$usr + $sys")
    R[$key,$p,rss_kb]=$rss
    R[$key,$p,csw]=$(calc "($vcsw + $icsw) / $n")
    R[$key,$p,other]=$(nonneg "((($s1 - $s0) - ($b1 - $b0)) / $CLK_TCK - $cpu) / ($t_seen - $t0)")
    R[$key,$p,note]="own clock: $(cat "$OUT/consume-$tag.txt")"
    if [ -n "$dest" ]; then
      # It exited after acking N; a close with messages still unacked would requeue them (the
      # ready check below), and the broker must hold none unacked.
      wait_unacked_zero
      R[$key,$p,note]="${R[$key,$p,note]}; after its exit $UNACKED_NOTE"
    fi
  else
    start_warren "warren-$tag" "$qt" "$handler" "$level" "$dest"
    while kill -0 "$WATCH_PID" 2>/dev/null; do worker_alive "warren-$tag"; sleep 0.05; done
    wait_watch || fail "queue did not drain within ${TIMEOUT}s in round $key #$p (see $OUT/warren-$tag.log)"
    t_seen=$(now)
    b1=$(broker_ticks); s1=$(sys_busy_ticks); w1=$(cpu_ticks "$WORKER_PID")
    if [ "$until" = 0 ]; then wait_unacked_zero; note=$UNACKED_NOTE; else note="stopped at depth $until"; fi
    cpu=$(calc "$(cpu_ticks "$WORKER_PID") / $CLK_TCK")
    rss=$(hwm_kb "$WORKER_PID")
    R[$key,$p,rss_kb]=$rss
    R[$key,$p,csw]=$(calc "$(ctxsw "$WORKER_PID") / $n")
    note="$note; $(nthreads "$WORKER_PID") threads"
    stop_warren
    R[$key,$p,other]=$(nonneg "(($s1 - $s0) - ($b1 - $b0) - $w1) / $CLK_TCK / ($t_seen - $t0)")
    R[$key,$p,note]="$note, $STOP_NOTE"
    if [ -s "$OUT/warren-$tag.log" ]; then
      log "warren printed $(wc -l <"$OUT/warren-$tag.log") log line(s) (see $OUT/warren-$tag.log)"
    fi
  fi
  first=$(awk '$1 == "first_drop" { print $2 }' "$OUT/watch-$tag.txt")
  empty=$(awk '$1 == "empty" { print $2 }' "$OUT/watch-$tag.txt")
  R[$key,$p,span]=$(calc "$empty - $t0")
  R[$key,$p,rate]=$(calc "$n / ($empty - $t0)")
  R[$key,$p,rate_d]=$(calc "$n / ($empty - $first)")
  R[$key,$p,us]=$(calc "$cpu * 1e6 / $n")
  R[$key,$p,broker]=$(calc "($b1 - $b0) / $CLK_TCK / ($t_seen - $t0)")
  # The broker's CPU per message over the round (0 when its pid is unknown: no figure).
  if [ -n "$BROKER_PID" ]; then R[$key,$p,broker_us]=$(calc "($b1 - $b0) / $CLK_TCK * 1e6 / $n"); fi
  if [ "$until" = 0 ]; then
    got=$(ready)
    [ "$got" = 0 ] || fail "queue holds $got ready messages after round $key #$p"
  fi
  if [ -n "$dest" ]; then
    # Nothing lost: every message's copy is in DEST (and Q is empty, checked above).
    got=$(ready "$dest")
    [ "$got" = "$n" ] || fail "$dest holds $got messages after round $key #$p, expected $n"
    R[$key,$p,note]="${R[$key,$p,note]}; $dest holds $got = N"
  fi
  ROUNDS+=("$key $p")
}

# histogram_quantile Q FILE: Prometheus' histogram_quantile over the
# warren_message_age_seconds_bucket lines of FILE (summed over label sets), in seconds.
histogram_quantile() {
  awk -v q="$1" '
    /^warren_message_age_seconds_bucket[{]/ {
      if (!match($0, /le="[^"]*"/)) next
      le = substr($0, RSTART + 4, RLENGTH - 5)
      v = $NF + 0
      if (!(le in cum)) { n++; les[n] = le }
      cum[le] += v
    }
    END {
      if (n == 0) { print "nan"; exit }
      # sort by upper bound (+Inf last)
      for (i = 1; i <= n; i++) ub[i] = (les[i] == "+Inf") ? 1e300 : les[i] + 0
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (ub[j] < ub[i]) { t = ub[i]; ub[i] = ub[j]; ub[j] = t; t = les[i]; les[i] = les[j]; les[j] = t }
      total = cum[les[n]]
      if (total == 0) { print "nan"; exit }
      rank = q * total
      for (b = 1; b <= n && cum[les[b]] < rank; b++) ;
      if (b > n) b = n
      if (les[b] == "+Inf") { printf "%.6f\n", ub[b - 1]; exit }   # highest finite bound
      start = 0; prev = 0
      if (b > 1) { start = ub[b - 1]; prev = cum[les[b - 1]] }
      if (b == 1 && ub[b] <= 0) { printf "%.6f\n", ub[b]; exit }
      count = cum[les[b]] - prev
      printf "%.6f\n", start + (ub[b] - start) * ((rank - prev) / count)
    }' "$2"
}

# metrics_count FILE: warren_message_age_seconds_count summed over label sets.
metrics_count() { awk '/^warren_message_age_seconds_count/ { n += $NF } END { print n + 0 }' "$1"; }

# latency_round KEY P CONSUMER QTYPE: a consumer that keeps up with LAT_RATE msg/s of paced
# timestamped publishes for LAT_SECONDS; p50/p99 of publish -> handler start.
latency_round() {
  local key=$1 p=$2 who=$3 qt=$4 tag hist port deadline got note
  tag=$(tr . - <<<"$key")-$p
  hist="$OUT/latency-$tag.txt"
  fresh_queue "$qt"
  settle
  log "round $key #$p: $who, $qt, $LAT_COUNT messages paced at $LAT_RATE msg/s"
  if [ "$who" = c ] || [ "$FAKE_WARREN" = 1 ]; then
    if [ "$who" = c ]; then
      "$CB" latency "$HOST" "$PORT" "$QUEUE" "$PREFETCH" "$LAT_COUNT" >"$hist" 2>"$OUT/consume-$tag.txt" &
    else
      BENCH_FAKE_MODE=latency BENCH_FAKE_COUNT=$LAT_COUNT "$WARREN_BINARY" >"$hist" 2>"$OUT/consume-$tag.txt" &
    fi
    LAT_PID=$!
    deadline=$(( $(date +%s) + 30 ))
    until grep -q consuming "$OUT/consume-$tag.txt" 2>/dev/null; do
      kill -0 "$LAT_PID" 2>/dev/null || fail "latency consumer died (see $OUT/consume-$tag.txt)"
      [ "$(date +%s)" -lt "$deadline" ] || fail "latency consumer did not start"
      sleep 0.05
    done
    "$CB" pace "$HOST" "$PORT" "$QUEUE" "$LAT_COUNT" "$SIZE" "$LAT_RATE" >"$OUT/pace-$tag.txt" 2>>"$LOG" ||
      fail "paced publisher failed (see $LOG)"
    wait "$LAT_PID" || fail "latency consumer failed (see $OUT/consume-$tag.txt)"
    LAT_PID=
    note="C consumer's own histogram"
  else
    start_warren "warren-$tag" "$qt" demo "$W_LEVEL"
    deadline=$(( $(date +%s) + 60 ))
    port=
    while [ -z "$port" ] || ! grep -q '"worker.consuming"' "$OUT/warren-$tag.log"; do
      worker_alive "warren-$tag"
      [ "$(date +%s)" -lt "$deadline" ] || fail "warren did not start consuming within 60 s"
      port=$(grep -o '"port" *: *"[0-9]*"' "$OUT/warren-$tag.log" 2>/dev/null | head -n1 | tr -dc 0-9) || true
      sleep 0.05
    done
    "$CB" pace "$HOST" "$PORT" "$QUEUE" "$LAT_COUNT" "$SIZE" "$LAT_RATE" >"$OUT/pace-$tag.txt" 2>>"$LOG" ||
      fail "paced publisher failed (see $LOG)"
    # Every message handled: the histogram's count reaches LAT_COUNT.
    deadline=$(( $(date +%s) + 60 ))
    while :; do
      curl -fsS "http://127.0.0.1:$port/metrics" >"$hist" 2>>"$LOG" || true
      got=$(metrics_count "$hist")
      [ "$got" -ge "$LAT_COUNT" ] && break
      worker_alive "warren-$tag"
      # The paced publisher had every message confirmed in the queue: ready ones were never
      # delivered, the others are Warren's.
      [ "$(date +%s)" -lt "$deadline" ] || fail "warren recorded $got of $LAT_COUNT ages within 60 s; the queue holds $(ready || echo '?') ready"
      sleep 0.2
    done
    R[$key,$p,rss_kb]=$(hwm_kb "$WORKER_PID")
    stop_warren
    note="from /metrics; $STOP_NOTE"
  fi
  got=$(metrics_count "$hist")
  [ "$got" = "$LAT_COUNT" ] || fail "latency round $key #$p recorded $got ages, expected $LAT_COUNT"
  R[$key,$p,p50]=$(histogram_quantile 0.5 "$hist")
  R[$key,$p,p99]=$(histogram_quantile 0.99 "$hist")
  R[$key,$p,note]="$note; publisher: $(cat "$OUT/pace-$tag.txt")"
  ROUNDS+=("$key $p")
}

# ------------------------------------------------------------------- run
# Pairs alternate their order so that no consumer always runs first on a fresh queue or
# after the same neighbour. The broker's own cost per message drifts with its state (one run:
# the same C consumer at 34k msg/s in its first round on a fresh node and 18.5k in its last), so
# an unmeasured warm-up drain comes first. Compare figures within one run only.
# in_order P A B C...: A B C... for odd P, reversed for even P.
in_order() {
  local p=$1; shift
  if (( p % 2 )); then echo "$@"; else local a=("$@") i; for ((i = ${#a[@]} - 1; i >= 0; i--)); do printf '%s ' "${a[i]}"; done; echo; fi
}

log "warm-up drain (not counted)"
drain_round warm 0 c "${QTYPE_LIST[0]}" "$COUNT"
ROUNDS=()

if section drain; then
  for qt in "${QTYPE_LIST[@]}"; do
    for ((p = 1; p <= PAIRS; p++)); do
      variants=(c noop demo)
      if [ "$LOG_COST" = 1 ] && [ "$qt" = classic ]; then variants+=(q dbg); fi
      for v in $(in_order "$p" "${variants[@]}"); do
        case $v in
          c) drain_round "d.$qt.c" "$p" c "$qt" "$COUNT" ;;
          noop|demo) drain_round "d.$qt.$v" "$p" w "$qt" "$COUNT" "" "$v" ;;
          q) drain_round "d.$qt.q" "$p" w "$qt" "$COUNT" "" noop critical ;;
          dbg) drain_round "d.$qt.dbg" "$p" w "$qt" "$COUNT" "" noop debug ;;
        esac
      done
    done
  done
fi

if section failure; then
  for qt in "${QTYPE_LIST[@]}"; do
    for ((p = 1; p <= PAIRS; p++)); do
      # Each Warren row beside its C reference (c.ok: the C consumer; c.perm, c.trans: the C
      # failure-path reference, `warren_bench fail`), on the same bodies.
      for v in $(in_order "$p" ok c.ok perm c.perm trans c.trans); do
        who=w; [[ $v == c.* ]] && who=c
        case ${v#c.} in
          ok) drain_round "f.$qt.$v" "$p" "$who" "$qt" "$FAIL_COUNT" '{}' demo ;;
          perm) drain_round "f.$qt.$v" "$p" "$who" "$qt" "$FAIL_COUNT" '{"fail":"permanent"}' demo "$W_LEVEL" "$QUEUE.dead" ;;
          trans) drain_round "f.$qt.$v" "$p" "$who" "$qt" "$FAIL_COUNT" '{"fail":"transient"}' demo "$W_LEVEL" "$QUEUE.retry.$RETRY_DELAY" ;;
        esac
      done
    done
  done
fi

if section latency; then
  for ((p = 1; p <= PAIRS; p++)); do
    for v in $(in_order "$p" c w); do latency_round "l.$LAT_QTYPE.$v" "$p" "$v" "$LAT_QTYPE"; done
  done
fi

read -r S_SMALL S_MID S_BIG <<<"${WARREN_BENCH_SCALING_COUNTS:-10000 100000 1000000}"
if [ "$SCALING" = 1 ]; then
  # Warren as users run it (quorum, demo), one round each, and the C consumer beside it at the
  # two larger counts: the broker's pace over a large queue varies with its state (in one run
  # the C consumer in Warren's seat drained 1M at half its 100k rate, in the next at 0.98x), so
  # the targets are on Warren's CPU per message, and the rates are shown next to C's.
  for n in "$S_SMALL" "$S_MID" "$S_BIG"; do drain_round "s.$n.w" 1 w quorum "$n" "" demo; done
  for n in "$S_MID" "$S_BIG"; do drain_round "s.$n.c" 1 c quorum "$n"; done
  # The first 100k messages of a queue 1.1M deep: the same work as s.100000 with 1M behind it.
  drain_round s.depth.w 1 w quorum "$S_MID" "" demo "$W_LEVEL" "" "$S_BIG" "$S_BIG"
  drain_round s.depth.c 1 c quorum "$S_MID" "" noop "$W_LEVEL" "" "$S_BIG" "$S_BIG"
fi

# ----------------------------------------------------------------- report
has() { [ -n "${R[$1,1,${2:-rate}]:-}" ]; }
# best KEY FIELD max|min: the best value of FIELD over KEY's rounds.
best() {
  local k=$1 key=$2 how=$3 p v out=
  for ((p = 1; p <= PAIRS; p++)); do
    v=${R[$k,$p,$key]:-}
    [ -n "$v" ] || continue
    if [ -z "$out" ] || awk -v v="$v" -v o="$out" -v h="$how" \
        'BEGIN { exit !((h == "max") ? v + 0 > o + 0 : v + 0 < o + 0) }'; then
      out=$v
    fi
  done
  echo "$out"
}
# verdict VALUE OP LIMIT: PASS, MISS, or n/a when VALUE is not a number (e.g. a CPU time of 0
# ticks in a very short run); --check counts n/a as a miss: a target not measured is not met.
verdict() {
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v !~ /^[0-9.eE+-]+$/ || v ~ /nan|inf/) { print "n/a"; exit }
    ok = (op == ">=") ? v + 0 >= t + 0 : v + 0 <= t + 0; print ok ? "PASS" : "MISS" }'
}
# ratio A B: A / B, or nan when A or B is 0 (no rate or CPU time measured is ever really 0: a
# process that ran for less than a clock tick reads 0 CPU).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0 || b + 0 == 0) print "nan"; else printf "%.10g", a / b }'; }

MISSES=0
ENV_LINES=()
TABLE=()
# line MEASURE C WARREN RATIO TARGET VERDICT ENVKEY
line() {
  TABLE+=("$(printf '%-40s | %9s | %9s | %7s | %-24s | %s' "$1" "$2" "$3" "$4" "$5" "$6")")
  if [ "$6" = MISS ] || [ "$6" = n/a ]; then MISSES=$((MISSES + 1)); fi
  if [ -n "${7:-}" ]; then
    ENV_LINES+=("${7}_c=$2" "${7}_warren=$3" "${7}_ratio=$4")
    [ -z "$6" ] || ENV_LINES+=("${7}_target=$6")
  fi
  return 0
}
# ref_line LABEL CKEY WKEY FIELD ENVKEY: an information row, the best FIELD (rate: highest; us,
# broker_us: lowest) of round CKEY (the C reference) beside WKEY's (Warren), ratio W / C.
ref_line() {
  local c w how=min
  [ "$4" != rate ] || how=max
  c=$(best "$2" "$4" "$how"); w=$(best "$3" "$4" "$how")
  if [ "$4" = rate ]; then
    line "$1" "$(f0 "$c")" "$(f0 "$w")" "$(f3 "$(ratio "$w" "$c")")" "(information: W / C)" "" "$5"
  else
    line "$1" "$(f2 "$c")" "$(f2 "$w")" "$(f2 "$(ratio "$w" "$c")")" "(information: W / C)" "" "$5"
  fi
}
f0() { awk -v v="$1" 'BEGIN { if (v ~ /nan/) print "n/a"; else printf "%.0f", v }'; }
f2() { awk -v v="$1" 'BEGIN { if (v ~ /nan/) print "n/a"; else printf "%.2f", v }'; }
f3() { awk -v v="$1" 'BEGIN { if (v ~ /nan/) print "n/a"; else printf "%.3f", v }'; }

MAX_W_RSS_KB=0
C_RSS_KB=0
for o in "${ROUNDS[@]}"; do
  read -r k p <<<"$o"
  v=${R[$k,$p,rss_kb]:-0}
  if [[ $k == *.c || ${R[$k,$p,who]:-} == c ]]; then
    C_RSS_KB=$(calc "($v > $C_RSS_KB) ? $v : $C_RSS_KB")
  else
    MAX_W_RSS_KB=$(calc "($v > $MAX_W_RSS_KB) ? $v : $MAX_W_RSS_KB")
  fi
done

for qt in "${QTYPE_LIST[@]}"; do
  has "d.$qt.c" || continue
  c_rate=$(best "d.$qt.c" rate max); c_us=$(best "d.$qt.c" us min)
  for h in demo noop; do
    w_rate=$(best "d.$qt.$h" rate max); w_us=$(best "d.$qt.$h" us min)
    r=$(ratio "$w_rate" "$c_rate")
    line "drain $qt $h msgs/s" "$(f0 "$c_rate")" "$(f0 "$w_rate")" "$(f3 "$r")" ">= $TARGET_RATE_RATIO x C" \
      "$(verdict "$r" '>=' "$TARGET_RATE_RATIO")" "drain_${qt}_${h}_msgs_per_s"
    r=$(ratio "$w_us" "$c_us")
    line "drain $qt $h CPU us/msg" "$(f2 "$c_us")" "$(f2 "$w_us")" "$(f2 "$r")" "<= $TARGET_CPU_RATIO x C (aim $AIM_CPU_RATIO)" \
      "$(verdict "$r" '<=' "$TARGET_CPU_RATIO")" "drain_${qt}_${h}_cpu_us_per_msg"
    ENV_LINES+=("drain_${qt}_${h}_cpu_aim=$(verdict "$r" '<=' "$AIM_CPU_RATIO")")
  done
  if [ "$LOG_COST" = 1 ] && has "d.$qt.q"; then
    q_rate=$(best "d.$qt.q" rate max); dbg_rate=$(best "d.$qt.dbg" rate max)
    w_rate=$(best "d.$qt.noop" rate max)
    r=$(ratio "$w_rate" "$q_rate")
    line "log cost noop (C col: W log off) info" "$(f0 "$q_rate")" "$(f0 "$w_rate")" "$(f3 "$r")" ">= $TARGET_LOG_COST_RATIO x off" \
      "$(verdict "$r" '>=' "$TARGET_LOG_COST_RATIO")" "log_cost_info"
    line "log cost noop (C col: W log off) debug" "$(f0 "$q_rate")" "$(f0 "$dbg_rate")" "$(f3 "$(ratio "$dbg_rate" "$q_rate")")" "(information)" "" "log_cost_debug"
  fi
done

for qt in "${QTYPE_LIST[@]}"; do
  has "f.$qt.ok" || continue
  ok=$(best "f.$qt.ok" rate max)
  line "failure $qt {} msgs/s (W's own)" "-" "$(f0 "$ok")" "1" "(reference)" "" "failure_${qt}_ok_msgs_per_s"
  for v in perm trans; do
    w=$(best "f.$qt.$v" rate max)
    r=$(ratio "$w" "$ok")
    label=$([ "$v" = perm ] && echo "dead-letter" || echo "retry queue")
    line "failure $qt $label msgs/s" "-" "$(f0 "$w")" "$(f3 "$r")" ">= $TARGET_FAIL_RATIO x W's {}" \
      "$(verdict "$r" '>=' "$TARGET_FAIL_RATIO")" "failure_${qt}_${v}_msgs_per_s"
    line "failure $qt $label CPU us/msg" "-" "$(f2 "$(best "f.$qt.$v" us min)")" \
      "$(f2 "$(ratio "$(best "f.$qt.$v" us min)" "$(best "f.$qt.ok" us min)")")" "(x W's {})" "" ""
  done
  # The C reference (information, no target): what the failure path costs with a client that
  # does nothing but the copy, its confirm and the ack, so the broker's share shows.
  has "f.$qt.c.ok" || continue
  ref_line "C ref $qt {} msgs/s" "f.$qt.c.ok" "f.$qt.ok" rate "failure_ref_${qt}_ok_msgs_per_s"
  ref_line "C ref $qt {} broker us/msg" "f.$qt.c.ok" "f.$qt.ok" broker_us "failure_ref_${qt}_ok_broker_cpu_us_per_msg"
  c_ok=$(best "f.$qt.c.ok" rate max)
  for v in perm trans; do
    has "f.$qt.c.$v" || continue
    label=$([ "$v" = perm ] && echo "dead-letter" || echo "retry queue")
    ref_line "C ref $qt $label msgs/s" "f.$qt.c.$v" "f.$qt.$v" rate "failure_ref_${qt}_${v}_msgs_per_s"
    cr=$(ratio "$(best "f.$qt.c.$v" rate max)" "$c_ok"); wr=$(ratio "$(best "f.$qt.$v" rate max)" "$ok")
    line "C ref $qt $label / own {}" "$(f3 "$cr")" "$(f3 "$wr")" "$(f3 "$(ratio "$wr" "$cr")")" "(information: W / C)" "" \
      "failure_ref_${qt}_${v}_over_ok"
    ref_line "C ref $qt $label CPU us/msg" "f.$qt.c.$v" "f.$qt.$v" us "failure_ref_${qt}_${v}_cpu_us_per_msg"
    ref_line "C ref $qt $label broker us/msg" "f.$qt.c.$v" "f.$qt.$v" broker_us "failure_ref_${qt}_${v}_broker_cpu_us_per_msg"
  done
done

if has "l.$LAT_QTYPE.c" p99; then
  for q in p50 p99; do
    c=$(best "l.$LAT_QTYPE.c" "$q" min); w=$(best "l.$LAT_QTYPE.w" "$q" min)
    cms=$(calc "$c * 1000"); wms=$(calc "$w * 1000")
    r=$(ratio "$w" "$c")
    if [ "$q" = p99 ]; then
      line "latency $LAT_QTYPE @${LAT_RATE}/s p99 ms" "$(f2 "$cms")" "$(f2 "$wms")" "$(f2 "$r")" "<= $TARGET_P99_RATIO x C" \
        "$(verdict "$r" '<=' "$TARGET_P99_RATIO")" "latency_p99_ms"
    else
      line "latency $LAT_QTYPE @${LAT_RATE}/s p50 ms" "$(f2 "$cms")" "$(f2 "$wms")" "$(f2 "$r")" "(information)" "" "latency_p50_ms"
    fi
  done
fi

line "peak RSS MB (max over rounds)" "$(f2 "$(calc "$C_RSS_KB / 1024")")" "$(f2 "$(calc "$MAX_W_RSS_KB / 1024")")" \
  "$(f2 "$(calc "($C_RSS_KB > 0) ? $MAX_W_RSS_KB / $C_RSS_KB : 0")")" "<= $TARGET_RSS_MB MB (Warren)" \
  "$(verdict "$(calc "$MAX_W_RSS_KB / 1024")" '<=' "$TARGET_RSS_MB")" "peak_rss_mb"

if [ "$SCALING" = 1 ]; then
  # scaling_row LABEL WKEY [CKEY]: rate and CPU per message, Warren beside C.
  scaling_row() {
    local c_rate=- c_us=- rr='' ur=''
    if [ -n "${3:-}" ]; then
      c_rate=$(f0 "${R[$3,1,rate]}"); c_us=$(f2 "${R[$3,1,us]}")
      rr=$(f3 "$(ratio "${R[$2,1,rate]}" "${R[$3,1,rate]}")"); ur=$(f2 "$(ratio "${R[$2,1,us]}" "${R[$3,1,us]}")")
    fi
    line "$1 msgs/s" "$c_rate" "$(f0 "${R[$2,1,rate]}")" "$rr" "(information)" "" "scaling_$(tr . _ <<<"$2")_msgs_per_s"
    line "$1 CPU us/msg" "$c_us" "$(f2 "${R[$2,1,us]}")" "$ur" "(information)" "" "scaling_$(tr . _ <<<"$2")_cpu_us_per_msg"
  }
  scaling_row "scaling quorum demo $S_SMALL" "s.$S_SMALL.w"
  scaling_row "scaling quorum demo $S_MID" "s.$S_MID.w" "s.$S_MID.c"
  scaling_row "scaling quorum demo $S_BIG" "s.$S_BIG.w" "s.$S_BIG.c"
  scaling_row "depth $S_BIG: first $S_MID" s.depth.w s.depth.c
  # Linear in count, flat in depth: Warren's CPU per message at S_BIG (and at depth S_BIG) over
  # its CPU per message at S_MID; C's own ratio beside it.
  r=$(ratio "${R[s.$S_BIG.w,1,us]}" "${R[s.$S_MID.w,1,us]}")
  line "cost ${S_BIG} / ${S_MID} msgs (CPU/msg)" "$(f2 "$(ratio "${R[s.$S_BIG.c,1,us]}" "${R[s.$S_MID.c,1,us]}")")" "$(f2 "$r")" "" \
    "W <= $TARGET_SCALING_CPU_RATIO" "$(verdict "$r" '<=' "$TARGET_SCALING_CPU_RATIO")" "scaling_count_cost_ratio"
  r=$(ratio "${R[s.depth.w,1,us]}" "${R[s.$S_MID.w,1,us]}")
  line "cost depth ${S_BIG} / 0 (CPU/msg)" "$(f2 "$(ratio "${R[s.depth.c,1,us]}" "${R[s.$S_MID.c,1,us]}")")" "$(f2 "$r")" "" \
    "W <= $TARGET_SCALING_CPU_RATIO" "$(verdict "$r" '<=' "$TARGET_SCALING_CPU_RATIO")" "scaling_depth_cost_ratio"
  for k in "s.$S_SMALL.w" "s.$S_MID.w" "s.$S_BIG.w" s.depth.w; do
    ENV_LINES+=("scaling_prefill_seconds_$(tr . _ <<<"$k")=${R[$k,1,prefill_s]}")
  done
  SCALING_NOTE="scaling prefills (Warren's rounds) took $(f0 "${R[s.$S_SMALL.w,1,prefill_s]}") / $(f0 "${R[s.$S_MID.w,1,prefill_s]}") / $(f0 "${R[s.$S_BIG.w,1,prefill_s]}") / $(f0 "${R[s.depth.w,1,prefill_s]}") s for $S_SMALL / $S_MID / $S_BIG / $((S_MID + S_BIG)) messages"
fi

MAX_OTHER=0
for o in "${ROUNDS[@]}"; do
  read -r k p <<<"$o"
  v=${R[$k,$p,other]:-0}
  MAX_OTHER=$(calc "($v > $MAX_OTHER) ? $v : $MAX_OTHER")
done
NOISY=$(awk -v m="$MAX_OTHER" 'BEGIN { print (m > 0.25) ? 1 : 0 }')
RUN_S=$(( $(date +%s) - RUN_START ))

{
  echo "Warren throughput benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) cores  (run took ${RUN_S} s)"
  echo "drain: $COUNT persistent ${SIZE}-byte JSON messages; failure: $FAIL_COUNT small ones; prefetch $PREFETCH; per-message ack (C)"
  echo "warren: $WARREN_BINARY worker --concurrency $CONCURRENCY --log-level $W_LEVEL --retry-delays $RETRY_DELAY$( [ "$FAKE_WARREN" = 1 ] && echo '  [FAKE: C consumer stands in for warren]')"
  echo
  echo "Rounds (in the order run):"
  printf '%-20s | %8s | %13s | %10s | %7s | %10s | %8s | %8s | %s\n' \
    round "msgs/s" "msgs/s(drain)" "CPU us/msg" "RSS MB" "start->end" broker other "p50/p99 ms"
  for o in "${ROUNDS[@]}"; do
    read -r k p <<<"$o"
    if [[ $k == l.* ]]; then
      rss=-; [ -z "${R[$k,$p,rss_kb]:-}" ] || rss=$(f2 "$(calc "${R[$k,$p,rss_kb]} / 1024")")
      printf '%-20s | %8s | %13s | %10s | %7s | %10s | %8s | %8s | %.2f / %.2f\n' "$k #$p" - - - \
        "$rss" - - - "$(calc "${R[$k,$p,p50]} * 1000")" "$(calc "${R[$k,$p,p99]} * 1000")"
    else
      printf '%-20s | %8.0f | %13.0f | %10.2f | %7.2f | %9.3fs | %8.2f | %8.2f |\n' "$k #$p" "${R[$k,$p,rate]}" "${R[$k,$p,rate_d]}" \
        "${R[$k,$p,us]}" "$(calc "${R[$k,$p,rss_kb]} / 1024")" "${R[$k,$p,span]}" "${R[$k,$p,broker]}" "${R[$k,$p,other]}"
    fi
  done
  echo
  echo "Summary (best round of each row: highest rate, lowest CPU and latency; RSS: highest):"
  printf '%-40s | %9s | %9s | %7s | %-24s | %s\n' measure C Warren ratio target result
  printf '%-40s-+-%9s-+-%9s-+-%7s-+-%-24s-+-%s\n' ---------------------------------------- --------- --------- ------- ------------------------ ------
  printf '%s\n' "${TABLE[@]}"
  echo
  echo "ratio: Warren / C; failure rows: Warren's failure rate / Warren's {} rate on the same queue type."
  echo "C ref rows (failure): the C consumer on {} and the C failure-path reference (copy, confirm, then ack;"
  echo "             bench/c-consumer/warren_bench.c fail) beside Warren, ratio W / C; '/ own {}' is each client's"
  echo "             failure rate / its own {} rate; broker CPU us/msg = beam.smp CPU over the round / messages."
  echo "msgs/s     = messages / (consumer start -> ready count 0, and for failure rows every copy in Q.dead or"
  echo "             Q.retry.$RETRY_DELAY), polled every ${POLL_MS} ms over AMQP; start-up included."
  echo "CPU us/msg = consumer process user+sys CPU (start-up included) / messages."
  echo "latency    = publish -> handler start from the timestamp_in_ms header, ms resolution, Warren's buckets,"
  echo "             histogram_quantile interpolation (both consumers alike; see bench/README.md)."
  if [ "$NOISY" = 1 ]; then
    echo "WARNING: other processes used up to $(f2 "$MAX_OTHER") cores during a round (> 0.25): the figures are unreliable; rerun on a quiet machine."
  fi
  [ -z "${SCALING_NOTE:-}" ] || echo "$SCALING_NOTE"
  echo "$MISSES target(s) missed or not measured."
  echo
  for o in "${ROUNDS[@]}"; do
    read -r k p <<<"$o"
    if [[ $k == l.* ]]; then
      printf '%s #%s: %s\n' "$k" "$p" "${R[$k,$p,note]}"
    else
      printf '%s #%s: %.3f context switches/msg; prefill %.1f s; %s\n' "$k" "$p" "${R[$k,$p,csw]}" "${R[$k,$p,prefill_s]}" "${R[$k,$p,note]}"
    fi
  done
} | tee "$OUT/result.txt"

# Machine-readable copy.
{
  echo "count=$COUNT"
  echo "fail_count=$FAIL_COUNT"
  echo "size=$SIZE"
  echo "pairs=$PAIRS"
  echo "fake_warren=$FAKE_WARREN"
  echo "run_seconds=$RUN_S"
  echo "max_other_load_cores=$MAX_OTHER"
  echo "misses=$MISSES"
  printf '%s\n' "${ENV_LINES[@]}"
  for o in "${ROUNDS[@]}"; do
    read -r k p <<<"$o"
    for f in rate rate_d us rss_kb p50 p99; do
      [ -z "${R[$k,$p,$f]:-}" ] || echo "round_$(tr '.' '_' <<<"$k")_${p}_$f=${R[$k,$p,$f]}"
    done
  done
} >"$OUT/result.env"

if [ "$CHECK" = 1 ] && [ "$MISSES" -gt 0 ]; then
  exit 3
fi
exit 0
