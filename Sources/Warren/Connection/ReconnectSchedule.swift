/// When a `WarrenConnection` may make its next connect attempt: the consumer's `Backoff` (full
/// jitter below a doubling cap) counted in failed attempts in a row, so a publisher calling in a
/// tight loop against a broker that is down connects at the backoff's pace, not at its own.
///
/// A failed attempt sets the earliest start of the next one; a successful one clears the count,
/// so the first attempt after a connection that worked and then died starts at once.
///
/// Pure: the caller passes the clock's `now` and the random jitter, so tests pin both.
struct ReconnectSchedule: Sendable {
    let backoff: Backoff
    private(set) var failuresInARow = 0
    /// No attempt starts before this; `nil` when the last attempt succeeded (or none was made).
    private(set) var notBefore: ContinuousClock.Instant?

    init(backoff: Backoff) {
        self.backoff = backoff
    }

    /// An attempt ended in failure at `now`; `jitter` is uniform in `[0, 1)`.
    mutating func failed(at now: ContinuousClock.Instant, jitter: Double) {
        failuresInARow += 1
        notBefore = now + backoff.delay(afterFailures: failuresInARow, jitter: jitter)
    }

    mutating func succeeded() {
        failuresInARow = 0
        notBefore = nil
    }

    /// How long an attempt wanted at `now` must wait first (`.zero` for at once).
    func wait(at now: ContinuousClock.Instant) -> Duration {
        guard let notBefore, notBefore > now else { return .zero }
        return now.duration(to: notBefore)
    }
}
