@testable import WarrenAMQP

/// Generates YAML configuration files for `YAMLSettingsOracleTests`, reproducibly from a seed:
/// files built from the subset `YAMLSettings` reads (`wellFormed`), and the same with a few
/// random edits that often leave the subset, or YAML altogether.
struct YAMLFileGenerator {
    /// One generated file.
    struct File {
        let text: String
        /// Built only from what the subset reads: must be read.
        let wellFormed: Bool
    }

    private var state: SplitMix64

    init(seed: UInt64) { state = SplitMix64(seed: seed) }

    /// Plain keys, and quoted ones (some of which could not be plain).
    static let keys = ["queue", "prefetch", "amqp-url", "bind", "retry-delays", "a_b", "x.y", "Key1", "_k"]
    static let quotedKeys = [#""queue""#, "'amqp-url'", #""two words""#, "'1abc'", #""true""#]

    /// Values the subset reads, as written in a file.
    static let readValues = [
        "orders", "10", "-3", "0", "1.5", "-0.25", "1e3", "2.5E-2", "true", "False", "TRUE", "null", "~", "yes", "on",
        "10s", "1d", "250ms", "amqp://u@h:5672/v", "a:b", "a#b", "x - y", "0 3 * * *", "orders=order.*",
        "'it''s'", "''", #""""#, #""tab\there""#, #""\x41\u00e9\U0001F600""#, #""\\ \" \/""#, #""a # not a comment""#,
        "'a: b'", #""010""#, "S3cr3tZq", "a S3cr3tZq b", "'S3cr3tZq'", #""S3cr3tZq\n""#, "é ü", "-x", "?x", ":x",
    ]
    /// Values the subset refuses (most are valid YAML that parsers read differently, or not
    /// settings: nested, anchored, multi-line).
    static let refusedValues = [
        "010", "0x1F", "0o17", "0b101", "1_000", "+5", ".5", "1.", "1:30", "2026-12-06", ".inf", "-.Inf", ".NaN",
        "&a S3cr3tZq", "*a", "@every 5m", "!!str S3cr3tZq", "|", ">", "{a: S3cr3tZq}", "[a, [b]]", "a: b", "a:", "@S3cr3tZq", "`x",
        "%x", #""\q S3cr3tZq""#, #""S3cr3tZq"#, "'S3cr3tZq", "99999999999999999999", "=", "- a",
    ]
    /// What a random edit inserts.
    static let edits = [
        ":", "#", "-", " ", "\t", "'", "\"", "[", "]", "{", "}", ",", "&", "*", "!", "|", ">", "%", "@", "\n", "\n  ",
        "\\", "---\n", "...\n", "0", ".", "~", "\r\n",
    ]

    mutating func next() -> File {
        var lines: [String] = []
        var wellFormed = true
        if chance(5) { lines.append("# settings") }
        if chance(4) { lines.append(chance(2) ? "---" : "--- # start") }
        let indent = chance(8) ? "  " : ""
        var used = Set<String>()
        for _ in 0..<int(1...4) {
            var key = pick(Self.keys)
            if chance(10) { key = pick(Self.quotedKeys) }
            // A quoted key is the same key as the plain one: a file sets each once.
            guard used.insert(key.filter { $0 != "'" && $0 != "\"" }).inserted else { continue }
            let comment = chance(4) ? "   # note" : ""
            switch int(0...9) {
            case 0..<6:
                let (value, read) = value()
                wellFormed = wellFormed && read
                lines.append("\(indent)\(key): \(value)\(comment)")
            case 6..<8:
                var items: [String] = []
                for _ in 0..<int(0...3) {
                    let (value, read) = value()
                    // In a [ list, ?x and :x must be quoted.
                    wellFormed = wellFormed && read && !value.hasPrefix("?") && !value.hasPrefix(":")
                    items.append(value)
                }
                lines.append("\(indent)\(key): [\(items.joined(separator: ", "))\(chance(5) && !items.isEmpty ? "," : "")]\(comment)")
            default:
                lines.append("\(indent)\(key):\(comment)")
                let itemIndent = indent + (chance(2) ? "  " : "")
                for _ in 0..<int(1...3) {
                    let (value, read) = value()
                    wellFormed = wellFormed && read
                    lines.append("\(itemIndent)- \(value)")
                }
            }
            if chance(6) { lines.append("") }
        }
        if chance(6) { lines.append("...") }
        var text = lines.joined(separator: "\n") + (chance(8) ? "" : "\n")
        if chance(2) {
            wellFormed = false
            for _ in 0..<int(1...3) { text = edit(text) }
        }
        return File(text: text, wellFormed: wellFormed)
    }

    /// A value, and whether the subset reads it.
    private mutating func value() -> (String, Bool) {
        chance(4) ? (pick(Self.refusedValues), false) : (pick(Self.readValues), true)
    }

    private mutating func edit(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        let position = int(0...scalars.count)
        switch int(0...2) {
        case 0: scalars.insert(contentsOf: pick(Self.edits).unicodeScalars, at: position)
        case 1: if position < scalars.count { scalars.remove(at: position) }
        default:
            // Duplicates a line: a key set twice, or a second list item.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = lines[int(0...(lines.count - 1))]
            return text + line + "\n"
        }
        return String(String.UnicodeScalarView(scalars))
    }

    private mutating func random() -> UInt64 {
        state.next()
    }

    private mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(random() % UInt64(range.count))
    }

    private mutating func chance(_ oneIn: Int) -> Bool { int(0...(oneIn - 1)) == 0 }

    private mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
}
