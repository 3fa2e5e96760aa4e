import Logging
import Testing
@testable import Warren

@Suite struct TextLogHandlerTests {
    @Test func aLineIsTimestampLevelLabelMessageThenSortedMetadata() throws {
        let capture = try LogOutputCapture()
        capture.logger(.text, label: "warren").info("consuming", metadata: ["queue": "orders", "prefetch": "50"])
        let line = try #require(capture.lines().first)
        #expect(line.count > 24)
        #expect(line.prefix(24).hasSuffix("Z"))
        #expect(line.dropFirst(24) == "  info warren: consuming prefetch=50 queue=orders")
    }

    @Test func levelsAreRightAlignedToFiveColumns() throws {
        let capture = try LogOutputCapture()
        let logger = capture.logger(.text, label: "w", level: .trace)
        logger.trace("a")
        logger.warning("b")
        logger.critical("c")
        let heads = capture.lines().map { String($0.dropFirst(24).prefix(while: { $0 != ":" })) }
        #expect(heads == [" trace w", " warning w", " critical w"])
    }

    @Test func everyEventIsExactlyOneLineWhateverItContains() throws {
        let capture = try LogOutputCapture()
        let logger = capture.logger(.text, label: "la\nbel")
        logger.info("two\nlines\r and \u{1B}[31mred\u{7F} \u{2028}", metadata: ["k\ney": "v\nw", "c1": "\u{85}"])
        let lines = capture.lines()
        try #require(lines.count == 1)
        #expect(lines[0].dropFirst(24)
            == #"  info la\nbel: two\nlines\r and \u001b[31mred\u007f \u2028 c1="\u0085" "k\ney"="v\nw""#)
    }

    @Test func valuesAreQuotedOnlyWhenTheyNeedIt() {
        func rendered(_ text: String) -> String {
            var out = ""
            LogfmtText.appendValue(text, to: &out)
            return out
        }
        #expect(rendered("orders") == "orders")
        #expect(rendered("a.b/c:d-1") == "a.b/c:d-1")
        #expect(rendered("two words") == #""two words""#)
        #expect(rendered(#"say "hi""#) == #""say \"hi\"""#)
        #expect(rendered("a=b") == #""a=b""#)
        #expect(rendered(#"C:\dir"#) == #""C:\\dir""#)
        #expect(rendered("") == #""""#)
        #expect(rendered("tab\there") == #""tab\there""#)
    }

    @Test func nestedMetadataIsFlattenedAndArraysListed() throws {
        let capture = try LogOutputCapture()
        capture.logger(.text).info("m", metadata: [
            "ctx": ["id": "7", "inner": ["kind": "x y"]],
            "empty": [:],
            "list": ["a", "b"],
        ])
        let line = try #require(capture.lines().first)
        #expect(line.hasSuffix(#" m ctx.id=7 ctx.inner.kind="x y" empty={} list="[a, b]""#), "\(line)")
    }

    @Test func debugLinesEndWithTheSourceLocationAndReservedKeysAreRenamed() throws {
        let capture = try LogOutputCapture()
        let logger = capture.logger(.text, level: .debug)
        logger.debug("d", metadata: ["line": "mine"]); let debugLine = #line
        logger.info("i")
        let lines = capture.lines()
        try #require(lines.count == 2)
        #expect(lines[0].hasSuffix(
            " d meta.line=mine file=WarrenTests/TextLogHandlerTests.swift line=\(debugLine)"
                + " function=debugLinesEndWithTheSourceLocationAndReservedKeysAreRenamed()"), "\(lines[0])")
        #expect(lines[1].hasSuffix("info test: i"))
    }

    @Test func aLoggedErrorAndTheProviderShowUpAsFields() throws {
        struct Broken: Error {}
        let capture = try LogOutputCapture()
        let logger = capture.logger(.text, metadataProvider: .init { ["trace_id": "abc"] })
        logger.error("failed", error: Broken())
        let line = try #require(capture.lines().first)
        #expect(line.hasSuffix(#"error test: failed error="Broken: Broken()" trace_id=abc"#), "\(line)")
    }
}
