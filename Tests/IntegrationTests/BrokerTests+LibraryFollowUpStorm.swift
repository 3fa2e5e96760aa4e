import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: a follow-up publish outlasts a storm of channel closes")
    struct LibraryFollowUpStorm {
        /// A handler sends its follow-up to an existing queue while 20 tasks of the same handler
        /// keep publishing to a missing exchange on the shared follow-up channel: each
        /// `404 NOT_FOUND` closes the channel under every publish waiting on it, the follow-up's
        /// included, again and again. The follow-up is tried again after growing pauses for as
        /// long as its timeout lasts, so it lands once the storm is over and the message is acked,
        /// not failed for Warren's reason; the bad publishes fail at once (their own exchange is
        /// named). With three back-to-back tries, as before, the follow-up failed in most runs.
        @Test("a bystander's follow-up survives repeated closes of the shared channel")
        func followUpOutlastsAStormOfCloses() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.storm") { queue in
                let receipts = "it.lib.storm.receipts.\(uniqueSuffix())"
                try await withCleanup {
                    try await broker.declarePlainClassicQueue(receipts)
                    try await env.declareTopology(queue)
                    try await broker.pikaPublish(queue: queue, messages: [(id: "bystander", body: "{}")])
                    let log = InProcessLog()
                    let refused = InProcessRecorder<String>()
                    let consumer = WarrenConsumer(
                        configuration: ConsumerConfiguration(queue: queue, queueType: .classic),
                        connection: .dedicated(try env.connection("it-lib-storm-\(uniqueSuffix())")),
                        handler: ClosureHandler { (_: [String: String], context) in
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                for _ in 0..<20 {
                                    group.addTask {
                                        for _ in 0..<10 {
                                            do {
                                                try await context.publish(Array("{}".utf8), exchange: "it.no-such-exchange", routingKey: "x")
                                            } catch {
                                                refused.append("\(error)")
                                            }
                                        }
                                    }
                                }
                                group.addTask {
                                    try await context.publish(Array("{}".utf8), routingKey: receipts)
                                }
                                try await group.waitForAll()
                            }
                        },
                        logger: log.logger())
                    try await withInProcessWorker([consumer], log: log) { worker in
                        try await poll(timeout: .seconds(20), "the message's outcome", lastSeen: { log.transcript }) {
                            ["message.acked", "message.retry_scheduled", "message.dead_lettered"].contains { !log.events($0).isEmpty }
                        }
                        try await worker.stop()
                    }
                    #expect(log.events("message.acked").count == 1, "\(log.transcript)")
                    #expect(refused.count == 200, "every publish to the missing exchange failed")
                    #expect(refused.all.allSatisfy { $0.contains("it.no-such-exchange") }, "\(Set(refused.all))")
                    #expect(!log.events("message.publish_retrying").isEmpty, "the storm closed the channel under the follow-up: \(log.transcript)")
                    #expect(try await broker.pikaGet(queue: receipts, max: 10).count >= 1)
                } cleanup: {
                    await broker.delete(queues: [receipts])
                }
            }
        }
    }
}
