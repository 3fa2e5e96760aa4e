import WarrenAMQP

/// The queues and exchanges a Warren queue needs, declared idempotently at every connect.
///
/// - `Q`: durable, `x-queue-type`, `x-dead-letter-exchange: Q.dlx`
/// - `Q.dlx`: durable fanout exchange
/// - `Q.dead`: durable queue of the same type, bound to `Q.dlx`
///
/// A handler failure is `basic.nack(requeue: false)`: the broker itself moves the message to
/// `Q.dead`. An existing `Q` with other arguments fails with `406 PRECONDITION_FAILED`.
public struct Topology: Sendable, Equatable {
    public var queue: String
    public var queueType: QueueType

    public init(queue: String, queueType: QueueType) {
        self.queue = queue
        self.queueType = queueType
    }

    public var deadLetterExchange: String { "\(queue).dlx" }
    public var deadLetterQueue: String { "\(queue).dead" }

    public var queueArguments: AMQPTable {
        ["x-queue-type": .string(queueType.rawValue), "x-dead-letter-exchange": .string(deadLetterExchange)]
    }

    /// Declares everything; the dead-letter route first, so no failure can be dropped.
    public func declare(on connection: AMQPConnection) async throws {
        try await connection.declareExchange(deadLetterExchange, type: "fanout", durable: true)
        try await connection.declareQueue(deadLetterQueue, durable: true, arguments: ["x-queue-type": .string(queueType.rawValue)])
        try await connection.bindQueue(deadLetterQueue, exchange: deadLetterExchange)
        try await connection.declareQueue(queue, durable: true, arguments: queueArguments)
    }
}
