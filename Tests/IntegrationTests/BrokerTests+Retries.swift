import Foundation
import Testing

extension BrokerTests {
    @Suite("Retries through the broker's retry queues")
    struct Retries {
        /// `{"fail_until_attempt": 3}` fails twice with a passing error: each failure publishes a
        /// confirmed copy to the next retry queue (`x-warren-attempt` raised) and acks the
        /// original; the broker expires it back into the quorum queue after the delay; attempt 3
        /// succeeds and is acked. Exactly two delayed retries, none dead-lettered, nothing left.
        @Test("a transient failure that succeeds on the 3rd attempt is acked after exactly 2 delayed retries")
        func transientFailureIsRetriedThroughTheBroker() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let exchange = NamedExchange("retry-transient")
            try await broker.withQueue("retry-transient") { queue in
                let worker = try WarrenProcess.worker(
                    env, queue: queue, ["--log-level", "debug", "--retry-delays", "300ms,600ms,30s"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                let id = "transient-\(uniqueSuffix())"
                let published = ContinuousClock.now
                // Through a named exchange: the retried copies come back from the default one.
                try await broker.pikaPublish(through: exchange, to: queue, [
                    OutgoingMessage(id: id, body: #"{"fail_until_attempt": 3}"#, correlationID: "corr-\(id)", headers: ["tenant": .string("acme")]),
                ])
                let acked = try await worker.waitForEvent("message.acked", timeout: .seconds(20))
                let elapsed = published.duration(to: .now)

                #expect(acked["message_id"] == id && acked["attempt"] == "3", "\(acked)")
                #expect(acked["correlation_id"] == "corr-\(id)", "properties survive the retries: \(acked)")
                let scheduled = worker.events("message.retry_scheduled")
                #expect(scheduled.map { $0["next_attempt"] } == ["2", "3"], "\(worker.transcript)")
                #expect(scheduled.map { $0["attempt"] } == ["1", "2"], "\(worker.transcript)")
                #expect(scheduled.map { $0["delay_ms"] } == ["300", "600"], "\(worker.transcript)")
                #expect(scheduled.map { $0["retry_queue"] } == ["\(queue).retry.300ms", "\(queue).retry.600ms"])
                #expect(scheduled.allSatisfy { $0["error_type"] == "DemoFailure" && $0["redelivered"] == "false" }, "\(scheduled)")
                #expect(elapsed >= .milliseconds(900), "the two delays were waited out in the broker: \(elapsed)")
                #expect(worker.events("message.dead_lettered").isEmpty, "\(worker.transcript)")

                // One ack in all: each retried copy replaced its original, none was handled twice.
                // (What the handler's context says about the routing on a retried attempt is
                // checked in process, where the test sees the context: `OriginalRouting`.)
                #expect(worker.events("message.acked").count == 1)
                let queues = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 }
                #expect(queues.type == "quorum")
                let all = try await broker.listQueues()
                for name in [queue + ".dead", queue + ".retry.300ms", queue + ".retry.600ms", queue + ".retry.30s"] {
                    #expect(all[name]?.messages == 0, "\(name): \(all[name].map(\.description) ?? "missing")")
                }
                #expect(all[queue + ".retry.300ms"]?.type == "quorum")

                // The metrics agree: three deliveries, two delayed retries, one ack, two confirmed copies.
                let probe = try await worker.healthProbe()
                let labels = #"queue="\#(queue)""#
                let (response, metrics) = try await probe.waitForMetrics("the ack in /metrics") {
                    $0["warren_messages_acked_total{\(labels)}"] == 1
                }
                let lastBody = response.body
                #expect(metrics["warren_messages_received_total{\(labels)}"] == 3, "\(lastBody)")
                #expect(metrics[#"warren_messages_retried_total{\#(labels),kind="delayed"}"#] == 2, "\(lastBody)")
                #expect(metrics[#"warren_messages_retried_total{\#(labels),kind="immediate"}"#] == 0, "\(lastBody)")
                #expect(metrics[#"warren_messages_dead_lettered_total{\#(labels),reason="retries_exhausted"}"#] == 0, "\(lastBody)")
                #expect(metrics[#"warren_publish_confirms_total{result="ack"}"#] == 2, "\(lastBody)")

                let (end, _) = try await worker.stop()
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }

        /// A `PermanentError` is not retried: one attempt, then a confirmed copy in `Q.dead` with
        /// the error headers, every original header and property, and the original routing (a
        /// named exchange and a routing key that is not the queue's name).
        @Test("a permanent failure is dead-lettered after 1 attempt with the error headers")
        func permanentFailureIsDeadLetteredAtOnce() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let exchange = NamedExchange("retry-permanent")
            try await broker.withQueue("retry-permanent") { queue in
                let worker = try WarrenProcess.worker(env, queue: queue, ["--queue-type", "classic", "--retry-delays", "300ms"])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                let id = "permanent-\(uniqueSuffix())"
                try await broker.pikaPublish(through: exchange, to: queue, [
                    OutgoingMessage(id: id, body: #"{"fail":"permanent"}"#, correlationID: "corr-\(id)",
                                    headers: ["tenant": .string("acme"), "x-custom-count": .int(7)]),
                ])
                let line = try await worker.waitForEvent("message.dead_lettered")
                #expect(line["message_id"] == id && line["attempt"] == "1" && line["attempts"] == "1", "\(line)")
                #expect(line["dead_letter_reason"] == "handler_error" && line["error_type"] == "DemoFailure", "\(line)")
                #expect(worker.events("message.retry_scheduled").isEmpty && worker.events("message.retrying").isEmpty)

                let dead = try await pollValue(timeout: .seconds(10), interval: .milliseconds(300), "the copy in \(queue).dead") {
                    let messages = try await broker.pikaGet(queue: queue + ".dead", max: 5)
                    return messages.isEmpty ? nil : messages
                }
                #expect(dead.count == 1)
                let copy = try #require(dead.first)
                #expect(copy.message_id == id && copy.correlation_id == "corr-\(id)" && copy.content_type == "application/json")
                #expect(copy.body == #"{"fail":"permanent"}"# && copy.delivery_mode == 2)
                #expect(copy.headers["x-warren-error-type"] == "DemoFailure", "\(copy)")
                #expect(copy.headers["x-warren-error-message"] == "demo failure requested: permanent", "\(copy)")
                #expect(copy.headers["x-warren-attempts"] == "1", "\(copy)")
                #expect(copy.headers["x-warren-original-exchange"] == exchange.name, "\(copy)")
                #expect(copy.headers["x-warren-original-routing-key"] == exchange.routingKey, "\(copy)")
                let failedAt = try #require(copy.headers["x-warren-failed-at"])
                #expect(ISO8601DateFormatter.withFractionalSeconds.date(from: failedAt) != nil, "RFC 3339 with ms: \(failedAt)")
                #expect(copy.headers["tenant"] == "acme" && copy.headers["x-custom-count"] == "7", "every original header: \(copy)")
                #expect(copy.death_reason == nil, "Warren's copy, not a broker dead-lettering: \(copy)")
                let counts = try await broker.waitForCounts(of: queue, "empty") { $0.messages == 0 }
                #expect(counts.unacknowledged == 0)
                #expect(worker.isRunning)
            }
        }

        /// In-process retries come first: with `--immediate-retries 2` and no delayed retries, a
        /// passing failure is handled three times by the same delivery, then dead-lettered as
        /// `retries_exhausted`.
        @Test("immediate retries run in process before the message is given up")
        func immediateRetries() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("retry-immediate") { queue in
                let worker = try WarrenProcess.worker(
                    env, queue: queue, ["--queue-type", "classic", "--immediate-retries", "2", "--retry-delays", ""])
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming")
                let id = "immediate-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [(id: id, body: #"{"fail":"transient"}"#)])
                let line = try await worker.waitForEvent("message.dead_lettered")
                #expect(line["dead_letter_reason"] == "retries_exhausted" && line["attempts"] == "1", "\(line)")
                let retries = worker.events("message.retrying")
                #expect(retries.map { $0["immediate_retry"] } == ["1", "2"], "\(worker.transcript)")
                #expect(Set(retries.compactMap { $0["delivery_tag"] }) == [line["delivery_tag"]!], "one delivery, retried in place")
                try await broker.waitForCounts(of: queue + ".dead", "1 ready") { $0.ready == 1 }
            }
        }
    }
}

extension ISO8601DateFormatter {
    /// RFC 3339 with fractional seconds, as Warren writes timestamps.
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
