/// Reads a YAML configuration file: the subset of YAML 1.2 that a file of settings needs, and a
/// clear error, by line, for anything else.
///
/// Read: one document (an optional `---` first line, an optional `...` last one), a mapping of
/// `key: value` lines at one indentation, each value a scalar (plain, `'single'` or `"double"`
/// quoted, on its line) or a list, written as `[a, b]` on the key's line or as `- item` lines
/// below it; `#` comments; a document that is JSON (`{…}`), as YAML allows. Refused, naming the
/// line: nested mappings, multi-line values, block scalars (`|`, `>`), anchors, aliases, tags,
/// directives, several documents, a key set twice, tabs as indentation, and plain values that
/// YAML parsers read differently (`010`, `0x10`, `1_000`, `.5`, `1:30`, dates; see
/// `YAMLPlainScalar`). What is read means what ruamel.yaml (a full YAML 1.2 parser) reads:
/// `YAMLSettingsOracleTests` checks that on generated files.
///
/// Why not a full YAML library: Yams, the parser swift-configuration's `YAML` trait uses, imports
/// full Foundation, which links Foundation and ICU into `warren` (about 44 MB on the static
/// binary, against issue 17's memory target); a settings file needs none of what this refuses.
/// Docs/configuration.md says more.
enum YAMLSettings {
    /// The file's top-level keys and their values (none for a file without content). Throws
    /// `YAMLSubsetError`, which never quotes the file's text.
    static func parse(_ bytes: [UInt8]) throws(YAMLSubsetError) -> [String: JSONValue] {
        let lines = try significantLines(bytes)
        guard let first = lines.first else { return [:] }
        if first.content.first == "{" {
            return try jsonDocument(lines)
        }
        if first.content.first == "[" || isListItem(first) {
            throw YAMLSubsetError(line: first.number, problem: "the file must be a mapping of settings (key: value lines), not a list")
        }
        return try blockMapping(lines)
    }

    /// A line that holds something: its number, indentation and the text after the indentation.
    struct Line {
        let number: Int
        let indent: Int
        let content: [Unicode.Scalar]
    }

