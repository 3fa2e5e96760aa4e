import Foundation
import Testing

extension BrokerTests {
    @Suite("warren publish body sources, headers and rate")
    struct PublishOptions {
        @Test("--stdin-lines publishes one message per line, in order, with --header on each")
        func stdinLinesAndHeaders() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("stdin") { queue in
                let lines = ["{\"a\":1}", "not json", "{\"work_ms\":5}"]
                let result = try await runTool(
                    env.warrenBinary,
                    ["publish", "--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic",
                     "--stdin-lines", "--header", "x-test=yes", "--header", "x-origin=it"],
                    removingEnvironment: { $0.hasPrefix("WARREN_") },
                    stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
                #expect(result.succeeded, "\(result)")
                #expect(PublishSummary(result.stdout) == PublishSummary(published: 3, confirmed: 3, nacked: 0, unroutable: 0), "\(result)")
                let messages = try await broker.pikaGet(queue: queue, max: 10)
                #expect(messages.map(\.body) == lines)
                for message in messages {
                    #expect(message.headerNames.contains("x-test") && message.headerNames.contains("x-origin"), "\(message.headerNames)")
                }
            }
        }

        @Test("--body-file publishes the file's bytes as the body")
        func bodyFile() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("bodyfile") { queue in
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("warren-body-\(uniqueSuffix()).json").path
                let body = "{\"order\": 42, \"note\": \"multi\\nline\"}"
                try body.write(toFile: path, atomically: true, encoding: .utf8)
                defer { try? FileManager.default.removeItem(atPath: path) }
                let result = try await warrenPublish(
                    env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--body-file", path, "--count", "2"])
                #expect(result.succeeded, "\(result)")
                let messages = try await broker.pikaGet(queue: queue, max: 10)
                #expect(messages.map(\.body) == [body, body])
            }
        }

        @Test("--rate paces publishing; conflicting body options are rejected before connecting")
        func rateAndValidation() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("rate") { queue in
                let start = ContinuousClock.now
                let result = try await warrenPublish(
                    env, ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--count", "10", "--rate", "20"])
                let elapsed = start.duration(to: .now)
                #expect(result.succeeded, "\(result)")
                // 10 messages at 20/s: the last one is due 0.45 s after the first.
                #expect(elapsed >= .milliseconds(450), "took \(elapsed)")

                let conflicting = try await warrenPublish(
                    env, ["--amqp-url", env.amqpURL, "--queue", queue, "--body", "{}", "--stdin-lines"])
                #expect(!conflicting.succeeded)
                #expect(conflicting.stderr.contains("only one of"), "\(conflicting)")
            }
        }
    }
}
