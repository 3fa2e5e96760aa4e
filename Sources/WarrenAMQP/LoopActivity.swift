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
    /// Whether the owner thread is inside a task's job (`ConnectionTaskExecutor`).
    private let inTask = Atomic<Bool>(false)

    package init() {}

    /// Records a turn (owner thread).
    func touch() {
        let elapsed = origin.duration(to: .now)
        lastTurn.store(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000, ordering: .relaxed)
    }

    /// Marks the owner thread entering (`true`) or leaving a task's job (owner thread).
    func runningTask(_ running: Bool) {
        inTask.store(running, ordering: .relaxed)
    }

    /// Whether the owner thread is running a task's job right now: with handlers on the
    /// connection's thread (`ConnectionTaskExecutor`), a loop that stopped turning is held by a
    /// task (a handler that blocks or computes without suspending), not wedged in a call.
    public var isRunningTask: Bool {
        inTask.load(ordering: .relaxed)
    }

    /// How long ago the owner thread last turned.
    public var sinceLastTurn: Duration {
        origin.duration(to: .now) - .nanoseconds(lastTurn.load(ordering: .relaxed))
    }
}
