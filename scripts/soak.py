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
  /metrics counters) for `--stall-seconds` while `Q` had ready messages all along and the
  broker was up with no alarm; printed with its unacked count (from the broker) and whether
  `/readyz` said ready meanwhile (readiness that lies);
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

`--slice`: 3,000 messages published at 75/s with one fault of each kind, about 2 minutes.

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
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

try:
    import pika
    import pika.exceptions
except ImportError:
    print("soak: python3 cannot import pika (run scripts/ensure-deps.sh)", file=sys.stderr)
    sys.exit(2)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


# --- the broker -----------------------------------------------------------------------------

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


AGENT_ERL = r'''
Dir = "@DIR@", Deadline = erlang:monotonic_time(millisecond) + @DEADLINE_MS@,
Now = fun() -> erlang:monotonic_time(millisecond) end,
Write = fun(Name, Term) ->
    Tmp = Dir ++ "/" ++ Name ++ ".tmp",
    ok = file:write_file(Tmp, io_lib:format("~p.~n", [Term])),
    file:rename(Tmp, Dir ++ "/" ++ Name) end,
NameOf = fun(P) ->
    try rabbit_networking:connection_info(P, [client_properties]) of
        [{client_properties, Props}] ->
            case lists:keyfind(<<"connection_name">>, 1, Props) of {_, _, N} when is_binary(N) -> N; _ -> <<>> end;
        _ -> <<>>
    catch _:_ -> <<>> end end,
EndsWith = fun(Name, S) -> byte_size(Name) >= byte_size(S)
    andalso binary:part(Name, byte_size(Name) - byte_size(S), byte_size(S)) =:= S end,
Find = fun(Suffixes) -> [{P, N} || P <- rabbit_networking:connections_local(), N <- [NameOf(P)],
    lists:any(fun(S) -> EndsWith(N, S) end, Suffixes)] end,
WaitFile = fun WF(Path, Until) ->
    case filelib:is_regular(Path) of
        true -> ok;
        false -> case Now() > Until of true -> timeout; false -> timer:sleep(1), WF(Path, Until) end
    end end,
WaitDown = fun WD(0, _) -> ok; WD(K, Until) ->
    receive {'DOWN', _, process, _, _} -> WD(K - 1, Until)
    after max(0, Until - Now()) -> timeout end end,
Exec = fun
    (Id, {close, Victims, Targets, DelayMs, Trigger, WaitMs}) ->
        Watched = Find(Victims),
        [erlang:monitor(process, P) || {P, _} <- Watched],
        Write("res-" ++ Id ++ ".armed", [{victims, [N || {_, N} <- Watched]}]),
        T0 = Now(),
        Triggered = case Trigger of none -> ok; _ -> WaitFile(Trigger, T0 + WaitMs) end,
        case Triggered of
            timeout -> Write("res-" ++ Id, [{result, not_triggered}]);
            ok ->
                T1 = Now(),
                Down = WaitDown(length(Watched), T1 + 10000),
                T2 = Now(),
                timer:sleep(DelayMs),
                Closed = [{N, catch rabbit_networking:close_connection(P, "soak: forced close")} || {P, N} <- Find(Targets)],
                Write("res-" ++ Id, [{result, fired}, {victims_down, Down}, {down_ms, T2 - T1},
                    {closed_ms, Now() - T1}, {closed, Closed}])
        end;
    (Id, {watermark, Fraction}) ->
        Write("res-" ++ Id, [{result, catch vm_memory_monitor:set_vm_memory_high_watermark(Fraction)},
            {alarms, catch rabbit_alarm:get_alarms()}]);
    (Id, unacked) ->
        Channels = [catch rabbit_channel:info(C, [connection, messages_unacknowledged]) || C <- rabbit_channel:list_local()],
        Names = [{P, NameOf(P)} || P <- rabbit_networking:connections_local()],
        Write("res-" ++ Id, [{N, lists:sum([proplists:get_value(messages_unacknowledged, I, 0)
            || I <- Channels, is_list(I), proplists:get_value(connection, I) =:= P])} || {P, N} <- Names]);
    (Id, ping) -> Write("res-" ++ Id, pong);
    (Id, Other) -> Write("res-" ++ Id, {unknown_command, Other})
end,
Write("agent.alive", os:getpid()),
Loop = fun L() ->
    case filelib:is_regular(Dir ++ "/agent.stop") orelse Now() > Deadline of
        true -> stopped;
        false ->
            {ok, Files} = file:list_dir(Dir),
            lists:foreach(fun(F) ->
                case lists:prefix("cmd-", F) andalso lists:suffix(".term", F) of
                    true ->
                        Path = Dir ++ "/" ++ F,
                        Id = lists:sublist(F, 5, length(F) - 9),
                        Cmd = file:consult(Path),
                        file:delete(Path),
                        case Cmd of
                            {ok, [C]} -> spawn(fun() -> Exec(Id, C) end);
                            Bad -> Write("res-" ++ Id, {bad_command, Bad})
                        end;
                    false -> ok
                end end, Files),
            timer:sleep(2),
            L()
    end end,
Loop().
'''


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
            source = AGENT_ERL.replace("@DIR@", self.dir).replace("@DEADLINE_MS@", str(int(self.lifetime_s * 1000)))
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


