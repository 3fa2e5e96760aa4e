import Foundation
import Logging
import Testing
import Warren
@testable import WarrenAMQP
@testable import WarrenCLI

/// `DemoCommandReader` must never give what `JSONDecoder` would not: every body it reads decodes
/// to the same `DemoCommand` with `JSONDecoder`, and the demo handler's `decode` accepts and
/// refuses exactly the bodies (with the same reasons) that the plain `JSONMessageDecoding` does.
@Suite struct DemoCommandReaderTests {
    typealias DemoCommand = DemoHandler.DemoCommand

    /// What `bench/run.sh` drains: `{"pad":"xxx…"}`, 256 bytes.
    @Test func readsTheBenchmarkBody() {
        let body = Array((#"{"pad":""# + String(repeating: "x", count: 256 - 10) + #""}"#).utf8)
        #expect(body.count == 256)
        #expect(DemoCommandReader.read(body) == DemoCommand())
    }

    @Test(arguments: [
        (#"{}"#, DemoCommand()),
        (#" { "work_ms" : 200 , "fail" : "permanent" } "#, DemoCommand(work_ms: 200, fail: "permanent")),
        ("{\n\t\"cpu_ms\":-3,\r\n\"crash\":false}", DemoCommand(cpu_ms: -3, crash: false)),
        (#"{"fail_until_attempt":3,"record_to":"w","publish_to_exchange":"","x":[]}"#, nil),
        (#"{"fail_until_attempt":3,"record_to":"w","publish_to_exchange":"","x":null}"#,
         DemoCommand(fail_until_attempt: 3, publish_to_exchange: "", record_to: "w")),
        (#"{"work_ms":null,"crash":true,"pad":"a b"}"#, DemoCommand(crash: true)),
    ] as [(String, DemoCommand?)])
    func readsFlatObjects(body: String, expected: DemoCommand?) {
        #expect(DemoCommandReader.read(Array(body.utf8)) == expected)
    }

    /// Left to `JSONDecoder` (which accepts some and refuses others): the reader is not sure.
    @Test(arguments: [
        #"{"fail":"a\"b"}"#, #"{"fail":"é"}"#, #"{"pad":{}}"#, #"{"pad":[1]}"#, #"{"work_ms":1.0}"#, #"{"work_ms":1e2}"#,
        #"{"work_ms":-0}"#, #"{"work_ms":007}"#, #"{"work_ms":1234567890123456789}"#, #"{"work_ms":1,"work_ms":2}"#,
        #"{"pad":1,"pad":2}"#, #"{"fail":5}"#, #"{"crash":1}"#, #"{"work_ms":"5"}"#, "{\"fail\":\"a\tb\"}", #"[]"#, #""#,
        #"{"a":1}x"#, #"{"a":1,}"#, "\u{FEFF}{}", "{}\u{0B}", #"{"a":tru}"#, #"{"a" 1}"#,
    ])
    func leavesTheRestToJSONDecoder(body: String) {
        #expect(DemoCommandReader.read(Array(body.utf8)) == nil)
    }

    /// Thousands of generated bodies, near misses included: whatever the reader reads,
    /// `JSONDecoder` reads the same way, and the handler's decoding (reader first) gives the same
    /// value or the same refusal as `JSONMessageDecoding` alone.
    @Test func agreesWithJSONDecoder() async throws {
        var random = SplitMix64(seed: 17)
        var read = 0
        let total = 20_000
        for index in 0..<total {
            // Seconds of CPU in all: let the other suites' tasks run in between, or this one
            // holds a thread of the 2-thread cooperative pool for all of it, and tests with
            // real-time bounds (the heartbeat tests) starve.
            if index % 200 == 0 { await Task.yield() }
            let body = Self.body(&random)
            let fast = DemoCommandReader.read(body)
            if let fast {
                read += 1
                let slow = try? JSONDecoder().decode(DemoCommand.self, from: Data(body))
                #expect(slow == fast, "\(String(decoding: body, as: UTF8.self))")
            }
            let viaHandler = Self.outcome { try DemoHandler().decode(body, context: Self.context) }
            let plain = Self.outcome { try JSONMessageDecoding.decode(DemoCommand.self, from: body, properties: Self.context.properties) }
            #expect(viaHandler == plain, "\(String(decoding: body, as: UTF8.self))")
        }
        // Not vacuous: the reader takes a good share of them (and leaves many to the decoder).
        #expect(read > total / 5 && read < total * 4 / 5, "read \(read) of \(total)")
    }

    private static let context = MessageContext(
        queue: "q", properties: AMQPProperties(contentType: "application/json"), logger: Logger(label: "test"))

    private static func outcome(_ decode: () throws -> DemoCommand) -> String {
        do {
            return "read \(try decode())"
        } catch {
            return "refused \(error)"
        }
    }

    private static let keys = [
        "work_ms", "cpu_ms", "fail", "fail_until_attempt", "crash", "publish_to_exchange", "record_to", "pad", "x", "Work_ms",
        "work_ms ", "wörk", #"work\u005fms"#, "",
    ]
    private static let values = [
        "0", "-0", "7", "-12", "007", "1.5", "1e2", "2E1", "123456789012345678", "1234567890123456789", "99999999999999999999",
        "true", "false", "null", #""permanent""#, #""""#, #""a\"b""#, #""é""#, "\"tab\there\"", "{}", "[]", "[1]",
        #"{"a":1}"#, "tru", "nul", "-", "+1", #""x y~""#,
        // Longer than the eight bytes the reader skips at once, with what ends or refuses a
        // string at different places in such a word.
        #""abcdefghijklmnopqrstuvwx""#, #""abcdefgh\"ijklmnop""#, #""abcdefghijk\nlmnop""#, "\"abcdefghij\tklmnop\"",
        "\"abcdefghijklm\u{7F}nop\"", #""abcdefghijklmnoé""#, #""abcdefghijklmn"pqr""#,
        // Longer still: what ends or refuses a string in a later word than the first.
        #""abcdefghijklmnopqrstuvwxyz0123456789ABCD""#, #""abcdefghijklmnopqrstu\"vwxyz""#, #""abcdefghijklmnopqrs\nxyz""#,
        "\"abcdefghijklmnopqrstuvw\tz\"", "\"abcdefghijklmnopqrstuvwxyz0123\u{7F}xy\"", #""abcdefghijklmnopqrstuvwxyzé""#,
        #""abcdefghijklmnopqrstuvwxyz01234"pqr""#,
    ]
    private static let fitting: [String: [String]] = {
        let ints = ["0", "7", "-12", "123456789012345678", "null"]
        let strings = [#""permanent""#, #""""#, #""x y~""#, "null"]
        return [
            "work_ms": ints, "cpu_ms": ints, "fail_until_attempt": ints, "fail": strings, "publish_to_exchange": strings,
            "record_to": strings, "crash": ["true", "false", "null"],
        ]
    }()
    private static let blanks = ["", "", "", " ", "\n", "\t", "\r\n"]
    /// Not JSON blanks: now and then.
    private static let oddBlanks = ["\u{0B}", "\u{0C}", "\u{A0}"]

    /// A JSON-ish object of known and unknown keys, sometimes broken by a byte inserted,
    /// removed or cut off.
    private static func body(_ random: inout SplitMix64) -> [UInt8] {
        func pick(_ list: [String]) -> String { list[Int(random.next() % UInt64(list.count))] }
        func blank() -> String { random.next() % 64 == 0 ? pick(oddBlanks) : pick(blanks) }
        var text = blank() + "{"
        let members = Int(random.next() % 5)
        for member in 0..<members {
            if member > 0 { text += blank() + "," }
            let key = pick(keys)
            // Half the time a value of the field's type, so that many bodies are fully readable.
            let value = random.next() % 2 == 0 ? pick(fitting[key] ?? values) : pick(values)
            text += blank() + "\"" + key + "\"" + blank() + ":" + blank() + value
        }
        text += blank() + "}" + blank()
        var bytes = Array(text.utf8)
        switch random.next() % 8 {
        case 0 where !bytes.isEmpty: bytes.remove(at: Int(random.next() % UInt64(bytes.count)))
        case 1:
            let inserted = Array(#"{}[],:"\ 0-x"#.utf8)
            bytes.insert(inserted[Int(random.next() % UInt64(inserted.count))], at: Int(random.next() % UInt64(bytes.count + 1)))
        case 2 where !bytes.isEmpty: bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
        default: break
        }
        return bytes
    }
}
