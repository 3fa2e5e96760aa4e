import Foundation
import Testing

extension BrokerTests {
    @Suite("warren publish --traceparent")
    struct PublishTraceparent {
        /// The caller's trace, from `--traceparent` or from `TRACEPARENT` + `TRACESTATE`: every
        /// message's `traceparent` header (read back with pika) continues that trace id, as a
        /// span of its own (a new parent id per message, never the caller's), keeps the sampled
        /// flag and carries the `tracestate`; the summary line names the trace id.
        @Test("the published messages continue the caller's trace", arguments: ["flag", "environment"])
        func callersTrace(source: String) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("traceparent-\(source)") { queue in
                let traceID = (0..<4).map { _ in String(format: "%08x", UInt32.random(in: 1...UInt32.max)) }.joined()
                let callerSpan = "00f067aa0ba902b7"
                let traceParent = "00-\(traceID)-\(callerSpan)-01"
                let flag = source == "flag" ? ["--traceparent", traceParent] : []
                let environment = source == "flag"
                    ? [:] : ["TRACEPARENT": traceParent, "TRACESTATE": "vendor=abc"]
                let result = try await warrenPublish(
                    env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--count", "3"] + flag,
                    environment: environment, timeout: .seconds(30))
                #expect(result.succeeded, "\(result)")
                #expect(result.stdout.contains("trace_id \(traceID)"), "\(result)")

                let messages = try await broker.pikaGet(queue: queue, max: 10)
                #expect(messages.count == 3, "\(messages)")
                var spans: Set<String> = []
                for message in messages {
                    let header = try #require(message.headers["traceparent"], "\(message)")
                    let parts = header.split(separator: "-").map(String.init)
                    #expect(parts.count == 4 && parts[0] == "00" && parts[1] == traceID && parts[3] == "01", "\(header)")
                    if parts.count == 4 {
                        #expect(parts[2].count == 16 && parts[2] != callerSpan, "a span of its own: \(header)")
                        spans.insert(parts[2])
                    }
                    if source == "environment" {
                        #expect(message.headers["tracestate"] == "vendor=abc", "\(message)")
                    }
                }
                #expect(spans.count == 3, "one span per message: \(spans)")
            }
        }
    }
}
