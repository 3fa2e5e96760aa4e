"""The fault agent: agent.erl running on the node through one `rabbitmqctl eval`."""

import os
import shutil
import signal
import subprocess
import threading
import time

from .common import HarnessError, spawn

AGENT_ERL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agent.erl")


class Agent:
    """One `rabbitmqctl eval` running AGENT_ERL on the node: commands are files in `dir`
    (cmd-ID.term), answers too (res-ID, res-ID.armed). Dies with the node; `ensure` starts it
    again. Thread-safe."""

    def __init__(self, broker, workdir, lifetime_s):
        self.broker = broker
        self.dir = os.path.join(workdir, "agent")
        self.lifetime_s = lifetime_s
        self.proc = None
        self.lock = threading.Lock()
        self.next_id = 0

    def alive(self):
        return self.proc is not None and self.proc.poll() is None and os.path.exists(os.path.join(self.dir, "agent.alive"))

    def ensure(self, timeout=180):
        """Starts the agent unless it runs; waits until it answers. Raises HarnessError."""
        with self.lock:
            if self.alive():
                return
            if self.proc is not None and self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
            shutil.rmtree(self.dir, ignore_errors=True)
            os.makedirs(self.dir)
            source = "\n".join(l for l in open(AGENT_ERL).read().splitlines() if not l.startswith("%")).replace("@DIR@", self.dir).replace("@DEADLINE_MS@", str(int(self.lifetime_s * 1000)))
            self.proc = spawn([self.broker.ctl, "eval", source], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            deadline = time.monotonic() + timeout
            while not os.path.exists(os.path.join(self.dir, "agent.alive")):
                if self.proc.poll() is not None:
                    raise HarnessError(f"the fault agent (rabbitmqctl eval) exited: {self.proc.stdout.read()[-2000:]}")
                if time.monotonic() > deadline:
                    raise HarnessError(f"the fault agent did not start within {timeout}s")
                time.sleep(0.05)

    def stop(self):
        with self.lock:
            if self.proc is None:
                return
            try:
                open(os.path.join(self.dir, "agent.stop"), "w").close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None

    def send(self, term):
        """Writes a command; returns its id."""
        with self.lock:
            self.next_id += 1
            cid = str(self.next_id)
        path = os.path.join(self.dir, f"cmd-{cid}")
        with open(path + ".tmp", "w") as f:
            f.write(term + ".\n")
        os.rename(path + ".tmp", path + ".term")
        return cid

    def wait(self, cid, suffix="", timeout=30):
        """The answer to command `cid` (an Erlang term on one line), or None."""
        path = os.path.join(self.dir, f"res-{cid}{suffix}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    return " ".join(f.read().split())
            if not self.alive():
                return None
            time.sleep(0.002)
        return None

    def command(self, term, timeout=30):
        self.ensure()
        return self.wait(self.send(term), timeout=timeout)

    def arm_close(self, victims, targets, delay_ms, trigger=None, wait_s=60):
        """Arms a close: once `trigger` (a file; None: at once) exists and every connection whose
        name ends with one of `victims` is gone, waits `delay_ms` and closes every connection
        whose name ends with one of `targets`. Returns the command id once armed, or None."""
        self.ensure()
        erl = lambda suffixes: "[" + ",".join(f'<<"{s}">>' for s in suffixes) + "]"
        trigger_term = f'"{trigger}"' if trigger else "none"
        cid = self.send(f'{{close, {erl(victims)}, {erl(targets)}, {int(delay_ms)}, {trigger_term}, {int(wait_s * 1000)}}}')
        return cid if self.wait(cid, ".armed", timeout=30) is not None else None
