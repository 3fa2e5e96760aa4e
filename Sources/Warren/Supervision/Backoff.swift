/// Capped exponential backoff with full jitter (the AWS Architecture Blog's "full jitter"):
/// the delay before reconnect attempt *n* is uniformly random in `[0, min(max, initial × 2ⁿ⁻¹))`,
/// which spreads a fleet of workers out after a broker restart instead of having them
/// reconnect in lockstep.
///
/// With the defaults (initial 500 ms, max 30 s) the upper bounds are:
///
/// | failure in a row | 1 | 2 | 3 | 4 | 5 | 6 | 7+ |
/// |---|---|---|---|---|---|---|---|
/// | delay below | 0.5 s | 1 s | 2 s | 4 s | 8 s | 16 s | 30 s |
///
/// Pure: the caller supplies the random fraction, so tests pin it.
public struct Backoff: Sendable, Equatable {
    /// The cap of the first delay (the worker's default: 500 ms); each failure in a row doubles it.
    public var initial: Duration
    /// The largest cap (the worker's default: 30 s); never below `initial`.
    public var maximum: Duration

    /// A backoff from `initial` up to `maximum` (raised to `initial` if lower).
    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The cap for the `failures`-th failure in a row (1-based).
    public func cap(afterFailures failures: Int) -> Duration {
        var cap = initial
        var doublings = max(0, failures - 1)
        while doublings > 0 && cap < maximum {
            cap = cap * 2
            doublings -= 1
        }
        return min(cap, maximum)
    }

    /// The delay for the `failures`-th failure in a row, given `jitter` in `[0, 1)`.
    public func delay(afterFailures failures: Int, jitter: Double) -> Duration {
        cap(afterFailures: failures) * min(max(jitter, 0), 1)
    }
}
