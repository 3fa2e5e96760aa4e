import Foundation
import Logging
import Testing
@testable import Warren

@Suite struct JSONLogHandlerTests {
    @Test func escapesQuotesBackslashesAndControlCharacters() {
        var out = ""
        JSONText.appendString("a\"b\\c\nd\te\u{01}f\u{7F}g\u{2028}h\u{2029}i\r\u{1B}", to: &out)
        #expect(out == #""a\"b\\c\nd\te\u0001f\u007fg\u2028h\u2029i\r\u001b""#)
    }

    /// Strings needing no escape are appended whole; each character that needs one, alone in
    /// an otherwise plain string, still takes the escaping path.
    @Test func plainStringsAppendedWholeAndEveryEscapeStillCaught() {
        let escaped: [(String, String)] = [
            ("\"", #"\""#), ("\\", #"\\"#), ("\n", #"\n"#), ("\r", #"\r"#), ("\t", #"\t"#), ("\u{01}", #"\u0001"#),
            ("\u{1F}", #"\u001f"#), ("\u{7F}", #"\u007f"#), ("\u{2028}", #"\u2028"#), ("\u{2029}", #"\u2029"#),
        ]
        for (raw, json) in escaped {
            var out = ""
            JSONText.appendString("id-42 \(raw) end", to: &out)
            #expect(out == "\"id-42 \(json) end\"", "\(raw.unicodeScalars.map(\.value))")
        }
        for plain in ["", "message.dead_lettered", "é 日本 € \u{2027} \u{1F600} ~"] {
            var out = ""
            JSONText.appendString(plain, to: &out)
            #expect(out == "\"\(plain)\"")
        }
    }

    @Test func invalidUTF8IsRepairedBeforeItReachesTheLine() {
        let text = String(decoding: [0x61, 0xFF, 0x62] as [UInt8], as: UTF8.self)
        var out = ""
        JSONText.appendString(text, to: &out)
        #expect(out == "\"a\u{FFFD}b\"")
    }

    @Test func nestedMetadataBecomesJSON() {
        var out = ""
        JSONText.append(.dictionary(["b": .array(["1", .stringConvertible(2)]), "a": "x"]), to: &out)
        #expect(out == #"{"a":"x","b":["1","2"]}"#)
    }

    @Test func timestampIsRFC3339UTCWithMilliseconds() {
        let stamp = UTCTimestamp.now()
        #expect(stamp.count == 24)
        #expect(stamp.hasSuffix("Z"))
        #expect(stamp.dropFirst(10).first == "T")
        #expect(stamp.dropFirst(19).first == ".")
    }

    @Test func aLineWithHostileTextIsOneValidJSONObject() throws {
        let capture = try LogOutputCapture()
        let logger = capture.logger(.json, label: "lab\"el\n")
        let hostile = "q\"uote \\ new\nline \r tab\t nul\u{0} esc\u{1B} del\u{7F} ls\u{2028} ps\u{2029} "
            + String(decoding: [0x61, 0xFF, 0x62] as [UInt8], as: UTF8.self)
        logger.info("\(hostile)", metadata: ["k\n\"": "\(hostile)", "nested": ["inner": ["\(hostile)", ["x": "y"]]]])
        let lines = capture.lines()
        try #require(lines.count == 1)
        let object = try #require(try parseJSONLines(lines[0]).first)
        #expect(object["msg"] as? String == hostile)
        #expect(object["logger"] as? String == "lab\"el\n")
        #expect(object["k\n\""] as? String == hostile)
        let inner = (object["nested"] as? [String: Any])?["inner"] as? [Any]
        #expect(inner?.first as? String == hostile)
        #expect((inner?.last as? [String: Any])?["x"] as? String == "y")
    }

    @Test func sourceLocationAtDebugAndTraceOnly() throws {
        let capture = try LogOutputCapture()
        let logger = capture.logger(.json, level: .trace)
        logger.trace("t"); let traceLine = #line
        logger.debug("d")
        logger.info("i")
        logger.warning("w")
        let objects = try parseJSONLines(capture.lines().joined(separator: "\n"))
        try #require(objects.count == 4)
        #expect(objects[0]["file"] as? String == "WarrenTests/JSONLogHandlerTests.swift")
        #expect(objects[0]["line"] as? Int == traceLine, "a JSON number")
        #expect(objects[0]["function"] as? String == "sourceLocationAtDebugAndTraceOnly()")
        #expect(objects[1]["file"] != nil && objects[1]["line"] != nil && objects[1]["function"] != nil)
        for object in objects[2...] {
            #expect(object["file"] == nil && object["line"] == nil && object["function"] == nil)
        }
    }

    @Test func metadataKeysThatCollideWithTheLinesOwnFieldsGetAMetaPrefix() throws {
        let capture = try LogOutputCapture()
        let logger = capture.logger(.json, level: .debug)
        logger.debug("message", metadata: [
            "msg": "from metadata", "meta.msg": "taken", "ts": "t", "level": "l", "logger": "g",
            "file": "f", "line": "n", "function": "fn", "other": "o",
        ])
        let line = try #require(capture.lines().first)
        for key in ["ts", "level", "logger", "msg", "file", "line", "function"] {
            #expect(line.components(separatedBy: "\"\(key)\":").count == 2, "one \(key) in \(line)")
        }
        let object = try #require(try parseJSONLines(line).first)
        #expect(object["msg"] as? String == "message")
        #expect(object["meta.msg"] as? String == "taken")
        #expect(object["meta.meta.msg"] as? String == "from metadata")
        #expect(object["meta.ts"] as? String == "t")
        #expect(object["meta.level"] as? String == "l")
        #expect(object["meta.logger"] as? String == "g")
        #expect(object["meta.file"] as? String == "f")
        #expect(object["meta.line"] as? String == "n")
        #expect(object["line"] is Int)
        #expect(object["meta.function"] as? String == "fn")
        #expect(object["other"] as? String == "o")
    }

    @Test func reservedKeysAreRenamedAtInfoToo() throws {
        let capture = try LogOutputCapture()
        capture.logger(.json).info("m", metadata: ["line": "7"])
        let object = try #require(try parseJSONLines(capture.lines().joined()).first)
        #expect(object["line"] == nil)
        #expect(object["meta.line"] as? String == "7")
    }

    @Test func metadataProviderSitsBetweenHandlerAndCallMetadata() throws {
        let capture = try LogOutputCapture()
        let provider = Logger.MetadataProvider {
            ["provided": "p", "shared": "provider", "both": "provider"]
        }
        var logger = capture.logger(.json, metadataProvider: provider)
        logger[metadataKey: "handler"] = "h"
        logger[metadataKey: "shared"] = "handler"
        logger.info("m", metadata: ["both": "call", "call": "c"])
        let object = try #require(try parseJSONLines(capture.lines().joined()).first)
        #expect(object["handler"] as? String == "h")
        #expect(object["provided"] as? String == "p")
        #expect(object["shared"] as? String == "provider", "provider beats handler metadata")
        #expect(object["both"] as? String == "call", "call metadata beats the provider")
        #expect(object["call"] as? String == "c")
    }

    @Test func aLoggedErrorBecomesTheErrorFieldUnlessMetadataHasOne() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "it \"broke\"" } }
        let capture = try LogOutputCapture()
        let logger = capture.logger(.json)
        logger.error("failed", error: Broken())
        logger.error("failed", error: Broken(), metadata: ["error": "explicit"])
        let objects = try parseJSONLines(capture.lines().joined(separator: "\n"))
        try #require(objects.count == 2)
        #expect(objects[0]["error"] as? String == "Broken: it \"broke\"")
        #expect(objects[1]["error"] as? String == "explicit")
    }

    @Test func concurrentLoggingKeepsEveryLineWholeAndCountsExactly() async throws {
        let capture = try LogOutputCapture(capacity: 64 << 20)
        let logger = capture.logger(.json)
        let repaired = String(decoding: [0x61, 0xFF, 0x62] as [UInt8], as: UTF8.self)
        let tasks = 16
        let perTask = 500
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        logger.info("line \"\(task)\"\n\(index)", metadata: [
                            "task": "\(task)", "index": "\(index)",
                            "text": "quote\" back\\slash new\nline ctl\u{1} esc\u{1B} \(repaired)",
                            "nested": ["a": ["b": "\u{2028}", "list": ["x\ty", "\(index)"]]],
                        ])
                    }
                }
            }
        }
        let lines = capture.lines()
        #expect(lines.count == tasks * perTask)
        let objects = try parseJSONLines(lines.joined(separator: "\n"))
        #expect(objects.count == tasks * perTask)
        var seen = Set<String>()
        for object in objects {
            #expect(object["text"] as? String == "quote\" back\\slash new\nline ctl\u{1} esc\u{1B} \(repaired)")
            seen.insert("\(object["task"] ?? "?")/\(object["index"] ?? "?")")
        }
        #expect(seen.count == tasks * perTask, "every (task, index) exactly once")
        #expect(capture.output.droppedLineCount == 0)
    }
}

extension LogOutputCapture {
    /// A logger writing `format` lines into this capture.
    func logger(
        _ format: LogFormat,
        label: String = "test",
        level: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) -> Logger {
        let output = output
        return Logger(label: label) {
            WarrenLogging.makeHandler(label: $0, format: format, level: level, metadataProvider: metadataProvider, output: output)
        }
    }
}
