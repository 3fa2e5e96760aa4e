"""The faults the soak injects (a mixin of `Soak`), each run on its own thread."""

import os
import re
import threading
import time

from .common import HarnessError, say

FULL_PLAN = [
    (0.03, "rolling_restart"), (0.10, "kill_wave"), (0.18, "memory_alarm"), (0.26, "broker_restart"),
    (0.36, "kill_wave"), (0.42, "rolling_restart"), (0.46, "memory_alarm"), (0.55, "kill_wave"),
    (0.62, "broker_restart"), (0.72, "kill_wave"), (0.78, "memory_alarm"),
]
SLICE_PLAN = [(0.05, "rolling_restart"), (0.22, "kill_wave"), (0.38, "memory_alarm"), (0.52, "broker_restart")]


class Faults:
    """`Soak`'s faults. Each `fault_<kind>` runs on its own thread (several overlap) and takes
    the worker slots it acts on (`take_slot`), so two faults never act on one worker at once.
    Every fault and its outcome is recorded with its time through `self.fault`."""

    def restart_slot(self, slot, wait_consuming=True):
        """Starts the next worker process in `slot`; waits (bounded) until it consumes."""
        worker = self.start_worker(slot)
        if wait_consuming and not worker.wait_event("worker.consuming", 0, 60):
            say(f"{worker.name} (pid {worker.pid}) not consuming 60 s after its start")
        return worker

    def trigger_path(self):
        """A fresh file path: creating the file fires the agent's close armed with it."""
        with self.slot_lock:
            self.trigger_seq += 1
            return os.path.join(self.agent.dir, f"trigger-{self.trigger_seq}")

    @staticmethod
    def suffixes(worker, consumer=True, publisher=True):
        """How the agent finds a worker's connections: their names end with `:PID` (the
        consumer's, `warren@host:PID`) and `:PID/publish` (its publisher's)."""
        out = []
        if consumer:
            out.append(f":{worker.pid}")
        if publisher:
            out.append(f":{worker.pid}/publish")
        return out

    def report_close(self, cid, label):
        """Waits for the agent's answer to close `cid` and records what it closed, and when."""
        result = self.agent.wait(cid, timeout=60) if cid else None
        if result is None:
            self.fault(f"{label}: no answer from the agent")
            return
        closed = re.findall(r'<<"([^"]*)">>,ok', result)
        self.close_count += len(closed)
        ms = re.search(r"closed_ms,(\d+)", result)
        self.fault(f"{label}: closed {', '.join(closed) or 'nothing'}"
                   + (f" {ms.group(1)} ms after the trigger" if ms else f" ({result[:200]})"))

    # -- faults --

    def run_fault(self, kind):
        try:
            getattr(self, "fault_" + kind)()
        except HarnessError as error:
            self.fault(f"{kind} could not run: {error}")
        except Exception as error:  # a fault must never take the harness down
            self.fault(f"{kind} failed in the harness: {type(error).__name__}: {error}")

    def fault_rolling_restart(self):
        """SIGTERM each worker in turn, starting its replacement once it exited. While the first
        one drains (its `worker.draining` line), its publisher connection (busy returning
        unstarted messages) and another worker's consumer connection are force-closed."""
        self.fault("rolling restart (SIGTERM each worker in turn) begins")
        order = list(range(len(self.slots)))
        self.rng.shuffle(order)
        for i, slot in enumerate(order):
            if self.abort:
                return
            if not self.take_specific(slot):
                continue
            try:
                worker = self.slots[slot]
                cid = None
                if i == 0:
                    other = next((w for w in self.live_workers() if w is not worker), None)
                    trigger = self.trigger_path()
                    targets = self.suffixes(worker, consumer=False) + (self.suffixes(other, publisher=False) if other else [])
                    delay = self.rng.randint(0, 100)
                    cid = self.agent.arm_close([], targets, delay, trigger, wait_s=30)
                    worker.on("worker.draining", lambda w, f, t=trigger: open(t, "w").close())
                self.fault(f"SIGTERM {worker.name} (pid {worker.pid}), rolling restart {i + 1}/{len(order)}")
                self.send_sigterm(worker)
                if cid:
                    threading.Thread(target=self.report_close, args=(cid, f"forced close while {worker.name} drains (+{delay} ms)"),
                                     daemon=True).start()
                self.await_exit(worker, "rolling restart")
                self.restart_slot(slot)
            finally:
                self.release_slot(slot)
        self.fault("rolling restart done")

    def take_specific(self, slot, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.abort:
            with self.slot_lock:
                if slot not in self.busy:
                    self.busy.add(slot)
                    if self.slots[slot] is None or not self.slots[slot].alive:
                        self.busy.discard(slot)
                        return False
                    return True
            time.sleep(0.2)
        return False

    def fault_kill_wave(self):
        """SIGKILL one worker; its unacked messages go back to the queue and to the others (a
        redelivery wave); a few ms after the broker saw its connection die, the consumer and
        publisher connections of a second worker and the publisher connection of the rest are
        force-closed. The killed worker is restarted a second later."""
        victim_slot = self.take_slot()
        if victim_slot is None:
            self.fault("kill wave skipped: no idle worker")
            return
        target_slot = self.take_slot(exclude={victim_slot}, timeout=10)
        try:
            victim = self.slots[victim_slot]
            target = self.slots[target_slot] if target_slot is not None else None
            others = [w for w in self.live_workers() if w is not victim and w is not target]
            targets = (self.suffixes(target) if target else []) + [s for w in others for s in self.suffixes(w, consumer=False)]
            delay = self.rng.randint(5, 250)
            trigger = self.trigger_path()
            cid = self.agent.arm_close(self.suffixes(victim), targets, delay, trigger)
            self.fault(f"SIGKILL {victim.name} (pid {victim.pid}); then close {target.name if target else '-'} "
                       f"consumer+publisher and the others' publishers {delay} ms after its connection is gone")
            self.sigkill(victim)
            open(trigger, "w").close()
            self.report_close(cid, "forced close in the redelivery wave")
            time.sleep(1)
            self.restart_slot(victim_slot)
        finally:
            self.release_slot(victim_slot)
            if target_slot is not None:
                self.release_slot(target_slot)

    def fault_memory_alarm(self):
        """A memory alarm for `--alarm-seconds`: the broker blocks every connection that
        publishes (the workers' publisher connections: witnesses, retry and dead-letter copies).
        Two seconds in, a worker is SIGKILLed so that its messages are redelivered meanwhile."""
        result = self.agent.command("{watermark, 0.0000001}")
        self.alarm_on = True
        self.alarm_until = float("inf")
        self.fault(f"memory alarm ON (vm_memory_high_watermark 0.0000001) for {self.args.alarm_seconds}s: {result}")
        started = time.monotonic()
        try:
            time.sleep(2)
            slot = self.take_slot(timeout=2)
            if slot is not None:
                try:
                    victim = self.slots[slot]
                    self.fault(f"SIGKILL {victim.name} (pid {victim.pid}) during the memory alarm")
                    self.sigkill(victim)
                    time.sleep(1)
                    self.restart_slot(slot, wait_consuming=False)
                finally:
                    self.release_slot(slot)
            time.sleep(max(0.0, started + self.args.alarm_seconds - time.monotonic()))
        finally:
            result = self.agent.command("{watermark, 0.4}")
            self.alarm_on = False
            self.alarm_until = time.monotonic() + 5     # blocked handlers resume within a moment
            self.fault(f"memory alarm OFF (watermark 0.4): {result}")

    def fault_broker_restart(self):
        """Stops and starts the node (same data and ports). The first worker to consume again
        gets SIGTERM at once (right after it reconnects, while redeliveries arrive); once the
        fault agent is back, another worker's connections are force-closed."""
        reconnected = []
        lock = threading.Lock()

        def first_back(worker, fields):
            with lock:
                if reconnected or self.abort:
                    return
                reconnected.append(worker)
            self.send_sigterm(worker)
            self.fault(f"SIGTERM {worker.name} (pid {worker.pid}) right after it reconnected")

        slots = []
        for slot in range(len(self.slots)):
            if self.take_specific(slot, timeout=90):
                slots.append(slot)
        try:
            self.fault("broker restart: stopping the node")
            self.agent.stop()
            self.broker.stop()
            for slot in slots:
                self.slots[slot].on("worker.consuming", first_back)
            self.fault("broker restart: starting the node")
            self.broker.start()
            self.fault("broker restart: node up")
            deadline = time.monotonic() + 60
            while not reconnected and time.monotonic() < deadline:
                time.sleep(0.05)
            if reconnected:
                worker = reconnected[0]
                self.await_exit(worker, "right after reconnecting")
                self.restart_slot(worker.slot, wait_consuming=False)
            else:
                self.fault("broker restart: no worker consumed again within 60 s")
            self.agent.ensure()
            target = next((w for w in self.live_workers() if not reconnected or w.slot != reconnected[0].slot), None)
            if target:
                cid = self.agent.arm_close([], self.suffixes(target), 0)
                self.report_close(cid, f"forced close of {target.name} after the broker restart")
        finally:
            for slot in slots:
                self.release_slot(slot)
        self.alarm_until = max(self.alarm_until, time.monotonic() + 5)
