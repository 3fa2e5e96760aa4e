import Foundation

/// A message published with pika to a named exchange (`Broker.pikaPublishRouted`).
struct RoutedMessage: Sendable {
    var id: String
    var routingKey: String
    var headers: [String: String] = [:]
}

extension Broker {
    /// Declares a durable exchange of `type` with pika, as another service would.
    func pikaDeclareExchange(_ name: String, type: String) async throws {
        try await runToolChecked("python3", ["-c", Self.exchangeScript, env.amqpURL, name, type], timeout: .seconds(30))
    }

    /// Declares a durable classic queue with `arguments` (JSON-encodable values: an integer
    /// `x-max-length`, a string `x-dead-letter-exchange`, …) with pika.
    func pikaDeclareQueue(_ name: String, arguments: [String: any Sendable]) async throws {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: arguments), as: UTF8.self)
        try await runToolChecked("python3", ["-c", Self.queueScript, env.amqpURL, name, json], timeout: .seconds(30))
    }

    /// Publishes each message to `exchange` with its routing key and string headers, persistent
    /// `application/json` `{}`, mandatory, waiting for each confirm. Returns the ids the broker
    /// returned (`basic.return`): those no queue is bound to receive.
    func pikaPublishRouted(exchange: String, _ messages: [RoutedMessage]) async throws -> Set<String> {
        let list: [[String: Any]] = messages.map { ["id": $0.id, "key": $0.routingKey, "headers": $0.headers] }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
        let result = try await runToolChecked(
            "python3", ["-c", Self.routedPublishScript, env.amqpURL, exchange, json], timeout: .seconds(30))
        return Set(result.stdout.split(separator: "\n").map(String.init))
    }

    /// Type and durability of every exchange on the vhost, by name (`rabbitmqctl list_exchanges`).
    func listExchanges() async throws -> [String: (type: String, durable: Bool)] {
        let result = try await rabbitmqctl(["list_exchanges", "--quiet", "--no-table-headers", "name", "type", "durable"])
        var exchanges: [String: (type: String, durable: Bool)] = [:]
        for line in result.stdout.split(separator: "\n") {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count >= 3 else { continue }
            exchanges[columns[0]] = (columns[1], columns[2] == "true")
        }
        return exchanges
    }

    /// The `arguments` column of `rabbitmqctl list_queues` for `queue`, as printed.
    func queueArguments(of queue: String) async throws -> String? {
        let result = try await rabbitmqctl(["list_queues", "--quiet", "--no-table-headers", "name", "arguments"])
        return result.stdout.split(separator: "\n").first { $0.hasPrefix(queue + "\t") }
            .map { String($0.dropFirst(queue.count + 1)) }
    }

    private static let exchangeScript = """
        import sys, pika
        url, name, kind = sys.argv[1:4]
        connection = pika.BlockingConnection(pika.URLParameters(url))
        connection.channel().exchange_declare(name, exchange_type=kind, durable=True)
        connection.close()
        """

    private static let queueScript = """
        import json, sys, pika
        url, name, arguments = sys.argv[1:4]
        connection = pika.BlockingConnection(pika.URLParameters(url))
        connection.channel().queue_declare(name, durable=True, arguments=json.loads(arguments))
        connection.close()
        """

    private static let routedPublishScript = """
        import json, sys, pika
        url, exchange, messages = sys.argv[1:4]
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        channel.confirm_delivery()
        for m in json.loads(messages):
            try:
                channel.basic_publish(
                    exchange=exchange, routing_key=m['key'], body=b'{}', mandatory=True,
                    properties=pika.BasicProperties(
                        message_id=m['id'], delivery_mode=2, content_type='application/json', headers=m['headers'] or None))
            except pika.exceptions.UnroutableError:
                print(m['id'])
        connection.close()
        """
}
