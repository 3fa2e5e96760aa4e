/// What an unquoted YAML value means: YAML 1.2's core schema (`null`, `true`, `10`, `1.5`, else
/// text), with every spelling that YAML parsers disagree on refused rather than guessed.
///
/// `010` is 10 in YAML 1.2 and 8 in YAML 1.1 (PyYAML, Go's yaml.v2); `1_000`, `0x10`, `+5`, `.5`,
/// `1:30` (sexagesimal) and `2026-12-06` (a date) are numbers or dates to some parsers and text
/// to others. A configuration file must mean one thing to every tool that reads it, so these
/// must be quoted (`"010"`) or written as a plain decimal (`10`, `1.5`).
enum YAMLPlainScalar {
    /// The value `text` (an unquoted scalar, already trimmed) stands for; throws for a spelling
    /// that parsers read differently, naming `line`.
    static func resolve(_ text: String, line: Int) throws(YAMLSubsetError) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .boolean(true)
        case "false", "False", "FALSE": return .boolean(false)
        case "=":
            // YAML 1.1's "value" key, which ruamel.yaml still refuses to read as text.
            throw YAMLSubsetError(line: line, problem: "a value of = alone must be quoted")
        default: break
        }
        let bytes = Array(text.utf8)
        if isDecimalInteger(bytes) {
            guard let number = Int(text) else {
                throw YAMLSubsetError(line: line, problem: "a number is too large for a setting: quote it if it is text")
            }
            return .integer(number)
        }
        if isDecimalFloat(bytes) {
            guard let number = Double(text), number.isFinite else {
                throw YAMLSubsetError(line: line, problem: "a number is too large for a setting: quote it if it is text")
            }
            return .number(number)
        }
        if looksLikeNumberOrDate(bytes) {
            throw YAMLSubsetError(
                line: line,
                problem: "a value looks like a number or a date that YAML parsers read differently (a leading 0 or +, _, "
                    + "0x/0o/0b, .5, 1:30, .inf, 2026-12-06): write a plain decimal like 10 or 1.5, or quote it")
        }
        return .string(text)
    }

    /// `-?(0|[1-9][0-9]*)`.
    static func isDecimalInteger(_ bytes: [UInt8]) -> Bool {
        var index = bytes.first == UInt8(ascii: "-") ? 1 : 0
        return scanUnsignedDecimal(bytes, &index) && index == bytes.count
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?` with a fraction, an exponent or both.
    static func isDecimalFloat(_ bytes: [UInt8]) -> Bool {
        var index = bytes.first == UInt8(ascii: "-") ? 1 : 0
        guard scanUnsignedDecimal(bytes, &index) else { return false }
        var hasFractionOrExponent = false
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard scanDigits(bytes, &index) > 0 else { return false }
            hasFractionOrExponent = true
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") { index += 1 }
            guard scanDigits(bytes, &index) > 0 else { return false }
            hasFractionOrExponent = true
        }
        return hasFractionOrExponent && index == bytes.count
    }

    /// Whether some YAML parser would read `bytes` as a number, a date or a special float: a
    /// sign, digits, `_`, `.`, `:`, exponents, `0x`/`0o`/`0b` prefixes, `.inf`/`.nan`, or a
    /// leading `YYYY-`. Broad on purpose: refusing a rare text value costs a pair of quotes.
    static func looksLikeNumberOrDate(_ bytes: [UInt8]) -> Bool {
        if bytes.count >= 5, bytes[0..<4].allSatisfy(isDigit), bytes[4] == UInt8(ascii: "-") { return true }
        var rest = bytes[...]
        if let sign = rest.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { rest = rest.dropFirst() }
        let lowered = rest.map { $0 | 0x20 }
        if lowered == Array(".inf".utf8) || lowered == Array(".nan".utf8) { return true }
        guard let first = rest.first else { return false }
        let startsNumeric = isDigit(first) || (first == UInt8(ascii: ".") && rest.dropFirst().first.map(isDigit) == true)
        guard startsNumeric else { return false }
        if rest.count > 2, first == UInt8(ascii: "0"), [UInt8(ascii: "x"), UInt8(ascii: "o"), UInt8(ascii: "b")].contains(lowered[1]) {
            return rest.dropFirst(2).allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: "_") }
        }
        return rest.allSatisfy { byte in
            isDigit(byte) || [UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "e"), UInt8(ascii: "E"),
                              UInt8(ascii: "+"), UInt8(ascii: "-")].contains(byte)
        }
    }

    /// `0|[1-9][0-9]*` from `index`, which it moves past the digits.
    private static func scanUnsignedDecimal(_ bytes: [UInt8], _ index: inout Int) -> Bool {
        let start = index
        let count = scanDigits(bytes, &index)
        return count == 1 || (count > 1 && bytes[start] != UInt8(ascii: "0"))
    }

    private static func scanDigits(_ bytes: [UInt8], _ index: inout Int) -> Int {
        let start = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        return index - start
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }
}
