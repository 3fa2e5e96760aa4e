import Synchronization
import WarrenAMQP

/// Reads the messages that were in a queue when a command started, one delivery at a time, each
/// left unacked for the caller to settle.
///
/// `next()` returns `nil` once `limit` deliveries were taken (the count the queue had at the
/// start, so messages that arrive meanwhile, e.g. replayed ones dead-lettered again, are never
/// read), when none arrived for `quietPeriod` (another consumer took the rest), or after SIGINT
/// or SIGTERM (`DlqInterrupt`). In the last two cases a watchdog cancels the consumer, which is
/// what wakes a `next()` that is waiting. Anything left unsettled goes back to the queue when the
/// connection closes.
///
/// Used by one task at a time (the command's); only the watchdog state is shared.
final class DlqReader {
    private var deliveries: AMQPDeliveries.AsyncIterator
    private let watch: Watch
    private let limit: Int
    private(set) var taken = 0

    private init(deliveries: AMQPDeliveries, limit: Int, watch: Watch) {
        self.deliveries = deliveries.makeAsyncIterator()
        self.limit = limit
        self.watch = watch
    }

    /// Consumes `queue` with manual acks for the duration of `body`.
    ///
    /// - Parameter prefetch: `basic.qos` for the consumer; `nil` for no limit (needed when the
    ///   caller holds more messages unacked than 65535).
    static func read<T>(
        from queue: String, on connection: AMQPConnection, limit: Int, prefetch: UInt16?,
        quietPeriod: Duration = .seconds(3), _ body: (DlqReader) async throws -> T
    ) async throws -> T {
        let consumer = try await connection.consume(queue: queue, prefetch: prefetch)
        let watch = Watch()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await watch.run(connection: connection, consumerTag: consumer.tag, quietPeriod: quietPeriod)
            }
            defer { group.cancelAll() }
            return try await body(DlqReader(deliveries: consumer.deliveries, limit: limit, watch: watch))
        }
    }

    /// The next delivery of the snapshot, or `nil` when the read is over (see the type).
    func next() async throws -> AMQPDelivery? {
        guard taken < limit, !watch.isStopped, DlqInterrupt.receivedSignal == nil else { return nil }
        watch.setWaiting(true)
        defer { watch.setWaiting(false) }
        // After a stop the stream still hands out what the broker sent before basic.cancel-ok:
        // leave those unread, they go back to the queue.
        guard let delivery = try await deliveries.next(), !watch.isStopped else { return nil }
        taken += 1
        return delivery
    }

    /// What the reader and its watchdog share.
    private final class Watch: Sendable {
        private struct State {
            var waitingSince: ContinuousClock.Instant?
            var stopped = false
        }
        private let state = Mutex(State())

        var isStopped: Bool { state.withLock { $0.stopped } }

        func setWaiting(_ waiting: Bool) {
            state.withLock { $0.waitingSince = waiting ? .now : nil }
        }

        /// Checks ten times a second; cancels the consumer once there is a reason to stop.
        /// Returns when the surrounding read ends (its task is cancelled) or after stopping.
        func run(connection: AMQPConnection, consumerTag: String, quietPeriod: Duration) async {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                let stop = state.withLock { state -> Bool in
                    let quiet = state.waitingSince.map { ContinuousClock.now - $0 > quietPeriod } ?? false
                    if quiet || DlqInterrupt.receivedSignal != nil { state.stopped = true }
                    return state.stopped
                }
                if stop {
                    try? await connection.cancel(consumerTag: consumerTag)
                    return
                }
            }
        }
    }
}
