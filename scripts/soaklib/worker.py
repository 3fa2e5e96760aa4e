"""One `warren worker` process as the soak sees it: its log, its events, its health server."""

import collections
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

from .common import QUEUE, spawn


# Events kept per worker (with their times); the rest of each line goes to its log file only.
KEPT_EVENTS = {
    "http.listening", "worker.connected", "worker.consuming", "worker.connection_lost", "worker.reconnecting",
    "worker.draining", "worker.drained", "worker.stopped", "worker.failed", "worker.exit", "worker.second_signal",
    "worker.consumer_cancelled", "worker.connect_failed", "connection.blocked", "connection.unblocked",
}


class Worker:
    """One `warren worker` process and what the script saw of it. `slot.gen` names it."""

    def __init__(self, soak, slot, gen):
        self.soak = soak
        self.slot = slot
        self.name = f"w{slot}.{gen}"
        args = soak.args
        argv = [
            args.binary, "worker", "--amqp-url", soak.broker.url, "--queue", QUEUE, "--http-port", "0",
            "--log-format", "json", "--log-level", "info", "--retry-delays", args.retry_delays,
            "--shutdown-timeout", f"{args.shutdown_timeout}s", "--reconnect-max-delay", "5s",
        ] + args.worker_arg
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARREN_")}
        self.log_path = os.path.join(soak.logdir, f"{self.name}.log")
        self.log = open(self.log_path, "w")
        self.proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        self.started_at = time.monotonic()
        self.port = None
        self.events = []                  # (time, event, fields) of KEPT_EVENTS
        self.waiters = []                 # (event, callback(worker, fields)) one-shot
        self.lock = threading.Lock()
        self.expected_exit = False        # we sent SIGTERM/SIGKILL
        self.draining = False
        self.sigterm_at = None
        self.exit_reported = False
        # Monitor state.
        self.metrics = None
        self.readyz = None
        self.progress = None
        self.last_progress_at = time.monotonic()
        self.ready_while_idle = False
        self.stalled = False
        self.unacked_asked_at = 0.0
        self.connection_seen_at = self.started_at
        self.hung = False
        self.copy_failures = []           # copy_error of each message.dead_lettered copy_failed line
        self.broker_timeouts = 0          # lines saying a broker command or confirm timed out
        self.leaked_continuations = 0     # the Swift runtime's "CONTINUATION MISUSE ... leaked" lines
        self.reader = threading.Thread(target=self._read, name=f"read-{self.name}", daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                self.log.write(raw.decode("utf-8", "replace"))
            except ValueError:
                return
            if b"no answer from the broker" in raw or b"not confirmed within" in raw:
                self.broker_timeouts += 1
            if b"CONTINUATION MISUSE" in raw:
                self.leaked_continuations += 1
            if b'"event"' not in raw:
                continue
            if b'"copy_failed"' in raw:
                try:
                    self.copy_failures.append(json.loads(raw).get("copy_error", "?"))
                except ValueError:
                    pass
            try:
                fields = json.loads(raw)
            except ValueError:
                continue
            event = fields.get("event")
            if event not in KEPT_EVENTS:
                continue
            now = time.monotonic()
            if event == "http.listening":
                try:
                    self.port = int(fields.get("port"))
                except (TypeError, ValueError):
                    pass
            with self.lock:
                self.events.append((now, event, fields))
                fire = [w for w in self.waiters if w[0] == event]
                self.waiters = [w for w in self.waiters if w[0] != event]
            for _, callback in fire:
                callback(self, fields)
        self.log.flush()

    def on(self, event, callback):
        """Calls `callback(worker, fields)` on the reader thread at the next `event` line."""
        with self.lock:
            self.waiters.append((event, callback))

    def count(self, event, since=0.0):
        with self.lock:
            return sum(1 for t, e, _ in self.events if e == event and t >= since)

    def wait_event(self, event, since, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(event, since):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    @property
    def alive(self):
        return self.proc.poll() is None

    def close_log(self):
        self.reader.join(timeout=5)
        try:
            self.log.close()
        except ValueError:
            pass


def parse_metrics(text):
    """Prometheus text → {name: value summed over labels} plus {"dead:<reason>": value}."""
    totals = collections.defaultdict(float)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)', line)
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        totals[m.group(1)] += value
        if m.group(1) == "warren_messages_dead_lettered_total":
            reason = re.search(r'reason="([^"]*)"', m.group(2) or "")
            if reason:
                totals["dead:" + reason.group(1)] += value
    return totals


PROGRESS_METRICS = [
    "warren_messages_received_total", "warren_messages_acked_total", "warren_messages_dead_lettered_total",
    "warren_messages_retried_total", "warren_messages_abandoned_total", "warren_messages_requeued_total",
]


def http_get(port, path, timeout=2.0):
    """(status, body) or (None, error text)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except Exception as error:  # connection refused, timeout...
        return None, str(error)
