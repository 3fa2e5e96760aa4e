"""What every part of the soak shares: names, the clock and `say`, child processes."""

import os
import signal
import subprocess
import threading
import time

import pika
import pika.exceptions

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUEUE = "soak.jobs"
WITNESS = "soak.witness"
MISSING_EXCHANGE = "soak.no-such-exchange"
T0 = time.monotonic()
_say_lock = threading.Lock()


def elapsed():
    return time.monotonic() - T0


def say(text):
    with _say_lock:
        print(f"[{elapsed():7.1f}s] {text}", flush=True)


class HarnessError(Exception):
    """The harness itself could not go on (exit 2)."""


# --- child processes ------------------------------------------------------------------------

_children = []
_children_lock = threading.Lock()


def spawn(argv, **kwargs):
    """Popen in a new session (Ctrl-C in the terminal reaches only this script, which then
    stops everything itself), remembered for the cleanup."""
    proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
    with _children_lock:
        _children.append(proc)
    return proc


def kill_children():
    with _children_lock:
        procs = list(_children)
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def run_bounded(argv, timeout, env=None):
    """Runs a command to completion within `timeout` s; returns (code, output)."""
    proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        return None, (out or "") + f"\n(killed after {timeout}s)"


PIKA_ERRORS = (pika.exceptions.AMQPError, OSError, AttributeError, AssertionError)


def message_id(n):
    return f"m-{n:06d}"


def close_quietly(connection):
    """Closes a pika connection that may already be broken."""
    try:
        if connection is not None and connection.is_open:
            connection.close()
    except PIKA_ERRORS:
        pass
