import Logging

/// What one run of a scheduled job gets.
///
/// The run executes in a child task of `JobScheduler.run()`; graceful shutdown cancels it (check
/// `Task.isCancelled` or use cancellable awaits), so a long job stops early instead of holding up
/// the drain.
public struct JobContext: Sendable {
    /// The job's name.
    public let job: String
    /// The tick this run is for, in whole seconds since the Unix epoch (not when it started:
    /// a run after a takeover or a catch-up starts later than its tick).
    public let tick: Int64
    /// `tick` as RFC 3339 UTC, e.g. `2026-12-06T03:00:00Z`.
    public let tickTime: String
    /// The tick's id, `<job>@<tickTime>`: the same on every replica, usable as an idempotency key.
    public var tickID: String { "\(job)@\(tickTime)" }
    /// A logger carrying `job` and `tick` in its metadata.
    public let logger: Logger
}
