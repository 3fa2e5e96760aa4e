import CRabbitMQ
import Testing
@testable import WarrenAMQP

/// Short strings Warren decodes must encode again (a retry or dead-letter copy sends them
/// back), and a publish too long for AMQP is refused before it can break the connection.
@Suite struct ShortStringTests {
    /// 255 bytes that are not UTF-8 become 765 bytes of U+FFFD when repaired.
    static let invalid = [UInt8](repeating: 0xFF, count: 255)

    @Test func fittingCutsAtAScalarBoundary() {
        #expect(ShortString.fitting("abc") == "abc")
        let euros = String(repeating: "€", count: 100)  // 3 bytes each
        #expect(ShortString.fitting(euros) == String(repeating: "€", count: 85))
        let mixed = "a" + euros
        #expect(ShortString.fitting(mixed).utf8.count == 253, "no half scalar is kept")
    }

    /// The fuzz target found this: librabbitmq writes a key's length as one byte without
    /// checking, so a repaired 765-byte key produced a table librabbitmq could not decode.
    @Test func aDecodedInvalidKeyEncodesAgain() throws {
        var wire: [UInt8] = []
        let entry: [UInt8] = [255] + Self.invalid + [UInt8(ascii: "t"), 1]
        withUnsafeBytes(of: UInt32(entry.count).bigEndian) { wire += $0 }
        wire += entry
        let decoded = try #require(decode(wire))
        let key = try #require(decoded.keys.first)
        #expect(key == String(repeating: "\u{FFFD}", count: 85))
        #expect(decoded[key] == .bool(true))
        let arena = CArena()
        var table = arena.table(decoded)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset = 0
        let status = buffer.withUnsafeMutableBytes {
            amqp_encode_table(amqp_bytes_t(len: $0.count, bytes: $0.baseAddress), &table, &offset)
        }
        #expect(status == 0)
        #expect(decode(Array(buffer[..<offset])) == decoded)
    }

    /// librabbitmq refuses to encode a property over 255 bytes; a decoded one must fit.
    @Test func decodedInvalidPropertiesEncodeAgain() {
        let arena = CArena()
        var c = amqp_basic_properties_t()
        c._flags = amqp_flags_t(AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG)
        c.message_id = arena.bytes(Self.invalid)
        c.type = arena.bytes(Self.invalid)
        let properties = AMQPProperties(c)
        #expect(properties.messageID?.utf8.count == 255)
        var again = properties.cProperties(in: arena)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let status = buffer.withUnsafeMutableBytes {
            amqp_encode_properties(UInt16(AMQP_BASIC_CLASS), &again, amqp_bytes_t(len: $0.count, bytes: $0.baseAddress))
        }
        #expect(status >= 0, "amqp_encode_properties: \(status)")
    }

    @Test func aTooLongPublishNamesWhatIsTooLong() {
        func request(_ properties: AMQPProperties, routingKey: String = "q") -> PublishRequest {
            PublishRequest(exchange: "", routingKey: routingKey, mandatory: true, properties: properties, body: [])
        }
        let long = String(repeating: "x", count: 256)
        #expect(ShortString.violation(in: request(AMQPProperties(messageID: String(repeating: "x", count: 255)))) == nil)
        #expect(ShortString.violation(in: request(AMQPProperties(messageID: long)))?.hasPrefix("message_id is 256 bytes") == true)
        #expect(ShortString.violation(in: request(AMQPProperties(), routingKey: long))?.hasPrefix("routing key") == true)
        let nested = AMQPProperties(headers: ["outer": .array([.table([long: 1])])])
        #expect(ShortString.violation(in: request(nested))?.hasPrefix("headers.outer has a key of 256 bytes") == true)
        // Overrides are checked as the headers they become.
        var overridden = AMQPProperties(headers: ["fine": 1])
        overridden.overrideHeaders([HeaderOverride("outer", .table([long: 1]))])
        #expect(ShortString.violation(in: request(overridden))?.hasPrefix("headers.outer has a key of 256 bytes") == true)
        overridden.overrideHeaders([HeaderOverride("outer", 1), HeaderOverride(long, 2)])
        #expect(ShortString.violation(in: request(overridden))?.hasPrefix("headers has a key of 256 bytes") == true)
    }

    private func decode(_ bytes: [UInt8]) -> AMQPTable? {
        var pool = amqp_pool_t()
        init_amqp_pool(&pool, 4096)
        defer { empty_amqp_pool(&pool) }
        var table = amqp_table_t()
        var offset = 0
        let status = bytes.withUnsafeBytes { buffer in
            amqp_decode_table(
                amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress)),
                &pool, &table, &offset)
        }
        return status == 0 ? AMQPTable(cTable: table) : nil
    }
}
