#!/usr/bin/env python3
"""`make soak`: a bounded chaos soak of `warren worker` against a throwaway RabbitMQ node.

    scripts/soak.py [--messages N] [--slice] [--binary PATH] [--timeout SECONDS] [...]
    make soak ARGS="--slice"            SOAK_MESSAGES=20000 make soak

It starts its own node on loopback (scripts/broker.sh), three `warren worker` processes (the
built binary, demo handler) and independent pika clients, pushes N messages (default 100,000,
`SOAK_MESSAGES`) and, while they drain, injects overlapping faults timed into activity:
SIGTERM rolling restarts, SIGKILLs, forced closes of consumer and publisher connections in
the redelivery wave a SIGKILL or a drain starts, broker restarts (with a SIGTERM to the first
worker that reconnects) and memory alarms. Each fault is printed with its time. Then it lets
the system settle (bounded), stops the workers with SIGTERM, reads every queue with pika and
prints the figures. Exit status: 0 when every must-be-0 figure is 0, 1 when one is not, 2 when
the harness itself could not run (no broker, publishing incomplete, wall-clock cap hit).

Message mix (by message id `m-000001`...; the body says what the demo handler does, see
Sources/WarrenCLI/DemoHandler.swift): ~70 % `{"work_ms":5}`, ~20 % `{"fail_until_attempt":2}`
(one delayed retry through `Q.retry.200ms`), ~10 % `{"fail":"permanent"}` (dead-lettered at
once), and a few `{"publish_to_exchange": <missing>}` whose handler publishes to an exchange
that does not exist: the broker closes the worker's publishing channel under every handler
that shares it, and the message itself fails on every attempt (a handler error of its own:
retried, then dead-lettered as retries_exhausted, which is legitimate). Every message that
should succeed carries `"record_to": "soak.witness"`: after its work the handler publishes a
witness (body = the message id) through `context.publish`, and this script reads the witness
queue with pika. Handling is counted from those witnesses, never from Warren's logs.

Figures (the must-be-0 ones decide the exit status):
- sent: confirmed by the broker to the pika publisher;
- handled: distinct ids witnessed; duplicates: ids witnessed more than once (allowed, counted:
  a message in flight at a SIGKILL, a forced close or a failed ack is handled again);
- dead-lettered legitimately: a `fail: permanent` message with Warren's headers naming
  `DemoFailure`, or a missing-exchange message with Warren's headers after its last attempt;
- dead-lettered for infrastructure reasons (must be 0): anything else in `Q.dead`: a copy
  without Warren's headers (`copy_failed`: the broker dead-lettered a nack), the quorum
  delivery limit, a message that still had a retry, a message whose body asks to succeed;
- still queued: left in `Q` or a retry queue after the settle deadline (not lost, but shown);
- lost (must be 0): sent ids found nowhere: not witnessed, not in `Q.dead`, not queued;
- stalled workers (must be 0): a live worker, not draining, that made no progress (its
  /metrics counters) for `--stall-seconds` while `Q` had ready messages all along (or while it
  held unacked messages, asked of the broker) and the broker was up with no alarm; printed
  with its unacked count and whether `/readyz` said ready meanwhile. Also a worker whose
  `/readyz` lies: 200 while it has had no connection on the broker for 15 s, or while the
  broker has been down for 20 s;
- hung handlers (must be 0): a worker whose `warren_messages_in_flight` stayed above 0 with
  no progress for `--hung-seconds`;
- SIGTERM overruns (must be 0): a worker still running `--shutdown-timeout` + 10 s (Warren's
  graceful-shutdown bound) + 5 s after SIGTERM (it is then SIGKILLed);
- workers that exited on their own (must be 0);
- wall time.

Everything is bounded: a wall-clock cap (`--timeout`, default 900 s; `SOAK_TIMEOUT`), a
deadline on every wait, and on every exit path (Ctrl-C, SIGTERM, an error, the cap) every
process started here and the broker are stopped. Worker logs and the fault log stay in the
printed directory when the run fails (`--keep-logs` keeps them always).

A tenth of the messages (at most 10,000; `--preload`) is published before the workers start,
so they begin on a backlog with full prefetch windows, as in the issue's run.

`--slice`: 3,000 messages (300 as a backlog, the rest at 75/s) with one fault of each kind,
about a minute.

The parts live in scripts/soaklib/: the node (broker.py), the fault agent (agent.py,
agent.erl), the workers (worker.py), the pika clients (clients.py), the faults (faults.py),
the monitoring (monitor.py) and the figures (report.py).

Broker setting: after a broker restart, RabbitMQ 3.10's at-least-once dead-letter worker of a
quorum queue can start before the default exchange is back; retry copies then wait in
`Q.retry.*` for `dead_letter_worker_publisher_confirm_timeout` (180 s by default). The node
started here sets it to 5 s (`--dlx-confirm-timeout-ms`; 0 keeps the broker's default), so a
run is not dominated by that wait.

Faults are sent through an agent: one long-running `rabbitmqctl eval` (restarted after a broker
restart) that polls a directory for command files and runs each in its own Erlang process on
the node, so a connection is closed within milliseconds of its trigger (a separate
`rabbitmqctl` call takes seconds to start on a loaded machine and would miss the window).
"""

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True    # no __pycache__ in the tree
try:
    import pika
