import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: a copy the broker refuses requeues its message")
    struct LibraryCopyFailed {
        struct Empty: Decodable, Sendable {}
        struct Refused: Error {}

        /// `Q.dead` refuses every publish (a policy `max-length` 0 with `overflow: reject-publish`,
        /// so the broker nacks the copy): a failed message's dead-letter copy is published twice,
        /// both nacked; the original is then requeued (`message.requeued`, `reason: copy_failed`),
        /// never dead-lettered nor lost: the broker still holds it. Once the policy is cleared,
        /// the message is handled again and its copy lands in `Q.dead`.
        @Test("a dead-letter copy refused twice requeues the message; it is handled again once the broker takes copies")
        func refusedCopyRequeues() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.copy-failed") { queue in
                try await env.declareTopology(queue)
                let policy = "it-refuse-copies-\(uniqueSuffix())"
                let pattern = "^" + NSRegularExpression.escapedPattern(for: queue + ".dead") + "$"
                try await broker.rabbitmqctl([
                    "set_policy", "--apply-to", "queues", "--priority", "100", policy, pattern,
                    #"{"max-length":0,"overflow":"reject-publish"}"#,
                ])
                try await withCleanup {
                    let log = InProcessLog()
                    let handled = InProcessRecorder<String>()
                    let consumer = WarrenConsumer(
                        configuration: ConsumerConfiguration(queue: queue, queueType: .classic, retryPolicy: .none),
                        connection: .dedicated(try env.connection("it-lib-copy-failed-\(uniqueSuffix())")),
                        handler: ClosureHandler { (_: Empty, context) in
                            handled.append(context.properties.messageID ?? "?")
                            throw Refused()
                        },
                        logger: log.logger())

                    let id = "refused-\(uniqueSuffix())"
                    try await withInProcessWorker([consumer], log: log) { worker in
                        try await log.waitFor("worker.consuming")
                        try await broker.pikaPublish(queue: queue, messages: [(id, "{}")])
                        let requeued = try await log.waitFor("message.requeued", timeout: .seconds(30)) { $0["message_id"] == id }
                        #expect(requeued.first?["reason"] == "copy_failed", "\(requeued)")
                        #expect(!log.events("message.copy_retrying").isEmpty, "published once more first: \(log.transcript)")
                        #expect(log.events("message.dead_lettered").isEmpty, "\(log.transcript)")
                        // The broker's view: nothing reached Q.dead, and the message is still in Q.
                        let counts = try await broker.listQueues()
                        #expect(counts[queue + ".dead"]?.messages == 0, "\(counts)")
                        #expect(counts[queue]?.messages == 1, "the message is not lost: \(counts)")

                        // Copies accepted again: the next handling dead-letters it.
                        try await broker.rabbitmqctl(["clear_policy", policy])
                        try await log.waitFor("message.dead_lettered", timeout: .seconds(30)) { $0["message_id"] == id }
                        try await worker.stop()
                    }
                    #expect(handled.all.filter { $0 == id }.count >= 2, "handled again after the requeue: \(handled.all)")
                    let dead = try await broker.pikaGet(queue: queue + ".dead", max: 5)
                    #expect(dead.map(\.message_id) == [id], "\(dead)")
                    let counts = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 }
                    #expect(counts.unacknowledged == 0)
                } cleanup: {
                    _ = try? await broker.rabbitmqctl(["clear_policy", policy])
                }
            }
        }
    }
}
