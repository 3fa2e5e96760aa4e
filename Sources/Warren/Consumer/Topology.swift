import WarrenAMQP

/// The queues and exchanges a Warren queue needs, declared idempotently at every connect.
///
/// - `Q`: durable, `x-queue-type`, `x-dead-letter-exchange: Q.dlx`; for quorum queues also the
///   broker's poison-message safety net (see `deliveryLimit`).
/// - `Q.dlx`: durable fanout exchange
/// - `Q.dead`: durable queue of the same type, bound to `Q.dlx`
/// - `Q.retry.<delay>` for each retry delay (`RetryPolicy.retryQueue(of:delay:)`): durable, of the
///   same type, `x-message-ttl` = the delay, dead-lettering to the default exchange with routing
///   key `Q`: a copy published there waits out its delay in the broker (surviving worker and
///   broker restarts) and then goes back to `Q`. One queue per delay, because a queue expires
///   messages only from its head: with one TTL per queue, head order is expiry order.
///
/// - each of `bindings`: `Q` bound to its exchange, which is declared if it does not exist yet
///   (see `QueueBinding`).
///
/// Warren dead-letters by publishing a copy to `Q.dlx` (with the error headers) and acking; the
/// queue's own `x-dead-letter-exchange` catches what the broker dead-letters itself (the quorum
/// delivery limit). An existing queue declared with other arguments fails with
/// `406 PRECONDITION_FAILED`, unless `existingQueue` is set.
public struct Topology: Sendable, Equatable {
    /// `Q`, the work queue; every other name here derives from it.
    public var queue: String
    /// The type of `Q`, `Q.dead` and the retry queues (quorum or classic).
    public var queueType: QueueType
    /// Delays of the retry queues to declare (`RetryPolicy.delays`).
    public var retryDelays: [Duration]
    /// Quorum queues only: `x-delivery-limit`, with `x-dead-letter-strategy: at-least-once` and
    /// `x-overflow: reject-publish` (which at-least-once requires), so a message the broker has
    /// delivered that many times is dead-lettered by the broker itself, kept by `Q` until `Q.dead`
    /// has it. `nil` declares none of the three, for a quorum queue created without them (the
    /// broker refuses to redeclare a queue with different arguments). Ignored for classic queues,
    /// which have no delivery count; Warren's own crash-loop detection covers them.
    public var deliveryLimit: Int?

    /// Exchanges `Q` is bound to at every connect, in this order.
    public var bindings: [QueueBinding]
    /// `Q` was declared by someone else, with whatever arguments it has: Warren checks that it
    /// exists (passive declare; a missing one is a `404` refusal naming it) and never declares
    /// it, so neither `queueArguments` nor `deliveryLimit` apply to it. `Q.dlx`, `Q.dead` and
    /// the retry queues are still declared: retries and dead-letters are copies Warren
    /// publishes there itself, and retry queues expire into `Q` through the default exchange,
    /// so none of it needs arguments on `Q`. What the broker dead-letters on its own (its
    /// `x-max-length` overflow, a delivery limit, a TTL) goes wherever `Q`'s own arguments say.
    public var existingQueue: Bool

    /// The `x-delivery-limit` Warren declares quorum queues with unless told otherwise
    /// (`WARREN_DELIVERY_LIMIT`; `nil` in `deliveryLimit` declares none).
    public static let defaultDeliveryLimit = 20

    /// The topology of queue `queue`; see the properties for each parameter. Nothing is declared
    /// until a consumer connects.
    public init(
        queue: String, queueType: QueueType, retryDelays: [Duration] = RetryPolicy.defaultDelays,
        deliveryLimit: Int? = Topology.defaultDeliveryLimit, bindings: [QueueBinding] = [], existingQueue: Bool = false
    ) {
        self.queue = queue
        self.queueType = queueType
        self.retryDelays = retryDelays
        self.deliveryLimit = deliveryLimit
        self.bindings = bindings
        self.existingQueue = existingQueue
    }

