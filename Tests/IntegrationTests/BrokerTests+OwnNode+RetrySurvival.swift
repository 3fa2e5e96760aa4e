import Foundation
import Testing

extension BrokerTests.OwnNode {
    /// A message waiting out its retry delay lives only in the broker: the worker that
    /// scheduled it stops, the broker restarts, and a new worker still gets it back after the
    /// delay, as attempt 2, and acks it. Nothing is dead-lettered.
    @Test("a message waiting in a retry queue survives a worker restart and a broker restart")
    func delayedRetrySurvivesRestarts() async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("retry-restart") { queue in
            let arguments = ["--log-level", "debug", "--retry-delays", "30s"]
            let retryQueue = queue + ".retry.30s"
            let first = try WarrenProcess.worker(env, queue: queue, arguments)
            defer { first.forceStop() }
            try await first.waitForEvent("worker.consuming")
            let id = "survivor-\(uniqueSuffix())"
            try await broker.pikaPublish(queue: queue, messages: [(id: id, body: #"{"fail_until_attempt": 2}"#)])
            let scheduled = try await first.waitForEvent("message.retry_scheduled")
            #expect(scheduled["message_id"] == id && scheduled["retry_queue"] == retryQueue, "\(scheduled)")
            let (end, _) = try await first.stop()
            #expect(end == .exited(0), "\(first.transcript)")
            try await broker.waitForCounts(of: retryQueue, "the copy waiting") { $0.messages == 1 }

            try await node.stop()
            try await node.start()
            // Still in the broker: waiting, or already expired back into the queue. (A quorum
            // queue reports its count once it has recovered its log, a moment after the start.)
            var seen = ""
            try await poll(timeout: .seconds(30), interval: .seconds(1), "the copy back after the restart", lastSeen: { seen }) {
                let queues = try await broker.listQueues()
                seen = "\(queues[retryQueue].map(\.description) ?? "-"), \(queues[queue].map(\.description) ?? "-")"
                return (queues[retryQueue]?.messages ?? 0) + (queues[queue]?.messages ?? 0) == 1
            }

            let second = try WarrenProcess.worker(env, queue: queue, arguments)
            defer { second.forceStop() }
            let acked = try await second.waitForEvent("message.acked", timeout: .seconds(60))
            #expect(acked["message_id"] == id && acked["attempt"] == "2", "\(acked)")
            #expect(second.events("message.dead_lettered").isEmpty && first.events("message.dead_lettered").isEmpty)
            let (secondEnd, _) = try await second.stop()
            #expect(secondEnd == .exited(0), "\(second.transcript)")
            // Quorum queues publish their counts every few seconds: wait for them to settle.
            for name in [queue, retryQueue, queue + ".dead"] {
                try await broker.waitForCounts(of: name, "empty") { $0.messages == 0 }
            }
        }
    }
}
