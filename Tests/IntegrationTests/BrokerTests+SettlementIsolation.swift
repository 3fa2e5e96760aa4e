import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Settlement: a handler's bad publish never fails another message's copy")
    struct SettlementIsolation {
        struct Job: Codable, Sendable {
            var kind: String
        }

        struct Transient: Error {}

        /// 90 messages at concurrency 30: a third of the handlers publish, again and again, to an
        /// exchange that does not exist (each such publish makes the broker close the channel it
        /// was sent on, `404 NOT_FOUND`) and then succeed; a third fail once with a passing error
        /// (a retry copy to `Q.retry.100ms`, then success on attempt 2); a third fail for good
        /// (a dead-letter copy to `Q.dlx`). Warren's copies are published while the handlers'
        /// bad publishes keep killing connections, yet no copy fails: nothing is dead-lettered
        /// but the permanent failures, each with Warren's headers and reason `handler_error`, and
        /// every transient failure is retried and acked on attempt 2.
        ///
        /// Before copies had a connection of their own, they shared the handlers' publishing
        /// connection and died with it: the original was then nacked to `Q.dead` as
        /// `copy_failed`, without Warren's headers, transient ones included.
        @Test("bad handler publishes beside retries and dead letters: no copy_failed, transient ones retried")
        func badHandlerPublishesDoNotFailCopies() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("settle.isolation") { queue in
                try await env.declareTopology(queue)
                let tag = uniqueSuffix()
                let missingExchange = "it.missing.\(tag)"
                let kinds = ["bad-publish", "transient", "permanent"]
                let perKind = 30
                var messages: [OutgoingMessage] = []
                for index in 0..<perKind {
                    for kind in kinds {
                        messages.append(OutgoingMessage(id: "\(kind)-\(index)-\(tag)", body: #"{"kind":"\#(kind)"}"#))
                    }
                }
                try await broker.pikaPublish(queue: queue, messages)

                let log = InProcessLog()
                let consumer = WarrenConsumer(
                    configuration: ConsumerConfiguration(
                        queue: queue, queueType: .classic, prefetch: 90, concurrency: 30,
                        retryPolicy: RetryPolicy(delays: [.milliseconds(100)])),
                    connection: .dedicated(try env.connection("it-settle-isolation-\(tag)")),
                    handler: ClosureHandler { (job: Job, context) in
                        switch job.kind {
                        case "bad-publish":
                            for round in 0..<5 {
                                _ = try? await context.publish(json: ["round": round], exchange: missingExchange, routingKey: "x")
                            }
                        case "transient":
                            if context.attempt < 2 { throw Transient() }
                        default:
                            throw PermanentFailure(Transient())
                        }
                    },
                    logger: log.logger())

                let ids = messages.map(\.id)
                try await withInProcessWorker([consumer], log: log) { worker in
                    // Every message reaches an outcome: acked, or dead-lettered one way or another.
                    try await poll(timeout: .seconds(60), interval: .milliseconds(100), "every message to be settled", lastSeen: { log.transcript }) {
                        let settled = log.all.filter { $0.event == "message.acked" || $0.event == "message.dead_lettered" }
                        return Set(settled.compactMap { $0["message_id"] }).isSuperset(of: ids)
                    }
                    try await worker.stop()
                }

                let deadLettered = log.events("message.dead_lettered")
                #expect(deadLettered.allSatisfy { $0["dead_letter_reason"] == "handler_error" },
                        "only the handlers' own failures: \(deadLettered.map(\.description).joined(separator: "\n"))")
                #expect(Set(deadLettered.compactMap { $0["message_id"] }) == Set(ids.filter { $0.hasPrefix("permanent-") }))
                let acked = log.events("message.acked")
                for index in 0..<perKind {
                    let id = "transient-\(index)-\(tag)"
                    #expect(acked.contains { $0["message_id"] == id && $0["attempt"] == "2" }, "\(id) retried, then acked")
                }
                #expect(log.events("message.requeued").isEmpty, "no copy failed at all: \(log.transcript)")

                // The broker's view: Q.dead holds exactly the permanent failures, each a copy
                // with Warren's headers (not a nack, which would carry x-death only).
                let dead = try await broker.pikaGet(queue: queue + ".dead", max: 200)
                #expect(Set(dead.compactMap(\.message_id)) == Set(ids.filter { $0.hasPrefix("permanent-") }), "\(dead)")
                for message in dead {
                    #expect(message.headerNames.contains("x-warren-error-type"), "\(message)")
                    #expect(!message.headerNames.contains("x-death"), "\(message)")
                }
                #expect(try await broker.pikaGet(queue: queue, max: 10).isEmpty)
            }
        }
    }
}
