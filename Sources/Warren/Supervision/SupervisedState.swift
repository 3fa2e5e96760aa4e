import Synchronization

/// The connection state machine shared by the consumer's tasks and its connection thread's
/// event callback, mirrored into `WorkerStatus` after every transition.
///
/// Thread-safe (a mutex around the pure machine); each call is short and never blocks.
final class SupervisedState: Sendable {
    private let machine: Mutex<ConnectionStateMachine>
    let status: WorkerStatus
    private let metrics: ConsumerMetrics?

    init(_ machine: ConnectionStateMachine, status: WorkerStatus, metrics: ConsumerMetrics? = nil) {
        self.machine = Mutex(machine)
        self.status = status
        self.metrics = metrics
    }

    /// Applies one event and publishes the resulting readiness; returns the action to perform.
    func apply(_ event: (inout ConnectionStateMachine) -> ConnectionStateMachine.Action) -> ConnectionStateMachine.Action {
        let (action, readiness) = machine.withLock { machine in
            let previous = machine.readiness.state
            let action = event(&machine)
            let readiness = machine.readiness
            // Under the lock, so racing transitions cannot leave two states at 1.
            if readiness.state != previous { metrics?.setState(readiness.state) }
            return (action, readiness)
        }
        var retryAt: ContinuousClock.Instant?
        if case .wait(let delay, _, _) = action { retryAt = .now + delay }
        status.update(state: readiness.state, isReady: readiness.isReady, detail: readiness.detail, retryAt: retryAt)
        return action
    }
}
