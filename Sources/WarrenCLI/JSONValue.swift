#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON document as plain values, decoded with `FoundationEssentials`' `JSONDecoder`: what
/// `warren` needs to read its configuration file without `JSONSerialization`, which would link
/// full Foundation and ICU into the executable (Docs/configuration.md: about 44 MB).
///
/// Numbers keep the kind they were written as: `10` is `.integer`, `1.5` is `.number`, and
/// `true` is `.boolean` only (the decoder does not read `1` as a boolean nor `true` as a number).
enum JSONValue: Decodable, Equatable, Sendable {
    case null
    case boolean(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Each `decode` fails fast on a value of another kind; the order makes `10` an integer
        // rather than a double.
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .boolean(flag)
        } else if let number = try? container.decode(Int.self) {
            self = .integer(number)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([JSONValue].self) {
            self = .array(items)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses `bytes` as one JSON document; throws the decoder's error (which may quote the
    /// text: callers holding secrets do not show it).
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}
