import Synchronization

/// The connection state machine shared by the consumer's tasks and its connections' event
/// callbacks, mirrored into `WorkerStatus` (and the `warren_connection_state` gauge) after every
/// transition.
///
/// Thread-safe (a mutex around the pure machine); each call is short and never blocks.
final class SupervisedState: Sendable {
    private struct Guarded {
        var machine: ConnectionStateMachine
        /// The state the gauge shows: the machine's, or `blocked` while a watched publishing
        /// connection is (see `WorkerStatus.watch`); never `stalled` (`WorkerStatus.gaugedState`).
        var shown = WorkerStatus.State.starting
    }

    private let guarded: Mutex<Guarded>
    let status: WorkerStatus
    private let metrics: ConsumerMetrics?

    init(_ machine: ConnectionStateMachine, status: WorkerStatus, metrics: ConsumerMetrics? = nil) {
        self.guarded = Mutex(Guarded(machine: machine))
        self.status = status
        self.metrics = metrics
    }

    /// Applies one event and publishes the resulting readiness; returns the action to perform.
    func apply(_ event: (inout ConnectionStateMachine) -> ConnectionStateMachine.Action) -> ConnectionStateMachine.Action {
        guarded.withLock { guarded in
            let action = event(&guarded.machine)
            let readiness = guarded.machine.readiness
            var retryAt: ContinuousClock.Instant?
            if case .wait(let delay, _, _) = action { retryAt = .now + delay }
            // Under the lock, so racing transitions cannot leave the status or two gauge states
            // out of order.
            status.update(state: readiness.state, isReady: readiness.isReady, detail: readiness.detail, retryAt: retryAt)
            showGauge(&guarded)
            return action
        }
    }

    /// A watched publishing connection was blocked or unblocked: the gauge follows at once
    /// (`/readyz` reads the block itself, at the time of asking).
    func publisherBlockChanged() {
        guarded.withLock { showGauge(&$0) }
    }

    private func showGauge(_ guarded: inout Guarded) {
        // Not `status.readiness.state`: that is `stalled` during a stall, which has no series,
        // and the gauge would show no state at all until the next transition.
        let shown = status.gaugedState
        if shown != guarded.shown {
            guarded.shown = shown
            metrics?.setState(shown)
        }
    }
}
