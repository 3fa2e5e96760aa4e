"""The throwaway RabbitMQ node of the soak (scripts/broker.sh)."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pika

from .common import REPO, HarnessError, say, spawn

class Broker:
    """A node of scripts/broker.sh in DIR; `stop`/`start` keep its data and ports."""

    def __init__(self, workdir, dlx_confirm_timeout_ms):
        self.dir = os.path.join(workdir, "broker")
        os.makedirs(self.dir)
        if dlx_confirm_timeout_ms > 0:
            # broker.sh points RABBITMQ_ADVANCED_CONFIG_FILE here and never writes it.
            with open(os.path.join(self.dir, "advanced.config"), "w") as f:
                f.write(f"[{{rabbit, [{{dead_letter_worker_publisher_confirm_timeout, {dlx_confirm_timeout_ms}}}]}}].\n")
        self.url = None
        self.up = False
        self.started = False
        self.down_since = None
        self.last_up_at = None
        self.script_proc = None           # the last broker.sh start/stop
        self.script_lock = threading.Lock()   # one broker.sh at a time
        self.closed = False               # destroy() began: nothing starts it again

    def script(self, command, timeout):
        with self.script_lock:
            if self.closed and command != "destroy":
                raise HarnessError(f"broker.sh {command}: the run is being cleaned up")
            return self._script(command, timeout)

    def _script(self, command, timeout):
        env = dict(os.environ, BROKER_START_TIMEOUT=str(int(timeout)), BROKER_STOP_TIMEOUT=str(int(min(timeout, 30))))
        self.script_proc = spawn([os.path.join(REPO, "scripts/broker.sh"), command, self.dir],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            out, _ = self.script_proc.communicate(timeout=timeout + 45)
            return self.script_proc.returncode, out
        except subprocess.TimeoutExpired:
            os.killpg(self.script_proc.pid, signal.SIGKILL)
            return None, f"broker.sh {command} killed after {timeout + 45}s"

    def start(self, timeout=180):
        self.started = True
        code, out = self.script("start", timeout)
        if code != 0:
            raise HarnessError(f"the broker did not start:\n{out}")
        with open(os.path.join(self.dir, "env")) as f:
            self.url = re.search(r"WARREN_AMQP_URL=(\S+)", f.read()).group(1)
        self.up = True
        self.last_up_at = time.monotonic()
        self.down_since = None

    def stop(self, timeout=60):
        self.up = False
        self.down_since = time.monotonic()
        code, out = self.script("stop", timeout)
        if code != 0:
            say(f"broker stop said: {out.strip()}")

    def destroy(self):
        # A start or stop in progress is let finish (it is bounded): killing broker.sh midway
        # could orphan the node before its pid file is written.
        self.closed = True
        if self.script_proc is not None and self.script_proc.poll() is None:
            try:
                self.script_proc.wait(timeout=240)
            except subprocess.TimeoutExpired:
                os.killpg(self.script_proc.pid, signal.SIGKILL)
        if self.started:
            self.up = False
            code, out = self.script("destroy", 60)
            if code != 0:
                print(f"soak: could not destroy the broker in {self.dir}: {out}", file=sys.stderr)
            self.started = False

    @property
    def ctl(self):
        return os.path.join(self.dir, "rabbitmqctl")

    def params(self, name):
        params = pika.URLParameters(self.url)
        params.client_properties = {"connection_name": name}
        params.socket_timeout = 5
        params.blocked_connection_timeout = None
        params.connection_attempts = 1
        return params
