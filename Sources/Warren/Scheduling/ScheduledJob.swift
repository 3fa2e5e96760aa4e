import Logging

/// The work a scheduled job does at each tick.
public protocol ScheduledWork: Sendable {
    /// Runs one tick. Throwing marks the run `failed` (logged and counted); the tick still
    /// counts as done and is not retried by the scheduler: give the work to a queue (the
    /// built-in `publishingTicks` action) when a tick's work must be retried.
    func run(_ context: JobContext) async throws
}

/// A name, a schedule and the work to do: one of a `JobScheduler`'s jobs.
///
/// ```swift
/// let cleanup = ScheduledJob(name: "cleanup", schedule: try JobSchedule("0 3 * * *")) { context in
///     try await database.expireRows(olderThan: context.tick - 30 * 86_400)
/// }
/// ```
public struct ScheduledJob: Sendable {
    enum Action: Sendable {
        case work(any ScheduledWork)
        /// Publish `{"job", "tick"}` to this queue through the job's routing exchange.
        case publishTick(queue: String)
    }

    /// `A–Z a–z 0–9 . _ -`, at most 64 bytes (see `ScheduledJobSetting`); part of broker names.
    public let name: String
    /// When the job's ticks fall: cron (UTC unless it names an offset) or `@every`.
    public let schedule: JobSchedule
    /// What happens to ticks no replica could run in time (default `.latest`).
    public var missedTicks: MissedTickPolicy
    /// Most ticks `.all` runs in one catch-up (default 10).
    public var catchUpLimit: Int
    /// Whether a tick may start while the previous run still goes on (default false: that tick
    /// is skipped with reason `overlap`).
    public var allowsOverlap: Bool
    let action: Action

    /// A job running `work` at each tick. Throws `JobScheduleError` for an invalid name.
    public init(name: String, schedule: JobSchedule, missedTicks: MissedTickPolicy = .latest,
                catchUpLimit: Int = 10, allowsOverlap: Bool = false, work: any ScheduledWork) throws(JobScheduleError) {
        try self.init(name: name, schedule: schedule, missedTicks: missedTicks, catchUpLimit: catchUpLimit,
                      allowsOverlap: allowsOverlap, action: .work(work))
    }

    /// A job running `body` at each tick.
    public init(name: String, schedule: JobSchedule, missedTicks: MissedTickPolicy = .latest,
                catchUpLimit: Int = 10, allowsOverlap: Bool = false,
                _ body: @escaping @Sendable (JobContext) async throws -> Void) throws(JobScheduleError) {
        try self.init(name: name, schedule: schedule, missedTicks: missedTicks, catchUpLimit: catchUpLimit,
                      allowsOverlap: allowsOverlap, action: .work(ClosureWork(body: body)))
    }

    /// The built-in action of `warren worker --schedule`: at each tick, one persistent JSON
    /// message `{"job": NAME, "tick": "<RFC 3339>"}` with `message_id` `NAME@<RFC 3339>` is
    /// published to `queue`, so the work runs as an ordinary message (retries, dead-lettering,
    /// metrics). The same publish records the tick as done: no tick id is published twice.
    public static func publishingTicks(name: String, schedule: JobSchedule, to queue: String,
                                       missedTicks: MissedTickPolicy = .latest, catchUpLimit: Int = 10) throws(JobScheduleError) -> ScheduledJob {
        try ScheduledJob(name: name, schedule: schedule, missedTicks: missedTicks, catchUpLimit: catchUpLimit,
                         allowsOverlap: true, action: .publishTick(queue: queue))
    }

    private init(name: String, schedule: JobSchedule, missedTicks: MissedTickPolicy, catchUpLimit: Int,
                 allowsOverlap: Bool, action: Action) throws(JobScheduleError) {
        if let problem = ScheduledJobSetting.problem(withName: name) { throw .invalid(name, problem) }
        self.name = name
        self.schedule = schedule
        self.missedTicks = missedTicks
        self.catchUpLimit = max(1, catchUpLimit)
        self.allowsOverlap = allowsOverlap
        self.action = action
    }
}

private struct ClosureWork: ScheduledWork {
    let body: @Sendable (JobContext) async throws -> Void
    func run(_ context: JobContext) async throws { try await body(context) }
}
