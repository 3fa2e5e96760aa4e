import Foundation
import Testing

extension BrokerTests {
    @Suite("Acknowledging only after the handler finishes")
    struct AckAfterHandle {
        /// A worker killed with SIGKILL mid-batch loses nothing: every message it had not acked
        /// (including the ones its handlers were running and the prefetched ones) is still in the
        /// queue, and a second worker gets them again, flagged as redelivered.
        ///
        /// The broker's count is the truth. A `message.acked` line means the ack was handed to
        /// the connection's thread: an ack still on its way when SIGKILL lands never reaches the
        /// broker, so that message comes back too (a duplicate, never a loss). The test allows
        /// exactly those duplicates and no others. The other way round, an ack can reach the
        /// broker while its line is still in the log writer's buffer when SIGKILL lands (any
        /// logger loses buffered lines then): such a message was handled and acked, yet has no
        /// line. Only a handler finishing at the kill can be in that window, so there are at most
        /// `concurrency` of them; acking on receipt would show the prefetched ones (20) there.
        @Test("SIGKILL mid-batch loses nothing; a restarted worker finishes the rest")
        func killedWorkerLosesNothing() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("ackafter") { queue in
                let total = 40
                let common = ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic"]
                let publish = try await warrenPublish(
                    env, common + ["--count", "\(total)", "--body", #"{"work_ms": 500}"#])
                #expect(publish.succeeded, "\(publish)")
                try #require(PublishSummary(publish.stdout)?.confirmed == total, "\(publish)")

                let workerArguments =
                    ["worker"] + common + ["--concurrency", "8", "--prefetch", "20", "--log-level", "debug"]

                // First run: kill it while handlers are running, once the broker has provably
                // taken some of its acks. An ack line alone does not prove that (the ack may
                // still be on its way to the owner thread, and on a loaded machine it can be for
                // longer than the test takes to read the line and send SIGKILL). A 21st message
                // does: with prefetch 20 the broker delivers it only after an ack arrived.
                let first = try WarrenProcess.launch(env, workerArguments)
                defer { first.forceStop() }
                try await first.waitForEvent("worker.consuming")
                try await poll(
                    timeout: .seconds(20), interval: .milliseconds(5), "the first worker to ack more than its prefetch",
                    lastSeen: { first.transcript }
                ) { Set(first.events("message.acked").compactMap { $0["message_id"] }).count > 20 }
                first.send(SIGKILL)
                let killed = try await first.waitForExit(timeout: .seconds(10))
                #expect(killed == .signaled(SIGKILL))
                #expect(first.events("message.dead_lettered").isEmpty, "\(first.transcript)")

                // All of its stdout has been read: these are every ack it logged.
                let firstAcked = Set(first.events("message.acked").compactMap { $0["message_id"] })
                #expect(firstAcked.count == first.events("message.acked").count)
                #expect(firstAcked.count < total, "killed before it finished: \(firstAcked.count) acked")

                // Every message not acked is back in the queue (classic queue: exact counts), and
                // at most the logged acks are gone. Had warren acked on receipt, the 20 prefetched
                // ones would be gone too.
                let back = try await broker.waitForCounts(
                    of: queue, timeout: .seconds(15), "the connection gone (none unacked)"
                ) { $0.unacknowledged == 0 }.messages
                #expect(back < total, "\(back) back; \(firstAcked.count) acks logged")

                // Second run finishes the rest.
                let second = try WarrenProcess.launch(env, workerArguments)
                defer { second.forceStop() }
                func secondAcked() -> Set<String> {
                    Set(second.events("message.acked").compactMap { $0["message_id"] })
                }
                try await poll(
                    timeout: .seconds(30), "the \(back) messages back in the queue acked by the second run",
                    lastSeen: { "\(secondAcked().count) acked\n\(second.transcript)" }
                ) { secondAcked().count >= back }

                #expect(secondAcked().count == back, "the second run handles exactly what was back in the queue")
                // Acked by the first run (they did not come back) without their line: see above.
                let unloggedAcks = total - firstAcked.union(secondAcked()).count
                #expect((0...8).contains(unloggedAcks), "\(unloggedAcks) messages acked by the first run without a line")
                // Acks logged but still on their way when the process died.
                let unsentAcks = firstAcked.count - (total - back - unloggedAcks)
                #expect(firstAcked.intersection(secondAcked()).count == unsentAcks,
                        "only messages whose ack was in flight at the kill come back after an ack line")
                #expect(second.events("message.acked").count == secondAcked().count)
                #expect(second.events("message.dead_lettered").isEmpty, "\(second.transcript)")
                let redelivered = second.events("message.acked").filter { $0["redelivered"] == "true" }
                #expect(!redelivered.isEmpty, "the second run sees the first run's unacked deliveries as redelivered")

                try await broker.waitForCounts(of: queue, timeout: .seconds(15), "drained") {
                    $0.messages == 0 && $0.unacknowledged == 0
                }
                second.send(SIGTERM)
                let end = try await second.waitForExit(timeout: .seconds(20))
                #expect(end == .exited(0), "\(second.transcript)")
            }
        }
    }
}