    /// The document's lines that are neither blank nor comments, without its `---`/`...`
    /// markers; refuses what no line-by-line reading could mean the same (tabs as indentation,
    /// control characters, directives, several documents).
    static func significantLines(_ bytes: [UInt8]) throws(YAMLSubsetError) -> [Line] {
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw YAMLSubsetError(line: 0, problem: "is not UTF-8 text")
        }
        var scalars = Array(decoded.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var lines: [Line] = []
        var number = 0
        var started = false
        var ended = false
        for raw in splitLines(scalars) {
            number += 1
            if let bad = raw.first(where: isForbidden) {
                throw YAMLSubsetError(
                    line: number,
                    problem: "holds the character U+\(String(bad.value, radix: 16, uppercase: true)), a control character or a line "
                        + "break other than \\n, which YAML parsers refuse or read differently: write it as an escape in a \"quoted\" value")
            }
            let indent = raw.prefix { $0 == " " }.count
            let content = Array(raw.dropFirst(indent))
            // Even on a blank or comment line: ruamel.yaml refuses a tab there.
            if raw.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                throw YAMLSubsetError(line: number, problem: "is indented with a tab: YAML indents with spaces")
            }
            guard let head = content.first, head != "#" else { continue }
            if ended {
                throw YAMLSubsetError(line: number, problem: "follows the end of the document (...): a file holds one document")
            }
            let line = Line(number: number, indent: indent, content: content)
            if try isMarker(line, "-") {
                guard !started, lines.isEmpty else {
                    throw YAMLSubsetError(line: number, problem: "starts a second document (---): a file holds one document")
                }
                started = true
                continue
            }
            if try isMarker(line, ".") {
                guard started || !lines.isEmpty else {
                    throw YAMLSubsetError(line: number, problem: "ends a document (...) that has not begun: remove the line")
                }
                ended = true
                continue
            }
            if indent == 0, head == "%" {
                throw YAMLSubsetError(line: number, problem: "directives (%YAML, %TAG) are not read: remove the line")
            }
            lines.append(line)
        }
        return lines
    }

    /// A mapping of `key: value` lines, all at the first one's indentation.
    private static func blockMapping(_ lines: [Line]) throws(YAMLSubsetError) -> [String: JSONValue] {
        let indent = lines[0].indent
        var settings: [String: JSONValue] = [:]
        var index = 0
        while index < lines.count {
            let line = lines[index]
            guard line.indent == indent else {
                throw YAMLSubsetError(
                    line: line.number,
                    problem: line.indent > indent
                        ? "is indented under the line above: nested mappings and multi-line values are not read (keep each value on its key's line)"
                        : "is indented less than the first key: every key starts in the same column")
            }
            if isListItem(line) {
                throw YAMLSubsetError(line: line.number, problem: "a list item (- …) must follow a key with nothing after its ':'")
            }
            let (key, valueStart) = try YAMLKey.read(line)
            guard settings[key] == nil else {
                throw YAMLSubsetError(line: line.number, problem: "sets \(key) a second time")
            }
            var inline = YAMLInline(line.content, from: valueStart, line: line.number)
            index += 1
            if !inline.isAtEnd {
                settings[key] = try inline.value(inList: false)
            } else if index < lines.count, isListItem(lines[index]), lines[index].indent >= indent {
                settings[key] = try blockList(lines, from: &index)
            } else {
                settings[key] = .null
            }
        }
        return settings
    }

    /// `- item` lines at one indentation, from `index` (moved past them); items are scalars.
    private static func blockList(_ lines: [Line], from index: inout Int) throws(YAMLSubsetError) -> JSONValue {
        let indent = lines[index].indent
        var items: [JSONValue] = []
        while index < lines.count, lines[index].indent == indent, isListItem(lines[index]) {
            let line = lines[index]
            var inline = YAMLInline(line.content, from: 1, line: line.number)
            guard !inline.isAtEnd else {
                throw YAMLSubsetError(line: line.number, problem: "a list item has no value: write it on the '-' line")
            }
            items.append(try inline.value(inList: true))
            index += 1
        }
        return .array(items)
    }

    /// A document that starts with `{`: read only when it is JSON (which YAML 1.2 includes), the
    /// way a `.json` file is, so `warren.json` may be renamed `warren.yaml`.
    private static func jsonDocument(_ lines: [Line]) throws(YAMLSubsetError) -> [String: JSONValue] {
        var bytes: [UInt8] = []
        for line in lines {
            bytes += Array(String(repeating: " ", count: line.indent).utf8)
            bytes += Array(String(String.UnicodeScalarView(line.content)).utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        // The parser's own error is not shown: it may quote the text, which may hold a secret.
        guard case .object(let settings)? = try? JSONValue.parse(bytes) else {
            throw YAMLSubsetError(
                line: lines[0].number,
                problem: "a document that starts with { is read only when it is a JSON object (comments and unquoted keys are not read there)")
        }
        return settings
    }

    /// `- item`, or a lone `-`.
    static func isListItem(_ line: Line) -> Bool {
        line.content.first == "-" && (line.content.count == 1 || YAMLInline.isBlank(line.content[1]))
    }

    /// `---` or `...` alone, or followed by a comment. Text after it on the line (YAML allows
    /// `--- value`) is refused: nothing in a file of settings needs it.
    private static func isMarker(_ line: Line, _ mark: Unicode.Scalar) throws(YAMLSubsetError) -> Bool {
        let content = line.content
        guard line.indent == 0, content.count >= 3, content[0] == mark, content[1] == mark, content[2] == mark else { return false }
        guard content.count > 3 else { return true }
        guard YAMLInline.isBlank(content[3]) else { return false }
        guard let next = content.dropFirst(3).first(where: { !YAMLInline.isBlank($0) }), next != "#" else { return true }
        throw YAMLSubsetError(line: line.number, problem: "has text after \(String(repeating: String(mark), count: 3)): start the settings on the next line")
    }

    /// YAML's lines: `\n`, `\r\n` or a lone `\r` end one.
    private static func splitLines(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var lines: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        var index = 0
        while index < scalars.count {
            switch scalars[index] {
            case "\n":
                lines.append(scalars[start..<index])
                start = index + 1
            case "\r":
                lines.append(scalars[start..<index])
                if index + 1 < scalars.count, scalars[index + 1] == "\n" { index += 1 }
                start = index + 1
            default: break
            }
            index += 1
        }
        if start < scalars.count { lines.append(scalars[start...]) }
        return lines
    }

    /// What YAML 1.2 does not allow in a stream (5.1): C0 controls but tab (`\r` and `\n` are
    /// split off before), DEL, C1 controls, the non-characters U+FFFE and U+FFFF; and NEL,
    /// U+2028 and U+2029, which YAML 1.1 parsers (ruamel.yaml among them) take for line breaks.
    private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09: false
        case 0x00...0x1F, 0x7F, 0x80...0x9F, 0x2028, 0x2029, 0xFFFE, 0xFFFF: true
        default: false
        }
    }
}
