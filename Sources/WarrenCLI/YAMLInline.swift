/// Reads what one line of a YAML configuration file holds after a key's `:` (or a list item's
/// `-`): a plain, single- or double-quoted scalar, or a one-line `[a, b]` list, then nothing but
/// an optional comment. Part of `YAMLSettings`; see there for the subset and why.
struct YAMLInline {
    private let scalars: [Unicode.Scalar]
    private var position: Int
    private let line: Int

    /// Reads `scalars` from `position`; errors name `line`.
    init(_ scalars: [Unicode.Scalar], from position: Int, line: Int) {
        self.scalars = scalars
        self.position = position
        self.line = line
    }

    /// Whether only blanks and perhaps a comment are left: the value is on the lines below.
    var isAtEnd: Bool {
        var index = position
        while index < scalars.count, Self.isBlank(scalars[index]) { index += 1 }
        return index == scalars.count || scalars[index] == "#"
    }

    /// The value, with nothing but a comment after it. `inList` refuses a nested `[…]` list.
    mutating func value(inList: Bool) throws(YAMLSubsetError) -> JSONValue {
        skipBlanks()
        let value: JSONValue
        switch peek() {
        case "\"": value = .string(try doubleQuoted())
        case "'": value = .string(try singleQuoted())
        case "[" where !inList: value = try flowList()
        default: value = try YAMLPlainScalar.resolve(try plain(inFlow: false), line: line)
        }
        try expectLineEnd()
        return value
    }

    // MARK: - Scalars

    /// A plain (unquoted) scalar, up to a comment or the end of the line, or in a `[…]` list up
    /// to its `,` or `]`. Refuses what YAML would read as something else.
    private mutating func plain(inFlow: Bool) throws(YAMLSubsetError) -> String {
        guard let first = peek() else { return "" }
        try refuseIndicator(first, next: peek(1), inFlow: inFlow)
        var text: [Unicode.Scalar] = []
        while let scalar = peek() {
            if scalar == "#", let last = text.last, Self.isBlank(last) { break }
            if scalar == "\t" { throw Self.tabError(line: line) }
            if inFlow, scalar == "," || scalar == "]" { break }
            if inFlow, scalar == "[" || scalar == "{" || scalar == "}" {
                throw error("a list item holds [, { or }: quote it (nested lists and mappings are not read)")
            }
            if scalar == ":", Self.endsMappingKey(peek(1), inFlow: inFlow) {
                throw error("a value holds ': ' or ends with ':', which YAML reads as a nested mapping: quote the value")
            }
            text.append(scalar)
            position += 1
        }
        while let last = text.last, Self.isBlank(last) { text.removeLast() }
        return String(String.UnicodeScalarView(text))
    }

    /// Refuses a plain scalar that starts with one of YAML's indicators, each of which means
    /// something else there (an anchor, a tag, a block scalar…) or is reserved.
    private func refuseIndicator(_ first: Unicode.Scalar, next: Unicode.Scalar?, inFlow: Bool) throws(YAMLSubsetError) {
        switch first {
        case "&", "*", "!":
            throw error("anchors (&), aliases (*) and tags (!) are not read: write the value itself, quoted if it starts with one of them")
        case "|", ">":
            throw error("block scalars (| and >) are not read: write the value on its line, quoted if needed")
        case "{":
            throw error("a {…} mapping is not a setting's value (settings are not nested): use one key per setting")
        case "[":
            throw error("nested lists are not read")
        case "?" where inFlow, ":" where inFlow:
            // In a [ list, `?x` is a mapping to ruamel.yaml: quote such items rather than guess.
            throw error("a list item starting with \(first) must be quoted")
        case "-", "?", ":":
            if Self.endsMappingKey(next, inFlow: inFlow) {
                throw error("a value cannot start with '\(first) ': quote it, or start a list of items on the line after its key")
            }
        case ",", "]", "}", "%", "@", "`":
            throw error("a value starting with \(first) must be quoted")
        default: break
        }
    }

    /// `"…"`, with YAML's escapes. Must close on its line.
    private mutating func doubleQuoted() throws(YAMLSubsetError) -> String {
        position += 1
        var text = String.UnicodeScalarView()
        while let scalar = peek() {
            position += 1
            switch scalar {
            case "\"": return String(text)
            case "\\": text.append(try escape())
            default: text.append(scalar)
            }
        }
        throw error("a quoted value must close on its line (multi-line values are not read)")
    }

