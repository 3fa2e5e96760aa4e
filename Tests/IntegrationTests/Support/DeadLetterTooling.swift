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
