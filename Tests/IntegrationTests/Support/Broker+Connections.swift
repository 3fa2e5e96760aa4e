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

/// A message read back with pika, with the flags the resilience tests need.
struct ReceivedMessage: Sendable, Decodable {
    let body: String
    let message_id: String?
    let redelivered: Bool
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

    /// Takes up to `max` messages from `queue` with pika's `basic_get` (auto-ack), with their
    /// `redelivered` flags.
    func pikaReceive(queue: String, max: Int) async throws -> [ReceivedMessage] {
        let result = try await runToolChecked(
            "python3", ["-c", Self.receiveScript, env.amqpURL, queue, String(max)], timeout: .seconds(30))
        return try result.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(ReceivedMessage.self, from: Data($0.utf8))
        }
    }

    private static let declareScript = """
        import sys, pika
        connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
        connection.channel().queue_declare(sys.argv[2], durable=True)
        connection.close()
        """

    private static let receiveScript = """
        import json, sys, pika
        url, queue, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        for _ in range(limit):
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            print(json.dumps({
                'body': body.decode('utf-8', 'replace'),
                'message_id': properties.message_id,
                'redelivered': bool(method.redelivered),
            }))
        connection.close()
        """
}
