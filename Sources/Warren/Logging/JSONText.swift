import Logging

/// Minimal JSON text encoding for log lines, without Foundation. Package-wide: the `warren`
/// tools' JSON output escapes strings the same way.
package enum JSONText {
    static func append(_ value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .string(let text):
            appendString(text, to: &out)
        case .stringConvertible(let convertible):
            appendString(convertible.description, to: &out)
        case .dictionary(let dictionary):
            out += "{"
            for (index, (key, value)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                append(value, to: &out)
            }
            out += "}"
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                append(value, to: &out)
            }
            out += "]"
        }
    }

    /// Appends a quoted JSON string; control characters, quotes and backslashes are escaped, and
    /// so are DEL and U+2028/2029 (line separators to JavaScript and to some log viewers).
    /// Swift strings are valid Unicode, so invalid UTF-8 was already repaired on the way in.
    package static func appendString(_ text: String, to out: inout String) {
        out += "\""
        // Most values (ids, event names, numbers, error types) need no escaping: appended whole,
        // which is several times cheaper than scalar by scalar. 0xE2 leads U+2028/2029 (and
        // other scalars, which merely take the slow path).
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 != 0x7F && $0 != 0xE2 }) {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
