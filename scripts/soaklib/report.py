"""The end of a soak (a mixin of `Soak`): classifying `Q.dead` and printing the figures."""

import collections
import re

from .common import MISSING_EXCHANGE, QUEUE, elapsed


class Report:
    """`Soak`'s end: what each dead letter means, and the figures with their must-be-0 verdict."""

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
        if ".crash." in error_message:
            return (f"{kind} message dead-lettered because the crash guard's own broker command failed "
                    f"({error_type}: {error_message[:100]}, attempt {attempts})")
        if MISSING_EXCHANGE in error_message:
            return (f"{kind} message whose own publish failed because another handler's publish to the missing "
                    f"exchange closed the shared channel ({error_type}, attempt {attempts})")
        if "connection closed" in error_message or "CONNECTION_FORCED" in error_message:
            return (f"{kind} message whose own publish failed because Warren's publishing connection was closed "
                    f"({error_type}: {error_message[:100]}, attempt {attempts})")
        return f"{kind} message dead-lettered ({error_type}: {error_message[:100]}, attempt {attempts})"

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
        leaks = [f"{w.name} ({w.leaked_continuations})" for w in self.all_workers if w.leaked_continuations]
        if leaks:
            print(f"    the Swift runtime reported a leaked continuation (a waiter never resumed) in: {', '.join(leaks)}")
        timeouts = sum(w.broker_timeouts for w in self.all_workers)
        if timeouts:
            print(f"    warren logged {timeouts} lines of a broker command or confirm that timed out "
                  "(no answer from the broker / not confirmed within)")
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
