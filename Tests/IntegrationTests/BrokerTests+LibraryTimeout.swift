import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: the per-message handler timeout")
    struct LibraryTimeout {
        struct Job: Decodable, Sendable {
            var sleepMilliseconds: Int
        }

        /// `handlerTimeout` 300 ms: a handler sleeping 10 s is cancelled and its message
        /// dead-lettered with `error_type` HandlerTimeout well before the 10 s; a handler finishing
        /// in 20 ms is acked; the consumer's `MessageContext.deadline` is start + 300 ms.
        @Test("a handler over handlerTimeout is dead-lettered as HandlerTimeout; one in time is acked")
        func handlerTimeout() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.timeout") { queue in
                let log = InProcessLog()
                let deadlines = InProcessRecorder<Duration?>()
                let finished = InProcessRecorder<String>()
                let consumer = WarrenConsumer(
                    configuration: ConsumerConfiguration(
                        queue: queue, queueType: .classic, handlerTimeout: .milliseconds(300), retryPolicy: .none),
                    connection: .dedicated(try env.connection("it-lib-timeout-\(uniqueSuffix())")),
                    handler: ClosureHandler { (job: Job, context) in
                        deadlines.append(context.deadline.map { ContinuousClock.now.duration(to: $0) })
                        try await Task.sleep(for: .milliseconds(job.sleepMilliseconds))
                        finished.append(context.properties.messageID ?? "?")
                    },
                    logger: log.logger())

                let tag = uniqueSuffix()
                let slow = "slow-\(tag)", fast = "fast-\(tag)"
                try await withInProcessWorker([consumer], log: log) { worker in
                    try await log.waitFor("worker.consuming")
                    let published = ContinuousClock.now
                    try await broker.pikaPublish(queue: queue, [
                        OutgoingMessage(id: slow, body: #"{"sleepMilliseconds":10000}"#),
                        OutgoingMessage(id: fast, body: #"{"sleepMilliseconds":20}"#),
                    ])
                    let record = try #require(try await log.waitFor("message.dead_lettered", timeout: .seconds(5)).first)
                    let elapsed = published.duration(to: .now)
                    #expect(elapsed < .seconds(4), "dead-lettered \(elapsed) after publishing, not after the 10 s sleep")
                    #expect(record["message_id"] == slow, "\(record)")
                    #expect(record["error_type"] == "HandlerTimeout", "\(record)")
                    #expect(record["reason"]?.contains("did not finish within") == true, "\(record)")
                    let duration = Int(record["duration_ms"] ?? "") ?? -1
                    #expect((300..<3000).contains(duration), "cancelled at about 300 ms: \(record)")
                    try await log.waitFor("message.acked", where: { $0["message_id"] == fast })
                    try await worker.stop()
                }

                #expect(finished.all == [fast], "the slow handler never finished its sleep")
                #expect(deadlines.count == 2)
                #expect(deadlines.all.allSatisfy { $0.map { $0 > .zero && $0 <= .milliseconds(300) } == true },
                        "context.deadline is start + handlerTimeout: \(deadlines.all)")
                let dead = try await broker.pikaGet(queue: queue + ".dead", max: 10)
                #expect(dead.map(\.message_id) == [slow], "\(dead)")
                let left = try await broker.pikaGet(queue: queue, max: 10)
                #expect(left.isEmpty, "\(left)")
            }
        }
    }
}
