/// A message delivered to a consumer. Its body is a copy, so it outlives librabbitmq's buffers.
///
/// The delivery tag is only valid on the connection (and channel) that delivered it: acking it on
/// any other connection is a protocol error, so Warren never does.
public struct AMQPDelivery: Sendable {
    public var deliveryTag: UInt64
    public var redelivered: Bool
    public var exchange: String
    public var routingKey: String
    public var consumerTag: String
    public var properties: AMQPProperties
    public var body: [UInt8]

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