# --- workers --------------------------------------------------------------------------------

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
        self.hung = False
        self.copy_failures = []           # copy_error of each message.dead_lettered copy_failed line
        self.reader = threading.Thread(target=self._read, name=f"read-{self.name}", daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                self.log.write(raw.decode("utf-8", "replace"))
            except ValueError:
                return
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


# --- the independent clients ----------------------------------------------------------------

PIKA_ERRORS = (pika.exceptions.AMQPError, OSError, AttributeError, AssertionError)


class Publisher:
    """Publishes the N messages with pika, persistent, mandatory, with publisher confirms, from
    `threads` connections; an optional rate spreads them out. An id whose publish outcome is
    unknown (its connection died before the confirm) is published again and remembered as
    `resent`: a duplicate of it may come from here, not from Warren."""

    def __init__(self, soak, total, rate, threads=4):
        self.soak = soak
        self.total = total
        self.rate = rate
        self.confirmed = set()
        self.resent = set()
        self.rejected = collections.Counter()
        self.lock = threading.Lock()
        self.stop = False
        self.started_at = None
        self.done_at = None
        self.threads = [threading.Thread(target=self._run, args=(i, threads), name=f"publish-{i}", daemon=True)
                        for i in range(threads)]

    def start(self):
        self.started_at = time.monotonic()
        for t in self.threads:
            t.start()

    @property
    def done(self):
        return all(not t.is_alive() for t in self.threads)

    def _run(self, index, step):
        channel = connection = None
        for n in range(index, self.total, step):
            mid = message_id(n)
            body = self.soak.body_of(n)
            if self.rate:
                delay = self.started_at + n / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            while not self.stop:
                sending = False
                try:
                    if channel is None:
                        connection = pika.BlockingConnection(self.soak.broker.params(f"soak-publisher-{index}"))
                        channel = connection.channel()
                        channel.confirm_delivery()
                    sending = True
                    channel.basic_publish(
                        "", QUEUE, body, pika.BasicProperties(message_id=mid, delivery_mode=2, content_type="application/json"),
                        mandatory=True)
                    with self.lock:
                        self.confirmed.add(mid)
                    break
                except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as error:
                    with self.lock:
                        self.rejected[type(error).__name__] += 1
                    time.sleep(0.2)
                except PIKA_ERRORS:
                    if sending:
                        with self.lock:
                            self.resent.add(mid)
                    channel = None
                    close_quietly(connection)
                    time.sleep(0.5)
            if self.stop:
                break
        close_quietly(connection)
        with self.lock:
            if len(self.confirmed) == self.total and self.done_at is None:
                self.done_at = time.monotonic()


class WitnessReader:
    """Consumes the witness queue with pika (manual acks, reconnecting): for each message id,
    the distinct witness ids seen (a witness redelivered to this reader has the same id, so it
    is not counted twice) and their attempt/redelivered headers."""

    def __init__(self, soak):
        self.soak = soak
        self.seen = {}                    # message id -> {witness id: (attempt, redelivered)}
        self.lock = threading.Lock()
        self.stop = False
        self.last_at = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="witness", daemon=True)

    def start(self):
        self.thread.start()

    def handled(self):
        with self.lock:
            return len(self.seen)

    def _run(self):
        while not self.stop:
            connection = None
            try:
                connection = pika.BlockingConnection(self.soak.broker.params("soak-witness"))
                channel = connection.channel()
                channel.basic_qos(prefetch_count=2000)
                last_tag, pending = None, 0
                for method, properties, body in channel.consume(WITNESS, inactivity_timeout=0.5):
                    if method is None:
                        if pending:
                            channel.basic_ack(last_tag, multiple=True)
                            pending = 0
                        if self.stop:
                            break
                        continue
                    headers = properties.headers or {}
                    mid = body.decode("utf-8", "replace")
                    with self.lock:
                        self.seen.setdefault(mid, {})[properties.message_id or f"?{method.delivery_tag}"] = (
                            headers.get("demo-attempt"), headers.get("demo-redelivered"))
                        self.last_at = time.monotonic()
                    last_tag, pending = method.delivery_tag, pending + 1
                    if pending >= 500:
                        channel.basic_ack(last_tag, multiple=True)
                        pending = 0
                close_quietly(connection)
            except PIKA_ERRORS:
                close_quietly(connection)
                time.sleep(0.5)


