import DequeModule
/// The pure decision of which ticks a job's leader runs now, given the last tick whose
/// completion is recorded in the broker.
///
/// Nothing here reads a clock or talks to the broker: the scheduler passes `now` and the
/// recorded tick in, and acts on the plan.
struct TickPlan: Equatable, Sendable {
    enum SkipReason: String, Sendable {
        /// Past its grace period under `MissedTickPolicy.skip`, or older than the newest under `.latest`.
        case missed
        /// Beyond `MissedTickPolicy.all`'s catch-up limit.
        case catchUpLimit = "catch_up_limit"
    }

    /// Ticks to run now, oldest first.
    var run: [Int64] = []
    /// Ticks that will never run, with why; at most `reportLimit` of them are listed
    /// (`skippedCount` counts them all: a job down for a month at `@every 1s` must not
    /// build a 2.6-million-element array). Exact up to a million missed ticks, a lower bound past
    /// that (the walk then jumps to the newest due tick).
    var skipped: [(tick: Int64, reason: SkipReason)] = []
    var skippedCount = 0
    /// The tick to wait for after these.
    var next: Int64?

    static let reportLimit = 20

    /// - Parameters:
    ///   - lastCompleted: the newest tick recorded as done, `nil` for a job that never ran
    ///     (it starts with the first tick after `now`: no history means nothing was missed).
    ///   - grace: how late a tick may start and still count as on time (a timer wakes a little
    ///     after the tick; a takeover takes a moment).
    ///   - catchUpLimit: the most ticks `.all` runs in one go (≥ 1).
    init(schedule: JobSchedule, policy: MissedTickPolicy, lastCompleted: Int64?, now: Int64,
         grace: Int64, catchUpLimit: Int) {
        next = schedule.nextTick(after: now)
        guard let lastCompleted else { return }
        // Due ticks: after the recorded one, not after now. Walk them without storing more
        // than needed: keep the newest `keep` and count the rest.
        let keep = policy == .all ? max(1, catchUpLimit) : 1
        var newest: Deque<Int64> = []
        var older: [Int64] = []
        var olderCount = 0
        var cursor = lastCompleted
        while let tick = schedule.nextTick(after: cursor), tick <= now {
            newest.append(tick)
            if newest.count > keep {
                let dropped = newest.removeFirst()
                olderCount += 1
                if older.count < Self.reportLimit { older.append(dropped) }
            }
            cursor = tick
            // A bound for the pathological case (years at @every 1s): past a million ticks,
            // jump straight to the newest due one; everything jumped over is missed.
            if olderCount > 1_000_000, let latest = schedule.latestTick(atOrBefore: now), latest > cursor {
                olderCount += 1
                newest = [latest]
                break
            }
        }
        switch policy {
        case .skip:
            for tick in newest where now - tick > grace {
                olderCount += 1
                if older.count < Self.reportLimit { older.append(tick) }
            }
            run = newest.filter { now - $0 <= grace }
            skipped = older.map { ($0, .missed) }
        case .latest:
            run = Array(newest)
            skipped = older.map { ($0, .missed) }
        case .all:
            run = Array(newest)
            skipped = older.map { ($0, .catchUpLimit) }
        }
        skippedCount = olderCount
    }

    static func == (lhs: TickPlan, rhs: TickPlan) -> Bool {
        lhs.run == rhs.run && lhs.next == rhs.next && lhs.skippedCount == rhs.skippedCount
            && lhs.skipped.map(\.tick) == rhs.skipped.map(\.tick) && lhs.skipped.map(\.reason) == rhs.skipped.map(\.reason)
    }
}
