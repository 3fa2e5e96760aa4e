/// Something the broker told a connection that is not tied to a call in progress.
public enum AMQPConnectionEvent: Sendable, Equatable {
    /// `connection.blocked`: the broker stopped reading from this connection (memory or disk
    /// alarm); publishes will stall until `unblocked`.
    case blocked(reason: String)
    /// `connection.unblocked`: the alarm cleared; the broker reads from the connection again.
    case unblocked
}