class QueueWatch:
    """Ready counts with passive declares on one pika connection (main thread only)."""

    def __init__(self, soak):
        self.soak = soak
        self.connection = None
        self.channel = None

    def counts(self, queues):
        """{queue: ready count} or None while the broker cannot be reached."""
        for _ in range(2):
            try:
                if self.channel is None or not self.channel.is_open:
                    close_quietly(self.connection)
                    self.connection = pika.BlockingConnection(self.soak.broker.params("soak-watch"))
                    self.channel = self.connection.channel()
                return {q: self.channel.queue_declare(q, passive=True).method.message_count for q in queues}
            except PIKA_ERRORS:
                self.channel = None
                if not self.soak.broker.up:
                    return None
        return None

    def close(self):
        close_quietly(self.connection)


def drain_queue(broker, queue, timeout):
    """Takes every message of `queue` (auto-ack): [(message id, headers, body)]."""
    out = []
    deadline = time.monotonic() + timeout
    connection = pika.BlockingConnection(broker.params("soak-readout"))
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=2000)
        for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=1.5):
            if method is None or time.monotonic() > deadline:
                break
            out.append((properties.message_id, properties.headers or {}, body))
        channel.cancel()
    finally:
        connection.close()
    return out


def message_id(n):
    return f"m-{n:06d}"


def close_quietly(connection):
    """Closes a pika connection that may already be broken."""
    try:
        if connection is not None and connection.is_open:
            connection.close()
    except PIKA_ERRORS:
        pass


# --- the soak -------------------------------------------------------------------------------

FULL_PLAN = [
    (0.03, "rolling_restart"), (0.10, "kill_wave"), (0.18, "memory_alarm"), (0.26, "broker_restart"),
    (0.36, "kill_wave"), (0.42, "rolling_restart"), (0.46, "memory_alarm"), (0.55, "kill_wave"),
    (0.62, "broker_restart"), (0.72, "kill_wave"), (0.78, "memory_alarm"),
]
SLICE_PLAN = [(0.05, "rolling_restart"), (0.22, "kill_wave"), (0.38, "memory_alarm"), (0.52, "broker_restart")]


