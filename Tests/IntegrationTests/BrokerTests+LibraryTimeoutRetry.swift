import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: a timed-out handler is retried through the delay queue")
    struct LibraryTimeoutRetry {
        struct Job: Decodable, Sendable {
            /// Overrun the timeout on every attempt below this one.
            var slowUntilAttempt: Int
        }

        /// What the handler saw on one attempt.
        struct Attempt: Sendable {
            var messageID: String
            var attempt: Int
            var errorTypeHeader: String?
            var firstDeathQueue: String?
        }

        /// `handlerTimeout` 1 s (a margin for the quick attempt on a loaded machine) and one 200 ms
        /// retry delay. A handler that overruns its timeout fails with `HandlerTimeout`, a passing
        /// error: its message goes through
        /// `Q.retry.200ms` (the broker's `x-first-death-queue` on the next attempt names it, and
        /// Warren's `x-warren-error-type` says `HandlerTimeout`); the one that is quick on its
        /// second attempt is acked, the one that overruns again is dead-lettered as
        /// `retries_exhausted` with its copy in `Q.dead`.
        @Test("a handler over handlerTimeout is retried after the delay, then acked or dead-lettered as retries_exhausted")
        func timedOutHandlerIsRetriedLater() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.timeout-retry") { queue in
                let log = InProcessLog()
                let attempts = InProcessRecorder<Attempt>()
                let consumer = WarrenConsumer(
                    configuration: ConsumerConfiguration(
                        queue: queue, queueType: .classic, handlerTimeout: .seconds(1),
                        retryPolicy: RetryPolicy(delays: [.milliseconds(200)])),
                    connection: .dedicated(try env.connection("it-lib-timeout-retry-\(uniqueSuffix())")),
                    handler: ClosureHandler { (job: Job, context) in
                        attempts.append(Attempt(
                            messageID: context.properties.messageID ?? "?", attempt: context.attempt,
                            errorTypeHeader: context.headers["x-warren-error-type"].map { "\($0)" },
                            firstDeathQueue: context.headers["x-first-death-queue"].map { "\($0)" }))
                        if context.attempt < job.slowUntilAttempt { try await Task.sleep(for: .seconds(10)) }
                    },
                    logger: log.logger())

                let tag = uniqueSuffix()
                let slowOnce = "slow-once-\(tag)", alwaysSlow = "always-slow-\(tag)"
                try await withInProcessWorker([consumer], log: log) { worker in
                    try await log.waitFor("worker.consuming")
                    try await broker.pikaPublish(queue: queue, messages: [
                        (slowOnce, #"{"slowUntilAttempt": 2}"#), (alwaysSlow, #"{"slowUntilAttempt": 99}"#),
                    ])
                    try await log.waitFor("message.acked", timeout: .seconds(20)) { $0["message_id"] == slowOnce }
                    try await log.waitFor("message.dead_lettered", timeout: .seconds(20)) { $0["message_id"] == alwaysSlow }
                    try await worker.stop()
                }

                let scheduled = log.events("message.retry_scheduled")
                #expect(Set(scheduled.compactMap { $0["message_id"] }) == [slowOnce, alwaysSlow], "\(log.transcript)")
                #expect(scheduled.allSatisfy { $0["error_type"] == "HandlerTimeout" && $0["retry_queue"] == "\(queue).retry.200ms" },
                        "\(scheduled)")
                let byMessage = Dictionary(grouping: attempts.all, by: \.messageID)
                for id in [slowOnce, alwaysSlow] {
                    let seen = (byMessage[id] ?? []).sorted { $0.attempt < $1.attempt }
                    #expect(seen.map(\.attempt) == [1, 2], "\(id): \(seen)")
                    // The second attempt came back from the retry queue, as the broker recorded.
                    let second = try #require(seen.last)
                    #expect(second.firstDeathQueue == "\(queue).retry.200ms" && second.errorTypeHeader == "HandlerTimeout", "\(second)")
                }
                let deadLine = log.events("message.dead_lettered").first { $0["message_id"] == alwaysSlow }
                #expect(deadLine?["dead_letter_reason"] == "retries_exhausted" && deadLine?["error_type"] == "HandlerTimeout",
                        "\(log.transcript)")

                let dead = try await broker.pikaGet(queue: queue + ".dead", max: 5)
                #expect(dead.map(\.message_id) == [alwaysSlow], "\(dead)")
                #expect(dead.first?.headers["x-warren-error-type"] == "HandlerTimeout" && dead.first?.headers["x-warren-attempts"] == "2",
                        "\(dead)")
                let counts = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 }
                #expect(counts.unacknowledged == 0)
            }
        }
    }
}
