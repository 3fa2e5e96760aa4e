import Testing
@testable import Warren

@Suite struct UTCTimestampTests {
    /// Written digit by digit into one buffer: every part zero-padded to its width.
    @Test func formatsEveryPartZeroPadded() {
        #expect(UTCTimestamp.format(seconds: 0, milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(UTCTimestamp.format(seconds: 1_796_588_419, milliseconds: 7) == "2026-12-06T20:20:19.007Z")
        #expect(UTCTimestamp.format(seconds: 951_782_400, milliseconds: 999) == "2000-02-29T00:00:00.999Z")
        #expect(UTCTimestamp.format(seconds: 4_102_444_799, milliseconds: 123) == "2099-12-31T23:59:59.123Z")
        #expect(UTCTimestamp.format(epochSeconds: 1_796_588_419) == "2026-12-06T20:20:19Z")
    }

    /// A year past 9999 has no four-digit form: written in full rather than cut.
    @Test func aYearPastFourDigitsIsWrittenInFull() {
        #expect(UTCTimestamp.format(seconds: 253_402_300_800, milliseconds: 5) == "10000-01-01T00:00:00.005Z")
    }
}
