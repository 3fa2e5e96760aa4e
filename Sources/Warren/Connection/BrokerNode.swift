import WarrenAMQP

/// The broker node a connection is connected to: which of the configured URLs, and what the
/// broker said about itself. Never holds credentials.
public struct BrokerNode: Sendable, Equatable, CustomStringConvertible {
    /// The node's host as configured.
    public var host: String
    /// The node's TCP port as configured (5672, or 5671 for `amqps://`, unless the URL says).
    public var port: Int
    /// The broker's `cluster_name` server property (the same on every node of a cluster; by
    /// default the first node's Erlang node name), when it sent one.
    public var clusterName: String?

    /// A node; `clusterName` is the broker's `cluster_name` server property, when it sent one.
    public init(host: String, port: Int, clusterName: String? = nil) {
        self.host = host
        self.port = port
        self.clusterName = clusterName
    }

    /// The node of `url` (its host and port only) with `serverProperties`' `cluster_name`.
    public init(url: AMQPURL, serverProperties: AMQPTable) {
        self.init(host: url.host, port: url.port, clusterName: serverProperties["cluster_name"]?.description)
    }

    /// `host:port`, the label operators and metrics use (IPv6 hosts bracketed).
    public var address: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `address` (`host:port`); never credentials, so safe for logs.
    public var description: String { address }
}
