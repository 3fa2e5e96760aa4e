/// The key of a `key: value` line in a YAML configuration file. Part of `YAMLSettings`.
enum YAMLKey {
    /// The key of `line` and where its value starts (after the `:`). A plain key is a setting's
    /// kind of name (letters, digits, `-`, `_`, `.`, not starting with a digit, `-` or `.`) and
    /// not one YAML reads as something else (`true`, `null`…); any other key must be quoted.
    static func read(_ line: YAMLSettings.Line) throws(YAMLSubsetError) -> (key: String, valueStart: Int) {
        let content = line.content
        switch content.first {
        case "\"", "'":
            // A quoted key is rare: read only the simple form, without escapes or '' inside.
            let quote = content[0]
            guard let close = content.dropFirst().firstIndex(of: quote), !content[1..<close].contains("\\"),
                  content.dropFirst(close + 1).first != "'"
            else {
                throw YAMLSubsetError(line: line.number, problem: "a quoted key must close on its line, without escapes or '' in it")
            }
            if content.dropFirst(close + 2).first == "\t" { throw YAMLInline.tabError(line: line.number) }
            guard content.dropFirst(close + 1).first == ":", YAMLInline.endsMappingKey(content.dropFirst(close + 2).first, inFlow: false) else {
                throw YAMLSubsetError(line: line.number, problem: "expected 'key: value'")
            }
            return (String(String.UnicodeScalarView(content[1..<close])), close + 2)
        case "?":
            throw YAMLSubsetError(line: line.number, problem: "complex keys (?) are not read")
        default:
            var end = 0
            while end < content.count, !(content[end] == ":" && YAMLInline.endsMappingKey(content.dropFirst(end + 1).first, inFlow: false)) {
                if content[end] == "\t" { throw YAMLInline.tabError(line: line.number) }
                end += 1
            }
            if content.dropFirst(end + 1).first == "\t" { throw YAMLInline.tabError(line: line.number) }
            guard end < content.count else {
                throw YAMLSubsetError(line: line.number, problem: "expected 'key: value' (a value on a line of its own is not read)")
            }
            var key = content[0..<end]
            while key.last == " " { key.removeLast() }
            let text = String(String.UnicodeScalarView(key))
            guard isPlainKey(text) else {
                throw YAMLSubsetError(
                    line: line.number,
                    problem: "a key must be a setting's name (letters, digits, '-', '_'): quote any other key")
            }
            return (text, end + 1)
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_.-]*`, but not a word YAML reads as null or a boolean.
    static func isPlainKey(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.first, first.isASCIILetter || first == "_" else { return false }
        let allowed = scalars.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "_" || $0 == "." || $0 == "-" }
        return allowed && !["null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"].contains(text)
    }
}

extension Unicode.Scalar {
    /// `A`–`Z` or `a`–`z`.
    fileprivate var isASCIILetter: Bool { (value | 0x20) >= 0x61 && (value | 0x20) <= 0x7A }
}
