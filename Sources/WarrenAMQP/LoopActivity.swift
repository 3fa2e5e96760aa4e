import Synchronization

/// When a connection's owner thread last went round its loop, readable from any thread.
///
/// The loop turns at least once a second while it waits (its `poll()` timeout), so a stamp much
/// older than that means the owner thread is stuck inside a call (an RPC waits at most the RPC
/// timeout; anything longer is a wedge). Readiness checks read it.
///
/// Thread-safe: written by the owner thread, read by any.
public final class LoopActivity: Sendable {
    private let origin = ContinuousClock.now
    /// Nanoseconds from `origin` to the last turn.
    private let lastTurn = Atomic<Int64>(0)

    package init() {}

    /// Records a turn (owner thread).
    func touch() {
        let elapsed = origin.duration(to: .now)
        lastTurn.store(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000, ordering: .relaxed)
    }

    /// How long ago the owner thread last turned.
    public var sinceLastTurn: Duration {
        origin.duration(to: .now) - .nanoseconds(lastTurn.load(ordering: .relaxed))
    }
}
