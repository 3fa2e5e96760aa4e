#!/usr/bin/env bash
# `make runtime-test`: proves that the Dockerfile's runtime stage is complete without a Docker
# engine. It builds the binary the image ships (release, Swift runtime linked statically),
# builds a minimal Debian bookworm root filesystem with debootstrap holding exactly the
# runtime stage's packages (librabbitmq4, ca-certificates, tzdata), deletes every shell from
# it (the image needs none at run time), copies the binary in, and under chroot as the image's
# non-root user 10001:10001 (with /proc mounted, as in any container) runs `warren --version`,
# a worker that drains 200 messages from a throwaway broker on loopback, `warren healthcheck`
# against it, and a SIGTERM that must end it with exit 0. Then the same binary runs as PID 1 of a new PID namespace (as `docker run`
# without --init starts it): SIGTERM during a running message must finish it and exit 0.
#
# Needs root (debootstrap, chroot) and the Debian mirror apt uses (WARREN_DEBIAN_MIRROR,
# default http://deb.debian.org/debian). About 40 s for the root filesystem plus the release
# build. WARREN_BINARY skips the build (it must be the static release build to prove anything).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || PATH=/opt/swift/usr/bin:$PATH

log() { echo "runtime-test: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

if [ "$(id -u)" != 0 ]; then
    log "needs root (debootstrap and chroot): run it as root, e.g. sudo make runtime-test"
    exit 1
fi
scripts/ensure-deps.sh
if ! command -v debootstrap >/dev/null 2>&1; then
    log "apt-get install debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2 \
        || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2; }
fi

# shellcheck source=scripts/lib/throwaway-broker.sh
. scripts/lib/throwaway-broker.sh
rootfs=""
worker_pid=""
cleanup() {
    local rc=$?
    trap '' INT TERM
    [ -z "$worker_pid" ] || kill -KILL "$worker_pid" 2>/dev/null || true
    throwaway_broker_destroy
    if [ -n "$rootfs" ]; then
        # Never remove files through a mounted /proc.
        if mountpoint -q "$rootfs/proc"; then umount "$rootfs/proc" || umount -l "$rootfs/proc" || true; fi
        mountpoint -q "$rootfs/proc" || rm -rf "$rootfs"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

throwaway_broker_start runtime-test

if [ -z "${WARREN_BINARY:-}" ]; then
    log "building warren as the image does (scripts/release-build.sh)"
    scripts/release-build.sh --product warren --scratch-path .build-static >&2
    WARREN_BINARY="$(scripts/release-build.sh --scratch-path .build-static --show-bin-path)/warren"
fi
[ -x "$WARREN_BINARY" ] || fail "no warren binary at $WARREN_BINARY"

rootfs=$(mktemp -d /tmp/warren-rootfs.XXXXXX)
# mktemp makes it 0700: the non-root user must be able to enter its own root.
chmod 0755 "$rootfs"
mirror=${WARREN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
log "debootstrap bookworm (minbase + librabbitmq4 ca-certificates tzdata) from $mirror"
debootstrap --variant=minbase --include=librabbitmq4,ca-certificates,tzdata bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; fail "debootstrap"; }
rm -f "$rootfs.log"
# No shell at run time: the image's ENTRYPOINT and HEALTHCHECK are exec form.
for shell in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash; do rm -f "${rootfs:?}/$shell"; done
install -D -m 0755 "$WARREN_BINARY" "$rootfs/usr/local/bin/warren"
# A container runtime always mounts /proc, and Warren needs it: the Swift runtime reads a
# static executable's arguments from /proc/self/cmdline (without it `warren worker` would see
# no arguments at all).
mount -t proc proc "$rootfs/proc"
run_as_image() { chroot --userspec=10001:10001 "$rootfs" /usr/local/bin/warren "$@"; }

version=$(run_as_image --version) || fail "warren --version under chroot"
log "warren --version under chroot as 10001: $version"

throwaway_broker_await
# shellcheck disable=SC1091
url=$(set +u; . "$broker_dir/env" >/dev/null 2>&1; echo "$WARREN_AMQP_URL")
queue="runtime.$$"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Only the flags: none of the caller's WARREN_* settings reach the chroot.
env -i PATH=/usr/bin:/bin "$WARREN_BINARY" publish --amqp-url "$url" --queue "$queue" --queue-type classic \
    --count 200 --body '{"work_ms": 5}' >&2 || fail "publishing 200 messages"

# Waits until "$queue" holds no ready message (delivered ones may still be unacked); false
# after $1 seconds.
queue_empty_within() {
    python3 - "$url" "$queue" "$1" <<'PYEOF2'
import sys, time, pika
url, queue, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    count = connection.channel().queue_declare(queue, passive=True).method.message_count
    connection.close()
    if count == 0:
        sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
PYEOF2
}

# The worker as the image runs it: under chroot as 10001, with only its flags; its output goes
# to $rootfs/$1, and any further arguments are a command to run chroot under (unshare).
start_image_worker() {
    local log=$1; shift
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" chroot --userspec=10001:10001 "$rootfs" /usr/local/bin/warren worker \
        --amqp-url "$url" --queue "$queue" --queue-type classic --http-port "$port" --log-format json >"$rootfs/$log" 2>&1 &
    worker_pid=$!
}

# Sends SIGTERM to $1 (the worker) and requires the process started last ($worker_pid: the
# worker, or unshare, which exits with its child's status) to exit 0; $2 is its log.
sigterm_expect_exit_0() {
    local status=0
    kill -TERM "$1"
    wait "$worker_pid" || status=$?
    worker_pid=""
    [ "$status" = 0 ] || { cat "$rootfs/$2" >&2; fail "the worker exited $status after SIGTERM"; }
}

log "worker under chroot as 10001 drains the queue"
start_image_worker worker.log
queue_empty_within 60 || { cat "$rootfs/worker.log" >&2; fail "the worker did not drain the queue within 60 s"; }
run_as_image healthcheck --http-port "$port" >&2 || { cat "$rootfs/worker.log" >&2; fail "warren healthcheck under chroot"; }
sigterm_expect_exit_0 "$worker_pid" worker.log
grep -q '"event":"worker.drained"' "$rootfs/worker.log" || { cat "$rootfs/worker.log" >&2; fail "no worker.drained line"; }

# PID 1 with the binary the image ships: `docker run` without --init starts ENTRYPOINT as
# PID 1 of a new PID namespace, where the kernel gives it no default signal actions. The
# worker takes a 3 s message, gets SIGTERM mid-run, and must finish it, ack it and exit 0.
# --kill-child: the cleanup's SIGKILL to unshare then takes the worker with it.
log "the same binary as PID 1 of a new PID namespace (unshare --pid --fork) under chroot as 10001"
env -i PATH=/usr/bin:/bin "$WARREN_BINARY" publish --amqp-url "$url" --queue "$queue" --queue-type classic \
    --count 1 --body '{"work_ms": 3000}' >&2 || fail "publishing the PID 1 message"
start_image_worker pid1.log unshare --pid --fork --mount-proc="$rootfs/proc" --kill-child
# The worker's in-flight gauge says when the handler runs (the new namespace shares the network).
python3 - "$port" "$queue" <<'PYEOF2' || { cat "$rootfs/pid1.log" >&2; fail "the PID 1 worker did not start its message within 60 s"; }
import sys, time, urllib.request
port, queue = sys.argv[1], sys.argv[2]
series = 'warren_messages_in_flight{queue="%s"}' % queue
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            samples = dict(line.rsplit(" ", 1) for line in response.read().decode().splitlines()
                           if line and not line.startswith("#"))
            if float(samples.get(series, "0")) == 1:
                sys.exit(0)
    except OSError:
        pass  # not listening yet
    time.sleep(0.02)
sys.exit(1)
PYEOF2
# unshare's only child is the worker (chroot exec'd it); inside the namespace it is PID 1.
pid1=$(cat "/proc/$worker_pid/task/$worker_pid/children" 2>/dev/null | awk '{print $1}')
[ -n "$pid1" ] || fail "no child of unshare (pid $worker_pid)"
nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$pid1/status")
[ "$nspid" = 1 ] || fail "the worker is PID $nspid in its namespace, not 1"
sigterm_expect_exit_0 "$pid1" pid1.log
python3 - "$rootfs/pid1.log" <<'PYEOF2' || { cat "$rootfs/pid1.log" >&2; fail "the PID 1 worker did not finish its running message"; }
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
drained = [line for line in lines if line.get("event") == "worker.drained"]
sys.exit(0 if drained and str(drained[0].get("finished")) == "1" else 1)
PYEOF2

python3 - "$url" "$queue" <<'PYEOF2'
import sys, pika
connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
channel = connection.channel()
left = channel.queue_declare(sys.argv[2], passive=True).method
if left.message_count != 0:
    sys.exit(f"runtime-test: FAILED: {left.message_count} message(s) left in {sys.argv[2]}")
for name in (sys.argv[2], sys.argv[2] + ".dead", sys.argv[2] + ".retry.1s", sys.argv[2] + ".retry.10s", sys.argv[2] + ".retry.1m"):
    channel.queue_delete(name)
channel.exchange_delete(sys.argv[2] + ".dlx")
connection.close()
PYEOF2
log "ok: the runtime stage's packages suffice; warren runs without a shell, as 10001, and drains on SIGTERM, also as PID 1"
