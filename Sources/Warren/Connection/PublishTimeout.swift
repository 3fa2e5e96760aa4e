/// A publish was not confirmed within its timeout. The broker may still have stored the
/// message: the outcome is unknown, not a failure.
public struct PublishTimeout: Error, Sendable, CustomStringConvertible {
    /// How long the publish waited for the broker's confirm.
    public var timeout: Duration
    /// The broker's `connection.blocked` reason (e.g. `low on memory`) when the connection was
    /// blocked at the timeout: the broker stopped reading it under a resource alarm, so waiting
    /// longer helps only once the alarm clears. `nil` when it was not blocked (or never opened).
    public var blockedReason: String?

    /// A publish unconfirmed after `timeout`, with the connection's `connection.blocked` reason
    /// at that moment, if any.
    public init(timeout: Duration, blockedReason: String? = nil) {
        self.timeout = timeout
        self.blockedReason = blockedReason
    }

    /// `publish not confirmed within <timeout>`, with the block's reason while blocked.
    public var description: String {
        let blocked = blockedReason.map { " while the broker blocked the connection (\($0))" } ?? ""
        return "publish not confirmed within \(timeout)\(blocked); the broker may still store the message"
    }
}
