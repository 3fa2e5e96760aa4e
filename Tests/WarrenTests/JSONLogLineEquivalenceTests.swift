import Logging
import Testing
@testable import Warren

/// The JSON line builder writes bytes; these tests hold it to the `String` builder it replaced
/// (kept below as `Reference`), byte for byte, on text chosen to hit every escape and the
/// boundaries between escaped and copied runs.
@Suite struct JSONLogLineEquivalenceTests {
    /// Scalars that each take a different path: escaped ASCII, plain ASCII, the line separators
    /// and their neighbours (same lead byte 0xE2, not escaped), other multi-byte UTF-8.
    private static let alphabet: [Unicode.Scalar] = [
        "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{8}", "\u{C}", "\u{1B}", "\u{1F}", " ", "a", "/", "~", "\u{7F}",
        "\u{80}", "\u{9F}", "é", "\u{2027}", "\u{2028}", "\u{2029}", "\u{202A}", "\u{20AC}", "\u{E280}", "日", "\u{FFFD}", "\u{1F600}",
    ]

    private static var trickyStrings: [String] {
        var strings = ["", "plain", "message.dead_lettered", "\u{2028}", "\u{2029}\u{2028}", "\"\"", "\\\\", "end\\", "\"start"]
        strings += alphabet.map { String($0) }
        // Every pair, so each escape sits next to each kind of byte (and at both ends).
        for first in alphabet {
            for second in alphabet { strings.append(String(first) + String(second)) }
        }
        // Longer mixes, deterministic (a fixed linear congruential sequence).
        var state: UInt64 = 42
        for length in 3..<60 {
            var text = String.UnicodeScalarView()
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            strings.append(String(text))
        }
        return strings
    }

    @Test func stringsAreEscapedExactlyAsBefore() {
        for text in Self.trickyStrings {
            var bytes: [UInt8] = []
            JSONText.appendString(text, to: &bytes)
            var expected = ""
            Reference.appendString(text, to: &expected)
            #expect(bytes == Array(expected.utf8), "\(text.unicodeScalars.map(\.value))")
        }
    }

    @Test func metadataValuesAreWrittenExactlyAsBefore() {
        let strings = Self.trickyStrings
        let values: [Logger.MetadataValue] = [
            .string(strings[40]), .stringConvertible(-42), .stringConvertible(true), .array([]), .dictionary([:]),
            .array([.string(""), .string("\u{2028}x"), .stringConvertible(3.5)]),
            .dictionary([strings[50]: .string(strings[70]), "b": .array([.dictionary(["\"k": .string("\\v\n")])]), "a": "x"]),
        ]
        for value in values {
            var bytes: [UInt8] = []
            JSONText.append(value, to: &bytes)
            var expected = ""
            Reference.append(value, to: &expected)
            #expect(bytes == Array(expected.utf8), "\(value)")
        }
    }

    /// Whole lines, at a level with and without the source location, with hostile label,
    /// message, keys and values, reserved keys and an error: the same bytes as the old builder.
    @Test(arguments: [Logger.Level.trace, .info, .warning])
    func linesAreWrittenExactlyAsBefore(level: Logger.Level) throws {
        let strings = Self.trickyStrings
        for (index, text) in strings.enumerated() where index % 7 == 0 {
            let handler = JSONLogHandler(label: "lab\"el\u{2028}" + text, level: .trace, metadataProvider: nil, output: .standardOutput)
            var withMetadata = handler
            withMetadata.metadata = ["worker": .string(text), "msg": "reserved"]
            for (handler, error) in [(handler, nil), (withMetadata, Broken(text: text) as (any Error)?)] {
                let event = LogEvent(
                    level: level, message: "failed: \(text)", error: error,
                    metadata: [text: .string(text), "event": "message.dead_lettered", "n": .stringConvertible(index)],
                    source: nil, file: "Warren/\(text).swift", function: "f(\(text))", line: UInt(index))
                let line = handler.line(for: event)
                // The timestamp is the one part that differs between two builds of a line.
                let timestamp = String(decoding: line[7..<31], as: UTF8.self)
                let expected = Reference.line(for: event, label: handler.label, metadata: handler.metadata, timestamp: timestamp)
                #expect(line == Array(expected.utf8), "\(String(decoding: line, as: UTF8.self))")
            }
        }
    }

    private struct Broken: Error, CustomStringConvertible {
        var text: String
        var description: String { "broke: \(text)" }
    }

    /// The `String` builder as it was before the byte builder replaced it.
    private enum Reference {
        static func line(for event: LogEvent, label: String, metadata: Logger.Metadata, timestamp: String) -> String {
            var line = "{\"ts\":\"" + timestamp + "\",\"level\":\"" + event.level.rawValue + "\",\"logger\":"
            appendString(label, to: &line)
            line += ",\"msg\":"
            appendString(event.message.description, to: &line)
            if LogFields.showsSourceLocation(event.level) {
                line += ",\"file\":"
                appendString(event.file, to: &line)
                line += ",\"line\":\(event.line),\"function\":"
                appendString(event.function, to: &line)
            }
            for (key, value) in LogFields.merge(handler: metadata, provider: nil, event: event) {
                line += ","
                appendString(key, to: &line)
                line += ":"
                append(value, to: &line)
            }
            return line + "}\n"
        }

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

        static func appendString(_ text: String, to out: inout String) {
            out += "\""
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
}
