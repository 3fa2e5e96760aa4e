import Logging
import Testing
import WarrenAMQP
@testable import Warren

@Suite struct JSONMessageDecodingTests {
    struct Order: Decodable, Equatable {
        var orderID: String
        var cents: Int
    }

    private let body = Array(#"{"orderID":"A-1","cents":5}"#.utf8)

    private func decode(_ body: [UInt8], contentType: String?, contentEncoding: String? = nil) throws -> Order {
        try JSONMessageDecoding.decode(
            Order.self, from: body, properties: AMQPProperties(contentType: contentType, contentEncoding: contentEncoding))
    }

    @Test(arguments: [
        nil, "", "application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8",
        "application/vnd.x+json", "application/problem+json; charset=utf-8", " application/json ",
    ])
    func jsonContentTypesAreAccepted(contentType: String?) throws {
        #expect(try decode(body, contentType: contentType) == Order(orderID: "A-1", cents: 5))
    }

    @Test(arguments: ["text/plain", "application/octet-stream", "application/xml", "text/json", "application/json-seq"])
    func otherContentTypesAreRefused(contentType: String) {
        let error = #expect(throws: UndecodableMessage.self) { try decode(body, contentType: contentType) }
        #expect(error?.reason.contains("'\(contentType)' is not JSON") == true, "\(String(describing: error))")
    }

    @Test(arguments: [nil, "identity", "utf-8", "UTF8", ""])
    func identityEncodingsAreAccepted(contentEncoding: String?) throws {
        #expect(try decode(body, contentType: "application/json", contentEncoding: contentEncoding).orderID == "A-1")
    }

    @Test(arguments: ["gzip", "deflate", "br"])
    func compressedEncodingsAreRefused(contentEncoding: String) {
        let error = #expect(throws: UndecodableMessage.self) {
            try decode(body, contentType: "application/json", contentEncoding: contentEncoding)
        }
        #expect(error?.reason.contains("'\(contentEncoding)' is not supported") == true, "\(String(describing: error))")
    }

    @Test func invalidJSONNamesTheType() {
        let error = #expect(throws: UndecodableMessage.self) { try decode(Array("{nope".utf8), contentType: nil) }
        #expect(error?.reason.hasPrefix("body is not a valid Order:") == true, "\(String(describing: error))")
    }

    @Test func missingFieldNamesTheKey() {
        let error = #expect(throws: UndecodableMessage.self) { try decode(Array(#"{"orderID":"A-1"}"#.utf8), contentType: nil) }
        #expect(error?.reason.contains("cents") == true, "\(String(describing: error))")
    }

    @Test func wrongTypeNamesThePath() {
        let error = #expect(throws: UndecodableMessage.self) {
            try decode(Array(#"{"orderID":"A-1","cents":"five"}"#.utf8), contentType: nil)
        }
        #expect(error?.reason.contains("at cents:") == true, "\(String(describing: error))")
    }

    /// JSON must be UTF-8 (RFC 8259 §8.1): an ill-formed byte is refused even inside a field the
    /// message type does not read, which `JSONDecoder` alone would skip.
    @Test func invalidUTF8InAnIgnoredFieldIsRefused() {
        var bytes = Array(#"{"orderID":"A-1","cents":5,"note":""#.utf8)
        let offset = bytes.count
        bytes += [0xFF, 0xFE] + Array(#""}"#.utf8)
        let error = #expect(throws: UndecodableMessage.self) { try decode(bytes, contentType: "application/json") }
        #expect(error?.reason == "body is not UTF-8 (JSON must be, RFC 8259 §8.1): ill-formed byte 0xFF at offset \(offset)",
                "\(String(describing: error))")
    }

    @Test func utf8TextInFieldsIsAccepted() throws {
        let order = try decode(Array(#"{"orderID":"Zoë-東京-😀","cents":5,"note":"ü"}"#.utf8), contentType: nil)
        #expect(order == Order(orderID: "Zoë-東京-😀", cents: 5))
    }

    /// The default `MessageHandler.decode` for a `Decodable` message goes through the same rules.
    @Test func defaultHandlerDecodeIsContentTypeAware() throws {
        struct Handler: MessageHandler {
            func handle(_ message: Order, context: MessageContext) async throws {}
        }
        let logger = Logger(label: "test")
        let json = MessageContext(queue: "q", properties: AMQPProperties(contentType: "application/json"), logger: logger)
        #expect(try Handler().decode(body, context: json) == Order(orderID: "A-1", cents: 5))
        let text = MessageContext(queue: "q", properties: AMQPProperties(contentType: "text/plain"), logger: logger)
        #expect(throws: UndecodableMessage.self) { try Handler().decode(body, context: text) }
    }

    /// A handler's own faster reader (`decode(_:from:properties:trying:)`) sees only bodies the
    /// content type, encoding and UTF-8 checks accepted: a reader that reads anything cannot let
    /// a refused message through (issue 13: an ill-formed body never reaches the handler).
    @Test func aFastReaderSeesOnlyBodiesTheChecksAccepted() throws {
        let anything = Order(orderID: "fast", cents: 1)
        func decode(_ body: [UInt8], _ properties: AMQPProperties) throws -> Order {
            try JSONMessageDecoding.decode(Order.self, from: body, properties: properties, trying: { _ in anything })
        }
        #expect(throws: UndecodableMessage.self) { try decode(body, AMQPProperties(contentType: "text/plain")) }
        #expect(throws: UndecodableMessage.self) { try decode(body, AMQPProperties(contentEncoding: "gzip")) }
        #expect(throws: UndecodableMessage.self) { try decode(body + [0xFF], AMQPProperties()) }
        // Accepted by the checks: its answer is taken, and `nil` leaves the body to JSONDecoder.
        #expect(try decode(body, AMQPProperties(contentType: "application/json")) == anything)
        let decoded = try JSONMessageDecoding.decode(Order.self, from: body, properties: AMQPProperties(), trying: { _ in nil })
        #expect(decoded == Order(orderID: "A-1", cents: 5))
    }

    /// `[UInt8]` handlers get the body as is, whatever its content type.
    @Test func rawHandlersGetTheBodyUnchanged() throws {
        let bytes: [UInt8] = [0, 0xFF, 0x80, 0x7B]
        let context = MessageContext(queue: "q", properties: AMQPProperties(contentType: "text/plain"), logger: Logger(label: "test"))
        let closure = ClosureHandler { (_: [UInt8], _) in }
        #expect(try closure.decode(bytes, context: context) == bytes)
        #expect(try NoopHandler().decode(bytes, context: context) == bytes)
    }
}
