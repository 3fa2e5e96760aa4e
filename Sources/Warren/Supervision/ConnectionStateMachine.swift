/// The life of a worker's broker connection, as a pure state machine: every event returns the
/// action the I/O code must perform next, and nothing here touches a socket or a clock
/// (randomness for jitter is passed in). `WarrenConsumer` only executes the actions.
///
/// ```
///            start                 connected
///   idle ──────────▶ connecting ──────────────▶ consuming ◀──┐ (un)blocked
///                     ▲      │ failed               │  └─────┘
///       backoffElapsed│      ▼                      │ lost
///                   backingOff ◀────────────────────┘
///   shutdown: idle/connecting/backingOff ──▶ closed(stopped)
///             consuming ──▶ draining ──drainFinished / lost / second signal──▶ closed(stopped)
///   refused (403/404/406/530) maxRefusedAttempts times in a row ──▶ closed(failed)
/// ```
public struct ConnectionStateMachine: Sendable {
    /// Where the connection's life is (see the diagram above); `readiness` maps it to
    /// `WorkerStatus.State`.
    public enum State: Sendable, Equatable {
        /// Created, not started.
        case idle
        /// Connecting; `attempt` counts from 1 since the last time it was consuming.
        case connecting(attempt: Int)
        /// Connected and consuming; `blocked` holds the broker's reason while it blocks us.
        case consuming(blocked: String?)
        /// Waiting `delay` before the next attempt, after `cause` (the failure's description).
        case backingOff(attempt: Int, delay: Duration, cause: String)
        /// Shutdown requested while consuming: handlers are finishing.
        case draining
        /// Done, for good.
        case closed(Outcome)
    }

    /// How a closed machine ended.
    public enum Outcome: Sendable, Equatable {
        /// Shut down as asked, or the connection was lost while draining.
        case stopped
        /// Gave up; `reason` is the final error, for the log and the exit status.
        case failed(reason: String, cause: FailureCause)
    }

    /// Why the worker gave up: the broker keeps refusing, or the consumer loop itself broke.
    public enum FailureCause: Sendable, Equatable {
        /// The broker refused `maxRefusedAttempts` times in a row (credentials, vhost, arguments).
        case refused
        /// The consumer loop failed (a bug).
        case crashed
    }

    /// What the consumer must do after an event.
    public enum Action: Sendable, Equatable {
        /// Open a connection, declare the topology and start consuming.
        case connect(attempt: Int)
        /// Wait, then report `backoffElapsed()`.
        case wait(Duration, attempt: Int, cause: String)
        /// Cancel the consumer, finish running handlers, return unstarted deliveries.
        case drain
        /// Stop waiting for handlers: cancel them, leave their messages unacked. (`WarrenConsumer`
        /// meets it once cancellation, from a second signal or the drain deadline, has already
        /// reached the handlers: it logs the drain cut short.)
        case abandonDrain
        /// Close and return normally.
        case stop
        /// Close and end the process with a failure.
        case fail(reason: String, cause: FailureCause)
        /// Nothing to do.
        case none
    }

    /// A failed connect or a lost connection, reduced to what decides the next step.
    public struct Failure: Sendable, Equatable {
        /// The error as it may be logged and shown in `/readyz` (no credentials).
        public var description: String
        /// Retrying cannot help without an operator (bad credentials, missing vhost,
        /// incompatible queue arguments).
        public var isPermanent: Bool

        /// A failure; `isPermanent` when retrying cannot help without an operator.
        public init(_ description: String, isPermanent: Bool) {
            self.description = description
            self.isPermanent = isPermanent
        }
    }

    /// The current state; changes only through the event methods.
    public private(set) var state: State = .idle
    private let backoff: Backoff
    private let maxRefusedAttempts: Int
    private var failuresInARow = 0
    private var refusalsInARow = 0

    /// An idle machine: `backoff` spaces reconnects; `maxRefusedAttempts` (at least 1) permanent
    /// refusals in a row make it give up.
    public init(backoff: Backoff, maxRefusedAttempts: Int) {
        self.backoff = backoff
        self.maxRefusedAttempts = max(1, maxRefusedAttempts)
    }

    /// The consumer service started: connect (attempt 1). Ignored unless idle.
    public mutating func start() -> Action {
        switch state {
        case .idle:
            state = .connecting(attempt: 1)
            return .connect(attempt: 1)
        case .connecting, .consuming, .backingOff, .draining, .closed:
            return .none
        }
    }

    /// Connected and consuming: the backoff starts over. Refusals in a row do not: a broker that
    /// accepts the connection and then refuses the work at once (a `406` closing the channel on
    /// every connect, a `403` once permissions were revoked) would otherwise reconnect forever.
    /// They are reset by `progressed()` or a transient failure.
    public mutating func connected() -> Action {
        switch state {
        case .connecting:
            failuresInARow = 0
            state = .consuming(blocked: nil)
            return .none
        case .idle, .consuming, .backingOff, .draining, .closed:
            return .none
        }
    }