except ImportError:
    print("soak: python3 cannot import pika (run scripts/ensure-deps.sh)", file=sys.stderr)
    sys.exit(2)

from soaklib.agent import Agent
from soaklib.broker import Broker
from soaklib.clients import Publisher, QueueWatch, WitnessReader, drain_queue
from soaklib.common import (
    MISSING_EXCHANGE, PIKA_ERRORS, QUEUE, REPO, T0, WITNESS, HarnessError, elapsed, kill_children, message_id, say,
)
from soaklib.faults import FULL_PLAN, SLICE_PLAN, Faults
from soaklib.monitor import Monitor
from soaklib.report import Report
from soaklib.worker import Worker


class Soak(Faults, Monitor, Report):
    """One run: its broker, agent, workers, clients and figures. The faults, the monitoring
    and the report are the mixins' (scripts/soaklib/)."""

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.logdir = os.path.join(workdir, "logs")
        os.makedirs(self.logdir)
        self.rng = random.Random(args.seed)
        self.broker = Broker(workdir, args.dlx_confirm_timeout_ms)
        self.agent = Agent(self.broker, workdir, args.timeout + 120)
        self.kinds = {}
        self.slots = [None] * args.workers
        self.generations = [0] * args.workers
        self.busy = set()
        self.slot_lock = threading.Lock()
        self.faults = []                  # (time, text)
        self.fault_lock = threading.Lock()
        self.fault_threads = []
        self.alarm_until = 0.0            # monotonic; no stall is judged before it
        self.alarm_on = False
        self.all_workers = []
        self.sigterms = []                # (worker name, seconds to exit or None, exit code)
        self.overruns = []
        self.unexpected_exits = []
        self.stalls = []
        self.hangs = []
        self.kill_count = 0
        self.close_count = 0
        self.last_ready_zero_at = time.monotonic()
        self.ready = None
        self.counts = {}
        self.publisher = None
        self.witness = None
        self.abort = False
        self.retry_queues = [f"{QUEUE}.retry.{d.strip()}" for d in args.retry_delays.split(",") if d.strip()]
        self.max_attempts = 1 + len(self.retry_queues)
        self.trigger_seq = 0

    # -- bookkeeping --

    def fault(self, text):
        with self.fault_lock:
            self.faults.append((elapsed(), text))
        say("FAULT " + text)

    def body_of(self, n):
        kind = self.kinds[message_id(n)]
        witness = f'"record_to": "{WITNESS}"'
        return {
            "ok": f'{{"work_ms": 5, {witness}}}',
            "retry": f'{{"fail_until_attempt": 2, "work_ms": 5, {witness}}}',
            "permanent": '{"fail": "permanent"}',
            "missing": f'{{"publish_to_exchange": "{MISSING_EXCHANGE}", {witness}}}',
        }[kind].encode()

    def assign_kinds(self):
        counts = collections.Counter()
        for n in range(self.args.messages):
            r = self.rng.random()
            if r < 0.10:
                kind = "permanent"
            elif r < 0.30:
                kind = "retry"
            elif r < 0.30 + self.args.missing_ratio:
                kind = "missing"
            else:
                kind = "ok"
            self.kinds[message_id(n)] = kind
            counts[kind] += 1
        return counts

    def progress(self):
        dead = (self.counts or {}).get(QUEUE + ".dead") or 0
        return (self.witness.handled() + dead) / max(1, self.args.messages)

    # -- workers --

    def start_worker(self, slot):
        with self.slot_lock:
            self.generations[slot] += 1
            worker = Worker(self, slot, self.generations[slot])
            self.slots[slot] = worker
            self.all_workers.append(worker)
        return worker

    def live_workers(self):
        with self.slot_lock:
            return [w for w in self.slots if w is not None and w.alive]

    def take_slot(self, exclude=(), timeout=60):
        """A random live, idle slot, marked busy; None if none within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.abort:
            with self.slot_lock:
                free = [s for s in range(len(self.slots)) if s not in self.busy and s not in exclude
                        and self.slots[s] is not None and self.slots[s].alive]
                if free:
                    slot = self.rng.choice(free)
                    self.busy.add(slot)
                    return slot
            time.sleep(0.2)
        return None

    def release_slot(self, slot):
        with self.slot_lock:
            self.busy.discard(slot)

    def sigterm_deadline(self):
        return self.args.shutdown_timeout + 10 + 5

    def send_sigterm(self, worker):
        worker.expected_exit = True
        worker.draining = True
        worker.sigterm_at = time.monotonic()
        try:
            os.kill(worker.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def await_exit(self, worker, why):
        """After send_sigterm: waits for the exit within the deadline, else SIGKILLs."""
        deadline = self.sigterm_deadline()
        remaining = worker.sigterm_at + deadline - time.monotonic()
        try:
            code = worker.proc.wait(timeout=max(0.1, remaining))
            took = time.monotonic() - worker.sigterm_at
            self.sigterms.append((worker.name, took, code))
            say(f"{worker.name} (pid {worker.pid}) exited {code} {took:.2f}s after SIGTERM ({why})")
        except subprocess.TimeoutExpired:
            self.overruns.append((worker.name, why))
            self.sigterms.append((worker.name, None, None))
            self.fault(f"{worker.name} (pid {worker.pid}) still running {deadline}s after SIGTERM ({why}): SIGKILL "
                       f"[last events: {', '.join(e for _, e, _ in worker.events[-4:])}]")
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            worker.proc.wait(timeout=10)
        worker.close_log()

    def sigkill(self, worker):
        worker.expected_exit = True
        self.kill_count += 1
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.proc.wait(timeout=10)

    # -- the run --

    def run(self):
        args = self.args
        counts = self.assign_kinds()
        say(f"soak: {args.messages} messages ({dict(counts)}), {args.workers} workers, binary {args.binary}, "
            f"cap {args.timeout}s, seed {args.seed}, logs in {self.logdir}")
        self.broker.start()
        say(f"broker up at {self.broker.url} ({self.broker.dir})")
        setup = pika.BlockingConnection(self.broker.params("soak-setup"))
        setup.channel().queue_declare(WITNESS, durable=True)
        setup.close()
        agent_thread = threading.Thread(target=self.start_agent_quietly, daemon=True)
        agent_thread.start()
        # A backlog first, as in the run (its worker held a full prefetch window with
        # 1,300+ messages ready): one worker declares the topology and stops, the preload is
        # published, then the workers start on it while the rest is published.
        first = self.start_worker(0)
        if not first.wait_event("worker.consuming", 0, 120):
            raise HarnessError(f"{first.name} did not start consuming within 120 s; see {first.log_path}")
        first.expected_exit = True
        first.proc.terminate()
        first.proc.wait(timeout=self.sigterm_deadline())
        first.close_log()
        self.watch = QueueWatch(self)
        self.witness = WitnessReader(self)
        self.witness.start()
        self.publisher = Publisher(self, args.messages, args.rate, preload=args.preload)
        self.publisher.start()
        say(f"publishing a backlog of {args.preload}, then the rest" + (f" at {args.rate}/s" if args.rate else ""))
        deadline = time.monotonic() + 180
        while len(self.publisher.confirmed) < args.preload and time.monotonic() < deadline and not self.publisher.done:
            time.sleep(0.2)
        for slot in range(args.workers):
            self.start_worker(slot)
        for worker in list(self.slots):
            if not worker.wait_event("worker.consuming", 0, 120):
                raise HarnessError(f"{worker.name} did not start consuming within 120 s; see {worker.log_path}")
        say(f"workers consuming ({len(self.publisher.confirmed)} sent so far): "
            + ", ".join(f"{w.name} pid {w.pid} port {w.port}" for w in self.slots))
        agent_thread.join(timeout=180)
        if not self.agent.alive():
            raise HarnessError("the fault agent did not start")

        plan = list(SLICE_PLAN if args.slice else FULL_PLAN) if not args.no_faults else []
        fault_window_end = self.end_reserve_deadline() - args.settle_seconds
        last_status = 0.0
        last_change, last_progress_value = time.monotonic(), -1.0
        while True:
            now = time.monotonic()
            if now >= self.end_reserve_deadline():
                self.abort = True
                self.fault("wall-clock cap near: stopping faults and publishing")
                break
            self.monitor_tick()
            p = self.progress()
            if p != last_progress_value:
                last_progress_value, last_change = p, now
            while plan and p >= plan[0][0] and now < fault_window_end:
                threshold, kind = plan.pop(0)
                say(f"progress {p:.0%}: starting {kind}")
                t = threading.Thread(target=self.run_fault, args=(kind,), name=kind, daemon=True)
                t.start()
                self.fault_threads.append(t)
            if plan and now >= fault_window_end:
                self.fault(f"fault window closed with {len(plan)} faults not injected: {[k for _, k in plan]}")
                plan = []
            if now - last_status >= 10:
                last_status = now
                say(self.status_line())
            faults_done = not plan and all(not t.is_alive() for t in self.fault_threads)
            if self.publisher.done and faults_done:
                break
            if now - last_change > args.stall_seconds * 4 and faults_done:
                self.fault(f"no progress for {now - last_change:.0f}s: ending the drain early")
                break
            time.sleep(1)
        self.publisher.stop = self.publisher.stop or self.abort
        for t in self.fault_threads:
            t.join(timeout=max(1.0, T0 + args.timeout - 30 - time.monotonic()))
        self.settle()
        return self.finish()

    def start_agent_quietly(self):
        try:
            self.agent.ensure()
        except HarnessError as error:
            say(str(error))

    def settle(self):
        """After the faults: waits until everything sent is witnessed or dead-lettered and
        nothing is queued or in flight. Bounded twice: it gives up after `--settle-seconds`
        without any progress, and at the wall-clock cap (less what the end of the run needs)."""
        cap = self.end_reserve_deadline()
        say(f"faults over; draining and settling (gives up after {self.args.settle_seconds:.0f}s without progress)")
        last_status = last_change = time.monotonic()
        last_accounted = -1
        while True:
            now = time.monotonic()
            if now >= cap:
                self.abort = True
                self.fault("wall-clock cap near: settling cut short: " + self.status_line())
                return
            if now - last_change >= self.args.settle_seconds:
                self.fault(f"settle deadline: no progress for {self.args.settle_seconds:.0f}s: " + self.status_line())
                return
            self.monitor_tick()
            counts = self.counts or {}
            queued = (counts.get(QUEUE) or 0) + sum(counts.get(q) or 0 for q in self.retry_queues)
            in_flight = sum(w.metrics.get("warren_messages_in_flight", 0) for w in self.live_workers() if w.metrics)
            accounted = self.witness.handled() + (counts.get(QUEUE + ".dead") or 0)
            if accounted != last_accounted:
                last_accounted, last_change = accounted, now
            if (self.broker.up and queued == 0 and in_flight == 0 and (counts.get(WITNESS) or 0) == 0
                    and accounted >= len(self.publisher.confirmed)):
                say(f"settled: {self.status_line()}")
                return
            if now - last_status >= 10:
                last_status = now
                say("settling: " + self.status_line())
            time.sleep(1)

    def end_reserve_deadline(self):
        """The last moment the drain may go on: the end of the run (SIGTERMs, reading every
        queue) must fit under the cap."""
        return T0 + self.args.timeout - self.sigterm_deadline() - 90

    def finish(self):
        args = self.args
        # Stop the workers: each SIGTERM is held to the same deadline.
        workers = self.live_workers()
        for worker in workers:
            self.send_sigterm(worker)
        for worker in workers:
            self.await_exit(worker, "end of the run")
        # The witness queue is read to the end.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            counts = self.watch.counts([WITNESS]) or {}
            if counts.get(WITNESS) == 0 and time.monotonic() - self.witness.last_at > 2:
                break
            time.sleep(0.5)
        self.witness.stop = True
        self.witness.thread.join(timeout=10)
        self.agent.stop()
        self.watch.close()
        say("reading every queue with pika")
        dead, queued = [], {}
        try:
            dead = drain_queue(self.broker, QUEUE + ".dead", 45)
            for queue in [QUEUE] + self.retry_queues:
                for mid, _, _ in drain_queue(self.broker, queue, 20):
                    queued.setdefault(mid, queue)
        except PIKA_ERRORS as error:
            self.abort = True
            self.fault(f"could not read the queues at the end: {type(error).__name__}: {error}")
        return self.report(dead, queued)

def parse_args():
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=int(env.get("SOAK_MESSAGES", 0)) or None,
                        help="messages to push (env SOAK_MESSAGES; default 100000, 3000 with --slice)")
    parser.add_argument("--slice", action="store_true", default=env.get("SOAK_SLICE") == "1",
                        help="short run (~1 min): 3000 messages, 300 as a backlog then 75/s, one fault of each kind "
                             "(env SOAK_SLICE=1)")
    parser.add_argument("--binary", default=env.get("SOAK_BINARY") or os.path.join(REPO, ".build/debug/warren"),
                        help="the warren executable (env SOAK_BINARY; default .build/debug/warren)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=int(env.get("SOAK_TIMEOUT", 900)),
                        help="wall-clock cap in seconds (env SOAK_TIMEOUT; default 900)")
    parser.add_argument("--rate", type=float, default=None, help="publish rate, messages/s (default: as fast as confirmed; 75 with --slice)")
    parser.add_argument("--preload", type=int, default=None,
                        help="messages published before the workers start (default: a tenth of --messages, at most 10000)")
    parser.add_argument("--retry-delays", default="200ms", help="the workers' --retry-delays (default 200ms: one delayed retry)")
    parser.add_argument("--shutdown-timeout", type=int, default=5, help="the workers' --shutdown-timeout in seconds (default 5)")
    parser.add_argument("--missing-ratio", type=float, default=0.002,
                        help="share of messages whose handler publishes to a missing exchange (default 0.002)")
    parser.add_argument("--alarm-seconds", type=float, default=8.0, help="length of each memory alarm (default 8)")
    parser.add_argument("--stall-seconds", type=float, default=30.0, help="no progress with ready messages this long = stalled (default 30)")
    parser.add_argument("--hung-seconds", type=float, default=30.0, help="in-flight gauge stuck this long = hung handlers (default 30)")
    parser.add_argument("--settle-seconds", type=float, default=None, help="settle deadline after the faults (default 120, 60 with --slice)")
    parser.add_argument("--dlx-confirm-timeout-ms", type=int, default=5000,
                        help="the node's dead_letter_worker_publisher_confirm_timeout (0 = broker default, 180 s)")
    parser.add_argument("--no-faults", action="store_true", help="inject nothing (a baseline)")
    parser.add_argument("--seed", type=int, default=int(env.get("SOAK_SEED", 0)) or int(time.time()) % 100000,
                        help="the message mix and the workers each fault picks (env SOAK_SEED; timing is the machine's)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs directory even when the run passes")
    parser.add_argument("--worker-arg", action="append", default=[], help="extra argument for every worker (repeatable)")
    args = parser.parse_args()
    if args.messages is None:
        args.messages = 3000 if args.slice else 100_000
    if args.preload is None:
        args.preload = min(args.messages // 10, 10_000)
    if args.rate is None and args.slice:
        args.rate = 75.0
    if args.settle_seconds is None:
        args.settle_seconds = 60.0 if args.slice else 120.0
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable (build it: swift build --product warren)")
    return args


def main():
    args = parse_args()
    workdir = tempfile.mkdtemp(prefix="warren-soak.", dir=os.environ.get("TMPDIR", "/tmp"))
    soak = None
    status = 2

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # Explicitly: a shell starting this in the background would have SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # The last resort if the main thread itself hangs: SIGALRM well after the cap.
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(args.timeout + 120)
    try:
        soak = Soak(args, workdir)
        status = soak.run()
    except KeyboardInterrupt as interrupt:
        print(f"\nsoak: interrupted ({interrupt or 'Ctrl-C'}); cleaning up", file=sys.stderr)
        status = 130
    except HarnessError as error:
        print(f"soak: {error}", file=sys.stderr)
        status = 2
    finally:
        signal.alarm(0)
        # A second Ctrl-C during the cleanup must not leave a broker behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if soak is not None:
            soak.abort = True
            if soak.publisher:
                soak.publisher.stop = True
            if soak.witness:
                soak.witness.stop = True
            for worker in soak.all_workers:
                if worker.alive:
                    try:
                        os.killpg(worker.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            soak.agent.stop()
            soak.broker.destroy()
        kill_children()
        if status == 0 and not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"soak: logs kept in {workdir}", file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
