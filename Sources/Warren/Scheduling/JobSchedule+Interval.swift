extension JobSchedule {
    /// How far ahead `longestInterval(after:)` looks: a week and a day, so a weekday-only
    /// schedule's weekend is seen whatever day it is computed on.
    static let intervalHorizonSeconds: Int64 = 8 * 86_400
    /// At most this many ticks are walked (a per-minute cron has 11,520 in the horizon; its
    /// gaps repeat long before).
    static let intervalTickLimit = 10_000

    /// The longest gap in seconds between two consecutive ticks from `epochSeconds` on: over
    /// `intervalHorizonSeconds`, and over at least three ticks for schedules sparser than that
    /// (`@monthly`, `@yearly`). An `@every` schedule's gap is its duration.
    ///
    /// The "period" of `warren_job_interval_seconds`, which the alert rules compare the time
    /// since the last success with: for a schedule whose gaps vary (`0 6 * * mon-fri`) the
    /// longest one, so that no ordinary gap (the weekend) looks like a missed run. Pure.
    public func longestInterval(after epochSeconds: Int64) -> Int64 {
        if case .every(let seconds) = rule { return seconds }
        var longest: Int64 = 0
        guard var previous = nextTick(after: epochSeconds) else { return 0 }
        var gaps = 0
        while gaps < Self.intervalTickLimit, gaps < 2 || previous - epochSeconds < Self.intervalHorizonSeconds,
              let tick = nextTick(after: previous) {
            longest = max(longest, tick - previous)
            previous = tick
            gaps += 1
        }
        return longest
    }
}
