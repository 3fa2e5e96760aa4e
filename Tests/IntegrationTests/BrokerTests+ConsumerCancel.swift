import Foundation
import Testing

extension BrokerTests {
    @Suite("Broker-initiated consumer cancel")
    struct ConsumerCancel {
        /// `rabbitmqctl delete_queue` under a consuming worker: the broker sends `basic.cancel`
        /// (the worker advertises `consumer_cancel_notify`); the worker logs it, declares the queue
        /// again, consumes again, and acks a message published afterwards with pika (which declares
        /// nothing, so only the worker can have re-created the queue).
        @Test("after its queue is deleted the worker re-declares it and consumes again")
        func queueDeletedUnderTheConsumer() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("cancel") { queue in
                let worker = try WarrenProcess.worker(
                    env, queue: queue,
                    ["--queue-type", "classic", "--log-level", "debug",
                     "--reconnect-initial-delay", "100ms", "--reconnect-max-delay", "1s"])
                defer { worker.forceStop() }
                let probe = try await worker.healthProbe()
                try await probe.waitUntilReady(timeout: .seconds(20))

                try await broker.rabbitmqctl(["delete_queue", queue])
                let cancelled = try await worker.waitForLine(timeout: .seconds(10), "a consumer cancel") { line in
                    line.event == "worker.consumer_cancelled"
                        || (line.event == "worker.connection_lost" && line["error"]?.lowercased().contains("cancel") == true)
                }
                print("consumer cancel logged as: \(cancelled.raw)")

                try await poll(timeout: .seconds(20), "a second worker.consuming", lastSeen: { worker.transcript }) {
                    worker.events("worker.consuming").count >= 2
                }
                try await probe.waitUntilReady(timeout: .seconds(10))
                try await pollValue(timeout: .seconds(20), interval: .seconds(1), "\(queue) re-declared with 1 consumer") {
                    try await broker.consumerCount(of: queue) == 1 ? true : nil
                }

                let id = "after-cancel-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [(id, "{}")])
                try await poll(timeout: .seconds(15), "the message published after the cancel to be acked", lastSeen: { worker.transcript }) {
                    worker.ackedIDs.contains(id)
                }
                #expect(worker.isRunning)
                let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }
    }
}
