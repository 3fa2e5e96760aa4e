"""The soak's independent AMQP clients (pika): publisher, witness reader, queue counts, readout."""

import collections
import threading
import time

import pika
import pika.exceptions

from .common import PIKA_ERRORS, QUEUE, WITNESS, close_quietly, message_id

class Publisher:
    """Publishes the N messages with pika, persistent, mandatory, with publisher confirms, from
    `threads` connections; an optional rate spreads out all but the first `preload`. An id whose publish outcome is
    unknown (its connection died before the confirm) is published again and remembered as
    `resent`: a duplicate of it may come from here, not from Warren."""

    def __init__(self, soak, total, rate, preload=0, threads=4):
        self.soak = soak
        self.total = total
        self.rate = rate
        self.preload = preload            # the first ones go out at once, whatever the rate
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
                delay = self.started_at + max(0, n - self.preload) / self.rate - time.monotonic()
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
