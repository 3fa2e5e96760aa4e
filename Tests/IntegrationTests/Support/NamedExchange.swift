import Foundation

/// A direct exchange bound to a queue with a routing key other than the queue's name: messages
/// published through it arrive with an exchange and routing key that differ from those of a
/// retry hop or a republished copy (default exchange, routing key = queue), so a test can tell
/// "the original routing survived" from "Warren copied the delivery's own values".
///
/// The exchange is declared auto-delete: deleting the queue removes its one binding, and the
/// broker then deletes the exchange, so `Broker.withQueue`'s clean-up covers it.
struct NamedExchange: Sendable {
    let name: String
    let routingKey: String

    /// A fresh name `it.exchange.<label>.<random>` with routing key `<label>.key.<random>`.
    init(_ label: String) {
        let suffix = uniqueSuffix()
        name = "it.exchange.\(label).\(suffix)"
        routingKey = "\(label).key.\(suffix)"
    }
}

extension Broker {
    /// Declares `exchange` (direct, not durable, auto-delete), binds `queue` (which must exist) to it with
    /// `exchange.routingKey`, then publishes `messages` through it with pika: persistent,
    /// mandatory, each with its own properties, waiting for every confirm.
    func pikaPublish(through exchange: NamedExchange, to queue: String, _ messages: [OutgoingMessage]) async throws {
        let list: [[String: Any]] = messages.map { message in
            var entry: [String: Any] = ["id": message.id, "body_b64": Data(message.body).base64EncodedString()]
            if let correlationID = message.correlationID { entry["correlation_id"] = correlationID }
            if !message.headers.isEmpty { entry["headers"] = message.headers.mapValues(\.json) }
            return entry
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
        try await runToolChecked(
            "python3", ["-c", Self.exchangePublishScript, env.amqpURL, exchange.name, exchange.routingKey, queue, json],
            timeout: .seconds(30))
    }

    /// `pikaPublish(through:to:_:)` with `application/json` bodies.
    func pikaPublish(through exchange: NamedExchange, to queue: String, messages: [(id: String, body: String)]) async throws {
        try await pikaPublish(through: exchange, to: queue, messages.map { OutgoingMessage(id: $0.id, body: $0.body) })
    }

    private static let exchangePublishScript = """
        import base64, json, sys, pika
        url, exchange, key, queue, messages = sys.argv[1:6]
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        channel.exchange_declare(exchange, exchange_type='direct', durable=False, auto_delete=True)
        channel.queue_bind(queue, exchange, routing_key=key)
        channel.confirm_delivery()
        for m in json.loads(messages):
            channel.basic_publish(
                exchange=exchange, routing_key=key, body=base64.b64decode(m['body_b64']), mandatory=True,
                properties=pika.BasicProperties(
                    message_id=m['id'], delivery_mode=2, content_type='application/json',
                    correlation_id=m.get('correlation_id'), headers=m.get('headers')))
        connection.close()
        """
}