    /// A message was handled and acked on the current connection: the broker accepts the
    /// worker's work, so earlier refusals are no longer "in a row".
    public mutating func progressed() -> Action {
        refusalsInARow = 0
        return .none
    }

    /// A connect attempt failed: wait a backoff delay (`jitter` in `0..<1` picks it within the
    /// cap) or, after `maxRefusedAttempts` permanent refusals in a row, give up.
    public mutating func connectFailed(_ failure: Failure, jitter: Double) -> Action {
        switch state {
        case .connecting(let attempt):
            return retryOrGiveUp(after: failure, attempt: attempt, jitter: jitter)
        case .idle, .consuming, .backingOff, .draining, .closed:
            return .none
        }
    }

    /// The connection or consumer died (socket error, forced close, broker-cancelled consumer).
    public mutating func connectionLost(_ failure: Failure, jitter: Double) -> Action {
        switch state {
        case .consuming:
            return retryOrGiveUp(after: failure, attempt: 0, jitter: jitter)
        case .draining:
            // Nothing left to ack on: the broker requeues what was unacked.
            state = .closed(.stopped)
            return .stop
        case .idle, .connecting, .backingOff, .closed:
            return .none
        }
    }

    /// The backoff delay passed: connect again (next attempt).
    public mutating func backoffElapsed() -> Action {
        switch state {
        case .backingOff(let attempt, _, _):
            state = .connecting(attempt: attempt + 1)
            return .connect(attempt: attempt + 1)
        case .idle, .connecting, .consuming, .draining, .closed:
            return .none
        }
    }

    /// The broker blocked the consuming connection (`connection.blocked`): not ready until
    /// `unblocked()`. Only while consuming.
    public mutating func blocked(reason: String) -> Action {
        if case .consuming = state { state = .consuming(blocked: reason) }
        return .none
    }

    /// The broker unblocked the consuming connection: ready again.
    public mutating func unblocked() -> Action {
        if case .consuming = state { state = .consuming(blocked: nil) }
        return .none
    }

    /// SIGTERM/SIGINT. A second request while draining abandons the drain.
    public mutating func shutdownRequested() -> Action {
        switch state {
        case .idle, .connecting, .backingOff:
            state = .closed(.stopped)
            return .stop
        case .consuming:
            state = .draining
            return .drain
        case .draining:
            return .abandonDrain
        case .closed:
            return .none
        }
    }

    /// Every running handler finished after a drain: stop.
    public mutating func drainFinished() -> Action {
        switch state {
        case .draining:
            state = .closed(.stopped)
            return .stop
        case .idle, .connecting, .consuming, .backingOff, .closed:
            return .none
        }
    }

    /// A bug, not a broker condition: the consumer loop itself failed.
    public mutating func crashed(reason: String) -> Action {
        switch state {
        case .closed:
            return .none
        case .idle, .connecting, .consuming, .backingOff, .draining:
            state = .closed(.failed(reason: reason, cause: .crashed))
            return .fail(reason: reason, cause: .crashed)
        }
    }

    private mutating func retryOrGiveUp(after failure: Failure, attempt: Int, jitter: Double) -> Action {
        failuresInARow += 1
        refusalsInARow = failure.isPermanent ? refusalsInARow + 1 : 0
        if refusalsInARow >= maxRefusedAttempts {
            let reason = "\(failure.description) (refused \(refusalsInARow) times in a row, giving up)"
            state = .closed(.failed(reason: reason, cause: .refused))
            return .fail(reason: reason, cause: .refused)
        }
        let delay = backoff.delay(afterFailures: failuresInARow, jitter: jitter)
        state = .backingOff(attempt: attempt, delay: delay, cause: failure.description)
        return .wait(delay, attempt: attempt, cause: failure.description)
    }

    /// Readiness for `/readyz`: ready only while consuming and not blocked.
    public var readiness: (isReady: Bool, state: WorkerStatus.State, detail: String?) {
        switch state {
        case .idle: return (false, .starting, "starting")
        case .connecting(let attempt): return (false, .connecting, attempt == 1 ? "connecting" : "connecting (attempt \(attempt))")
        case .consuming(nil): return (true, .consuming, nil)
        case .consuming(let reason?): return (false, .blocked, "blocked by the broker: \(reason)")
        case .backingOff(_, _, let cause): return (false, .reconnecting, cause)
        case .draining: return (false, .draining, "draining")
        case .closed(.stopped): return (false, .stopped, "stopped")
        case .closed(.failed(let reason, _)): return (false, .failed, reason)
        }
    }
}
