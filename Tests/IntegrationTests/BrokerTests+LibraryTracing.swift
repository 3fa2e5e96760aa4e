import Foundation
import InMemoryTracing
import Testing
import Tracing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: trace context through message headers")
    struct LibraryTracing {
        struct Command: Decodable, Sendable {
            var fail: Bool?
        }

        struct Failure: Error, CustomStringConvertible {
            var description: String { "asked to fail" }
        }

        /// With a tracer bootstrapped (an in-memory one speaking W3C `traceparent`, as an
        /// OpenTelemetry tracer does):
        /// - a message from `warren publish` is handled inside a consumer span `process <queue>`
        ///   whose trace id is the one the publish run printed, with the messaging attributes;
        ///   the handler's own span and its follow-up publish (`send …`) nest under it, and the
        ///   follow-up carries the trace on in its `traceparent` header (read back with pika);
        /// - a failing message published by pika with its own `traceparent` is handled in a span
        ///   whose parent is exactly that trace and span id; the span records the error, sets
        ///   `error.type` and ends with status error;
        /// - every log line of the handling carries the message's `trace_id`.
        @Test("a message's traceparent becomes the parent of its process span; errors and follow-ups are traced")
        func processSpanUnderThePublishersTrace() async throws {
            let tracer = W3CTestTracer.shared
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.tracing") { queue in
                let followUps = "it.lib.traced.\(uniqueSuffix())"
                try await withCleanup {
                    try await broker.declarePlainClassicQueue(followUps)
                    try await env.declareTopology(queue)
                    let log = InProcessLog()
                    let consumer = WarrenConsumer(
                        configuration: ConsumerConfiguration(queue: queue, queueType: .classic, retryPolicy: .none),
                        connection: .dedicated(try env.connection("it-lib-tracing-\(uniqueSuffix())")),
                        handler: ClosureHandler { (command: Command, context) in
                            context.logger.info("handling", metadata: ["event": "test.traced"])
                            if command.fail == true { throw Failure() }
                            withSpan("inner work") { _ in }
                            _ = try await context.publish(json: ["done": true], routingKey: followUps)
                        },
                        logger: log.logger())

                    let tag = uniqueSuffix()
                    let failing = "traced-fail-\(tag)"
                    let parentTrace = TraceHeaders.newTrace()
                    var publishedTrace = ""
                    try await withInProcessWorker([consumer], log: log) { worker in
                        try await log.waitFor("worker.consuming")
                        let publish = try await warrenPublish(
                            env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--body", "{}"])
                        #expect(publish.succeeded, "\(publish)")
                        publishedTrace = try #require(publish.stdout.firstMatch(of: /trace_id ([0-9a-f]{32})/).map { String($0.1) }, "\(publish)")
                        try await broker.pikaPublish(queue: queue, [
                            OutgoingMessage(id: failing, body: #"{"fail":true}"#, headers: [
                                "traceparent": .string(parentTrace.traceParent), "tracestate": .string("vendor=x"),
                            ]),
                        ])
                        try await log.waitFor("message.acked", count: 1)
                        try await log.waitFor("message.dead_lettered", count: 1)
                        try await worker.stop()
                    }

                    let spans = tracer.finishedSpans
                    let process = spans.filter {
                        $0.operationName == "process \(queue)" && $0.attributes["messaging.destination.subscription.name"]?.toSpanAttribute() == .string(queue)
                    }
                    #expect(process.count == 2, "\(process.map(\.operationName))")

                    // From warren publish: the run's trace, a parent span, acked, nested children.
                    let published = try #require(process.first { $0.traceID == publishedTrace }, "a span in the published trace \(publishedTrace)")
                    #expect(published.kind == .consumer)
                    #expect(published.parentSpanID != nil, "the publisher's span is the parent")
                    #expect(published.errors.isEmpty && published.status?.code != .error)
                    let expected: [String: SpanAttribute] = [
                        "messaging.system": .string("rabbitmq"), "messaging.operation.type": .string("process"),
                        "messaging.destination.name": .string(""), "messaging.rabbitmq.destination.routing_key": .string(queue),
                        "warren.outcome": .string("acked"), "warren.attempt": .int64(1),
                    ]
                    for (key, value) in expected {
                        #expect(published.attributes[key]?.toSpanAttribute() == value, "\(key): \(published.attributes)")
                    }
                    let inner = try #require(spans.first { $0.operationName == "inner work" && $0.traceID == publishedTrace })
                    #expect(inner.parentSpanID == published.spanID, "the handler's span nests under process")
                    let send = try #require(spans.first { $0.operationName == "send \(followUps)" && $0.traceID == publishedTrace })
                    #expect(send.kind == .producer && send.parentSpanID == published.spanID)
                    let followUp = try #require(try await broker.pikaGet(queue: followUps, max: 5).first)
                    #expect(followUp.headers["traceparent"] == "00-\(publishedTrace)-\(send.spanID)-01", "\(followUp)")

                    // From pika: parent is exactly the header's span; the failure is recorded.
                    let failed = try #require(process.first { $0.traceID == parentTrace.traceID }, "a span in the pika message's trace")
                    #expect(failed.parentSpanID == parentTrace.spanID)
                    #expect(failed.attributes["messaging.message.id"]?.toSpanAttribute() == .string(failing))
                    #expect(failed.errors.count == 1 && failed.errors.first?.error is Failure, "\(failed.errors)")
                    #expect(failed.status?.code == .error)
                    #expect(failed.attributes["error.type"]?.toSpanAttribute() == .string("Failure"))
                    #expect(failed.attributes["warren.outcome"]?.toSpanAttribute() == .string("dead_lettered"))
                    // Its dead-letter copy's producer span nests under it.
                    let copySend = spans.filter { $0.kind == .producer && $0.parentSpanID == failed.spanID }
                    #expect(copySend.count == 1 && copySend.first?.operationName.hasPrefix("send ") == true, "\(copySend.map(\.operationName))")

                    // Logs: the handler's lines and the outcome line carry the message's trace id.
                    let handling = log.events("test.traced")
                    #expect(Set(handling.compactMap { $0["trace_id"] }) == [publishedTrace, parentTrace.traceID], "\(log.transcript)")
                    #expect(log.events("message.dead_lettered").first?["trace_id"] == parentTrace.traceID, "\(log.transcript)")
                } cleanup: {
                    await broker.delete(queues: [followUps])
                }
            }
        }
    }
}
