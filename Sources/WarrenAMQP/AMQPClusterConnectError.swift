/// Every node of a URL list failed one connect attempt; each node's own error, in the order tried.
///
/// Classification (`isPermanent`): the attempt counts as a refusal when at least one node
/// answered with a refusal retrying cannot fix (`AMQPError.isPermanent`: bad credentials, a
/// missing vhost), even if the other nodes were unreachable. Users, passwords, vhosts and
/// permissions are cluster-wide in RabbitMQ, so a node that answers "no" speaks for the cluster,
/// while a node that cannot be reached says nothing. The worker still stops only after
/// `maxRefusedAttempts` refused attempts in a row, so a node that refuses briefly while it boots
/// does not stop it; an attempt in which every node was merely unreachable is transient.
public struct AMQPClusterConnectError: Error, Sendable, CustomStringConvertible {
    /// Each node tried, redacted, with its error.
    public var failures: [(node: AMQPURL, error: any Error)]

    /// The failures of one attempt, in the order the nodes were tried.
    public init(failures: [(node: AMQPURL, error: any Error)]) {
        self.failures = failures
    }

    /// See the type's comment.
    public var isPermanent: Bool {
        failures.contains { ($0.error as? AMQPError)?.isPermanent == true }
    }

    /// `all 3 nodes failed: 127.0.0.1:5672: …; 127.0.0.1:5673: …` (no credentials: only hosts,
    /// ports and the errors, which never hold a password).
    public var description: String {
        "all \(failures.count) nodes failed: "
            + failures.map { "\($0.node.host):\($0.node.port): \($0.error)" }.joined(separator: "; ")
    }
}
