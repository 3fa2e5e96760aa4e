import Testing
@testable import WarrenCLI

/// The YAML subset of configuration files, case by case: what each construct reads as, and the
/// line and reason of each refusal. `YAMLSettingsOracleTests` checks the readings against a
/// full YAML parser on generated files.
@Suite struct YAMLSettingsTests {
    static func parse(_ text: String) throws(YAMLSubsetError) -> [String: JSONValue] {
        try YAMLSettings.parse(Array(text.utf8))
    }

    @Test(arguments: [
        ("", [:]),
        ("# only a comment\n\n   \n", [:]),
        ("---\nqueue: a\n...\n", ["queue": .string("a")]),
        ("--- # start\nqueue: a # the queue\n", ["queue": .string("a")]),
        ("queue: a#b\n", ["queue": .string("a#b")]),
        ("queue: 'it''s'\n", ["queue": .string("it's")]),
        (#"queue: "tab\there \u00e9 \x41 \"q\" \\""# + "\n", ["queue": .string("tab\there é A \"q\" \\")]),
        ("prefetch: 10\nratio: 1.5\nneg: -3\nbig: 1e3\n", ["prefetch": .integer(10), "ratio": .number(1.5), "neg": .integer(-3), "big": .number(1000)]),
        ("a: true\nb: FALSE\nc: null\nd: ~\ne:\n", ["a": .boolean(true), "b": .boolean(false), "c": .null, "d": .null, "e": .null]),
        ("yes: yes\n", ["yes": .string("yes")]),
        ("l: [a, 'b', \"c\", ]\nm: []\n", ["l": .array([.string("a"), .string("b"), .string("c")]), "m": .array([])]),
        ("l:\n- a\n- b\n", ["l": .array([.string("a"), .string("b")])]),
        ("l:   # the list\n  - a # first\n  - 'b'\nnext: x\n", ["l": .array([.string("a"), .string("b")]), "next": .string("x")]),
        ("  queue: a\n  prefetch: 1\n", ["queue": .string("a"), "prefetch": .integer(1)]),
        (#"{"queue": "a", "prefetch": 2}"#, ["queue": .string("a"), "prefetch": .integer(2)]),
        ("url: amqps://u@h:5671/v\nkey: a:b\n", ["url": .string("amqps://u@h:5671/v"), "key": .string("a:b")]),
        ("\u{FEFF}queue: a\r\nprefetch: 1\r\n", ["queue": .string("a"), "prefetch": .integer(1)]),
        ("d: 10s\ne: 1d\nf: 0 3 * * *\n", ["d": .string("10s"), "e": .string("1d"), "f": .string("0 3 * * *")]),
        ("'queue': a\n\"prefetch\": '10'\n", ["queue": .string("a"), "prefetch": .string("10")]),
    ] as [(String, [String: JSONValue])])
    func reads(text: String, expected: [String: JSONValue]) throws {
        #expect(try Self.parse(text) == expected)
    }

    @Test(arguments: [
        ("tls:\n  ca: hunter2\n", 2, "nested mappings"),
        ("queue: hunter2\n  more\n", 2, "multi-line values"),
        ("  a: 1\nb: 2\n", 2, "indented less"),
        ("queue: |\n  hunter2\n", 1, "block scalars"),
        ("queue: &x hunter2\n", 1, "anchors"),
        ("queue: *x\n", 1, "aliases"),
        ("queue: !!str hunter2\n", 1, "tags"),
        ("queue: a\nqueue: hunter2\n", 2, "sets queue a second time"),
        ("\tqueue: hunter2\n", 1, "tab"),
        ("queue:\thunter2\n", 1, "tab"),
        ("queue: hunter2\t\n", 1, "tab"),
        ("%YAML 1.2\n---\nq: hunter2\n", 1, "directives"),
        ("q: a\n---\nq: hunter2\n", 2, "second document"),
        ("q: a\n...\nq: hunter2\n", 3, "end of the document"),
        ("--- q: hunter2\n", 1, "text after ---"),
        ("- hunter2\n", 1, "not a list"),
        ("q: 010\n", 1, "quote it"),
        ("q: 0x10\n", 1, "quote it"),
        ("q: 1_000\n", 1, "quote it"),
        ("q: +5\n", 1, "quote it"),
        ("q: .5\n", 1, "quote it"),
        ("q: 1:30\n", 1, "quote it"),
        ("q: 2026-12-06\n", 1, "quote it"),
        ("q: .inf\n", 1, "quote it"),
        ("q: 99999999999999999999\n", 1, "too large"),
        ("q: hunter2: b\n", 1, "nested mapping"),
        ("q: \"hunter2\n", 1, "close on its line"),
        ("q: [hunter2, b\n", 1, "close on its line"),
        ("q: [a, [hunter2]]\n", 1, "nested lists"),
        ("q: {a: hunter2}\n", 1, "mapping"),
        ("q: \"hunter2\" x\n", 1, "unexpected text"),
        ("q: @hunter2\n", 1, "must be quoted"),
        ("q: [?hunter2]\n", 1, "must be quoted"),
        ("q: =\n", 1, "must be quoted"),
        ("q:\n- a\n-\n", 3, "no value"),
        ("q: \"\\q hunter2\"\n", 1, "unknown escape"),
        ("{queue: hunter2}\n", 1, "JSON object"),
        ("q: hunter2\u{1}\n", 1, "U+1"),
        ("q: hunter2\u{2028}\n", 1, "U+2028"),
        ("1abc: hunter2\n", 1, "setting's name"),
        ("true: hunter2\n", 1, "setting's name"),
        ("? q\n: hunter2\n", 1, "complex keys"),
        ("q: x\n- hunter2\n", 2, "must follow a key"),
        ("hunter2\n", 1, "expected 'key: value'"),
        ("...\nq: hunter2\n", 1, "has not begun"),
    ])
    func refuses(text: String, line: Int, problem: String) {
        #expect {
            try Self.parse(text)
        } throws: { error in
            guard let error = error as? YAMLSubsetError else { return false }
            return error.line == line && error.problem.contains(problem) && !"\(error)".contains("hunter2")
        }
    }

    @Test func aFileThatIsNotUTF8IsRefusedAsAWhole() {
        #expect(throws: YAMLSubsetError(line: 0, problem: "is not UTF-8 text")) { try YAMLSettings.parse([0x71, 0x3A, 0x20, 0xFF]) }
    }
}
