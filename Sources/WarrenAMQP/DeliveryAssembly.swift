import CRabbitMQ

/// A delivery put together from its frames as the owner thread reads them one at a time:
/// `basic.deliver`, its content header, then body frames until the header's body size is
/// reached.
///
/// `amqp_consume_message` did this inside librabbitmq, at a price paid per delivery: a 4 KiB
/// memory pool allocated and zeroed (`calloc`) for the properties' copy, three `malloc`ed copies
/// of the method's strings and one of the body, each freed again (a 4 KiB `memset` alone was
/// ~4,000 instructions a message). Read frame by frame, the strings and properties are copied
/// once, straight from the frames (librabbitmq recycles their memory), and the body goes straight
/// into its Swift array. Nor does a delivery whose frames arrive apart block the owner thread
/// while it waits for the rest: `amqp_read_message` waited without a timeout; here the parts
/// read so far wait in this value for the next turn.
///
/// Pure value; owned by the owner thread's transport.
struct DeliveryAssembly {
    /// A frame out of place: the broker broke the protocol (or the connection is corrupt).
    struct OutOfOrder: Error, Equatable {
        let reason: String
    }

    private struct Method {
        var deliveryTag: UInt64
        var redelivered: Bool
        var exchange: String
        var routingKey: String
        var consumerTag: String
    }

    private var method: Method?
    private var properties: AMQPProperties?
    private var bodySize = 0
    private var body: [UInt8] = []

    /// Whether a delivery's first frames were read and its last ones are still to come.
    var isInProgress: Bool { method != nil }

    /// `basic.deliver`: a delivery begins.
    mutating func begin(
        deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String, consumerTag: String
    ) throws {
        guard method == nil else { throw OutOfOrder(reason: "basic.deliver before the previous delivery's content ended") }
        method = Method(
            deliveryTag: deliveryTag, redelivered: redelivered, exchange: exchange, routingKey: routingKey,
            consumerTag: consumerTag)
    }

    /// The content header. Returns the delivery when its body is empty.
    mutating func header(_ properties: AMQPProperties, bodySize: UInt64) throws -> AMQPDelivery? {
        guard method != nil, self.properties == nil else { throw OutOfOrder(reason: "content header without basic.deliver") }
        guard let size = Int(exactly: bodySize) else { throw OutOfOrder(reason: "body size \(bodySize) too large") }
        self.properties = properties
        self.bodySize = size
        guard size > 0 else { return finish() }
        body = []
        body.reserveCapacity(size)
        return nil
    }

    /// A body frame. Returns the delivery once its body is complete.
    mutating func body(_ fragment: UnsafeRawBufferPointer) throws -> AMQPDelivery? {
        guard properties != nil else { throw OutOfOrder(reason: "body frame without a content header") }
        guard fragment.count <= bodySize - body.count else {
            throw OutOfOrder(reason: "body frames longer than the header's \(bodySize) bytes")
        }
        body.append(contentsOf: fragment)
        return body.count == bodySize ? finish() : nil
    }

    /// Forgets a delivery in progress (its channel or connection closed under it), or the one
    /// just finished.
    mutating func reset() {
        method = nil
        properties = nil
        bodySize = 0
        body = []
    }

    private mutating func finish() -> AMQPDelivery? {
        guard let method, let properties else { return nil }
        let delivery = AMQPDelivery(
            deliveryTag: method.deliveryTag, redelivered: method.redelivered, exchange: method.exchange,
            routingKey: method.routingKey, consumerTag: method.consumerTag, properties: properties, body: body)
        reset()
        return delivery
    }
}
