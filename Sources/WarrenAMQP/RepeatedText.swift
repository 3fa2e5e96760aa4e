import CRabbitMQ
#if canImport(Glibc)
import Glibc
#endif

/// The text of one field of incoming deliveries (consumer tag, exchange, routing key, content
/// type), remembered from the last delivery: consecutive deliveries almost always repeat it, and
/// reusing the `String` saves decoding it and, past 15 bytes (a consumer tag, a content type),
/// a heap allocation per delivery. It also makes the consumer lookup by tag compare identical
/// strings.
///
/// Owner-thread confined, like the `RawConnection` that keeps it.
struct RepeatedText {
    private var bytes: [UInt8] = []
    private var text = ""

    /// The field's text (as `amqp_bytes_t.swiftShortString`), reused when the bytes repeat.
    mutating func text(of value: amqp_bytes_t) -> String {
        guard let start = value.bytes, value.len > 0 else { return "" }
        let length = Int(value.len)
        if length == bytes.count, bytes.withUnsafeBytes({ memcmp($0.baseAddress!, start, length) }) == 0 {
            return text
        }
        bytes = Array(UnsafeRawBufferPointer(start: start, count: length))
        text = value.swiftShortString
        return text
    }
}

/// One `RepeatedText` per delivery field worth remembering.
struct DeliveryTextCache {
    var consumerTag = RepeatedText()
    var exchange = RepeatedText()
    var routingKey = RepeatedText()
    var contentType = RepeatedText()
}
