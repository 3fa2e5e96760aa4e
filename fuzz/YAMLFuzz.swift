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
        check(again == first, "round trip changed the reading:\n\(written)")
    } catch {
        fatalError("round trip refused (\(error)):\n\(written)")
    }
    return 0
}

/// `settings` as YAML the subset reads back to the same values.
func emit(_ settings: [String: JSONValue]) -> String {
    settings.keys.sorted().map { key in
        // A read key holds no `\` and not both kinds of quote (quoted keys have neither escapes nor '').
        let quoted = key.contains("'") ? "\"\(key)\"" : "'\(key)'"
        return "\(quoted): \(emit(settings[key]!))\n"
    }.joined()
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
