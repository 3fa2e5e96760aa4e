/// A message delivered to a consumer. Its body is a copy, so it outlives librabbitmq's buffers.
///
/// The delivery tag is only valid on the connection (and channel) that delivered it: acking it on
/// any other connection is a protocol error, so Warren never does.
public struct AMQPDelivery: Sendable {
    /// Identifies the delivery for `basic.ack`/`basic.nack`, on this connection and channel only.
    public var deliveryTag: UInt64
    /// The broker delivered it before without an ack: a handler may have seen it already.
    public var redelivered: Bool
    /// The exchange it was published to; `""` for the default exchange.
    public var exchange: String
    /// The routing key it was published with.
    public var routingKey: String
    /// The tag of the consumer it was delivered to.
    public var consumerTag: String
    /// Its basic properties (content type, headers, message id, …).
    public var properties: AMQPProperties
    /// The body, copied out of librabbitmq's buffers.
    public var body: [UInt8]

    /// A delivery from its parts (the connection builds them; tests and fakes may too).
    public init(
        deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String,
        consumerTag: String, properties: AMQPProperties, body: [UInt8]
    ) {
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.exchange = exchange
        self.routingKey = routingKey
        self.consumerTag = consumerTag
        self.properties = properties
        self.body = body
    }
}
