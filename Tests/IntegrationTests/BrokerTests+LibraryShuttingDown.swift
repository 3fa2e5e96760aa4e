import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: context.isShuttingDown during a drain")
    struct LibraryShuttingDown {
        struct Empty: Decodable, Sendable {}

        /// What the handler reports through the broker.
        struct Observed: Codable, Sendable {
            var sawShutdownAtStart: Bool
            var sawShutdownAtEnd: Bool
        }

        /// A long handler polls `context.isShuttingDown`: false while the worker runs, true once a
        /// graceful shutdown starts the drain, and then it wraps up by itself (well inside the
        /// 10 s `shutdownTimeout`) and publishes what it saw to a witness queue. The broker holds
        /// that report, the message is acked (not abandoned, not back in the queue).
        @Test("a running handler sees isShuttingDown turn true when the drain starts and finishes its work")
        func handlerSeesTheDrain() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.shutting-down") { queue in
                let witness = "it.lib.shutdown-witness.\(uniqueSuffix())"
                try await withCleanup {
                    try await broker.declarePlainClassicQueue(witness)
                    let log = InProcessLog()
                    let started = InProcessRecorder<String>()
                    let consumer = WarrenConsumer(
                        configuration: ConsumerConfiguration(queue: queue, queueType: .classic, shutdownTimeout: .seconds(10)),
                        connection: .dedicated(try env.connection("it-lib-shutting-down-\(uniqueSuffix())")),
                        handler: ClosureHandler { (_: Empty, context) in
                            let atStart = context.isShuttingDown
                            started.append(context.properties.messageID ?? "?")
                            // Until the drain starts; bounded past the shutdown timeout, so a flag
                            // that never turns true ends in cancellation, not a hang.
                            let giveUp = ContinuousClock.now + .seconds(30)
                            while !context.isShuttingDown && ContinuousClock.now < giveUp {
                                try await Task.sleep(for: .milliseconds(20))
                            }
                            try await context.publish(
                                json: Observed(sawShutdownAtStart: atStart, sawShutdownAtEnd: context.isShuttingDown), routingKey: witness)
                        },
                        logger: log.logger())

                    let id = "long-\(uniqueSuffix())"
                    var stopDuration = Duration.zero
                    try await withInProcessWorker([consumer], log: log) { worker in
                        try await log.waitFor("worker.consuming")
                        try await broker.pikaPublish(queue: queue, messages: [(id, "{}")])
                        try await poll(timeout: .seconds(10), "the handler to start", lastSeen: { log.transcript }) { started.count == 1 }
                        stopDuration = try await worker.stop()
                    }

                    let reports = try await broker.pikaGet(queue: witness, max: 5)
                    #expect(reports.count == 1, "one report from the handler: \(reports) \(log.transcript)")
                    let report = try JSONDecoder().decode(Observed.self, from: Data(try #require(reports.first).bodyBytes))
                    #expect(report.sawShutdownAtStart == false && report.sawShutdownAtEnd == true, "\(report)")
                    // It wrapped up by itself rather than being cancelled at the 10 s deadline.
                    #expect(stopDuration < .seconds(9), "drained in \(stopDuration)")
                    #expect(log.events("message.abandoned").isEmpty, "\(log.transcript)")
                    #expect(log.events("message.acked").map { $0["message_id"] } == [id], "\(log.transcript)")
                    let counts = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 }
                    #expect(counts.unacknowledged == 0)
                } cleanup: {
                    await broker.delete(queues: [witness])
                }
            }
        }
    }
}
