import Testing
@testable import Warren

@Suite struct CivilTimeTests {
    @Test func knownInstantsRoundTrip() {
        let cases: [(Int64, String, Int)] = [
            (0, "1970-01-01T00:00:00Z", 4),
            (951_782_400, "2000-02-29T00:00:00Z", 2),
            (1_709_164_799, "2024-02-28T23:59:59Z", 3),
            (1_709_251_200, "2024-03-01T00:00:00Z", 5),
            (-1, "1969-12-31T23:59:59Z", 3),
            (4_107_542_400, "2100-03-01T00:00:00Z", 1),
        ]
        for (seconds, text, weekday) in cases {
            let time = CivilTime(epochSeconds: seconds)
            #expect(time.description == text)
            #expect(time.epochSeconds == seconds)
            #expect(time.weekday == weekday, "\(text)")
        }
    }

    @Test func leapYearsFollowTheGregorianRule() {
        #expect(CivilTime.isLeapYear(2024))
        #expect(CivilTime.isLeapYear(2000))
        #expect(!CivilTime.isLeapYear(2100))
        #expect(!CivilTime.isLeapYear(2023))
        #expect(CivilTime.daysIn(month: 2, year: 2100) == 28)
        #expect(CivilTime.daysIn(month: 2, year: 2400) == 29)
    }

    @Test func everyDayOfFourCenturiesConvertsBothWays() {
        var previous = CivilTime(epochSeconds: -86_400 * 146_097)
        for day in Int64(-146_096)...146_097 {
            let time = CivilTime(epochSeconds: day * 86_400)
            #expect(CivilTime.days(year: time.year, month: time.month, day: time.day) == day)
            #expect(time.weekday == (previous.weekday + 1) % 7)
            previous = time
        }
    }
}
