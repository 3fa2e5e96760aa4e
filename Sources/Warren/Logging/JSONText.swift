import Logging

/// Minimal JSON text encoding for log lines, without Foundation. Package-wide: the `warren`
/// tools' JSON output escapes strings the same way.
///
/// The log lines are built as UTF-8 bytes, into a `JSONByteSink` (a `[UInt8]`, or a failed
/// message's `LineBuffer`): a failing queue writes a line per message, and appending to a
/// `String` piece by piece (a capacity and uniqueness check, a breadcrumb and ASCII-flag update
/// per append) was a third of a failed message's CPU. The `String` overloads, for the tools'
/// occasional output, encode the same bytes.
package enum JSONText {
    static func append<Sink: JSONByteSink & ~Copyable>(_ value: Logger.MetadataValue, to out: inout Sink) {
        switch value {
        case .string(let text):
            appendString(text, to: &out)
        case .stringConvertible(let convertible):
            appendString(convertible.description, to: &out)
        case .dictionary(let dictionary):
            out.append(UInt8(ascii: "{"))
            for (index, (key, value)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(value, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// The same as text (tests and the tools' output).
    static func append(_ value: Logger.MetadataValue, to out: inout String) {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends a quoted JSON string; control characters, quotes and backslashes are escaped, and
    /// so are DEL and U+2028/2029 (line separators to JavaScript and to some log viewers).
    /// Swift strings are valid Unicode, so invalid UTF-8 was already repaired on the way in.
    package static func appendString(_ text: String, to out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 2)
        appendString(text, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// The same, as UTF-8 bytes.
    package static func appendString<Sink: JSONByteSink & ~Copyable>(_ text: String, to out: inout Sink) {
        out.append(UInt8(ascii: "\""))
        var text = text
        // Native strings are contiguous UTF-8 already: no copy.
        text.withUTF8 { appendEscaped($0, to: &out) }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends valid UTF-8 `bytes` escaped for the inside of a JSON string. Runs needing no
    /// escape (most values: ids, event names, numbers, error types) are copied whole. Only
    /// ASCII bytes and the three bytes of U+2028/2029 (`E2 80 A8`/`A9`) are ever escaped: every
    /// other byte of a multi-byte sequence is 0x80 or above, so it cannot be taken for one.
    private static func appendEscaped<Sink: JSONByteSink & ~Copyable>(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout Sink) {
        var copiedUpTo = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let width: Int
            let escaped: UInt16
            switch byte {
            case 0x22, 0x5C, 0x00..<0x20, 0x7F:
                width = 1
                escaped = UInt16(byte)
            case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80
                && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                width = 3
                escaped = bytes[index + 2] == 0xA8 ? 0x2028 : 0x2029
            default:
                index += 1
                continue
            }
            if copiedUpTo < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copiedUpTo..<index])) }
            appendEscape(escaped, to: &out)
            index += width
            copiedUpTo = index
        }
        if copiedUpTo < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copiedUpTo...])) }
    }

    /// The escape of one scalar: `\"`, `\\`, `\n`, `\r`, `\t`, else `\u` and four lowercase hex
    /// digits.
    private static func appendEscape<Sink: JSONByteSink & ~Copyable>(_ scalar: UInt16, to out: inout Sink) {
        out.append(UInt8(ascii: "\\"))
        switch scalar {
        case 0x22: out.append(UInt8(ascii: "\""))
        case 0x5C: out.append(UInt8(ascii: "\\"))
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            out.append(UInt8(ascii: "u"))
            for shift in stride(from: 12, through: 0, by: -4) {
                let digit = UInt8(truncatingIfNeeded: scalar >> UInt16(shift)) & 0xF
                out.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            }
        }
    }

    /// Appends `text` as it is: a line's fixed parts, which need no escaping.
    static func appendRaw<Sink: JSONByteSink & ~Copyable>(_ text: StaticString, to out: inout Sink) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `text` unquoted and unescaped: for values known to need no escaping (a level's
    /// name, a number).
    static func appendRaw<Sink: JSONByteSink & ~Copyable>(_ text: String, to out: inout Sink) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }
}
