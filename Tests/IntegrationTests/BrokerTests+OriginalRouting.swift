import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: the original exchange and routing key survive retries")
    struct OriginalRouting {
        struct Job: Decodable, Sendable {
            /// Fail on every attempt below this one.
            var failUntilAttempt: Int
        }

        struct StillFailing: Error {}

        /// What the handler's context said on one attempt.
        struct Seen: Sendable {
            var messageID: String
            var attempt: Int
            var exchange: String
            var routingKey: String
        }

        /// Two messages published through a named exchange with a routing key other than the
        /// queue's name. A retry hop brings them back from the default exchange with routing key
        /// = queue, so only Warren's `x-warren-original-*` headers can carry where they came
        /// from: the handler's context sees the named exchange and key on the retried attempt
        /// too, and the one that fails again is dead-lettered after its retry with those
        /// headers naming the named exchange and key, not the hop's.
        @Test("after a retry hop the context and the dead-letter copy name the exchange and key of the first publish")
        func originalRoutingSurvivesARetryHop() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let exchange = NamedExchange("routing")
            try await broker.withQueue("lib.routing") { queue in
                let log = InProcessLog()
                let seen = InProcessRecorder<Seen>()
                let consumer = WarrenConsumer(
                    configuration: ConsumerConfiguration(
                        queue: queue, queueType: .classic, retryPolicy: RetryPolicy(delays: [.milliseconds(100)])),
                    connection: .dedicated(try env.connection("it-lib-routing-\(uniqueSuffix())")),
                    handler: ClosureHandler { (job: Job, context) in
                        seen.append(Seen(
                            messageID: context.properties.messageID ?? "?", attempt: context.attempt,
                            exchange: context.exchange, routingKey: context.routingKey))
                        if context.attempt < job.failUntilAttempt { throw StillFailing() }
                    },
                    logger: log.logger())

                let tag = uniqueSuffix()
                let recovers = "recovers-\(tag)", exhausted = "exhausted-\(tag)"
                try await withInProcessWorker([consumer], log: log) { worker in
                    // The consumer declared the queue: now it can be bound.
                    try await log.waitFor("worker.consuming")
                    try await broker.pikaPublish(through: exchange, to: queue, messages: [
                        (recovers, #"{"failUntilAttempt": 2}"#), (exhausted, #"{"failUntilAttempt": 99}"#),
                    ])
                    try await log.waitFor("message.acked", timeout: .seconds(20)) { $0["message_id"] == recovers }
                    try await log.waitFor("message.dead_lettered", timeout: .seconds(20)) { $0["message_id"] == exhausted }
                    try await worker.stop()
                }

                // Each went through the retry queue once (attempt 2 comes only from there).
                let attempts = Dictionary(grouping: seen.all, by: \.messageID).mapValues { $0.map(\.attempt).sorted() }
                #expect(attempts == [recovers: [1, 2], exhausted: [1, 2]], "\(log.transcript)")
                let scheduled = log.events("message.retry_scheduled").compactMap { $0["message_id"] }
                #expect(Set(scheduled) == [recovers, exhausted], "\(log.transcript)")
                for item in seen.all {
                    #expect(item.exchange == exchange.name && item.routingKey == exchange.routingKey,
                            "attempt \(item.attempt) of \(item.messageID) sees the first publish's routing: \(item)")
                }

                // The broker's copy in Q.dead: it came through the retry queue (the broker's
                // `expired` record) and still names the first publish.
                let dead = try await pollValue(timeout: .seconds(10), interval: .milliseconds(300), "the copy in \(queue).dead") {
                    let messages = try await broker.pikaGet(queue: queue + ".dead", max: 5)
                    return messages.isEmpty ? nil : messages
                }
                #expect(dead.map(\.message_id) == [exhausted], "\(dead)")
                let copy = try #require(dead.first)
                #expect(copy.death_reason == "expired", "it waited in the retry queue: \(copy)")
                #expect(copy.headers["x-warren-attempts"] == "2", "\(copy)")
                #expect(copy.headers["x-warren-original-exchange"] == exchange.name, "\(copy)")
                #expect(copy.headers["x-warren-original-routing-key"] == exchange.routingKey, "\(copy)")
                let counts = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 }
                #expect(counts.unacknowledged == 0)
            }
        }
    }
}
