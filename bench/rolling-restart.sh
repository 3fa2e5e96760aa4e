#!/usr/bin/env bash
# Warren rolling-restart benchmark: how fast a new worker drains the queue right after
# the old one stops, gracefully (SIGTERM) or by a crash (SIGKILL). See bench/README.md.
#
# usage: bench/rolling-restart.sh [--count N] [--work-ms MS] [--queue-type quorum|classic]
#
#   --count N        messages published per scenario (default 20000)
#   --work-ms MS     body {"work_ms": MS}: the demo handler sleeps that long per message
#                    (default 0: body {}, which the demo handler acks at once)
#   --queue-type T   quorum (default) or classic
#
# Three scenarios, each on a fresh queue bench.rolling.<scenario>.<random> holding N messages:
#   baseline  worker B alone drains the queue
#   rolling   worker A drains until it has acked N/4; then A gets SIGTERM (a graceful drain:
#             it returns its prefetched messages by republishing them) and B starts at the
#             same moment; A must exit 0
#   crash     like rolling, but A gets SIGKILL: B receives A's unacked messages redelivered
#             (crash suspects); none was running at an earlier crash, so each runs beside
#             the others under a crash marker, and none runs alone
# Workers run `warren worker` with its defaults (prefetch 50, concurrency 8, demo handler),
# --log-level info and --http-port 0; their /metrics is polled every 100 ms.
#
# Environment:
#   WARREN_AMQP_URL           broker to use. Unset: a throwaway broker is started with
#                             scripts/broker.sh and destroyed on exit.
#   WARREN_BENCH_RABBITMQCTL  rabbitmqctl for that broker (optional with WARREN_AMQP_URL;
#                             default $WARREN_TEST_RABBITMQCTL): used to find crash marker
#                             queues left behind.
#   WARREN_BINARY             warren executable to measure. Unset: built with
#                             `swift build -c release --product warren --scratch-path .build-bench`.
#   WARREN_BENCH_TIMEOUT      deadline of every wait, in seconds (default 300).
#
# Output: a table on stdout and in bench/out/rolling-result.txt; worker logs, metric samples
# and the run log in bench/out/rolling-*. Exit 1 when a check fails (a message lost, A not
# exiting 0 after SIGTERM, suspects isolated after a graceful restart).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/bench/out"
COUNT=20000
WORK_MS=0
QUEUE_TYPE=quorum
TIMEOUT=${WARREN_BENCH_TIMEOUT:-300}

while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --count=*) COUNT=${1#*=}; shift ;;
    --work-ms) WORK_MS=$2; shift 2 ;;
    --work-ms=*) WORK_MS=${1#*=}; shift ;;
    --queue-type) QUEUE_TYPE=$2; shift 2 ;;
    --queue-type=*) QUEUE_TYPE=${1#*=}; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "rolling: unknown argument: $1" >&2; exit 64 ;;
  esac
done
if ! [[ $COUNT =~ ^[1-9][0-9]*$ ]] || [ "$COUNT" -lt 4 ]; then echo "rolling: --count must be an integer >= 4" >&2; exit 64; fi
[[ $WORK_MS =~ ^[0-9]+$ ]] || { echo "rolling: --work-ms must be a non-negative integer" >&2; exit 64; }
case "$QUEUE_TYPE" in quorum|classic) ;; *) echo "rolling: --queue-type must be quorum or classic" >&2; exit 64 ;; esac
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || { echo "rolling: WARREN_BENCH_TIMEOUT must be a positive integer" >&2; exit 64; }
if [ "$WORK_MS" = 0 ]; then BODY='{}'; else BODY="{\"work_ms\": $WORK_MS}"; fi

# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
mkdir -p "$OUT"
rm -f "$OUT"/rolling-*
bench_logging rolling rolling-run.log

