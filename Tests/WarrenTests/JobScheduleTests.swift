import Testing
@testable import Warren

/// Next-fire computation: the times are written as RFC 3339 text so each case reads as a
/// calendar fact.
@Suite struct JobScheduleTests {
    private func seconds(_ text: String) -> Int64 {
        // "YYYY-MM-DDTHH:MM:SSZ"
        let digits = text.split(whereSeparator: { !$0.isNumber }).map { Int64($0)! }
        return CivilTime(year: digits[0], month: Int(digits[1]), day: Int(digits[2]),
                         hour: Int(digits[3]), minute: Int(digits[4]), second: Int(digits[5])).epochSeconds
    }

    private func next(_ spec: String, after text: String, count: Int = 1) throws -> [String] {
        let schedule = try JobSchedule(spec)
        var cursor = seconds(text)
        var ticks: [String] = []
        for _ in 0..<count {
            guard let tick = schedule.nextTick(after: cursor) else { break }
            ticks.append(CivilTime(epochSeconds: tick).description)
            cursor = tick
        }
        return ticks
    }

    @Test func stepsAndListsAndRanges() throws {
        #expect(try next("*/15 * * * *", after: "2026-12-05T23:50:10Z", count: 3)
                == ["2026-12-06T00:00:00Z", "2026-12-06T00:15:00Z", "2026-12-06T00:30:00Z"])
        #expect(try next("5,10-12 3 * * *", after: "2026-12-05T03:10:00Z", count: 4)
                == ["2026-12-05T03:11:00Z", "2026-12-05T03:12:00Z", "2026-12-06T03:05:00Z", "2026-12-06T03:10:00Z"])
        #expect(try next("0 8-17/3 * * *", after: "2026-12-05T09:00:00Z", count: 4)
                == ["2026-12-05T11:00:00Z", "2026-12-05T14:00:00Z", "2026-12-05T17:00:00Z", "2026-12-06T08:00:00Z"])
    }

    @Test func strictlyAfterEvenOnATick() throws {
        #expect(try next("0 * * * *", after: "2026-12-05T10:00:00Z") == ["2026-12-05T11:00:00Z"])
        #expect(try next("0 * * * *", after: "2026-12-05T09:59:59Z") == ["2026-12-05T10:00:00Z"])
    }

    @Test func monthEndsAndLeapYears() throws {
        #expect(try next("0 0 31 * *", after: "2026-01-31T00:00:00Z", count: 3)
                == ["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"])
        #expect(try next("30 12 29 2 *", after: "2026-01-01T00:00:00Z", count: 3)
                == ["2028-02-29T12:30:00Z", "2032-02-29T12:30:00Z", "2036-02-29T12:30:00Z"])
        #expect(try next("0 0 29 2 *", after: "2096-03-01T00:00:00Z") == ["2104-02-29T00:00:00Z"], "2100 is not a leap year")
        #expect(try next("@monthly", after: "2026-12-15T00:00:00Z", count: 2) == ["2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"])
    }

    @Test func dayOfMonthAndDayOfWeekCombineWithOrWhenBothAreRestricted() throws {
        // 2026-12-01 is a Tuesday: the 1st, the 15th, and every Monday.
        #expect(try next("0 0 1,15 * mon", after: "2026-11-30T12:00:00Z", count: 5)
                == ["2026-12-01T00:00:00Z", "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z", "2026-12-15T00:00:00Z", "2026-12-21T00:00:00Z"])
        // A star-led day of month: only the weekday counts (AND with "every day").
        #expect(try next("0 0 * * 1-5", after: "2026-12-04T12:00:00Z", count: 2)
                == ["2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"])
        // `*/2` starts with a star, so Vixie cron ANDs: odd days that are Sundays.
        #expect(try next("0 0 */2 * sun", after: "2026-12-01T00:00:00Z", count: 2)
                == ["2026-12-13T00:00:00Z", "2026-12-27T00:00:00Z"])
        #expect(try next("0 0 * * 7", after: "2026-12-05T00:00:00Z") == ["2026-12-06T00:00:00Z"], "7 is Sunday")
    }

    @Test func namesAreCaseInsensitive() throws {
        #expect(try next("0 9 * JAN,jul Mon-Fri", after: "2026-12-05T00:00:00Z") == ["2027-01-01T09:00:00Z"])
    }

    @Test func shorthands() throws {
        #expect(try next("@hourly", after: "2026-12-05T23:36:00Z") == ["2026-12-06T00:00:00Z"])
        #expect(try next("@daily", after: "2026-12-05T23:36:00Z") == ["2026-12-06T00:00:00Z"])
        #expect(try next("@weekly", after: "2026-12-05T23:36:00Z") == ["2026-12-06T00:00:00Z"], "Sunday midnight")
        #expect(try next("@yearly", after: "2026-12-05T23:36:00Z") == ["2027-01-01T00:00:00Z"])
    }

    @Test func everyIsAlignedToTheEpoch() throws {
        #expect(try next("@every 1s", after: "2026-12-05T23:36:00Z", count: 2) == ["2026-12-05T23:36:01Z", "2026-12-05T23:36:02Z"])
        #expect(try next("@every 7m", after: "1970-01-01T00:00:00Z", count: 2) == ["1970-01-01T00:07:00Z", "1970-01-01T00:14:00Z"])
        // Two replicas that read the clock at different moments compute the same tick.
        let schedule = try JobSchedule("@every 90s")
        #expect(schedule.nextTick(after: seconds("2026-12-05T23:36:01Z")) == schedule.nextTick(after: seconds("2026-12-05T23:37:29Z")))
        #expect(schedule.nextTick(after: 1_000_000_000)! % 90 == 0)
        let latest: Int64? = schedule.latestTick(atOrBefore: 1_000_000_000)
        #expect(latest == Int64(999_999_990))
    }

    @Test func fixedOffsetsShiftCronTimes() throws {
        #expect(try next("TZ=+02:00 0 3 * * *", after: "2026-12-05T00:00:00Z") == ["2026-12-05T01:00:00Z"])
        #expect(try next("CRON_TZ=-0530 0 0 * * *", after: "2026-12-05T00:00:00Z") == ["2026-12-05T05:30:00Z"])
        #expect(try next("TZ=UTC @daily", after: "2026-12-05T00:00:00Z") == ["2026-12-06T00:00:00Z"])
    }

    @Test func latestTickLooksBack() throws {
        let schedule = try JobSchedule("0 3 * * *")
        #expect(schedule.latestTick(atOrBefore: seconds("2026-12-05T02:59:59Z")).map { CivilTime(epochSeconds: $0).description } == "2026-12-04T03:00:00Z")
        #expect(schedule.latestTick(atOrBefore: seconds("2026-12-05T03:00:00Z")).map { CivilTime(epochSeconds: $0).description } == "2026-12-05T03:00:00Z")
    }

    @Test(arguments: [
        ("", "5 fields"),
        ("* * * *", "5 fields"),
        ("* * * * * *", "5 fields"),
        ("60 * * * *", "minute field '60': 60 is outside 0–59"),
        ("* 24 * * *", "hour field"),
        ("* * 0 * *", "day-of-month field '0'"),
        ("* * * 13 *", "month field"),
        ("* * * * 8", "day-of-week field"),
        ("*/0 * * * *", "step '0'"),
        ("5/15 * * * *", "step without a range"),
        ("10-5 * * * *", "runs backwards"),
        ("1,,2 * * * *", "empty list item"),
        ("* * * foo *", "not a number or a name (jan…dec)"),
        ("+5 * * * *", "'+5' is not a number"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("@reboot", "unknown shorthand"),
        ("@every", "@every needs a duration"),
        ("@every soon", "@every needs a duration"),
        ("@every 500ms", "whole seconds"),
        ("@every 0s", "whole seconds"),
        ("@every 800h", "whole seconds"),
        ("TZ=Europe/Paris 0 3 * * *", "time zone 'Europe/Paris'"),
        ("TZ=+19:00 0 3 * * *", "time zone"),
        ("TZ=+02:00 @every 1m", "aligned to the Unix epoch"),
    ])
    func invalidSpecificationsAreRefusedNamingTheProblem(spec: String, expected: String) {
        #expect(throws: JobScheduleError.self) { try JobSchedule(spec) }
        do {
            _ = try JobSchedule(spec)
        } catch {
            #expect(error.description.contains(expected), "\(spec): \(error)")
        }
    }

    @Test func validSpecificationsThatLookOdd() throws {
        _ = try JobSchedule("0 0 30 2 mon")  // ORed with Mondays: fires
        _ = try JobSchedule("0 0 31 1-12 *")
        _ = try JobSchedule("  @every 1h  ")
        #expect(try JobSchedule(" @daily ").description == "@daily")
    }
}
