import Logging

extension AMQPConnection {
    /// A connection to the first of `nodes` that accepts one, tried in order; one connect attempt
    /// of a client configured with a cluster's URL list.
    public struct NodeConnection: Sendable {
        /// The open connection, to the node at `index`.
        public var connection: AMQPConnection
        /// Index in `nodes` of the node connected to.
        public var index: Int
        /// Nodes tried before it, with their errors (empty when the first one connected).
        public var skipped: [(node: AMQPURL, error: any Error)]
    }

    /// Tries `nodes` in order with `configuration`'s other settings, each node with its **own**
    /// connect deadline (its URL's `connection_timeout`, else `connectTimeoutSeconds`), so one
    /// blackholed node costs one deadline, not the whole attempt. Returns the first connection
    /// made.
    ///
    /// Throws the node's own error when `nodes` has one element (exactly as `connect`), else
    /// `AMQPClusterConnectError` holding every node's error when all of them failed (see it for
    /// how a refusal is told from an unreachable cluster). Cancellation stops at once.
    ///
    /// Each node gets a fresh owner thread; a node that fails leaves none behind.
    public static func connect(
        _ configuration: AMQPConnectionConfiguration, nodes: [AMQPURL], logger: Logger = Logger(label: "warren.amqp"),
        onEvent: @escaping @Sendable (AMQPConnectionEvent) -> Void = { _ in }
    ) async throws -> NodeConnection {
        precondition(!nodes.isEmpty, "connect needs at least one node")
        var skipped: [(node: AMQPURL, error: any Error)] = []
        for (index, node) in nodes.enumerated() {
            var single = configuration
            single.url = node
            do {
                let connection = try await connect(single, logger: logger, onEvent: onEvent)
                return NodeConnection(connection: connection, index: index, skipped: skipped)
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                if nodes.count == 1 { throw error }
                logger.debug("node failed", metadata: ["node": "\(node.host):\(node.port)", "error": "\(error)"])
                skipped.append((node, error))
            }
        }
        throw AMQPClusterConnectError(failures: skipped)
    }
}
