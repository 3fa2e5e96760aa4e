@testable import WarrenYAML

// Fuzz target for the YAML subset of configuration files (`YAMLSettings.parse`), on raw bytes:
// anything a file may hold, invalid UTF-8 included.
//
// Properties:
// - parsing never crashes and is deterministic; it fails only with a `YAMLSubsetError` whose
//   line is 0 (the file as a whole) or one of the file's lines;
// - what it reads survives a round trip: written back as YAML (quoted keys, double-quoted
//   strings with \u escapes, flow lists, numbers in Swift's shortest form) and read again, it
//   reads the same. (Agreement with a full YAML parser is YAMLSettingsOracleTests' job.)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let lineCount = bytes.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") || $1 == UInt8(ascii: "\r") ? 1 : 0) }
    let first: [String: JSONValue]
    do {
        first = try YAMLSettings.parse(bytes)
    } catch {
        check(error.line >= 0 && error.line <= lineCount, "error line \(error.line) outside 0...\(lineCount)")
        check((try? YAMLSettings.parse(bytes)) == nil, "parsing is not deterministic (failed, then read)")
        return 0
    }
    check((try? YAMLSettings.parse(bytes)) == first, "parsing is not deterministic")
    let written = emit(first)
    do {
        let again = try YAMLSettings.parse(Array(written.utf8))
        if written.hasPrefix("{") {
            // Through JSON, `5.0` comes back as the integer 5 (JSONValue's reading of JSON).
            check(again.mapValues(integral) == first.mapValues(integral), "round trip changed the reading:\n\(written)")
        } else {
            check(again == first, "round trip changed the reading:\n\(written)")
        }
    } catch {
        fatalError("round trip refused (\(error)):\n\(written)")
    }
    return 0
}

/// `settings` as YAML the subset reads back to the same values: `key: value` lines, or a JSON
/// document when a key cannot be a quoted YAML key (one read from a JSON document may hold
/// anything).
func emit(_ settings: [String: JSONValue]) -> String {
    let keys = settings.keys.sorted()
    let quotable = keys.allSatisfy { key in
        !key.contains("\\") && !(key.contains("'") && key.contains("\"")) && !key.unicodeScalars.contains(where: mustEscape)
    }
    guard quotable else {
        return "{" + keys.map { json(.string($0)) + ": " + json(settings[$0]!) }.joined(separator: ", ") + "}\n"
    }
    return keys.map { key in
        let quoted = key.contains("'") ? "\"\(key)\"" : "'\(key)'"
        return "\(quoted): \(emit(settings[key]!))\n"
    }.joined()
}

/// `value` as JSON text (what a JSON document holds).
func json(_ value: JSONValue) -> String {
    switch value {
    case .string(let text):
        return "\"" + text.unicodeScalars.map { scalar -> String in
            switch scalar {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            default:
                guard !mustEscape(scalar) else {
                    let hex = String(scalar.value, radix: 16)
                    return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
                return String(scalar)
            }
        }.joined() + "\""
    case .array(let items): return "[" + items.map(json).joined(separator: ", ") + "]"
    default: return emit(value)
    }
}

/// `value` with integral numbers as integers.
func integral(_ value: JSONValue) -> JSONValue {
    switch value {
    case .number(let number) where number == number.rounded() && abs(number) < 1e15: .integer(Int(number))
    case .array(let items): .array(items.map(integral))
    default: value
    }
}

/// What a file may not hold raw (control characters, and what YAML 1.1 takes for line breaks):
/// written as an escape.
func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || [0x2028, 0x2029, 0xFFFE, 0xFFFF].contains(scalar.value)
}

func emit(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .boolean(let flag): flag ? "true" : "false"
    case .integer(let number): "\(number)"
    case .number(let number): number == number.rounded() && abs(number) < 1e15 ? "\(Int(number)).0" : "\(number)"
    case .string(let text): "\"" + text.unicodeScalars.map(escape).joined() + "\""
    case .array(let items): "[" + items.map(emit).joined(separator: ", ") + "]"
    case .object: "{}"  // never read: settings are not nested
    }
}

private func escape(_ scalar: Unicode.Scalar) -> String {
    switch scalar {
    case "\"": return "\\\""
    case "\\": return "\\\\"
    default:
        guard scalar.value >= 0x20, scalar.value < 0x7F else {
            let hex = String(scalar.value, radix: 16)
            return "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
        }
        return String(scalar)
    }
}
