import Synchronization

/// When the drain began, shared between the shutdown watcher and the delivery loop.
final class DrainStart: Sendable {
    private let state = Mutex<(started: ContinuousClock.Instant?, abandonedBefore: Int, inFlight: Int)>((nil, 0, 0))
    /// Mirrors `started != nil` without the lock: the delivery loop reads it for every delivery.
    private let hasStarted = Atomic<Bool>(false)

    func begin(abandonedSoFar: Int, inFlight: Int) {
        state.withLock {
            if $0.started == nil {
                $0 = (.now, abandonedSoFar, inFlight)
                hasStarted.store(true, ordering: .releasing)
            }
        }
    }
    var startedAt: ContinuousClock.Instant? { state.withLock { $0.started } }
    var started: Bool { hasStarted.load(ordering: .acquiring) }
    /// Messages abandoned before the drain (on earlier, dead connections).
    var abandonedBefore: Int { state.withLock { $0.abandonedBefore } }
    /// Handlers running when the drain began: the drain waits for them.
    var inFlight: Int { state.withLock { $0.inFlight } }
}
