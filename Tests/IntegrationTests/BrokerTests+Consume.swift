import Foundation
import Testing

extension BrokerTests {
    @Suite("Consuming from a quorum queue")
    struct Consume {
        /// The default path end to end: quorum queue (the default type), `warren publish` with
        /// confirms, a worker acking every message once, and a graceful SIGTERM stop.
        @Test("1,000 good messages are each acked once and the queue drains")
        func thousandMessagesAreAcked() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("consume") { queue in
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", env.amqpURL, "--queue", queue, "--log-level", "debug"])
                defer { worker.forceStop() }
                let consuming = try await worker.waitForEvent("worker.consuming")
                #expect(consuming["queue"] == queue)
                #expect(consuming["level"] == "info")

                let publish = try await warrenPublish(
                    env, ["--amqp-url", env.amqpURL, "--queue", queue, "--count", "1000"])
                #expect(publish.succeeded, "\(publish)")
                #expect(
                    PublishSummary(publish.stdout)
                        == PublishSummary(published: 1000, confirmed: 1000, nacked: 0, unroutable: 0),
                    "\(publish)")

                func ackedIDs() -> Set<String> {
                    Set(worker.events("message.acked").compactMap { $0["message_id"] })
                }
                try await poll(
                    timeout: .seconds(60), "1,000 distinct message ids logged as message.acked",
                    lastSeen: { "\(ackedIDs().count) acked\n\(worker.transcript)" }
                ) { ackedIDs().count >= 1000 }

                let acked = worker.events("message.acked")
                #expect(ackedIDs().count == 1000)
                #expect(acked.count == 1000, "each message is acked exactly once")
                #expect(worker.events("message.dead_lettered").isEmpty)
                // Every outcome line carries the documented fields (report a few offenders, not 1,000).
                let malformed = acked.filter { line in
                    line["level"] != "debug" || line["redelivered"] != "false"
                        || line["delivery_tag"].flatMap { UInt64($0) } == nil
                        || line["duration_ms"].flatMap { Double($0) } == nil
                        || line["ts"] == nil || line["logger"] == nil || line["msg"] == nil
                }
                #expect(malformed.isEmpty, "\(malformed.count) malformed lines, e.g. \(malformed.prefix(3))")

                // Quorum queue counts come from metrics refreshed every few seconds: poll for the
                // eventual value (all 1,000 are already acked, so 0 here is not a stale reading).
                let counts = try await broker.waitForCounts(
                    of: queue, timeout: .seconds(30), "0 messages and 0 unacknowledged"
                ) { $0.messages == 0 && $0.unacknowledged == 0 }
                #expect(counts.type == "quorum")

                worker.send(SIGTERM)
                let end = try await worker.waitForExit(timeout: .seconds(20))
                #expect(end == .exited(0), "SIGTERM stops the worker gracefully\n\(worker.transcript)")
            }
        }
    }
}
