import Testing
@testable import Warren

/// `JobSchedule.longestInterval(after:)`, the period of `warren_job_interval_seconds` that the
/// alert rules measure a missing success in.
@Suite struct JobScheduleIntervalTests {
    /// 2026-12-02, a Wednesday, 12:00 UTC.
    private let wednesdayNoon = CivilTime(year: 2026, month: 12, day: 2, hour: 12, minute: 0, second: 0).epochSeconds

    @Test func everyIsItsDuration() throws {
        #expect(try JobSchedule("@every 5m").longestInterval(after: wednesdayNoon) == 300)
    }

    @Test func regularCronSchedules() throws {
        #expect(try JobSchedule("*/15 * * * *").longestInterval(after: wednesdayNoon) == 900)
        #expect(try JobSchedule("0 3 * * *").longestInterval(after: wednesdayNoon) == 86_400)
        #expect(try JobSchedule("@weekly").longestInterval(after: wednesdayNoon) == 7 * 86_400)
    }

    /// Computed on a Wednesday, a weekday-only schedule's longest gap is still the weekend
    /// (Friday 06:00 → Monday 06:00), so the weekend never looks like two missed periods.
    @Test func weekdaySchedulesSeeTheWeekendWhateverTheDay() throws {
        #expect(try JobSchedule("0 6 * * mon-fri").longestInterval(after: wednesdayNoon) == 3 * 86_400)
        #expect(try JobSchedule("* * * * mon-fri").longestInterval(after: wednesdayNoon) == 2 * 86_400 + 60)
    }

    /// Sparser than the one-week horizon: at least two gaps are measured (December → January
    /// → February for a monthly job: 31 days).
    @Test func sparseSchedulesMeasureAtLeastTwoGaps() throws {
        #expect(try JobSchedule("@monthly").longestInterval(after: wednesdayNoon) == 31 * 86_400)
        #expect(try JobSchedule("@yearly").longestInterval(after: wednesdayNoon) >= 365 * 86_400)
    }
}
