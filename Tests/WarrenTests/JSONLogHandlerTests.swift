import Logging
import Testing
@testable import Warren

@Suite struct JSONLogHandlerTests {
    @Test func escapesQuotesBackslashesAndControlCharacters() {
        var out = ""
        JSONText.appendString("a\"b\\c\nd\te\u{01}f\u{7F}", to: &out)
        #expect(out == #""a\"b\\c\nd\te\u0001f\u007f""#)
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
        let stamp = JSONLogHandler.timestamp()
        #expect(stamp.count == 24)
        #expect(stamp.hasSuffix("Z"))
        #expect(stamp.dropFirst(10).first == "T")
        #expect(stamp.dropFirst(19).first == ".")
    }
}
