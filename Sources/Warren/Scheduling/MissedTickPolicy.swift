/// What a job does with ticks that passed while no replica could run them (every replica
/// down, or a takeover that spanned ticks).
public enum MissedTickPolicy: String, Sendable, Equatable, CaseIterable {
    /// Missed ticks are skipped (logged `job.skipped` with reason `missed`); only ticks that are
    /// on time run.
    case skip
    /// One run, for the most recent missed tick; older ones are skipped. The default: a
    /// nightly cleanup that missed three nights needs to run once, not three times.
    case latest
    /// Every missed tick runs, oldest first, up to the catch-up limit (the most recent ones);
    /// older ones are skipped with reason `catch_up_limit`.
    case all
}
