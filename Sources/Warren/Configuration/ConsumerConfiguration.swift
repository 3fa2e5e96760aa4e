/// What one consumer does: which queue, how much at once, and how it behaves when things go
/// wrong. Several consumers in one process each have their own.
///
/// ```swift
/// let configuration = ConsumerConfiguration(queue: "orders", prefetch: 20, concurrency: 4)
/// ```
public struct ConsumerConfiguration: Sendable, Equatable {
    /// The queue to consume; Warren declares it with `Q.dlx` and `Q.dead` (see `Topology`),
    /// unless `existingQueue`.
    public var queue: String
    /// The type `Q` and `Q.dead` are declared with; must match an existing queue's.
    public var queueType: QueueType
    /// `basic.qos` prefetch: how many unacked deliveries the broker may send ahead (per consumer),
    /// from 1. The broker reads 0 as *unlimited*, which would let it push a whole queue into the
    /// process's memory, so 0 is a programming error: it stops the process (`precondition`), as
    /// `--prefetch 0` / `WARREN_PREFETCH=0` stop `warren worker` with exit 78.
    public var prefetch: UInt16 {
        didSet { Self.checkPrefetch(prefetch) }
    }
    /// How many handlers run at once.
    public var concurrency: Int
    /// Which thread runs the delivery loop and the handlers (see `HandlerThread`; default
    /// `.pool`).
    public var handlerThread: HandlerThread = .pool
    /// Longest a handler may run; it is then cancelled and, if it throws, the message fails with
    /// `HandlerTimeout` (retried like any passing error). `nil` (the default) never times out.
    public var handlerTimeout: Duration?
    /// Longest a handler's `MessageContext.publish` waits for the connection and the broker's
    /// confirm (a broker under a memory alarm blocks publishers indefinitely); then it throws
    /// `PublishTimeout`. Each call may pass its own `timeout:` instead.
    public var publishTimeout: Duration
    /// How long a drain may take before running handlers are cancelled.
    public var shutdownTimeout: Duration
    /// Reconnect backoff: full jitter below a cap doubling from `initial` up to `maximum`.
    public var reconnectBackoff: Backoff
    /// Consecutive permanent refusals (403, 404, 406, 530) before the consumer gives up.
    public var maxRefusedAttempts: Int
    /// How a failed message is retried (in process, then through `Q.retry.<delay>` queues)
    /// before it is dead-lettered; see `RetryPolicy`.
    public var retryPolicy: RetryPolicy
    /// How many times a message may crash the worker while handled alone before it is
    /// dead-lettered as `crash-loop` (see `CrashGuard`); `nil` turns the detection (and the
    /// isolation of redelivered messages) off.
    public var crashLimit: Int?
    /// Quorum queues: the broker's own delivery limit (see `Topology.deliveryLimit`); `nil`
    /// declares the queue without it.
    public var deliveryLimit: Int?
    /// Exchanges the queue is bound to at every connect (see `QueueBinding`).
    public var bindings: [QueueBinding]
    /// Consume a queue someone else declared, as it is: never declare it (see
    /// `Topology.existingQueue`).
    public var existingQueue: Bool

    /// How long deliveries may be unable to flow — the connection's thread stuck in a call, or the
    /// delivery loop stuck with no handler running — before `/readyz` answers `503 stalled`; at
    /// twice this the worker counts as wedged and `/healthz` fails (see `FlowMonitor`). Long
    /// handlers are not stalls.
    public var stallTimeout: Duration = .seconds(30)

    /// Longest a failed message's retry or dead-letter copy (and a drain's republished unstarted
    /// message) waits for the publishing connection and the broker's confirm, a broker under a
    /// memory alarm blocking publishers indefinitely; then it is published once more, within as
    /// long again, and if that fails too the original is requeued. Never dead-letters: a copy
    /// that cannot be published is Warren's failure, not the handler's.
    public var copyTimeout: Duration = .seconds(10)

    /// The default bound on a handler's `MessageContext.publish` (its connection and confirm).
    public static let defaultPublishTimeout: Duration = .seconds(10)

    /// Crashes in isolation before a message is dead-lettered as `crash-loop`.
    public static let defaultCrashLimit = 3

    /// Defaults match `warren worker`'s (see the README's configuration table); `concurrency`
    /// `maxRefusedAttempts`, `crashLimit` and `deliveryLimit` below 1 are
    /// raised to 1. `prefetch` 0 (unlimited to the broker) stops the process: raising it to 1
    /// would silently turn "unlimited" into the slowest setting there is.
    public init(
        queue: String, queueType: QueueType = .quorum, prefetch: UInt16 = 50, concurrency: Int = 8,
        handlerTimeout: Duration? = nil, publishTimeout: Duration = ConsumerConfiguration.defaultPublishTimeout,
        shutdownTimeout: Duration = .seconds(25),
        reconnectBackoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30)),
        maxRefusedAttempts: Int = 5, retryPolicy: RetryPolicy = RetryPolicy(), crashLimit: Int? = ConsumerConfiguration.defaultCrashLimit,
        deliveryLimit: Int? = Topology.defaultDeliveryLimit, bindings: [QueueBinding] = [], existingQueue: Bool = false
    ) {
        Self.checkPrefetch(prefetch)
        self.queue = queue
        self.queueType = queueType
        self.prefetch = prefetch
        self.concurrency = max(1, concurrency)
        self.handlerTimeout = handlerTimeout
        self.publishTimeout = publishTimeout
        self.shutdownTimeout = shutdownTimeout
        self.reconnectBackoff = reconnectBackoff
        self.maxRefusedAttempts = max(1, maxRefusedAttempts)
        self.retryPolicy = retryPolicy
        self.crashLimit = crashLimit.map { max(1, $0) }
        self.deliveryLimit = deliveryLimit.map { max(1, $0) }
        self.bindings = bindings
        self.existingQueue = existingQueue
    }

    private static func checkPrefetch(_ prefetch: UInt16) {
        precondition(prefetch > 0, "ConsumerConfiguration.prefetch must be from 1 to 65535; 0 means unlimited to the broker")
    }

    /// The topology this consumer declares.
    public var topology: Topology {
        Topology(
            queue: queue, queueType: queueType, retryDelays: retryPolicy.delays, deliveryLimit: deliveryLimit, bindings: bindings,
            existingQueue: existingQueue)
    }
}