    /// `Q.dlx`: the fanout exchange dead-lettered copies are published to.
    public var deadLetterExchange: String { "\(queue).dlx" }
    /// `Q.dead`: where dead-lettered messages wait for an operator (`warren dlq`).
    public var deadLetterQueue: String { "\(queue).dead" }
    /// `Q.retry.<delay>` for each of `retryDelays`, in the same order.
    public var retryQueues: [String] { retryDelays.map { RetryPolicy.retryQueue(of: queue, delay: $0) } }

    /// The arguments `Q` is declared with: its type, `x-dead-letter-exchange: Q.dlx`, and for a
    /// quorum queue with a `deliveryLimit` the limit and at-least-once dead-lettering.
    public var queueArguments: AMQPTable {
        var arguments: AMQPTable = ["x-queue-type": .string(queueType.rawValue), "x-dead-letter-exchange": .string(deadLetterExchange)]
        if queueType == .quorum, let deliveryLimit {
            arguments["x-delivery-limit"] = .int(Int64(deliveryLimit))
            arguments.merge(Self.atLeastOnceDeadLettering) { $1 }
        }
        return arguments
    }

    /// The arguments of the retry queue for `delay`.
    public func retryQueueArguments(delay: Duration) -> AMQPTable {
        var arguments: AMQPTable = [
            "x-queue-type": .string(queueType.rawValue),
            "x-message-ttl": .int(delay.milliseconds),
            "x-dead-letter-exchange": .string(""),
            "x-dead-letter-routing-key": .string(queue),
        ]
        // A quorum queue dead-letters at most once unless told otherwise: an expired retry could
        // be dropped if `Q` were briefly unavailable.
        if queueType == .quorum { arguments.merge(Self.atLeastOnceDeadLettering) { $1 } }
        return arguments
    }

    private static let atLeastOnceDeadLettering: AMQPTable = [
        "x-dead-letter-strategy": .string("at-least-once"), "x-overflow": .string("reject-publish"),
    ]

    /// Declares everything; the dead-letter route first, so no failure can be dropped, the
    /// retry queues before `Q`, so no retry can be scheduled into a missing queue, and the
    /// bindings last, as they need `Q`. An existing `Q` is only checked, and first, so that a
    /// missing one leaves nothing declared behind.
    public func declare(on connection: AMQPConnection) async throws {
        if existingQueue { try await checkExistingQueue(on: connection) }
        try await connection.declareExchange(deadLetterExchange, type: "fanout", durable: true)
        try await connection.declareQueue(deadLetterQueue, durable: true, arguments: ["x-queue-type": .string(queueType.rawValue)])
        try await connection.bindQueue(deadLetterQueue, exchange: deadLetterExchange)
        for delay in retryDelays {
            try await connection.declareQueue(
                RetryPolicy.retryQueue(of: queue, delay: delay), durable: true, arguments: retryQueueArguments(delay: delay))
        }
        if !existingQueue { try await declareQueue(on: connection) }
        for binding in bindings { try await binding.declare(binding: queue, on: connection) }
    }

    /// `Q` declared by someone else: a passive declare, and a missing queue a `404` that says
    /// which queue and why Warren does not create it.
    private func checkExistingQueue(on connection: AMQPConnection) async throws {
        do {
            _ = try await connection.inspectQueue(queue)
        } catch let error as AMQPError {
            guard case .channelClosed(404, let text, _) = error.kind else { throw error }
            throw AMQPError.channelClosed(
                replyCode: 404, replyText: text,
                context: "the existing queue '\(queue)' does not exist (with WARREN_EXISTING_QUEUE Warren never declares it)")
        }
    }

    /// `Q` declared by Warren; a `406` (the queue exists with other arguments) says the way out.
    private func declareQueue(on connection: AMQPConnection) async throws {
        do {
            try await connection.declareQueue(queue, durable: true, arguments: queueArguments)
        } catch let error as AMQPError {
            guard case .channelClosed(406, let text, let context) = error.kind else { throw error }
            throw AMQPError.channelClosed(
                replyCode: 406, replyText: text,
                context: "\(context) (a queue declared elsewhere with other arguments: consume it as it is with WARREN_EXISTING_QUEUE=true)")
        }
    }
}
