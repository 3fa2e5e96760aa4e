#!/usr/bin/env bash
# bench/startup.sh [BINARY...]: how soon `warren worker` answers /healthz after it is spawned,
# with no broker (the URL points at a closed port), so nothing but Warren's own startup counts.
# Spawns each binary ROUNDS times (default 20), one at a time, polls /healthz on a picked port
# every millisecond from the spawn, and prints min / median / max in ms.
# Default binaries: the debug build and the release build (make release), where they exist.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-20}
binaries=("$@")
if [ ${#binaries[@]} -eq 0 ]; then
    for b in .build/debug/warren .build/release/warren .build-static/release/warren; do
        [ -x "$b" ] && binaries+=("$PWD/$b")
    done
fi
[ ${#binaries[@]} -gt 0 ] || { echo "startup: no warren binary built (make build / make release)" >&2; exit 1; }
for binary in "${binaries[@]}"; do
    python3 - "$binary" "$rounds" <<'PYEOF'
import socket, subprocess, sys, time
binary, rounds = sys.argv[1], int(sys.argv[2])
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
closed, times = free_port(), []
for _ in range(rounds):
    port = free_port()
    started = time.monotonic()
    worker = subprocess.Popen(
        [binary, "worker", "--amqp-url", f"amqp://guest:guest@127.0.0.1:{closed}/", "--queue", "bench.startup",
         "--http-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if worker.poll() is not None:
                sys.exit(f"startup: {binary} exited {worker.returncode}")
            if time.monotonic() - started > 10:
                sys.exit(f"startup: {binary} did not answer /healthz within 10 s")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    if c.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                time.sleep(0.001)
        times.append((time.monotonic() - started) * 1000)
    finally:
        worker.terminate()
        worker.wait()
times.sort()
print(f"{binary}: /healthz first answered after min {times[0]:.1f} / median {times[len(times) // 2]:.1f} / max {times[-1]:.1f} ms ({rounds} spawns)")
PYEOF
done