    /// The scalar a `\` escape in a double-quoted scalar stands for (YAML 1.2, 5.7).
    private mutating func escape() throws(YAMLSubsetError) -> Unicode.Scalar {
        guard let code = peek() else {
            throw error("a quoted value must close on its line (a \\ at the end of a line continues it, which is not read)")
        }
        position += 1
        switch code {
        case "0": return "\u{0}"
        case "a": return "\u{7}"
        case "b": return "\u{8}"
        case "t", "\t": return "\t"
        case "n": return "\n"
        case "v": return "\u{B}"
        case "f": return "\u{C}"
        case "r": return "\r"
        case "e": return "\u{1B}"
        case " ", "\"", "/", "\\": return code
        case "N": return "\u{85}"
        case "_": return "\u{A0}"
        case "L": return "\u{2028}"
        case "P": return "\u{2029}"
        case "x": return try hexEscape(digits: 2)
        case "u": return try hexEscape(digits: 4)
        case "U": return try hexEscape(digits: 8)
        default: throw error("a quoted value holds an unknown escape \\\(code)")
        }
    }

    private mutating func hexEscape(digits: Int) throws(YAMLSubsetError) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let scalar = peek(), let digit = Self.hexDigit(scalar) else {
                throw error("a quoted value holds a \\x, \\u or \\U escape without its \(digits) hexadecimal digits")
            }
            value = value << 4 | digit
            position += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error("a quoted value's escape names no Unicode character")
        }
        return scalar
    }

    /// `'…'`, where `''` is one `'`. Must close on its line.
    private mutating func singleQuoted() throws(YAMLSubsetError) -> String {
        position += 1
        var text = String.UnicodeScalarView()
        while let scalar = peek() {
            position += 1
            guard scalar == "'" else {
                text.append(scalar)
                continue
            }
            guard peek() == "'" else { return String(text) }
            text.append("'")
            position += 1
        }
        throw error("a quoted value must close on its line (multi-line values are not read)")
    }

    /// `[a, "b", c]` on one line: scalars only, a trailing comma allowed (as YAML does).
    private mutating func flowList() throws(YAMLSubsetError) -> JSONValue {
        position += 1
        var items: [JSONValue] = []
        while true {
            skipBlanks()
            switch peek() {
            case nil, "#":
                throw error("a [ list must close on its line (multi-line lists are written as '- item' lines)")
            case "]":
                position += 1
                return .array(items)
            case ",":
                throw error("a [ list has an empty item")
            case "\"":
                items.append(.string(try doubleQuoted()))
            case "'":
                items.append(.string(try singleQuoted()))
            default:
                items.append(try YAMLPlainScalar.resolve(try plain(inFlow: true), line: line))
            }
            skipBlanks()
            switch peek() {
            case ",": position += 1
            case "]": continue
            case nil, "#": throw error("a [ list must close on its line (multi-line lists are written as '- item' lines)")
            default: throw error("a [ list's items must be separated by ','")
            }
        }
    }

    // MARK: - Lexing

    /// After a value: nothing, or blanks and a comment. A plain scalar has already stopped at
    /// its comment; after a closing quote or `]`, `#` starts a comment only after a blank.
    private mutating func expectLineEnd() throws(YAMLSubsetError) {
        skipBlanks()
        guard let next = peek() else { return }
        if next == "#", position > 0, Self.isBlank(scalars[position - 1]) { return }
        if next == "\t" { throw Self.tabError(line: line) }
        throw error("unexpected text after the value (after a closing quote or ], only a # comment may follow)")
    }

    private mutating func skipBlanks() {
        while let scalar = peek(), Self.isBlank(scalar) { position += 1 }
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private func error(_ problem: String) -> YAMLSubsetError {
        YAMLSubsetError(line: line, problem: problem)
    }

    /// Whether `next`, after a `:` (or a leading `-` or `?`), makes it an indicator rather than
    /// part of a plain scalar: YAML reads `a: b` as a mapping, `- a` as a list item.
    static func endsMappingKey(_ next: Unicode.Scalar?, inFlow: Bool) -> Bool {
        guard let next else { return true }
        return isBlank(next) || (inFlow && (next == "," || next == "]" || next == "[" || next == "{" || next == "}"))
    }

    /// A space: what separates tokens here. YAML also allows tabs in some of those places, but
    /// parsers disagree on which (ruamel.yaml refuses `key:<tab>value`), so a tab outside quotes
    /// and comments is refused (`tabError`).
    static func isBlank(_ scalar: Unicode.Scalar) -> Bool { scalar == " " }

    /// The error for a tab outside quotes and comments.
    static func tabError(line: Int) -> YAMLSubsetError {
        YAMLSubsetError(line: line, problem: "holds a tab outside quotes: YAML parsers disagree on tabs, use spaces")
    }

    private static func hexDigit(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": scalar.value - 48
        case "a"..."f": scalar.value - 87
        case "A"..."F": scalar.value - 55
        default: nil
        }
    }
}
