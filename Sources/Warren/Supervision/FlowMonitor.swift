import Synchronization
import WarrenAMQP

/// Whether deliveries can actually flow for one consumer, so that readiness does not lie.
///
/// Two faults stop a consumer without any error to react to:
/// - its connection's **owner thread is wedged** inside a call (its `LoopActivity` stamp goes
///   stale: the loop turns at least once a second, and an RPC waits at most its timeout);
/// - its **delivery loop is stuck** in a wait that never returns while no handler runs (it is
///   neither waiting for the next delivery nor, before a crash suspect runs alone, for the
///   handlers to finish).
///
/// Either one, lasting longer than `limit`, is a stall: `/readyz` answers 503 `stalled` with the
/// reason (so traffic and rollouts move elsewhere), and past twice `limit` the process counts as
/// wedged: `/healthz` answers 503 and the systemd watchdog stops being fed, so the orchestrator
/// restarts it. Long handlers are not stalls: a delivery loop waiting for them to finish is
/// working as designed (`handlerTimeout` bounds those).
///
/// Thread-safe: the delivery loop and the consumer update it; probes read it from any task.
final class FlowMonitor: Sendable {
    /// A stall and how long it has lasted.
    struct Stall: Sendable, Equatable {
        var reason: String
        var duration: Duration
    }

    private struct State {
        var activity: LoopActivity?
        var busySince: ContinuousClock.Instant?
    }

    let limit: Duration
    private let state = Mutex(State())
    private let handlersRunning: @Sendable () -> Int

    init(limit: Duration, handlersRunning: @escaping @Sendable () -> Int) {
        self.limit = limit
        self.handlersRunning = handlersRunning
    }

    /// Consuming on a connection whose owner thread stamps `activity`.
    func consuming(on activity: LoopActivity) {
        state.withLock { $0 = State(activity: activity, busySince: nil) }
    }

    /// Not consuming (connecting, reconnecting, draining, stopped): nothing to watch.
    func notConsuming() {
        state.withLock { $0 = State() }
    }

    /// The delivery loop took a delivery and works on it.
    func deliveryLoopBusy() {
        state.withLock { $0.busySince = .now }
    }

    /// The delivery loop waits for the next delivery again.
    func deliveryLoopIdle() {
        state.withLock { $0.busySince = nil }
    }

    /// The current stall, if any.
    var stall: Stall? {
        let (activity, busySince) = state.withLock { ($0.activity, $0.busySince) }
        guard let activity else { return nil }
        return Self.stall(
            sinceOwnerTurn: activity.sinceLastTurn, ownerRunningTask: activity.isRunningTask,
            deliveryLoopBusyFor: busySince.map { $0.duration(to: .now) }, handlersRunning: handlersRunning(), limit: limit)
    }

    /// Pure: which stall, if any, these observations mean. `ownerRunningTask`: the owner thread
    /// is inside a task's job (handlers on the connection's thread), so the reason names the
    /// handler and the setting, which is what an operator can change.
    static func stall(
        sinceOwnerTurn: Duration, ownerRunningTask: Bool = false, deliveryLoopBusyFor busy: Duration?, handlersRunning: Int,
        limit: Duration
    ) -> Stall? {
        if sinceOwnerTurn > limit {
            let reason =
                ownerRunningTask
                ? "a handler has held the connection's thread for \(sinceOwnerTurn.milliseconds) ms without suspending"
                    + " (handler-thread connection; handlers that block belong on the pool)"
                : "the connection's thread has not turned for \(sinceOwnerTurn.milliseconds) ms"
            return Stall(reason: reason, duration: sinceOwnerTurn)
        }
        if let busy, busy > limit, handlersRunning == 0 {
            return Stall(reason: "the delivery loop has been stuck for \(busy.milliseconds) ms with no handler running", duration: busy)
        }
        return nil
    }
}
