import WarrenAMQP

/// One binding of the work queue to an exchange, made at every connect (`Topology.declare`).
///
/// The exchange is checked first (`exchange.declare` passive): one that exists is used as it is,
/// whatever its type, arguments or durability; one that does not is declared durable with
/// `exchangeType`. Exchanges named `amq.…` are RabbitMQ's own: never declared (the broker
/// refuses that with `403 ACCESS_REFUSED`), only bound; the standard ones (`amq.topic`,
/// `amq.direct`, `amq.fanout`, `amq.headers`, `amq.match`) exist in every vhost.
///
/// ```swift
/// QueueBinding(exchange: "orders", bindingKey: "order.*.created")
/// QueueBinding(exchange: "documents", exchangeType: .headers, arguments: ["x-match": "all", "format": "pdf"])
/// ```
public struct QueueBinding: Sendable, Equatable {
    /// The exchange the queue is bound to (see above for when it is declared). Not `""`: the
    /// default exchange cannot be bound.
    public var exchange: String
    /// The pattern (topic), exact key (direct) or nothing (fanout, headers) the queue is bound with.
    public var bindingKey: String
    /// The type the exchange is declared with if it does not exist yet.
    public var exchangeType: ExchangeType
    /// The binding's arguments: a headers exchange's `x-match` (`all` by default) and the
    /// header values to match; other exchange types ignore them.
    public var arguments: AMQPTable

    /// A binding of the worker's queue to `exchange`, a topic exchange by default.
    public init(exchange: String, bindingKey: String = "", exchangeType: ExchangeType = .topic, arguments: AMQPTable = [:]) {
        self.exchange = exchange
        self.bindingKey = bindingKey
        self.exchangeType = exchangeType
        self.arguments = arguments
    }

    /// RabbitMQ's own exchanges (`amq.` prefix): bound, never declared.
    public var isReserved: Bool { exchange.hasPrefix("amq.") }

    /// Makes sure the exchange exists (see the type's summary), then binds `queue` to it.
    ///
    /// A missing exchange costs one channel error (the passive declare's `404`), which the
    /// connection recovers from by reopening its channel; on a connection shared by consumers
    /// that already consume, theirs end with that error and restart (once: afterwards the
    /// exchange exists).
    func declare(binding queue: String, on connection: AMQPConnection) async throws {
        if !isReserved {
            do {
                try await connection.inspectExchange(exchange)
            } catch let error as AMQPError where error.replyCode == 404 {
                try await connection.declareExchange(exchange, type: exchangeType.rawValue, durable: true)
            }
        }
        try await connection.bindQueue(queue, exchange: exchange, routingKey: bindingKey, arguments: arguments)
    }
}
