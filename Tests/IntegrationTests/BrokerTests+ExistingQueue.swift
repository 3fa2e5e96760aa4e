import Foundation
import Testing

extension BrokerTests {
    /// Issue 15, test 4: `--existing-queue` consumes a queue another service declared, with its
    /// own arguments.
    @Suite("Consuming an existing queue")
    struct ExistingQueue {
        /// pika declares a classic queue with `x-max-length` (and no dead-letter exchange). The
        /// worker with `--existing-queue` consumes it without redeclaring it (the broker would
        /// answer 406), acks a good message, retries a transient failure through `Q.retry.300ms`
        /// back into that queue, and dead-letters a permanent failure to `Q.dead`; the queue's
        /// arguments are still pika's.
        @Test("a queue declared by pika with x-max-length is consumed, retried into and dead-lettered from")
        func consumesAQueueDeclaredByPika() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("existing") { queue in
                try await broker.pikaDeclareQueue(queue, arguments: ["x-max-length": 1000])
                let worker = try WarrenProcess.worker(
                    env, queue: queue, ["--existing-queue", "--queue-type", "classic", "--retry-delays", "300ms", "--log-level", "debug"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                let suffix = uniqueSuffix()
                let (good, transient, permanent) = ("good-\(suffix)", "transient-\(suffix)", "permanent-\(suffix)")
                try await broker.pikaPublish(queue: queue, messages: [
                    (good, "{}"), (transient, #"{"fail_until_attempt": 2}"#), (permanent, #"{"fail":"permanent"}"#),
                ])

                try await poll(timeout: .seconds(20), "both acks and the dead-lettering", lastSeen: { worker.transcript }) {
                    worker.events("message.acked").count == 2 && worker.events("message.dead_lettered").count == 1
                }
                let acked = worker.events("message.acked")
                #expect(acked.contains { $0["message_id"] == good && $0["attempt"] == "1" }, "\(acked)")
                #expect(acked.contains { $0["message_id"] == transient && $0["attempt"] == "2" }, "back from the retry queue: \(acked)")
                let scheduled = worker.events("message.retry_scheduled")
                #expect(scheduled.map { $0["retry_queue"] } == ["\(queue).retry.300ms"], "\(worker.transcript)")
                #expect(worker.events("message.dead_lettered").first?["message_id"] == permanent, "\(worker.transcript)")

                let dead = try await pollValue(timeout: .seconds(10), interval: .milliseconds(300), "the copy in \(queue).dead") {
                    let messages = try await broker.pikaGet(queue: queue + ".dead", max: 5)
                    return messages.isEmpty ? nil : messages
                }
                #expect(dead.map(\.message_id) == [permanent], "\(dead)")
                #expect(dead.first?.headers["x-warren-error-type"] == "DemoFailure", "\(dead)")

                let arguments = try #require(try await broker.queueArguments(of: queue))
                #expect(arguments.contains("x-max-length") && !arguments.contains("x-dead-letter-exchange"), "pika's arguments, untouched: \(arguments)")
                let counts = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 && $0.unacknowledged == 0 }
                #expect(counts.type == "classic")
                let (end, _) = try await worker.stop()
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }

        /// `WARREN_EXISTING_QUEUE=true` on a queue that does not exist: each connect is refused
        /// with a `404` naming the queue, the worker exits 69 after `--max-refused-attempts`, and
        /// neither the queue nor any of Warren's own queues was created.
        @Test("a missing existing queue is a refusal naming it, and nothing is declared")
        func missingExistingQueueIsRefused() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("existing-missing") { queue in
                let worker = try WarrenProcess.worker(
                    env, queue: queue, ["--max-refused-attempts", "2", "--reconnect-initial-delay", "100ms", "--reconnect-max-delay", "200ms"],
                    environment: ["WARREN_EXISTING_QUEUE": "true"])
                defer { worker.forceStop() }
                #expect(try await worker.waitForExit(timeout: .seconds(30)) == .exited(69), "\(worker.transcript)")
                let error = worker.events("worker.failed").first?["error"] ?? ""
                #expect(error.contains("the existing queue '\(queue)' does not exist") && error.contains("404"), "\(worker.transcript)")
                #expect(worker.events("worker.consuming").isEmpty)
                let queues = try await broker.listQueues()
                #expect(queues.keys.filter { $0.hasPrefix(queue) }.isEmpty, "nothing declared: \(queues.keys.sorted())")
            }
        }

        /// `warren publish` to the default exchange declares the worker's topology first; with
        /// `WARREN_EXISTING_QUEUE=true` it declares no `Q` either, so it publishes to a queue
        /// pika declared, where without the setting it stops on the broker's 406.
        @Test("warren publish reads WARREN_EXISTING_QUEUE and publishes to the existing queue")
        func publishToAnExistingQueue() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("existing-publish") { queue in
                try await broker.pikaDeclareQueue(queue, arguments: ["x-max-length": 1000])
                let arguments = ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic"]
                let refused = try await warrenPublish(env, arguments)
                #expect(!refused.succeeded && refused.stderr.contains("406"), "\(refused)")
                let published = try await warrenPublish(env, arguments, environment: ["WARREN_EXISTING_QUEUE": "true"])
                #expect(published.succeeded && PublishSummary(published.output)?.confirmed == 1, "\(published)")
                #expect(try await broker.pikaGet(queue: queue).count == 1)
            }
        }

        /// Without `--existing-queue` the same pika-declared queue is today's `406
        /// PRECONDITION_FAILED` (Warren would declare it with other arguments), and the refusal
        /// names the way out.
        @Test("without --existing-queue, a queue declared with other arguments is a 406 that names the way out")
        func withoutTheFlagItIsA406() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("existing-406") { queue in
                try await broker.pikaDeclareQueue(queue, arguments: ["x-max-length": 1000])
                let worker = try WarrenProcess.worker(env, queue: queue, [
                    "--queue-type", "classic", "--max-refused-attempts", "2", "--reconnect-initial-delay", "100ms",
                    "--reconnect-max-delay", "200ms",
                ])
                defer { worker.forceStop() }
                #expect(try await worker.waitForExit(timeout: .seconds(30)) == .exited(69), "\(worker.transcript)")
                let error = worker.events("worker.failed").first?["error"] ?? ""
                #expect(error.contains("406") && error.contains("PRECONDITION_FAILED"), "\(worker.transcript)")
                #expect(error.contains("WARREN_EXISTING_QUEUE=true"), "the way out: \(error)")
            }
        }
    }
}