BROKER_DIR=
A_PID=
B_PID=
MEASURE_PID=
SWITCH_PID=
QUEUE=
WORK_DIR=$(mktemp -d /tmp/warren-rolling.XXXXXX)
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$? p
  for p in "$A_PID" "$B_PID" "$MEASURE_PID" "$SWITCH_PID"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  if [ -n "$QUEUE" ] && [ -z "$BROKER_DIR" ]; then
    python3 "$HELPER" delete "$QUEUE" >>"$LOG" 2>&1 || true
  fi
  if [ -n "$BROKER_DIR" ]; then
    "$ROOT/scripts/broker.sh" destroy "$BROKER_DIR" >>"$LOG" 2>&1 || true
    rm -rf "$BROKER_DIR"
  fi
  rm -rf "$WORK_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------------- helper
# Everything that speaks HTTP or AMQP, or parses JSON, is done by this python3 helper.
HELPER="$WORK_DIR/rolling.py"
cat >"$HELPER" <<'PYEOF'
import json, os, re, sys, time, urllib.request
from datetime import datetime, timezone

POLL = 0.1


def alive(pid):
    """True unless the process is gone or a zombie (an unreaped child)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def log_events(path):
    """Every JSON log line of a worker, as dicts (other lines are skipped)."""
    events = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        events.append(json.loads(line))
                    except ValueError:
                        pass
    except OSError:
        pass
    return events


def first_event(path, name):
    for e in log_events(path):
        if e.get("event") == name:
            return e
    return None


def ts_epoch(ts):
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def wait_event(path, pid, name, deadline):
    while True:
        e = first_event(path, name)
        if e is not None:
            return e
        if not alive(pid):
            sys.exit(f"worker {pid} exited before logging {name} (see {path})")
        if time.time() > deadline:
            sys.exit(f"no {name} line from worker {pid} in time (see {path})")
        time.sleep(0.02)


def scrape(port, queue):
    """(acked, isolated, requeued) from GET /metrics, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    out = []
    for name in ("acked", "isolated", "requeued"):
        m = re.search(r'^warren_messages_%s_total\{queue="%s"\} (\S+)$' % (name, re.escape(queue)), text, re.M)
        out.append(int(float(m.group(1))) if m else 0)
    return tuple(out)


def amqp():
    import pika
    params = pika.URLParameters(os.environ["WARREN_AMQP_URL"])
    params.connection_attempts = 3
    params.blocked_connection_timeout = 30
    return pika.BlockingConnection(params)


def topology(queue):
    return [queue, f"{queue}.dead", f"{queue}.retry.1s", f"{queue}.retry.10s", f"{queue}.retry.1m"]


