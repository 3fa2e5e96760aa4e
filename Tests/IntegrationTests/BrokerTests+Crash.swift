import Foundation
import Testing

extension BrokerTests {
    @Suite("A handler that crashes the process")
    struct Crash {
        /// A handler bug that kills the process (here the demo handler's `{"crash": true}`, a
        /// `fatalError`) must not be silent: the process ends non-zero, stderr says why, and
        /// the message it was handling is still in the broker (never acked), with the good
        /// message before it acked (gone from the queue).
        @Test("dies non-zero saying why, and loses nothing")
        func crashIsLoudAndLosesNothing() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("crash") { queue in
                let declare = try await warrenPublish(
                    env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--body", "{}"])
                #expect(declare.succeeded, "\(declare)")
                try await broker.pikaPublish(queue: queue, messages: [(id: "crash-1", body: #"{"crash": true}"#)])

                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic",
                          "--concurrency", "1", "--prefetch", "1", "--log-level", "debug"])
                defer { worker.forceStop() }
                let end = try await worker.waitForExit(timeout: .seconds(30))
                #expect(end != .exited(0), "\(worker.transcript)")
                #expect(worker.stderrText.contains("crash requested by message crash-1"), "\(worker.transcript)")

                // Never acked: the broker holds the message again once the connection is gone.
                let counts = try await broker.waitForCounts(of: queue, timeout: .seconds(15), "1 ready, 0 unacked") {
                    $0.messages == 1 && $0.unacknowledged == 0
                }
                #expect(counts.ready == 1)
                // Only it: the good message before it was acked. (The broker says so; the worker's
                // `message.acked` line may not have been written before the process died, since
                // log lines are written by a separate thread.)
                let left = try await broker.pikaGet(queue: queue, max: 5)
                #expect(left.map(\.message_id) == ["crash-1"])
            }
        }
    }
}
