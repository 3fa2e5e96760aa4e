import Warren
import WarrenAMQP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON text for `warren dlq` output, without Foundation's encoder (keys in a fixed order).
///
enum DlqJSON {
    /// A quoted JSON string, escaped exactly as Warren's log lines are.
    static func string(_ text: String) -> String {
        var out = ""
        JSONText.appendString(text, to: &out)
        return out
    }

    /// An object from key/value-text pairs, in the given order.
    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// A header value: tables and arrays (`x-death`) as JSON objects and arrays, keys sorted;
    /// AMQP timestamps as RFC 3339 strings; byte strings as text when they are UTF-8, else as
    /// `{"base64": "…"}`; decimals as JSON numbers; void as null.
    static func value(_ value: AMQPFieldValue) -> String {
        switch value {
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return number.isFinite ? String(number) : "null"
        case .string(let text): return string(text)
        case .bytes(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) { return string(text) }
            return object([("base64", string(base64(bytes)))])
        case .timestamp(let seconds): return string(UTCTimestamp.format(epochSeconds: seconds))
        case .decimal(let scale, let number): return scale == 0 ? String(number) : "\(number)e-\(scale)"
        case .table(let table): return self.table(table)
        case .array(let values): return "[" + values.map(self.value).joined(separator: ",") + "]"
        case .void: return "null"
        }
    }

    static func table(_ table: AMQPTable) -> String {
        object(table.sorted { $0.key < $1.key }.map { ($0.key, value($0.value)) })
    }

    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }
}