def write_file(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def cmd_switch(a_log, a_pid, queue, target, signame, fifo, result, timeout):
    """Follows worker A: polls its acked counter every 100 ms and, once it reaches target,
    sends A the signal and writes "switched" to fifo (the script then starts B). Then polls
    A every 10 ms for as long as it answers, so that its count after the drain is seen, and
    writes A's figures to result once A has exited."""
    a_pid, target, deadline = int(a_pid), int(target), time.time() + float(timeout)
    fd = os.open(fifo, os.O_WRONLY)
    try:
        port = int(wait_event(a_log, a_pid, "http.listening", deadline)["port"])
        while True:
            s = scrape(port, queue)
            if s is not None and s[0] >= target:
                break
            if not alive(a_pid):
                raise RuntimeError(f"worker A exited before acking {target} messages")
            if time.time() > deadline:
                raise RuntimeError(f"worker A did not ack {target} messages in time (last: {s})")
            time.sleep(POLL)
        os.kill(a_pid, {"TERM": 15, "KILL": 9}[signame])
        t_switch = time.time()
    except BaseException as e:
        os.write(fd, f"error {e}\n".encode())
        raise
    os.write(fd, f"switched {s[0]}\n".encode())
    os.close(fd)
    at_switch = last = s[0]
    last_t = t_switch
    while alive(a_pid) and time.time() < deadline:
        t = time.time()
        s = scrape(port, queue)
        if s is None:
            break
        last, last_t = s[0], t
        time.sleep(0.01)
    while alive(a_pid) and time.time() < deadline:
        time.sleep(0.05)
    # The count is final when a scrape started after A logged worker.drained (it logs that
    # once every handler finished and its connection closed: no ack can follow).
    d = first_event(a_log, "worker.drained")
    exact = d is not None and last_t >= ts_epoch(d["ts"]) + 0.001
    write_file(result, f"at_switch={at_switch}\na_acked={last}\na_exact={'yes' if exact else 'no'}\n"
                       f"t_switch={t_switch:.3f}\n")


def read_kv(path):
    try:
        with open(path) as f:
            return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError:
        return None


def interpolate(samples, t):
    """B's acked count at time t, linear between the 100 ms samples around it."""
    prev = None
    for s in samples:
        if s[0] >= t:
            if prev is None:
                return s[2]
            t0, t1 = prev[0], s[0]
            return prev[2] + (s[2] - prev[2]) * ((t - t0) / (t1 - t0) if t1 > t0 else 1)
        prev = s
    return samples[-1][2] if samples else 0


def cmd_measure(mode, b_log, b_pidfile, a_result, queue, count, timeout, samples_file):
    """Started before B: follows worker B from its start (its pid appears in b_pidfile) until
    B has acked everything left, polling its /metrics every 100 ms. Prints key=value results.
    Done when A's final count + B's count == count (mode sum; A's count comes from a_result,
    written by `switch` once A exited; 0 without A), or else when A is done, nothing is ready
    and B has been idle for 2 s (mode idle: after a crash A's last count trails its acks)."""
    count, deadline = int(count), time.time() + float(timeout)
    open(b_pidfile + ".ready", "w").close()   # up and running: B may start
    while not os.path.exists(b_pidfile):
        if time.time() > deadline:
            sys.exit("worker B was never started")
        time.sleep(0.005)
    with open(b_pidfile) as f:
        b_pid = int(f.read())
    b_port = int(wait_event(b_log, b_pid, "http.listening", deadline)["port"])
    samples = []          # (t, a_acked, b_acked, b_isolated)
    a = {"a_acked": "0", "a_exact": "yes"} if a_result == "-" else None
    t_consuming = None
    stable_since = None
    next_t = time.time()
    max_latency = 0
    while True:
        if a is None:
            a = read_kv(a_result)
        a_acked = int(a["a_acked"]) if a else 0
        t0 = time.time()
        b = scrape(b_port, queue)
        t1 = time.time()
        # The counters were read somewhere within the request: its midpoint stands for it.
        t = (t0 + t1) / 2
        max_latency = max(max_latency, t1 - t0)
        if b is None:
            if not alive(b_pid):
                sys.exit(f"worker B exited during the measurement (see {b_log})")
        else:
            if samples and b[0] != samples[-1][2]:
                stable_since = None
            samples.append((t, a_acked, b[0], b[1]))
        if t_consuming is None:
            e = first_event(b_log, "worker.consuming")
            if e is not None:
                t_consuming = ts_epoch(e["ts"])
        if a is not None and samples and t_consuming is not None:
            if mode == "sum" and a_acked + samples[-1][2] >= count:
                break
            # Also the way out when the sum never meets count (A's count not final, a lost
            # or duplicated message): the checks after the measurement report it.
            if stable_since is None:
                stable_since = t
            elif t - stable_since >= 2 and ready(queue) == 0:
                break
        if t > deadline:
            last = samples[-1] if samples else None
            sys.exit(f"the queue was not drained in time: last sample (t, a_acked, b_acked, b_isolated) = {last}")
        next_t += POLL
        time.sleep(max(0, next_t - time.time()))
    b_final, iso_final = samples[-1][2], samples[-1][3]
    t_empty = next(s[0] for s in samples if s[2] == b_final)
    t_iso = next((s[0] for s in samples if s[3] == iso_final), None) if iso_final else None
    first_ack = next((s[0] for s in samples if s[2] > 0), None)
    with open(samples_file, "w") as f:
        f.write("t_since_b_consuming_s\ta_acked\tb_acked\tb_isolated\n")
        for s in samples:
            f.write(f"{s[0] - t_consuming:.3f}\t{s[1]}\t{s[2]}\t{s[3]}\n")
    span = t_empty - t_consuming
    res = {
        "first_1s": f"{interpolate(samples, t_consuming + 1):.0f}",
        "first_3s": f"{interpolate(samples, t_consuming + 3) / 3:.0f}",
        "empty_s": f"{span:.2f}",
        "until_empty": f"{b_final / span:.0f}" if span > 0 else "inf",
        "b_acked": b_final,
        "a_acked": a_acked,
        "a_exact": a["a_exact"],
        "isolated": iso_final,
        "isolated_done_s": f"{t_iso - t_consuming:.2f}" if t_iso is not None else "-",
        "first_ack_s": f"{first_ack - t_consuming:.2f}" if first_ack is not None else "-",
        "first_sample_s": f"{samples[0][0] - t_consuming:.2f}",
        "max_scrape_ms": f"{max_latency * 1000:.0f}",
    }
    if a_result != "-":
        res["switch_to_consuming_s"] = f"{t_consuming - float(a['t_switch']):.3f}"
    for k, v in res.items():
        print(f"{k}={v}")


def ready(queue):
    conn = amqp()
    try:
        return conn.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        conn.close()


def cmd_counts(queue):
    """Ready messages of Q, Q.dead and the retry queues (a passive declare each)."""
    conn = amqp()
    try:
        for q in topology(queue):
            ch = conn.channel()
            try:
                n = ch.queue_declare(q, passive=True).method.message_count
                ch.close()
            except Exception as e:  # channel closed by the broker: 404
                n = f"missing({type(e).__name__})"
            print(f"{q}={n}")
    finally:
        conn.close()


def cmd_delete(queue, *extra):
    conn = amqp()
    try:
        ch = conn.channel()
        for q in topology(queue) + list(extra):
            ch.queue_delete(q)
        ch.exchange_delete(f"{queue}.dlx")
    finally:
        conn.close()


def cmd_event(log, name, *fields):
    """Prints the given fields of the worker's first `name` line, or '-' for each."""
    e = first_event(log, name) or {}
    print(" ".join(str(e.get(f, "-")) for f in fields))


if __name__ == "__main__":
    commands = {"switch": cmd_switch, "measure": cmd_measure,
                "counts": cmd_counts, "delete": cmd_delete, "event": cmd_event}
    commands[sys.argv[1]](*sys.argv[2:])
PYEOF
python3 -c 'import pika' 2>/dev/null || fail "python3 with pika is required (pip install pika)"

# ------------------------------------------------------------------- build
if [ -z "${WARREN_BINARY:-}" ]; then
  log "building warren (release, --scratch-path .build-bench)"
  (cd "$ROOT" && swift build -c release --product warren --scratch-path .build-bench) >>"$LOG" 2>&1 \
    || fail "swift build failed (see $LOG)"
  WARREN_BINARY="$(cd "$ROOT" && swift build -c release --scratch-path .build-bench --show-bin-path)/warren"
fi
[ -x "$WARREN_BINARY" ] || fail "no warren binary at $WARREN_BINARY"
log "warren binary: $WARREN_BINARY"

# ------------------------------------------------------------------ broker
bench_broker
# Workers and tools get the broker by flag; nothing else of the caller's WARREN_* settings.
unset WARREN_QUEUE WARREN_QUEUE_TYPE WARREN_PREFETCH WARREN_CONCURRENCY WARREN_HANDLER WARREN_LOG_LEVEL \
  WARREN_LOG_FORMAT WARREN_HTTP_PORT WARREN_RETRY_DELAYS WARREN_DELIVERY_LIMIT WARREN_CRASH_LIMIT
log "broker ${WARREN_AMQP_URL//:*@/:***@}"

# ----------------------------------------------------------------- helpers
# start_worker LOGFILE: starts `warren worker` in the background; its pid is in STARTED_PID.
STARTED_PID=
start_worker() {
  "$WARREN_BINARY" worker --amqp-url "$WARREN_AMQP_URL" --queue "$QUEUE" --queue-type "$QUEUE_TYPE" \
    --log-level info --log-format json --http-port 0 >"$1" 2>&1 &
  STARTED_PID=$!
}

# running PID: the process exists and is not a zombie (an exited child not yet waited for).
running() {
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# wait_exit PID SECONDS: waits for a child to exit and sets EXIT_STATUS to its status, or to
# "timeout" (the child is then killed) after SECONDS.
EXIT_STATUS=
wait_exit() {
  local pid=$1 deadline=$(( $(date +%s) + $2 )) rc=0
  while running "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
  if running "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    EXIT_STATUS=timeout
    return
  fi
  wait "$pid" 2>/dev/null || rc=$?
  EXIT_STATUS=$rc
}

PROBLEMS=()
problem() { log "PROBLEM: $*"; PROBLEMS+=("$*"); }
declare -A R

# scenario NAME: baseline, rolling or crash; figures go to R[NAME,key].
scenario() {
  local name=$1 tag="$OUT/rolling-$1" a_status=- b_status line k v sum
  local drained_finished=- drained_returned=- drained_ms=- a_result=- switched=- mode=sum deadline
  QUEUE="bench.rolling.$name.$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
  log "[$name] queue $QUEUE ($QUEUE_TYPE): publishing $COUNT x $BODY"
  timeout "$TIMEOUT" "$WARREN_BINARY" publish --amqp-url "$WARREN_AMQP_URL" --queue "$QUEUE" --queue-type "$QUEUE_TYPE" \
    --count "$COUNT" --body "$BODY" >>"$LOG" 2>&1 || fail "[$name] publish failed (see $LOG)"
  settle

  rm -f "$WORK_DIR/b.pid" "$WORK_DIR/b.pid.ready" "$WORK_DIR/a.result"
  if [ "$name" != baseline ]; then a_result="$WORK_DIR/a.result"; fi
  # After a crash A's last count trails its real one: done when B is idle (see the helper).
  if [ "$name" = crash ]; then mode=idle; fi
  # The measurement runs before B starts, so that it sees B from its first moment.
  python3 "$HELPER" measure "$mode" "$tag-b.log" "$WORK_DIR/b.pid" "$a_result" "$QUEUE" "$COUNT" "$TIMEOUT" \
    "$tag-samples.tsv" >"$tag-measure.txt" 2>>"$LOG" &
  MEASURE_PID=$!
  deadline=$(( $(date +%s) + 30 ))
  until [ -e "$WORK_DIR/b.pid.ready" ]; do
    if ! running "$MEASURE_PID" || [ "$(date +%s)" -ge "$deadline" ]; then fail "[$name] the measurement did not start (see $LOG)"; fi
    sleep 0.01
  done

  if [ "$name" != baseline ]; then
    start_worker "$tag-a.log"; A_PID=$STARTED_PID
    # The switch helper signals A once it has acked N/4 and says so on the fifo; B starts
    # right then (the same moment, give or take a fork). It then follows A until it exits.
    rm -f "$WORK_DIR/switch"; mkfifo "$WORK_DIR/switch"
    exec 3<>"$WORK_DIR/switch"
    python3 "$HELPER" switch "$tag-a.log" "$A_PID" "$QUEUE" $(( COUNT / 4 )) \
      "$([ "$name" = rolling ] && echo TERM || echo KILL)" "$WORK_DIR/switch" "$a_result" "$TIMEOUT" 2>>"$LOG" &
    SWITCH_PID=$!
    line=
    read -t "$TIMEOUT" -r line <&3 || true
    exec 3<&-
    case "$line" in
      switched\ *) switched=${line#switched } ;;
      *) fail "[$name] worker A was not switched: ${line:-no answer in ${TIMEOUT}s} (see $LOG, $tag-a.log)" ;;
    esac
  fi
  start_worker "$tag-b.log"; B_PID=$STARTED_PID
  echo "$B_PID" >"$WORK_DIR/b.pid"
  log "[$name] worker B started$([ "$name" = baseline ] || echo " (A had acked $switched; A sent SIG$([ "$name" = rolling ] && echo TERM || echo KILL))")"

  wait "$MEASURE_PID" || fail "[$name] measurement failed (see $LOG, $tag-b.log)"
  MEASURE_PID=
  while IFS='=' read -r k v; do R[$name,$k]=$v; done <"$tag-measure.txt"

  if [ -n "$A_PID" ]; then
    wait "$SWITCH_PID" || fail "[$name] following worker A failed (see $LOG)"
    SWITCH_PID=
    wait_exit "$A_PID" "$TIMEOUT"; a_status=$EXIT_STATUS; A_PID=
    if [ "$name" = rolling ]; then
      [ "$a_status" = 0 ] || problem "[$name] worker A exited with status $a_status after SIGTERM, expected 0 (see $tag-a.log)"
      read -r drained_finished drained_returned drained_ms <<<"$(python3 "$HELPER" event "$tag-a.log" worker.drained finished returned duration_ms)"
      [ "$drained_returned" != - ] || problem "[$name] worker A logged no worker.drained line (see $tag-a.log)"
    fi
  fi
  kill -TERM "$B_PID"
  wait_exit "$B_PID" "$TIMEOUT"; b_status=$EXIT_STATUS; B_PID=
  [ "$b_status" = 0 ] || problem "[$name] worker B exited with status $b_status after SIGTERM, expected 0 (see $tag-b.log)"

  # Nothing lost: with both workers gone, every message left is ready in one of these queues.
  python3 "$HELPER" counts "$QUEUE" >"$tag-counts.txt" 2>>"$LOG" || fail "[$name] cannot read the queue counts (see $LOG)"
  R[$name,q_left]=$(awk -F= -v q="$QUEUE" '$1 == q { print $2 }' "$tag-counts.txt")
  R[$name,dead]=$(awk -F= -v q="$QUEUE.dead" '$1 == q { print $2 }' "$tag-counts.txt")
  R[$name,retry]=$(awk -F= 'NR > 2 { n += $2 } END { print n + 0 }' "$tag-counts.txt")
  [ "${R[$name,q_left]}" = 0 ] || problem "[$name] $QUEUE still holds ${R[$name,q_left]} message(s)"
  [ "${R[$name,dead]}" = 0 ] || problem "[$name] $QUEUE.dead holds ${R[$name,dead]} message(s)"
  [ "${R[$name,retry]}" = 0 ] || problem "[$name] the retry queues hold ${R[$name,retry]} message(s)"
  sum=$(( ${R[$name,a_acked]} + ${R[$name,b_acked]} ))
  R[$name,dup]=$(( sum - COUNT ))
  if [ "$name" != crash ] && [ "$sum" != "$COUNT" ]; then
    if [ "${R[$name,a_exact]}" = yes ]; then
      problem "[$name] acked by A (${R[$name,a_acked]}) + acked by B (${R[$name,b_acked]}) = $sum, expected $COUNT"
    else
      log "WARNING: [$name] A's last /metrics answer predates its drain's end: its count ${R[$name,a_acked]} is a lower bound"
    fi
  fi
  if [ "$name" = rolling ] && [ "${R[$name,isolated]}" != 0 ]; then
    problem "[$name] B isolated ${R[$name,isolated]} message(s) after a graceful restart, expected 0 (see message.isolated lines in $tag-b.log)"
  fi

  # Crash marker queues left behind (a marker outlives its message only when a worker died
  # while handling it alone); rabbitmqctl is needed to list them.
  local markers=()
  if [ -n "$RABBITMQCTL" ]; then
    mapfile -t markers < <("$RABBITMQCTL" -q list_queues name 2>>"$LOG" | awk -v p="$QUEUE.crash." 'index($1, p) == 1 { print $1 }')
    R[$name,markers]=${#markers[@]}
  else
    R[$name,markers]=-
  fi
  python3 "$HELPER" delete "$QUEUE" "${markers[@]}" >>"$LOG" 2>&1 || log "WARNING: could not delete $QUEUE and its topology"
  QUEUE=

  R[$name,a_status]=$a_status
  R[$name,a_at_switch]=$switched
  R[$name,a_finished]=$drained_finished
  R[$name,a_returned]=$drained_returned
  R[$name,a_drain_ms]=$drained_ms
  line="[$name]"
  for k in first_1s first_3s until_empty empty_s first_sample_s first_ack_s max_scrape_ms switch_to_consuming_s isolated isolated_done_s \
      a_at_switch a_acked a_exact b_acked dup q_left dead retry markers a_status a_finished a_returned a_drain_ms; do
    line+=" $k=${R[$name,$k]:--}"
  done
  log "$line"
}

log "$COUNT messages per scenario, body $BODY, $QUEUE_TYPE queue; worker defaults (prefetch 50, concurrency 8), log level info"
for s in baseline rolling crash; do scenario "$s"; done

# ----------------------------------------------------------------- report
{
  echo "Warren rolling-restart benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) cores"
  echo "$COUNT persistent messages per scenario, body $BODY, $QUEUE_TYPE queue;"
  echo "warren worker defaults (prefetch 50, concurrency 8, demo handler), --log-level info; /metrics polled every 100 ms"
  echo
  printf '%-9s %14s %14s %17s %8s %8s %12s %10s %10s\n' \
    scenario first_1s_msg_s first_3s_msg_s until_empty_msg_s empty_s isolated isolated_done a_returned a_exit
  for s in baseline rolling crash; do
    printf '%-9s %14s %14s %17s %8s %8s %12s %10s %10s\n' "$s" "${R[$s,first_1s]}" "${R[$s,first_3s]}" \
      "${R[$s,until_empty]}" "${R[$s,empty_s]}" "${R[$s,isolated]}" "${R[$s,isolated_done_s]}" "${R[$s,a_returned]}" "${R[$s,a_status]}"
  done
  echo
  echo "messages (nothing lost: Q and Q.dead ready counts once both workers stopped)"
  printf '%-9s %9s %12s %8s %8s %10s %6s %7s %7s %7s\n' \
    scenario published a_at_switch a_acked b_acked sum-N q_left q_dead retry markers
  for s in baseline rolling crash; do
    printf '%-9s %9s %12s %8s %8s %10s %6s %7s %7s %7s\n' "$s" "$COUNT" "${R[$s,a_at_switch]}" "${R[$s,a_acked]}" \
      "${R[$s,b_acked]}" "${R[$s,dup]}" "${R[$s,q_left]}" "${R[$s,dead]}" "${R[$s,retry]}" "${R[$s,markers]}"
  done
  echo
  echo "rolling: A's worker.drained: finished=${R[rolling,a_finished]} returned=${R[rolling,a_returned]} duration_ms=${R[rolling,a_drain_ms]};" \
    "A's count from /metrics: $([ "${R[rolling,a_exact]}" = yes ] && echo "final (read after the drain)" || echo "a lower bound (no answer after the drain)")"
  echo "from A's signal to B's worker.consuming: rolling ${R[rolling,switch_to_consuming_s]} s, crash ${R[crash,switch_to_consuming_s]} s"
  echo
  echo "All times from B's worker.consuming log line (its ts). first_Ns_msg_s = B's acks in the first N s / N"
  echo "(interpolated between the 100 ms samples; a window longer than the drain counts the idle rest too)."
  echo "until_empty_msg_s = B's acks / empty_s; empty_s = until B's acked counter reached its final value"
  echo "(acked by A + acked by B == N; crash: B then idle 2 s with nothing ready), to the 100 ms sample."
  echo "isolated = B's warren_messages_isolated_total; isolated_done = when it stopped rising (s)."
  echo "a_returned/a_exit = A's worker.drained field returned, A's exit status (137: SIGKILL)."
  echo "a_at_switch = A's acks when it was signalled; a_acked = A's last /metrics answer (crash: the one"
  echo "before SIGKILL, so sum-N is off by A's acks in its last moments and by messages acked twice);"
  echo "markers = Q.crash.* queues left behind."
  if [ ${#PROBLEMS[@]} -gt 0 ]; then
    echo
    for p in "${PROBLEMS[@]}"; do echo "PROBLEM: $p"; done
  fi
} | tee "$OUT/rolling-result.txt"

[ ${#PROBLEMS[@]} = 0 ] || exit 1
exit 0
