extension WorkerStatus {
    /// What a worker is doing, as `/readyz` (`"state"`), the systemd `STATUS=` line and the
    /// `warren_connection_state` gauge's `state` label show it.
    ///
    /// The raw value (also `description`) is the word operators see and match on, so a case's
    /// word never changes. Only `consuming` is ready. The enum is exhaustive: a `switch` over it
    /// needs no `default`, and a new state would be a breaking change.
    public enum State: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Created, the consumer service has not run yet.
        case starting
        /// Opening the connection, declaring the topology and starting the consumer (the
        /// reason says which attempt).
        case connecting
        /// Connected and consuming, deliveries flowing: the only ready state.
        case consuming
        /// Connected, but the broker blocks the consuming connection or a publishing one
        /// (`connection.blocked`, a memory or disk alarm): retries and dead-letter copies cannot
        /// be published.
        case blocked
        /// Connected, but deliveries cannot flow (see `FlowMonitor`): the connection's thread
        /// stopped turning, or the delivery loop is stuck with no handler running. Lasting twice
        /// the stall timeout, it also fails liveness.
        case stalled
        /// The connection failed or was lost; waiting out the backoff before the next attempt.
        case reconnecting
        /// Shutting down: the consumer was cancelled and running handlers are finishing.
        case draining
        /// Shut down normally.
        case stopped
        /// Gave up: the broker kept refusing (e.g. bad credentials, incompatible queue
        /// arguments) or the consumer loop crashed; the process should exit non-zero.
        case failed

        /// The state's word, e.g. `consuming` (the raw value).
        public var description: String { rawValue }
    }
}
