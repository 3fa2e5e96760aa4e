/// How to open an `AMQPConnection`.
public struct AMQPConnectionConfiguration: Sendable {
    public var url: AMQPURL
    /// Requested heartbeat interval in seconds (0 disables; the broker may lower it).
    public var heartbeatSeconds: Int
    /// Bound on TCP connect, the login handshake and each RPC.
    public var connectTimeoutSeconds: Int
    /// Shown in the management UI (`connection_name` client property).
    public var connectionName: String

    public init(url: AMQPURL, connectionName: String, heartbeatSeconds: Int = 30, connectTimeoutSeconds: Int = 10) {
        self.url = url
        self.connectionName = connectionName
        self.heartbeatSeconds = heartbeatSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// Client properties sent at login. librabbitmq does not advertise `consumer_cancel_notify`
    /// or `connection.blocked` by default, and without them the broker never tells a client that
    /// its consumer was cancelled or its connection blocked.
    var clientProperties: AMQPTable {
        [
            "product": "Warren",
            "platform": "Swift",
            "connection_name": .string(connectionName),
            "capabilities": .table([
                "consumer_cancel_notify": true,
                "connection.blocked": true,
                "authentication_failure_close": true,
                "publisher_confirms": true,
                "basic.nack": true,
                "exchange_exchange_bindings": true,
                "per_consumer_qos": true,
            ]),
        ]
    }
}
