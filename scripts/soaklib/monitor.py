"""Watching the workers while faults run (a mixin of `Soak`): progress, stalls, hangs, exits."""

import re
import time

from .common import QUEUE, WITNESS
from .worker import PROGRESS_METRICS, http_get, parse_metrics


class Monitor:
    """`Soak`'s watch, one tick a second on the main thread: queue counts (pika), each worker's
    /metrics and /readyz, stall and hung-handler judgements, workers that exited by themselves."""

    def monitor_tick(self):
        queues = [QUEUE, QUEUE + ".dead", WITNESS] + self.retry_queues
        counts = self.watch.counts(queues) if self.broker.up else None
        now = time.monotonic()
        if counts is not None:
            self.counts = counts
            self.ready = counts[QUEUE]
            if self.ready == 0:
                self.last_ready_zero_at = now
        else:
            self.ready = None
            self.last_ready_zero_at = now      # the broker is away: no stall can be judged
        if not self.broker.up or self.alarm_on:
            self.last_ready_zero_at = now
        # The broker's connections (name -> unacked), one agent call a tick; None when unknown.
        self.connections = None
        if self.broker.up and self.agent.alive():
            try:
                answer = self.agent.wait(self.agent.send("unacked"), timeout=5)
            except OSError:               # the agent's directory is being renewed (a broker restart)
                answer = None
            if answer is not None:
                self.connections = {name: int(n) for name, n in re.findall(r'\{<<"([^"]*)">>,(\d+)\}', answer)}
        for worker in self.live_workers():
            self.check_worker(worker, now)
            self.check_readiness(worker, now)
        self.reap()

    def check_readiness(self, worker, now):
        """Readiness that lies: /readyz answering 200 while the worker has no connection on the
        broker (for 15 s, the broker up all along), or while the broker is down (for 20 s: a
        stopping node closes its client connections first)."""
        if self.connections is not None and any(name.endswith(f":{worker.pid}") for name in self.connections):
            worker.connection_seen_at = now
        if worker.stalled or worker.draining or not worker.readyz or worker.readyz[0] != 200:
            return
        why = None
        if (self.broker.up and self.connections is not None and now - (self.broker.last_up_at or now) >= 15
                and now - worker.started_at >= 15 and now - max(worker.connection_seen_at, self.broker.last_up_at) >= 15):
            why = "it has had no connection on the broker for 15 s"
        elif not self.broker.up and self.broker.down_since and now - self.broker.down_since >= 20:
            why = f"the broker has been down for {now - self.broker.down_since:.0f} s"
        if why:
            worker.stalled = True
            detail = (f"{worker.name} (pid {worker.pid}) STALLED, /readyz LIES: it answers {worker.readyz[0]} "
                      f"{worker.readyz[1]} but {why}; no progress for {now - worker.last_progress_at:.0f}s, in flight "
                      f"{worker.metrics.get('warren_messages_in_flight') if worker.metrics else '?'}")
            self.stalls.append(detail)
            self.fault(detail)

    def check_worker(self, worker, now):
        if worker.port is None:
            return
        status, text = http_get(worker.port, "/metrics")
        if status == 200:
            metrics = parse_metrics(text)
            worker.metrics = metrics
            progress = sum(metrics.get(m, 0) for m in PROGRESS_METRICS)
            if progress != worker.progress:
                worker.progress = progress
                worker.last_progress_at = now
                worker.ready_while_idle = False
        status, text = http_get(worker.port, "/readyz")
        worker.readyz = (status, text.strip()[:200])
        if status == 200 and now - worker.last_progress_at > 5:
            worker.ready_while_idle = True
        idle = now - worker.last_progress_at
        # Judged only over a window in which the broker was up, no alarm was on and the worker
        # had started: then no progress while `Q` had ready messages all along, or while it
        # held unacked messages (asked of the broker), is a stall.
        calm_since = max(worker.started_at, self.alarm_until if self.alarm_until != float("inf") else now,
                         self.broker.last_up_at if self.broker.up else now)
        window = self.args.stall_seconds
        if not worker.stalled and not worker.draining and idle >= window and now - calm_since >= window:
            unacked = None
            queue_was_empty = now - max(calm_since, self.last_ready_zero_at) < window
            if queue_was_empty and now - worker.unacked_asked_at >= 5:
                worker.unacked_asked_at = now
                unacked = self.unacked_of(worker)
            if not queue_was_empty or (isinstance(unacked, int) and unacked > 0):
                worker.stalled = True
                if unacked is None:
                    unacked = self.unacked_of(worker)
                detail = (f"{worker.name} (pid {worker.pid}) STALLED: no progress for {idle:.0f}s with {self.ready} ready in "
                          f"{QUEUE}; unacked held {unacked}; in flight "
                          f"{worker.metrics.get('warren_messages_in_flight') if worker.metrics else '?'}; "
                          f"/readyz {worker.readyz[0]} {worker.readyz[1]}"
                          + ("; /readyz said ready while it made no progress" if worker.ready_while_idle else ""))
                self.stalls.append(detail)
                self.fault(detail)
        in_flight = worker.metrics.get("warren_messages_in_flight", 0) if worker.metrics else 0
        if in_flight > 0 and idle >= self.args.hung_seconds and not worker.hung:
            worker.hung = True
            detail = (f"{worker.name} (pid {worker.pid}) HUNG HANDLERS: in-flight gauge at {in_flight:.0f} with no progress "
                      f"for {idle:.0f}s (broker {'up' if self.broker.up else 'down'}, alarm {'on' if self.alarm_on else 'off'})")
            self.hangs.append(detail)
            self.fault(detail)

    def unacked_of(self, worker):
        if not self.agent.alive():
            return "?"
        try:
            result = self.agent.wait(self.agent.send("unacked"), timeout=10) or ""
        except OSError:
            return "?"
        held = [int(n) for name, n in re.findall(r'\{<<"([^"]*)">>,(\d+)\}', result) if name.endswith(f":{worker.pid}")]
        return sum(held) if held else "none (no consumer connection)"

    def reap(self):
        """Workers that exited without being told to are counted and replaced."""
        with self.slot_lock:
            gone = [(s, w) for s, w in enumerate(self.slots) if w is not None and not w.alive and not w.expected_exit]
        for slot, worker in gone:
            if not worker.exit_reported:
                worker.exit_reported = True
                code = worker.proc.returncode
                events = [e for _, e, _ in worker.events[-5:]]
                self.unexpected_exits.append(f"{worker.name} (pid {worker.pid}) exited {code} on its own (last events {events})")
                self.fault(f"{worker.name} (pid {worker.pid}) EXITED {code} on its own; see {worker.log_path}")
                worker.close_log()
            if not self.abort and slot not in self.busy:
                self.start_worker(slot)

    def status_line(self):
        sent = len(self.publisher.confirmed)
        handled = self.witness.handled()
        parts = [f"sent {sent}", f"handled {handled}", f"dead {self.counts.get(QUEUE + '.dead', '?')}",
                 f"ready {self.ready if self.ready is not None else '?'}"]
        retry = sum(self.counts.get(q, 0) or 0 for q in self.retry_queues)
        parts.append(f"in retry {retry}")
        states = []
        for w in self.live_workers():
            flight = int(w.metrics.get("warren_messages_in_flight", 0)) if w.metrics else "?"
            state = "?"
            if w.readyz and w.readyz[0] is not None:
                m = re.search(r'"state":"([^"]*)"', w.readyz[1])
                state = m.group(1) if m else str(w.readyz[0])
            states.append(f"{w.name}:{state}/{flight}")
        return ", ".join(parts) + " | " + " ".join(states)
