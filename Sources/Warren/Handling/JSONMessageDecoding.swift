import WarrenAMQP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a `Decodable` message is read from a body: JSON, checked against the content type.
///
/// Accepted: no (or an empty) `content_type` (many publishers leave it out), `application/json`, and
/// any `…+json` type, with or without parameters (`; charset=utf-8`). A `content_encoding`
/// other than `identity` or `utf-8` is refused, because Warren does not decompress. The whole
/// body must be UTF-8 (RFC 8259 §8.1), fields the message type ignores included: an ill-formed
/// byte anywhere is refused before decoding. A refusal or a decoding error throws
/// `UndecodableMessage`, which dead-letters the message with the error's text as the reason.
public enum JSONMessageDecoding {
    /// Decodes `body` as JSON into `type`, or throws `UndecodableMessage`: when the content type
    /// is set and not JSON, the body is not valid UTF-8, or `JSONDecoder` fails (its error's text
    /// becomes the reason).
    public static func decode<Message: Decodable>(_ type: Message.Type, from body: [UInt8], properties: AMQPProperties) throws -> Message {
        try decode(type, from: body, properties: properties, trying: { _ in nil })
    }

    /// As `decode(_:from:properties:)`, with a faster reader tried first on a body the content
    /// type, encoding and UTF-8 checks accepted. `fastDecode` returns `nil` whenever it is not
    /// sure to give exactly what `JSONDecoder` would (anything unusual: escapes, nesting,
    /// fractions, duplicate keys, a field of the wrong type), and `JSONDecoder` then decides,
    /// so the messages accepted and refused, and the refusals' reasons, stay the same.
    /// For a handler whose message type is read on every message and worth a reader of its own
    /// (`JSONDecoder` costs a few microseconds per small body).
    public static func decode<Message: Decodable>(
        _ type: Message.Type, from body: [UInt8], properties: AMQPProperties, trying fastDecode: ([UInt8]) -> Message?
    ) throws -> Message {
        if let contentType = properties.contentType, !contentType.isEmpty, !isJSON(contentType) {
            throw UndecodableMessage("content type '\(contentType)' is not JSON; this handler reads JSON (give it a raw [UInt8] message to read other formats)")
        }
        if let encoding = properties.contentEncoding?.lowercased(), !["", "identity", "utf-8", "utf8"].contains(encoding) {
            throw UndecodableMessage("content encoding '\(encoding)' is not supported; publish uncompressed JSON")
        }
        if let offset = UTF8Validation.firstInvalidOffset(in: body) {
            throw UndecodableMessage(
                "body is not UTF-8 (JSON must be, RFC 8259 §8.1): ill-formed byte 0x\(String(body[offset], radix: 16, uppercase: true)) at offset \(offset)")
        }
        if let message = fastDecode(body) { return message }
        do {
            // The body's own bytes, not a copy: the decoder reads them only during this call.
            return try body.withUnsafeBytes { bytes in
                let data = bytes.baseAddress.map {
                    Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: $0), count: bytes.count, deallocator: .none)
                } ?? Data()
                return try decoder.decode(Message.self, from: data)
            }
        } catch let error as DecodingError {
            throw UndecodableMessage("body is not a valid \(Message.self): \(describe(error))")
        }
    }

    /// Whether the media type (before any `;` parameters, blanks ignored, any case) is
    /// `application/json` or ends in `+json`. Compares bytes without building strings: it runs
    /// for every message.
    static func isJSON(_ contentType: String) -> Bool {
        // What nearly every JSON publisher sets, compared whole before the general rule.
        if contentType == "application/json" { return true }
        let utf8 = contentType.utf8
        // On the stack, not a heap array per message.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: utf8.count) { buffer in
            var count = 0
            for byte in utf8 {
                if byte == UInt8(ascii: ";") { break }
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { continue }
                // ASCII lowercase; other bytes (UTF-8 continuation or lead bytes) stay as they are.
                buffer[count] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
                count += 1
            }
            let mediaType = buffer[..<count]
            return mediaType.elementsEqual(applicationJSON)
                || (count >= plusJSON.count && mediaType.suffix(plusJSON.count).elementsEqual(plusJSON))
        }
    }

    private static let applicationJSON = Array("application/json".utf8)
    private static let plusJSON = Array("+json".utf8)
    /// One decoder for every message (it is thread-safe and holds no per-decode state), instead
    /// of one allocated per message.
    private static let decoder = JSONDecoder()

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            return (path.isEmpty ? "" : "at \(path): ") + context.debugDescription + underlying
        @unknown default:
            return "\(error)"
        }
    }
}

/// A body the handler cannot read. The message is dead-lettered with `reason`, and its handler
/// is not called.
public struct UndecodableMessage: Error, Sendable, CustomStringConvertible {
    /// Why the body cannot be read; recorded as the dead-letter reason.
    public var reason: String

    /// A body that cannot be read, for `reason`; throw it from a custom `decode` to dead-letter
    /// the message without calling the handler.
    public init(_ reason: String) {
        self.reason = reason
    }

    /// `reason`.
    public var description: String { reason }
}
