#!/usr/bin/env bash
# Crash-guard cost of a redelivery wave: broker operations per redelivered message.
#
# usage: bench/crash-guard-churn.sh [--count N] [--prefetch N] [--queue-type quorum|classic]
#
# One `warren worker` (prefetch 200, concurrency 8) works through COUNT (default 1000)
# `{"work_ms": 200}` messages. 2 s in, holding a full prefetch window unacked, its consumer
# connection is closed with `rabbitmqctl close_connection`: the broker returns the whole window,
# `redelivered`, and the worker reconnects and takes it again (the process survives). When the
# queue is empty, the broker's own counters are compared with a snapshot taken just before the
# close: queue.declare / created / deleted (`connection_churn_metrics`), messages published
# (`rabbit_global_counters`, every publish of the run after the snapshot: only crash markers,
# since the handler publishes nothing) and messages redelivered. Prints one line of deltas and
# the operations per redelivered message.
#
# Environment: WARREN_AMQP_URL + WARREN_BENCH_RABBITMQCTL (else a throwaway broker),
# WARREN_BINARY (default .build/debug/warren; build it first).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/bench/out"
COUNT=1000
PREFETCH=200
QUEUE_TYPE=quorum
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --prefetch) PREFETCH=$2; shift 2 ;;
    --queue-type) QUEUE_TYPE=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "crash-guard-churn: unknown argument $1" >&2; exit 64 ;;
  esac
done

# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
mkdir -p "$OUT"
bench_logging crash-guard-churn crash-guard-churn.log
WARREN=${WARREN_BINARY:-$ROOT/.build/debug/warren}
[ -x "$WARREN" ] || fail "$WARREN not built (swift build --product warren)"
python3 -c 'import pika' 2>/dev/null || fail "python3 with pika is required"

BROKER_DIR=
WORKER_PID=
QUEUE=bench.crash-guard.$$
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then kill -KILL "$WORKER_PID" 2>/dev/null || true; fi
  if [ -n "$BROKER_DIR" ]; then
    "$ROOT/scripts/broker.sh" destroy "$BROKER_DIR" >>"$LOG" 2>&1 || true
  else
    python3 - "$QUEUE" >>"$LOG" 2>&1 <<'PY' || true
import os, sys, pika
q = sys.argv[1]
c = pika.BlockingConnection(pika.URLParameters(os.environ["WARREN_AMQP_URL"]))
ch = c.channel()
for name in [q, q + ".dead"]:
    ch.queue_delete(name)
ch.exchange_delete(q + ".dlx")
c.close()
PY
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_broker
[ -n "$RABBITMQCTL" ] || fail "no rabbitmqctl for this broker (set WARREN_BENCH_RABBITMQCTL)"

# queue.declare, queue created, queue deleted, messages published, messages redelivered.
counters() {
  "$RABBITMQCTL" eval '
    [{_, _, _, _, _, Declared, Created, Deleted}] = ets:tab2list(connection_churn_metrics),
    O = rabbit_global_counters:overview(),
    Received = maps:get(messages_received_total, maps:get([{protocol, amqp091}], O)),
    Redelivered = lists:sum([maps:get(messages_redelivered_total, V) || {K, V} <- maps:to_list(O),
                             lists:keymember(queue_type, 1, K), lists:keymember(protocol, 1, K)]),
    io:format("~b ~b ~b ~b ~b~n", [Declared, Created, Deleted, Received, Redelivered]).' | head -1
}

"$WARREN" worker --amqp-url "$WARREN_AMQP_URL" --queue "$QUEUE" --queue-type "$QUEUE_TYPE" \
  --prefetch "$PREFETCH" --concurrency 8 --log-level info >"$OUT/crash-guard-churn-worker.log" 2>&1 &
WORKER_PID=$!
for _ in $(seq 100); do grep -q worker.consuming "$OUT/crash-guard-churn-worker.log" && break; sleep 0.2; done
grep -q worker.consuming "$OUT/crash-guard-churn-worker.log" || fail "the worker did not start consuming"

python3 - "$QUEUE" "$COUNT" <<'PY'
import os, sys, pika
q, n = sys.argv[1], int(sys.argv[2])
c = pika.BlockingConnection(pika.URLParameters(os.environ["WARREN_AMQP_URL"]))
ch = c.channel()
ch.confirm_delivery()
for i in range(n):
    ch.basic_publish("", q, b'{"work_ms": 200}', pika.BasicProperties(message_id=f"m-{i}", delivery_mode=2, content_type="application/json"))
c.close()
PY
log "published $COUNT messages to $QUEUE ($QUEUE_TYPE)"

# The window fills within milliseconds; the messages take COUNT × 200 ms / 8 to work through.
sleep 2
before=$(counters)
pid=$("$RABBITMQCTL" list_connections --quiet --no-table-headers pid client_properties \
  | grep -v '/publish' | grep 'warren@' | awk '{ print $1 }' | head -1)
[ -n "$pid" ] || fail "no consumer connection found"
"$RABBITMQCTL" close_connection "$pid" "bench: redelivery wave" >>"$LOG"
log "closed the consumer connection with $PREFETCH messages unacked"

messages() { "$RABBITMQCTL" list_queues --quiet --no-table-headers name messages | awk -v q="$QUEUE" '$1 == q { print $2 }'; }
deadline=$(( $(date +%s) + 300 ))
while [ "$(messages)" != 0 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the queue did not drain in 300 s"
  sleep 2
done
# Quorum queue counts lag by a few seconds: confirm with the worker's own ack count.
sleep 3
after=$(counters)
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || true; WORKER_PID=

read -r d0 c0 x0 p0 r0 <<<"$before"
read -r d1 c1 x1 p1 r1 <<<"$after"
declared=$((d1 - d0)); created=$((c1 - c0)); deleted=$((x1 - x0)); published=$((p1 - p0)); redelivered=$((r1 - r0))
log "redelivered $redelivered; queue.declare $declared, created $created, deleted $deleted; published $published"
awk -v r="$redelivered" -v d="$declared" -v c="$created" -v x="$deleted" -v p="$published" 'BEGIN {
  if (r == 0) { print "no redelivery measured"; exit 1 }
  printf "per redelivered message: %.2f declares, %.2f queues created, %.2f deleted, %.2f publishes (%.2f broker operations)\n",
    d / r, c / r, x / r, p / r, (d + x + p) / r }' | tee -a "$LOG"
