import Foundation
import Testing

extension BrokerTests {
    @Suite("warren publish with publisher confirms")
    struct Publish {
        /// Every message is confirmed, and the broker really holds them, persistent, as JSON,
        /// each with its own message id.
        @Test("10,000 messages are published, confirmed and in the queue")
        func tenThousandConfirmed() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("publish") { queue in
                let result = try await warrenPublish(
                    env,
                    ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--count", "10000"])
                #expect(result.succeeded, "\(result)")
                let summaryLines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("published ") }
                #expect(summaryLines.count == 1, "one summary line on stdout: \(result)")
                #expect(result.stdout.contains("confirmed 10000"), "\(result)")
                #expect(
                    PublishSummary(result.stdout)
                        == PublishSummary(published: 10000, confirmed: 10000, nacked: 0, unroutable: 0),
                    "\(result)")

                let counts = try await broker.waitForCounts(
                    of: queue, timeout: .seconds(10), "10000 messages"
                ) { $0.messages == 10000 }
                #expect(counts.type == "classic")

                let sample = try await broker.pikaGet(queue: queue, max: 3)
                #expect(sample.count == 3)
                for message in sample {
                    #expect(message.body == "{}")
                    #expect(message.delivery_mode == 2, "persistent")
                    #expect(message.content_type == "application/json")
                }
                let ids = sample.compactMap(\.message_id)
                #expect(ids.count == 3 && Set(ids).count == 3, "a unique message_id each: \(ids)")
            }
        }

        @Test("publishing to a missing exchange fails with 404 NOT_FOUND")
        func missingExchangeFails() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("noexchange") { queue in
                let result = try await warrenPublish(
                    env,
                    ["--amqp-url", env.amqpURL, "--queue", queue, "--exchange", "no.such.exchange.\(uniqueSuffix())",
                     "--count", "1"],
                    timeout: .seconds(30))
                #expect(!result.succeeded, "\(result)")
                if case .signaled = result.termination { Issue.record("crashed instead of exiting: \(result)") }
                #expect(result.output.contains("404") || result.output.contains("NOT_FOUND"), "\(result)")
            }
        }

        @Test("messages no queue is bound for are reported unroutable and fail the run")
        func unroutableFails() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("unroutable") { queue in
                let result = try await warrenPublish(
                    env,
                    ["--amqp-url", env.amqpURL, "--queue", queue, "--exchange", "amq.direct",
                     "--routing-key", "nowhere.\(uniqueSuffix())", "--count", "3"],
                    timeout: .seconds(30))
                #expect(!result.succeeded, "\(result)")
                if case .signaled = result.termination { Issue.record("crashed instead of exiting: \(result)") }
                let summary = try #require(PublishSummary(result.output), "a summary line: \(result)")
                #expect(summary.published == 3, "\(result)")
                #expect(summary.unroutable == 3, "\(result)")
            }
        }
    }
}
