import Synchronization

/// When the drain of one consumer began, and how many deliveries it gave back unstarted; shared
/// between the shutdown watcher, the delivery loop and the workers (thread-safe).
final class DrainStart: Sendable {
    private let state = Mutex<(started: ContinuousClock.Instant?, abandonedBefore: Int, inFlight: Int)>((nil, 0, 0))
    /// Mirrors `started != nil` without the lock: the delivery loop reads it for every delivery.
    private let hasStarted = Atomic<Bool>(false)
    private let returnedTotal = Atomic<Int>(0)

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

    /// A delivery not started was given back on the consumer's connection.
    func gaveBack() { returnedTotal.add(1, ordering: .relaxed) }
    /// Deliveries given back so far (by the delivery loop and the workers).
    var returned: Int { returnedTotal.load(ordering: .relaxed) }
}
