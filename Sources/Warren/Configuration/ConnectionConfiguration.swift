import WarrenAMQP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to reach the broker: one AMQP connection's settings.
public struct ConnectionConfiguration: Sendable, Equatable {
    /// The broker's nodes, one URL each; their passwords never reach a log line (see
    /// `AMQPURL.redacted`). At each (re)connect a connection tries them in this process's order
    /// (see `shuffle` and `AMQPNodeRotation`), each with its own connect deadline.
    public var urls: AMQPURLList
    /// Whether this process tries `urls` in its own shuffled order (drawn once per process, so
    /// replicas spread over the nodes) rather than as given.
    public var shuffle: Bool
    /// The first URL as given; setting it replaces the first URL. A single-node configuration's
    /// URL.
    public var url: AMQPURL {
        get { urls.first }
        set { urls.first = newValue }
    }
    /// Shown in the management UI (`connection_name`), e.g. `orders@host:1234`.
    public var connectionName: String
    /// Requested AMQP heartbeat interval, whole seconds; `.zero` disables heartbeats.
    public var heartbeat: Duration
    /// Bound on the TCP connect, the login handshake and each RPC.
    public var connectTimeout: Duration
    /// Spacing of a `WarrenConnection`'s connect attempts after a failed one (full jitter below
    /// a cap doubling from `initial` up to `maximum`; reset by a successful attempt). The
    /// worker passes its `reconnect-initial-delay` / `reconnect-max-delay` here.
    public var reconnectBackoff: Backoff
    /// TLS settings for an `amqps://` `url` (its own query parameters win over them).
    public var tls = TLSConfiguration()

    /// Nothing connects here: a `WarrenConnection` or `WarrenConsumer` opens the connection
    /// when it first needs it.
    public init(
        url: AMQPURL, connectionName: String, heartbeat: Duration = .seconds(30), connectTimeout: Duration = .seconds(10),
        reconnectBackoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
    ) {
        self.init(urls: AMQPURLList([url]), connectionName: connectionName, heartbeat: heartbeat, connectTimeout: connectTimeout,
                  reconnectBackoff: reconnectBackoff)
    }

    /// A cluster: one URL per node, tried in this process's shuffled order unless `shuffle` is
    /// false. `connectTimeout` bounds each node's attempt, not the whole list's.
    ///
    /// ```swift
    /// let urls = try AMQPURLList("amqp://u:p@rabbit-1/,amqp://u:p@rabbit-2/,amqp://u:p@rabbit-3/")
    /// let connection = ConnectionConfiguration(urls: urls, connectionName: "orders")
    /// ```
    public init(
        urls: AMQPURLList, shuffle: Bool = true, connectionName: String, heartbeat: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(10), reconnectBackoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
    ) {
        self.urls = urls
        self.shuffle = shuffle
        self.connectionName = connectionName
        self.heartbeat = heartbeat
        self.connectTimeout = connectTimeout
        self.reconnectBackoff = reconnectBackoff
    }

    /// `<program>@<host>:<pid>`: how operators find this process in the management UI.
    public static func processName(_ program: String) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let host = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(program)@\(host):\(getpid())"
    }

    /// The same broker under another connection name (a publisher's own connection).
    public func named(_ name: String) -> ConnectionConfiguration {
        var copy = self
        copy.connectionName = name
        return copy
    }

    /// The nodes in the order this process tries them (see `shuffle`).
    public var orderedURLs: [AMQPURL] { urls.processOrder(shuffled: shuffle) }

    var amqp: AMQPConnectionConfiguration {
        var configuration = AMQPConnectionConfiguration(
            url: url, connectionName: connectionName,
            heartbeatSeconds: Int(heartbeat.components.seconds),
            connectTimeoutSeconds: max(1, Int(connectTimeout.components.seconds)))
        configuration.tls = tls
        return configuration
    }
}
