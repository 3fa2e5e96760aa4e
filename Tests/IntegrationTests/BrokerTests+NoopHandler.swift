import Foundation
import Testing

extension BrokerTests {
    @Suite("warren worker --handler noop")
    struct NoopHandler {
        /// The README: `--handler noop` acks everything unread. Bodies the demo handler would
        /// dead-letter (not JSON, not even UTF-8, a JSON crash request) are acked: the broker ends
        /// with nothing in the queue, nothing unacked and nothing in `Q.dead` or a retry queue.
        @Test("noop acks bodies that are not JSON, not UTF-8, or would crash the demo handler")
        func acksWithoutDecoding() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("noop") { queue in
                let tag = uniqueSuffix()
                let messages = [
                    OutgoingMessage(id: "text-\(tag)", body: "not json at all"),
                    OutgoingMessage(id: "bytes-\(tag)", bytes: [0xFF, 0xFE, 0x00, 0xC3]),
                    OutgoingMessage(id: "crash-\(tag)", body: #"{"fail": "crash"}"#),
                    OutgoingMessage(id: "permanent-\(tag)", body: #"{"fail": "permanent"}"#),
                ]
                try await env.declareTopology(queue)
                try await broker.pikaPublish(queue: queue, messages)

                let worker = try WarrenProcess.worker(
                    env, queue: queue, ["--queue-type", "classic", "--handler", "noop", "--log-level", "debug"])
                defer { worker.forceStop() }
                try await poll(timeout: .seconds(20), "\(messages.count) message.acked lines", lastSeen: { worker.transcript }) {
                    worker.ackedIDs.count >= messages.count
                }
                #expect(Set(worker.ackedIDs) == Set(messages.map(\.id)), "\(worker.transcript)")
                #expect(worker.events("message.dead_lettered").isEmpty, "\(worker.transcript)")

                // The broker's word: everything acked, nothing copied anywhere.
                try await broker.waitForCounts(of: queue, "empty, nothing unacked") {
                    $0.messages == 0 && $0.unacknowledged == 0
                }
                let others = try await broker.listQueues().values.filter { $0.name.hasPrefix(queue + ".") && $0.messages > 0 }
                #expect(others.isEmpty, "no copy in Q.dead or a retry queue: \(others)")

                let (end, _) = try await worker.stop()
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }
    }
}
