import Logging

/// How to open an `AMQPConnection`.
public struct AMQPConnectionConfiguration: Sendable {
    /// The node to connect to; its query parameters win over the settings below.
    public var url: AMQPURL
    /// Requested heartbeat interval in seconds (0 disables; the broker may lower it).
    public var heartbeatSeconds: Int
    /// Bound on TCP connect, the login handshake and each RPC.
    public var connectTimeoutSeconds: Int
    /// Shown in the management UI (`connection_name` client property).
    public var connectionName: String
    /// TLS settings for `amqps://` URLs (the URL's own parameters win; see `effectiveTLS`).
    public var tls = TLSConfiguration()

    /// A configuration with the default TLS settings; `heartbeatSeconds` 0 disables heartbeats,
    /// `connectTimeoutSeconds` bounds the TCP connect, the login and each RPC.
    public init(url: AMQPURL, connectionName: String, heartbeatSeconds: Int = 30, connectTimeoutSeconds: Int = 10) {
        self.url = url
        self.connectionName = connectionName
        self.heartbeatSeconds = heartbeatSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// The heartbeat requested at login: the URL's `heartbeat` parameter wins over
    /// `heartbeatSeconds`, because it is the more specific setting (one node's).
    var effectiveHeartbeatSeconds: Int { url.query.heartbeat ?? heartbeatSeconds }

    /// The connect, handshake and RPC bound in whole seconds: the URL's `connection_timeout`
    /// (milliseconds, rounded up: librabbitmq's timeouts here are whole seconds) wins over
    /// `connectTimeoutSeconds`.
    var effectiveConnectTimeoutSeconds: Int {
        guard let timeout = url.query.connectionTimeout else { return connectTimeoutSeconds }
        return max(1, Int((timeout.milliseconds + 999) / 1000))
    }

    /// The TLS settings for `url`: `tls` with the URL's query parameters put over it.
    var effectiveTLS: TLSConfiguration { tls.applying(url.query) }

    /// The channel_max requested at login: the URL's `channel_max`, else 0 (the broker's limit).
    var effectiveChannelMax: Int { url.query.channelMax ?? 0 }

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

extension AMQPConnectionConfiguration {
    /// Logs `connection.tls_verify_disabled` (warning) when `url` is `amqps://` with verification
    /// off: at every connect, so an unverified connection never goes unnoticed.
    func warnIfUnverified(_ logger: Logger) {
        guard url.tls, !effectiveTLS.verifyPeer else { return }
        logger.warning("TLS certificate verification is disabled (verify=verify_none): the connection is encrypted but the broker is not authenticated", metadata: [
            "event": "connection.tls_verify_disabled", "url": "\(url.redacted)",
        ])
    }
}
