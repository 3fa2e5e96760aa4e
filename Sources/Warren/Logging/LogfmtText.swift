import Logging

/// Text encoding for ``TextLogHandler``'s `key=value` lines (logfmt-like).
enum LogfmtText {
    /// Appends `text` with every character that could break the line or drive a terminal
    /// escaped: `\n`, `\r`, `\t`, and `\u001b`-style for other C0 controls, DEL, C1 controls and
    /// U+2028/2029. Everything else, backslashes included, is kept as is.
    static func appendEscaped(_ text: String, to out: inout String) {
        for scalar in text.unicodeScalars {
            if let escape = escape(scalar) { out += escape } else { out.unicodeScalars.append(scalar) }
        }
    }

    /// Appends a value bare when it is non-empty and has no space, quote, `=`, backslash or
    /// character that needs escaping; otherwise in double quotes, with `\"`, `\\` and the
    /// ``appendEscaped(_:to:)`` escapes, so a reader can always tell where it ends.
    static func appendValue(_ text: String, to out: inout String) {
        let bare = !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar != " " && scalar != "\"" && scalar != "=" && scalar != "\\" && escape(scalar) == nil
        }
        guard !bare else {
            out += text
            return
        }
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if let escape = escape(scalar) { out += escape } else { out.unicodeScalars.append(scalar) }
            }
        }
        out += "\""
    }

    /// Appends ` key=value` for one metadata field. Dictionaries are flattened into dotted keys
    /// (`ctx.id=7 ctx.kind=x`), which reads better on a terminal than nested braces; arrays are
    /// shown as `[a, b]` (quoted, since they contain a space).
    static func appendField(key: String, value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .dictionary(let dictionary) where !dictionary.isEmpty:
            for (subkey, subvalue) in dictionary.sorted(by: { $0.key < $1.key }) {
                appendField(key: key + "." + subkey, value: subvalue, to: &out)
            }
        case .dictionary:
            out += " "
            appendValue(key, to: &out)
            out += "={}"
        case .string, .stringConvertible, .array:
            out += " "
            appendValue(key, to: &out)
            out += "="
            appendValue(plainText(value), to: &out)
        }
    }

    /// A value as a reader would write it: strings without quotes, lists as `[a, b]`,
    /// dictionaries (inside lists) as `[key: value]`.
    private static func plainText(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): "[" + values.map(plainText).joined(separator: ", ") + "]"
        case .dictionary(let dictionary):
            "[" + dictionary.sorted { $0.key < $1.key }.map { "\($0.key): \(plainText($0.value))" }
                .joined(separator: ", ") + "]"
        }
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String? {
        switch scalar.value {
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x00..<0x20, 0x7F...0x9F, 0x2028...0x2029:
            let hex = String(scalar.value, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default:
            return nil
        }
    }
}
