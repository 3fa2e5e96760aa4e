import Testing
import WarrenAMQP

@testable import Warren

@Suite struct MessageAgeTests {
    @Test func theMillisecondHeaderWinsOverTheSecondsTimestamp() {
        let properties = AMQPProperties(headers: [MessageAge.header: .int(1_700_000_000_250)], timestamp: 1_600_000_000)
        #expect(MessageAge.publishedAtMilliseconds(properties) == 1_700_000_000_250)
        #expect(MessageAge.nanoseconds(properties, nowMilliseconds: 1_700_000_000_300) == 50_000_000)
    }

    @Test func theAMQPTimestampIsTheFallbackInWholeSeconds() {
        let properties = AMQPProperties(timestamp: 1_700_000_000)
        #expect(MessageAge.nanoseconds(properties, nowMilliseconds: 1_700_000_002_000) == 2_000_000_000)
    }

    @Test func aMessageWithNeitherHasNoAge() {
        #expect(MessageAge.nanoseconds(AMQPProperties(headers: ["other": 1]), nowMilliseconds: 5) == nil)
        #expect(MessageAge.nanoseconds(AMQPProperties(headers: [MessageAge.header: "soon"]), nowMilliseconds: 5) == nil)
    }

    @Test func aClockAheadOfOursIsAgeZeroAndGarbageIsNoAge() {
        #expect(MessageAge.nanoseconds(AMQPProperties(headers: [MessageAge.header: .int(10_000)]), nowMilliseconds: 9_000) == 0)
        #expect(MessageAge.nanoseconds(AMQPProperties(headers: [MessageAge.header: .int(.min)]), nowMilliseconds: 9_000) == nil)
    }
}