class Soak:
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

    def restart_slot(self, slot, wait_consuming=True):
        worker = self.start_worker(slot)
        if wait_consuming and not worker.wait_event("worker.consuming", 0, 60):
            say(f"{worker.name} (pid {worker.pid}) not consuming 60 s after its start")
        return worker

    def trigger_path(self):
        with self.slot_lock:
            self.trigger_seq += 1
            return os.path.join(self.agent.dir, f"trigger-{self.trigger_seq}")

    @staticmethod
    def suffixes(worker, consumer=True, publisher=True):
        out = []
        if consumer:
            out.append(f":{worker.pid}")
        if publisher:
            out.append(f":{worker.pid}/publish")
        return out

    def report_close(self, cid, label):
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
            self.alarm_until = time.monotonic() + self.args.stall_seconds
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

    # -- monitoring --

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
        for worker in self.live_workers():
            self.check_worker(worker, now)
        self.reap()

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
        result = self.agent.command("unacked", timeout=10) or ""
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
        for slot in range(args.workers):
            self.start_worker(slot)
        for worker in list(self.slots):
            if not worker.wait_event("worker.consuming", 0, 120):
                raise HarnessError(f"{worker.name} did not start consuming within 120 s; see {worker.log_path}")
        say("workers consuming: " + ", ".join(f"{w.name} pid {w.pid} port {w.port}" for w in self.slots))
        agent_thread.join(timeout=180)
        if not self.agent.alive():
            raise HarnessError("the fault agent did not start")
        self.watch = QueueWatch(self)
        self.witness = WitnessReader(self)
        self.witness.start()
        self.publisher = Publisher(self, args.messages, args.rate)
        self.publisher.start()
        say("publishing" + (f" at {args.rate}/s" if args.rate else ""))

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

    def classify_dead(self, mid, headers):
        """None when the dead letter is legitimate, else why it is an infrastructure one.

        Warren dead-letters by publishing a copy with its headers to `Q.dlx`; the broker
        dead-letters a message itself (newest `x-death` entry first) when Warren nacked it
        (`rejected` from `Q`: Warren could not publish its copy) or at the quorum delivery
        limit. A nacked retry copy still carries the headers of the attempt that scheduled it,
        so `x-death` decides, not the presence of Warren's headers."""
        text = lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        kind = self.kinds.get(mid)
        error_type = text(headers.get("x-warren-error-type"))
        error_message = text(headers.get("x-warren-error-message")) or ""
        attempts = headers.get("x-warren-attempts")
        deaths = [d for d in headers.get("x-death") or [] if isinstance(d, dict)]
        latest = (text(deaths[0].get("reason")), text(deaths[0].get("queue"))) if deaths else (None, None)
        if kind is None:
            return "not a message of this run"
        if latest == ("rejected", QUEUE):
            return "copy_failed: nacked, dead-lettered by the broker" + (
                f" with the stale headers of attempt {attempts}" if error_type else " without Warren's headers")
        if latest[0] == "delivery_limit":
            return "the quorum delivery limit (x-death delivery_limit)"
        if error_type is None:
            return f"no Warren headers (x-death {latest[0]})"
        if kind == "permanent":
            return None if error_type == "DemoFailure" else f"permanent message with error type {error_type}"
        if kind == "missing":
            if attempts is not None and int(attempts) >= self.max_attempts:
                return None
            return f"missing-exchange message with a retry left (attempt {attempts} of {self.max_attempts})"
        if MISSING_EXCHANGE in error_message:
            return (f"{kind} message whose own publish failed because another handler's publish to the missing "
                    f"exchange closed the shared channel ({error_type}, attempt {attempts})")
        return f"{kind} message dead-lettered ({error_type}: {error_message[:80]}, attempt {attempts})"

    def report(self, dead, queued):
        args = self.args
        sent = set(self.publisher.confirmed)
        with self.witness.lock:
            seen = {mid: dict(w) for mid, w in self.witness.seen.items()}
        handled = set(seen) & sent
        duplicates = {mid: w for mid, w in seen.items() if len(w) > 1}
        legit, infra = set(), collections.Counter()
        infra_examples = {}
        dead_ids = collections.Counter()
        for mid, headers, _ in dead:
            dead_ids[mid] += 1
            why = self.classify_dead(mid, headers)
            if why is None:
                legit.add(mid)
            else:
                label = re.sub(r"\d+", "N", why)
                infra[label] += 1
                infra_examples.setdefault(label, f"{mid}: {why}; headers {self.printable(headers)}")
        expected_to_fail = {mid for mid, kind in self.kinds.items() if kind in ("permanent", "missing")}
        witnessed_failures = handled & expected_to_fail
        lost = sorted(sent - set(seen) - set(dead_ids) - set(queued))
        unfinished_failures = sorted((sent & expected_to_fail) - set(dead_ids) - set(queued))
        wall = elapsed()
        metrics = collections.Counter()
        for worker in self.all_workers:
            for name, value in (worker.metrics or {}).items():
                if name.startswith("dead:") or name in ("warren_messages_abandoned_total", "warren_messages_requeued_total",
                                                        "warren_reconnects_total", "warren_messages_isolated_total"):
                    metrics[name] += value

        print("\n================ soak figures ================")
        print(f"faults injected ({len(self.faults)} lines):")
        for t, text in self.faults:
            print(f"  {t:7.1f}s  {text}")
        sigterm_times = [t for _, t, _ in self.sigterms if t is not None]
        rows = [
            ("sent (confirmed)", len(sent), f"of {args.messages}" + (f"; {len(self.publisher.resent)} re-published after an unknown outcome" if self.publisher.resent else "")),
            ("handled (witnessed)", len(handled), f"of {sum(1 for m in sent if self.kinds[m] in ('ok', 'retry'))} that should succeed"),
            ("dead-lettered legitimately", len(legit), f"of {len(sent & expected_to_fail)} that should fail"),
            ("duplicates", len(duplicates), f"ids witnessed more than once ({sum(len(w) - 1 for w in duplicates.values())} extra handlings; "
                                            f"{self.kill_count} SIGKILLs, {self.close_count} forced closes, broker restarts)"),
            ("still queued at the end", len(queued), ", ".join(f"{q}: {n}" for q, n in collections.Counter(queued.values()).items()) or "-"),
            ("LOST", len(lost), "must be 0: " + (", ".join(lost[:10]) if lost else "-")),
            ("DEAD-LETTERED FOR INFRASTRUCTURE", sum(infra.values()), "must be 0"),
            ("STALLED WORKERS", len(self.stalls), "must be 0"),
            ("HUNG HANDLERS (workers)", len(self.hangs), "must be 0"),
            ("SIGTERM OVERRUNS", len(self.overruns), f"must be 0 (deadline {self.sigterm_deadline()}s; {len(sigterm_times)} SIGTERMs, "
                                                      f"slowest exit {max(sigterm_times, default=0):.1f}s)"),
            ("WORKERS EXITED ON THEIR OWN", len(self.unexpected_exits), "must be 0"),
            ("wall time", f"{wall:.0f}s", f"cap {args.timeout}s"),
        ]
        print()
        for label, value, note in rows:
            print(f"  {label:<34} {str(value):>8}   {note}")
        for label, n in infra.most_common():
            print(f"    infra dead letters: {n} x {label}\n      e.g. {infra_examples[label]}")
        copy_errors = collections.Counter(e for w in self.all_workers for e in w.copy_failures)
        for text, n in copy_errors.most_common(5):
            print(f"    warren logged copy_failed {n} x, copy_error: {text}")
        for detail in self.stalls + self.hangs + self.unexpected_exits:
            print(f"    {detail}")
        for name, why in self.overruns:
            print(f"    SIGTERM overrun: {name} ({why})")
        if witnessed_failures:
            print(f"    witnessed although they must fail: {len(witnessed_failures)} e.g. {sorted(witnessed_failures)[:5]}")
        if unfinished_failures:
            print(f"    should have failed but neither dead-lettered nor queued: {len(unfinished_failures)} e.g. {unfinished_failures[:5]}")
        resent_duplicates = set(duplicates) & self.publisher.resent
        if resent_duplicates:
            print(f"    of the duplicates, {len(resent_duplicates)} were published twice by this script (an unknown outcome)")
        if duplicates:
            examples = list(duplicates.items())[:3]
            print("    duplicate examples (witness: attempt, redelivered): "
                  + "; ".join(f"{mid} {sorted(w.values(), key=str)}" for mid, w in examples))
        extra_dead = sum(n - 1 for n in dead_ids.values() if n > 1)
        if extra_dead:
            print(f"    ids dead-lettered more than once: {sum(1 for n in dead_ids.values() if n > 1)} ({extra_dead} extra copies)")
        print("  warren's own counters (sum of the last /metrics of every worker process): "
              + ", ".join(f"{k.replace('warren_messages_', '').replace('warren_', '')} {int(v)}" for k, v in sorted(metrics.items()) if v))
        failed = bool(lost or infra or self.stalls or self.hangs or self.overruns or self.unexpected_exits)
        incomplete = len(sent) < args.messages or self.abort
        if incomplete:
            print(f"\nsoak: INCOMPLETE ({len(sent)} of {args.messages} sent{', wall-clock cap hit' if self.abort else ''})")
        print(f"\nsoak: {'FAILED' if failed else 'PASSED' if not incomplete else 'INCOMPLETE'} in {wall:.0f}s"
              f" (logs: {self.workdir})")
        return 1 if failed else 2 if incomplete else 0

    @staticmethod
    def printable(headers):
        out = {}
        for k, v in headers.items():
            if k == "x-death" and isinstance(v, list) and v:
                v = [{kk: vv for kk, vv in d.items() if kk in ("reason", "queue", "count")} for d in v if isinstance(d, dict)]
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            if isinstance(v, str) and len(v) > 120:
                v = v[:120] + "…"
            out[k] = v
        return out


def parse_args():
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=int(env.get("SOAK_MESSAGES", 0)) or None,
                        help="messages to push (env SOAK_MESSAGES; default 100000, 3000 with --slice)")
    parser.add_argument("--slice", action="store_true", default=env.get("SOAK_SLICE") == "1",
                        help="short run: 3000 messages at 75/s, one fault of each kind (env SOAK_SLICE=1)")
    parser.add_argument("--binary", default=env.get("SOAK_BINARY") or os.path.join(REPO, ".build/debug/warren"),
                        help="the warren executable (env SOAK_BINARY; default .build/debug/warren)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=int(env.get("SOAK_TIMEOUT", 900)),
                        help="wall-clock cap in seconds (env SOAK_TIMEOUT; default 900)")
    parser.add_argument("--rate", type=float, default=None, help="publish rate, messages/s (default: as fast as confirmed; 75 with --slice)")
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
    parser.add_argument("--seed", type=int, default=int(env.get("SOAK_SEED", 0)) or int(time.time()) % 100000)
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs directory even when the run passes")
    parser.add_argument("--worker-arg", action="append", default=[], help="extra argument for every worker (repeatable)")
    args = parser.parse_args()
    if args.messages is None:
        args.messages = 3000 if args.slice else 100_000
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
