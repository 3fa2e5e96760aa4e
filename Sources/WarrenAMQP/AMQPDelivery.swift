/// A message delivered to a consumer. Its body is a copy, so it outlives librabbitmq's buffers.
///
/// The delivery tag is only valid on the connection (and channel) that delivered it: acking it on
/// any other connection is a protocol error, so Warren never does.
///
/// A value type with copy-on-write storage: copies share one box until one of them is mutated.
/// Built on the connection's owner thread, read on whichever task the copy went to; every copy
/// is safe to use on any thread.
public struct AMQPDelivery: Sendable {
    // Why boxed: a delivery is copied several times between the owner thread that reads it and
    // the worker that handles it (the batch, the iterator, the handler job). Field by field,
    // each copy retained and later released every refcounted field (three strings, the body, ten
    // in the properties): 26 of a message's 83 retains (callgrind, issue 17), each an atomic
    // read-modify-write, mostly on cache lines the other thread wrote. Boxed, a copy is one
    // retain. The two plain fields stay inline: copying them costs no refcount.
    private var storage: Storage

    /// Identifies the delivery for `basic.ack`/`basic.nack`, on this connection and channel only.
    public var deliveryTag: UInt64
    /// The broker delivered it before without an ack: a handler may have seen it already.
    public var redelivered: Bool
    /// The exchange it was published to; `""` for the default exchange.
    public var exchange: String {
        get { storage.exchange }
        set { uniqueStorage().exchange = newValue }
    }
    /// The routing key it was published with.
    public var routingKey: String {
        get { storage.routingKey }
        set { uniqueStorage().routingKey = newValue }
    }
    /// The tag of the consumer it was delivered to.
    public var consumerTag: String {
        get { storage.consumerTag }
        set { uniqueStorage().consumerTag = newValue }
    }
    /// Its basic properties (content type, headers, message id, …).
    public var properties: AMQPProperties {
        get { storage.properties }
        set { uniqueStorage().properties = newValue }
    }
    /// The body, copied out of librabbitmq's buffers.
    public var body: [UInt8] {
        get { storage.body }
        set { uniqueStorage().body = newValue }
    }

    /// A delivery from its parts (the connection builds them on its owner thread; tests and
    /// fakes may too, on any thread).
    public init(
        deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String,
        consumerTag: String, properties: AMQPProperties, body: [UInt8]
    ) {
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        storage = Storage(
            exchange: exchange, routingKey: routingKey, consumerTag: consumerTag, properties: properties, body: body)
    }

    /// The storage, copied first unless this value is its only owner: a write must never show
    /// through another copy (which may be on another thread).
    private mutating func uniqueStorage() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// The refcounted fields, shared by copies until one of them writes.
    private final class Storage: @unchecked Sendable {
        // @unchecked: written only through `uniqueStorage()`, that is while exactly one
        // `AMQPDelivery` refers to it; a copy that went to another thread shares the box, so the
        // writer copies it first and nothing another thread can read is ever written.
        var exchange: String
        var routingKey: String
        var consumerTag: String
        var properties: AMQPProperties
        var body: [UInt8]

        init(exchange: String, routingKey: String, consumerTag: String, properties: AMQPProperties, body: [UInt8]) {
            self.exchange = exchange
            self.routingKey = routingKey
            self.consumerTag = consumerTag
            self.properties = properties
            self.body = body
        }

        func copy() -> Storage {
            Storage(exchange: exchange, routingKey: routingKey, consumerTag: consumerTag, properties: properties, body: body)
        }
    }
}
