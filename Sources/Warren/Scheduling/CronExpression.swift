/// A standard 5-field cron expression: minute, hour, day of month, month, day of week.
///
/// Day of month and day of week combine as in Vixie cron: when both fields are restricted
/// (neither starts with `*`), a day matches if **either** does (`0 0 1,15 * mon` runs on the 1st,
/// the 15th and every Monday); when one of them starts with `*`, both must match.
/// Expressions that can never fire (`0 0 30 2 *`) are refused when parsed.
struct CronExpression: Equatable, Sendable {
    let minute: CronField
    let hour: CronField
    let dayOfMonth: CronField
    let month: CronField
    let dayOfWeek: CronField

    init(_ text: String) throws(JobScheduleError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 5 else {
            throw .invalid(text, "a cron expression has 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        minute = try CronField(fields[0], kind: .minute)
        hour = try CronField(fields[1], kind: .hour)
        dayOfMonth = try CronField(fields[2], kind: .dayOfMonth)
        month = try CronField(fields[3], kind: .month)
        dayOfWeek = try CronField(fields[4], kind: .dayOfWeek)
        guard canEverFire else {
            throw .invalid(text, "never fires: no month allowed has one of the days allowed")
        }
    }

    /// False only when the day of month decides alone (or with a `*`-led day of week, which
    /// only narrows it to weekdays that every date meets eventually) and no allowed month has
    /// one of its days (February counted with 29). A restricted day of week ORed in, or a
    /// `*`-led day of month, always fires.
    private var canEverFire: Bool {
        if dayOfMonth.startsWithStar || !dayOfWeek.startsWithStar { return true }
        return (1...12).contains { month.contains($0) && Self.fits(dayOfMonth, month: $0) }
    }

    private static func fits(_ days: CronField, month: Int) -> Bool {
        let longest = month == 2 ? 29 : CivilTime.daysIn(month: month, year: 2001)
        return days.first(atLeast: 1).map { $0 <= longest } ?? false
    }

    func matchesDay(_ time: CivilTime) -> Bool {
        let dom = dayOfMonth.contains(time.day)
        let dow = dayOfWeek.contains(time.weekday)
        if dayOfMonth.startsWithStar || dayOfWeek.startsWithStar { return dom && dow }
        return dom || dow
    }

    /// The first minute strictly after `seconds` (seconds since the epoch in the expression's
    /// own clock) that the expression allows, or `nil` if none within 500 years (cannot happen
    /// for an expression that parsed; the bound keeps a bug from looping for ever).
    func next(after seconds: Int64) -> Int64? {
        var time = CivilTime(epochSeconds: CivilTime.floorDivide(seconds, 60) * 60 + 60)
        let lastYear = time.year + 500
        while time.year <= lastYear {
            guard let month = month.first(atLeast: time.month) else {
                time = CivilTime(year: time.year + 1, month: 1, day: 1)
                continue
            }
            if month != time.month {
                time = CivilTime(year: time.year, month: month, day: 1)
            }
            guard matchesDay(time) else {
                time = CivilTime(epochSeconds: CivilTime(year: time.year, month: time.month, day: time.day).epochSeconds + 86_400)
                continue
            }
            guard let hour = hour.first(atLeast: time.hour) else {
                time = CivilTime(epochSeconds: CivilTime(year: time.year, month: time.month, day: time.day).epochSeconds + 86_400)
                continue
            }
            if hour != time.hour {
                time.hour = hour
                time.minute = 0
            }
            guard let minute = minute.first(atLeast: time.minute) else {
                time = CivilTime(epochSeconds: CivilTime(year: time.year, month: time.month, day: time.day, hour: time.hour).epochSeconds + 3600)
                continue
            }
            time.minute = minute
            return time.epochSeconds
        }
        return nil
    }
}
