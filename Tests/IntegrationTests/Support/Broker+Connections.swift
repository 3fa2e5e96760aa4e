import Foundation

/// One client connection as `rabbitmqctl list_connections` shows it.
struct BrokerConnection: Sendable, CustomStringConvertible {
    /// The connection's Erlang process id, e.g. `<rabbit@host.1.765.0>`: what `close_connection` takes.
    let pid: String
    /// The raw `client_properties` column (an Erlang-ish rendering of the field table).
    let clientProperties: String
    /// The negotiated heartbeat interval in seconds (0 = none).
    let heartbeat: Int?
    /// `running`, `blocking` (an alarm is on; blocked at its next publish), `blocked`, …
    let state: String

    var description: String { "\(pid) state \(state), heartbeat \(heartbeat.map(String.init) ?? "?"): \(clientProperties)" }

    /// The `connection_name` client property, e.g. `warren@host:1234`.
    var connectionName: String? {
        clientProperties.firstMatch(of: /\{"connection_name","([^"]*)"\}/).map { String($0.1) }
    }

    /// True if the client advertised `capability` as true, e.g. `consumer_cancel_notify`.
    func advertises(_ capability: String) -> Bool {
        clientProperties.contains("{\"\(capability)\",true}")
    }
}

/// One consumer as `rabbitmqctl list_consumers` shows it, with the connection its channel is on.
struct BrokerConsumer: Sendable, CustomStringConvertible {
    let queue: String
    let channelPID: String
    let prefetch: Int?
    /// The `connection_name` of the connection the consumer's channel belongs to.
    let connectionName: String?

    var description: String { "\(queue) on \(connectionName ?? "?") (\(channelPID)) prefetch \(prefetch.map(String.init) ?? "?")" }
}

extension Broker {
    /// Every client connection on the broker.
    func listConnections() async throws -> [BrokerConnection] {
        let result = try await rabbitmqctl([
            "list_connections", "--quiet", "--no-table-headers", "pid", "client_properties", "timeout", "state",
        ])
        return result.stdout.split(separator: "\n").compactMap { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count >= 4, columns[0].hasPrefix("<") else { return nil }
            return BrokerConnection(
                pid: columns[0], clientProperties: columns[1], heartbeat: Int(columns[2]), state: columns[3])
        }
    }

    /// The connection of the `warren` process `processID`, found by its client-provided name
    /// `warren@<host>:<pid>`; nil if it has none.
    func connection(ofProcess processID: Int32) async throws -> BrokerConnection? {
        try await listConnections().first { connection in
            guard let name = connection.connectionName else { return false }
            return name.hasPrefix("warren@") && name.hasSuffix(":\(processID)")
        }
    }

    /// `rabbitmqctl close_connection`: the broker sends `connection.close` (320 CONNECTION_FORCED).
    func closeConnection(_ connection: BrokerConnection, reason: String) async throws {
        try await rabbitmqctl(["close_connection", connection.pid, reason])
    }

    /// The number of consumers on `queue`, or nil if the queue does not exist.
    func consumerCount(of queue: String) async throws -> Int? {
        let result = try await rabbitmqctl(["list_queues", "--quiet", "--no-table-headers", "name", "consumers"])
        for line in result.stdout.split(separator: "\n") {
            let columns = line.split(separator: "\t").map(String.init)
            if columns.count >= 2, columns[0] == queue { return Int(columns[1]) }
        }
        return nil
    }

    /// Declares `queue` with pika as a durable classic queue with no arguments at all, i.e.
    /// incompatible with what `warren` declares by default (quorum, with a dead-letter exchange).
    func declarePlainClassicQueue(_ queue: String) async throws {
        try await runToolChecked(
            "python3", ["-c", Self.declareScript, env.amqpURL, queue], timeout: .seconds(30))
    }

    /// Every consumer on the broker, each with the `connection_name` of its connection
    /// (`list_consumers` joined with `list_channels` and `list_connections`), and the
    /// `connection_name` of every connection.
    func listConsumers() async throws -> (consumers: [BrokerConsumer], connectionNames: [String]) {
        let consumers = try await rabbitmqctl([
            "list_consumers", "--quiet", "--no-table-headers", "queue_name", "channel_pid", "prefetch_count",
        ])
        let channels = try await rabbitmqctl(["list_channels", "--quiet", "--no-table-headers", "pid", "connection"])
        var connectionOfChannel: [String: String] = [:]
        for line in channels.stdout.split(separator: "\n") {
            let columns = line.split(separator: "\t").map(String.init)
            if columns.count >= 2 { connectionOfChannel[columns[0]] = columns[1] }
        }
        let connections = try await listConnections()
        var nameOfConnection: [String: String] = [:]
        for connection in connections {
            nameOfConnection[connection.pid] = connection.connectionName
        }
        let list = consumers.stdout.split(separator: "\n").compactMap { line -> BrokerConsumer? in
            let columns = line.split(separator: "\t").map(String.init)
            guard columns.count >= 3 else { return nil }
            return BrokerConsumer(
                queue: columns[0], channelPID: columns[1], prefetch: Int(columns[2]),
                connectionName: connectionOfChannel[columns[1]].flatMap { nameOfConnection[$0] })
        }
        return (list, connections.compactMap(\.connectionName))
    }

    /// The `connection_name`s of every client connection on the broker.
    func connectionNames() async throws -> [String] {
        try await listConnections().compactMap(\.connectionName)
    }

    private static let declareScript = """
        import sys, pika
        connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
        connection.channel().queue_declare(sys.argv[2], durable=True)
        connection.close()
        """
}
