import Foundation
import Warren
import WarrenAMQP

/// Runs `warren dlq <subcommand> …` to completion against the test broker on a classic `queue`
/// (inherited `WARREN_*` variables removed).
func warrenDlq(
    _ env: TestEnvironment, _ subcommand: String, queue: String, _ arguments: [String] = [],
    timeout: Duration = .seconds(60)
) async throws -> ToolResult {
    try await runTool(
        env.warrenBinary, ["dlq", subcommand] + dlqBrokerArguments(env, queue: queue) + arguments,
        removingEnvironment: { $0.hasPrefix("WARREN_") }, timeout: timeout)
}

/// The broker flags every `warren dlq` call in these tests passes: classic queues, whose counts
/// `rabbitmqctl` reports exactly.
func dlqBrokerArguments(_ env: TestEnvironment, queue: String) -> [String] {
    ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic"]
}

/// A message read back with pika, with the header names (`x-death` included) that `FetchedMessage`
/// and `InProcessFetched` each only half decode.
struct DeadLetterToolingFetched: Sendable, Decodable, CustomStringConvertible {
    let body_b64: String
    let message_id: String?
    let content_type: String?
    let correlation_id: String?
    let delivery_mode: Int?
    let header_names: [String]
    /// Header values as text, `x-death` left out.
    let headers: [String: String]

    var body: [UInt8] { Array(Data(base64Encoded: body_b64) ?? Data()) }
    var description: String { "\(message_id ?? "-") headers \(header_names) body \(String(decoding: body, as: UTF8.self).prefix(80))" }
}

extension Broker {
    /// Declares `queue`'s topology as classic queues, with the same `Topology` the worker and
    /// `warren publish` use.
    func declareClassicTopology(of queue: String) async throws {
        let connection = try await AMQPConnection.connect(
            AMQPConnectionConfiguration(url: try AMQPURL(env.amqpURL), connectionName: "it-dlq-topology"))
        do {
            try await Topology(queue: queue, queueType: .classic).declare(on: connection)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }

    /// Takes up to `max` messages from `queue` (auto-ack).
    func dlqFetch(queue: String, max: Int) async throws -> [DeadLetterToolingFetched] {
        try await decodeLines(runToolChecked(
            "python3", ["-c", Self.getScript, env.amqpURL, queue, String(max)], timeout: .seconds(60)))
    }

    /// Reads every ready message of `queue` without acking and then closes, so the broker puts
    /// them all back: a look that changes nothing but their redelivered flag.
    func dlqBrowse(queue: String) async throws -> [DeadLetterToolingFetched] {
        try await decodeLines(runToolChecked(
            "python3", ["-c", Self.browseScript, env.amqpURL, queue], timeout: .seconds(60)))
    }

    private func decodeLines(_ result: ToolResult) throws -> [DeadLetterToolingFetched] {
        try result.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(DeadLetterToolingFetched.self, from: Data($0.utf8))
        }
    }

    private static let browseScript = """
        import base64, json, sys, pika
        connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
        channel = connection.channel()
        def text(value):
            return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)
        while True:
            method, properties, body = channel.basic_get(sys.argv[2], auto_ack=False)
            if method is None:
                break
            headers = properties.headers or {}
            print(json.dumps({
                'body_b64': base64.b64encode(body).decode(), 'message_id': properties.message_id,
                'content_type': properties.content_type, 'correlation_id': properties.correlation_id,
                'delivery_mode': properties.delivery_mode, 'header_names': sorted(headers.keys()),
                'headers': {k: text(v) for k, v in headers.items() if k != 'x-death'},
            }))
        connection.close()
        """
}

/// Counts a queue's ready messages many times a second (a passive `queue.declare` on a
/// connection of its own), where `rabbitmqctl` would cost ~0.8 CPU-seconds a call.
final class DeadLetterToolingCounter: Sendable {
    private let connection: AMQPConnection

    private init(connection: AMQPConnection) { self.connection = connection }

    static func open(_ env: TestEnvironment) async throws -> DeadLetterToolingCounter {
        DeadLetterToolingCounter(connection: try await AMQPConnection.connect(
            AMQPConnectionConfiguration(url: try AMQPURL(env.amqpURL), connectionName: "it-dlq-counter")))
    }

    func ready(_ queue: String) async throws -> Int {
        Int(try await connection.inspectQueue(queue).messages)
    }

    func close() async { await connection.close() }
}
