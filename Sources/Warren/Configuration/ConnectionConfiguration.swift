import WarrenAMQP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to reach the broker: one AMQP connection's settings.
public struct ConnectionConfiguration: Sendable, Equatable {
    /// The broker; its password never reaches a log line (see `AMQPURL.redacted`).
    public var url: AMQPURL
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
        self.url = url
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

    var amqp: AMQPConnectionConfiguration {
        var configuration = AMQPConnectionConfiguration(
            url: url, connectionName: connectionName,
            heartbeatSeconds: Int(heartbeat.components.seconds),
            connectTimeoutSeconds: max(1, Int(connectTimeout.components.seconds)))
        configuration.tls = tls
        return configuration
    }
}
