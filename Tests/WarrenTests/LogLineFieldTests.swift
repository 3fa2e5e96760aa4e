import Testing
@testable import Warren

@Suite struct LogLineFieldTests {
    private func keys(_ fields: [LogLineField]) -> [String] { fields.map { String(describing: $0.key) } }

    /// Merged in `String`'s order for ASCII keys (the general path's), a prefix before its
    /// extensions; a key in both keeps the line's value, once.
    @Test func mergedByKeyTheLinesFieldWinning() {
        let base = [
            LogLineField("Z", "upper"), LogLineField("attempt", "1"), LogLineField("delivery_tag", "7"), LogLineField("queue", "q"),
            LogLineField("zz", "last"),
        ]
        let line = [
            LogLineField("a_b", "_"), LogLineField("attempts", "2"), LogLineField("event", "e"), LogLineField("queue", "line's"),
        ]
        let merged = LogLineField.merge(base, line)
        #expect(keys(merged) == ["Z", "a_b", "attempt", "attempts", "delivery_tag", "event", "queue", "zz"])
        #expect(keys(merged) == keys(merged).sorted())
        #expect(merged.first { String(describing: $0.key) == "queue" }?.value == "line's")
        #expect(keys(LogLineField.merge(base, [])) == keys(base))
        #expect(keys(LogLineField.merge([], line)) == keys(line))
    }

    @Test func keysCompareByTheirBytes() {
        #expect(LogLineField.compare("attempt", "attempts") < 0)
        #expect(LogLineField.compare("attempts", "attempt") > 0)
        #expect(LogLineField.compare("queue", "queue") == 0)
        #expect(LogLineField.compare("", "a") < 0)
        #expect(LogLineField.compare("a_b", "ab") < 0)
    }
}
