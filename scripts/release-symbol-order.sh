#!/usr/bin/env bash
# Records scripts/release-symbol-order.txt, the link order scripts/release-build.sh gives lld:
# every function of the static release binary that a worker runs, in the order they first run.
# Run it again after large changes (new dependencies, a new Swift release); a stale file costs
# only RSS, never correctness (lld skips the names a build no longer has).
#
# usage: scripts/release-symbol-order.sh   (needs valgrind and a C compiler with librabbitmq-dev;
#        starts a throwaway broker unless WARREN_AMQP_URL is set)
#
# The worker runs under callgrind, which counts every function that executes (a sampling profiler
# would miss the ones that run once, at startup, whose pages count in the RSS all the same):
# startup, a drain of JSON messages, dead-lettered, retried and undecodable messages, the three
# HTTP endpoints, and a graceful stop.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/callgrind-workload.sh
. "$ROOT/scripts/lib/callgrind-workload.sh"
callgrind_workdir warren-symbol-order
callgrind_workload
Q=warren.symbol-order
"$WORK/wb" delete "$H" "$P" "$Q" "$Q.dead" "$Q.retry.10m" >/dev/null 2>&1 || true
"$WORK/wb" declare "$H" "$P" "$Q" "$Q.dlx" quorum >/dev/null
"$WORK/wb" publish "$H" "$P" "$Q" 1000 256 >/dev/null
"$WORK/wb" publish "$H" "$P" "$Q" 300 256 '{"fail":"permanent"}' >/dev/null
"$WORK/wb" publish "$H" "$P" "$Q" 300 256 '{"fail":"transient"}' >/dev/null
"$WORK/wb" publish "$H" "$P" "$Q" 300 256 'not json' >/dev/null
PORT=18099
valgrind --tool=callgrind --dump-instr=no --demangle=no --compress-strings=no --compress-pos=no \
  --callgrind-out-file="$WORK/callgrind.out" \
  "$WORK/warren" worker --queue "$Q" --queue-type quorum --prefetch 200 --concurrency 8 --log-level info \
  --log-format json --handler demo --retry-delays 10m --http-port "$PORT" >"$WORK/worker.log" 2>&1 &
WORKER=$!
deadline=$(( $(date +%s) + 300 ))
until [ "$("$WORK/wb" ready "$H" "$P" "$Q" 2>/dev/null)" = 0 ]; do
  kill -0 "$WORKER" 2>/dev/null || { tail "$WORK/worker.log" >&2; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || { echo "the queue did not drain in 300 s" >&2; exit 1; }
  sleep 0.5
done
sleep 2
for path in readyz healthz metrics; do curl -fsS "http://127.0.0.1:$PORT/$path" >/dev/null; done
kill -TERM "$WORKER"
wait "$WORKER" || true
WORKER=
"$WORK/wb" delete "$H" "$P" "$Q" "$Q.dead" "$Q.retry.10m" >/dev/null 2>&1 || true

# Functions with a cost of their own in the warren object, first occurrence first. Callgrind names
# code without a symbol by its address (useless to the linker) and marks a recursion level with a
# 'N suffix (not part of the symbol).
awk '/^ob=/ { inwarren = ($0 ~ /\/warren$/) }
     /^fn=/ && inwarren { name = substr($0, 4); sub(/\047[0-9]+$/, "", name)
                          if (name !~ /^0x/ && !(name in seen)) { seen[name] = 1; print name } }' \
  "$WORK/callgrind.out" >scripts/release-symbol-order.txt
echo "scripts/release-symbol-order.txt: $(wc -l <scripts/release-symbol-order.txt) functions" >&2
