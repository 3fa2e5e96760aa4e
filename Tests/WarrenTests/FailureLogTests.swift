import Logging
import Testing
import WarrenAMQP
@testable import Warren

@Suite struct FailureLogTests {
    private let traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    private func context(_ logger: Logger) -> MessageContext {
        MessageContext(
            queue: "orders", deliveryTag: 42, redelivered: true,
            properties: AMQPProperties(
                headers: ["traceparent": .string(traceParent), "x-warren-attempt": .int(2)], correlationID: "corr-1",
                messageID: "msg-1"),
            logger: logger)
    }

    /// The outcome line, with or without a metadata provider, has exactly the fields the
    /// message's logger with the failure's fields set on it writes, values included (a key the
    /// line shares with the message's fields is the line's).
    @Test(arguments: [false, true])
    func theOutcomeLineIsTheMessageLoggersLine(withProvider: Bool) throws {
        let capture = try LogOutputCapture()
        let provider = withProvider ? Logger.MetadataProvider { ["provided": "p"] } : nil
        var base = capture.logger(.json, metadataProvider: provider)
        base[metadataKey: "worker"] = "w1"
        let log = FailureLog(context: context(base), errorType: "DemoFailure", reason: "it \"broke\"", durationMilliseconds: 7)
        log.warning("message failed; dead-lettered", metadata: ["event": "message.dead_lettered", "attempts": "2", "queue": "from the line"])

        var expected = context(base).logger
        expected[metadataKey: "error_type"] = "DemoFailure"
        expected[metadataKey: "reason"] = "it \"broke\""
        expected[metadataKey: "duration_ms"] = "7"
        expected.warning("message failed; dead-lettered", metadata: ["event": "message.dead_lettered", "attempts": "2", "queue": "from the line"])

        let lines = try parseJSONLines(capture.lines().joined(separator: "\n"))
        try #require(lines.count == 2)
        let (got, want) = (lines[0].filter { $0.key != "ts" }, lines[1].filter { $0.key != "ts" })
        #expect(got.keys.sorted() == want.keys.sorted())
        for (key, value) in want { #expect(got[key] as? String == value as? String, "\(key)") }
        #expect(got["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(got["attempt"] as? String == "2" && got["delivery_tag"] as? String == "42" && got["worker"] as? String == "w1")
        #expect(got["error_type"] as? String == "DemoFailure" && got["duration_ms"] as? String == "7")
        #expect((got["provided"] as? String == "p") == withProvider)
        #expect(got["queue"] as? String == "from the line")
    }

    /// Below `warning` nothing is written (and the line's metadata is not built).
    @Test func nothingBelowItsLevel() throws {
        let capture = try LogOutputCapture()
        let log = FailureLog(
            context: context(capture.logger(.json, level: .error)), errorType: "E", reason: "r", durationMilliseconds: 1)
        log.warning("m", metadata: { Issue.record("metadata built for a line not written"); return [:] }())
        #expect(capture.lines().isEmpty)
    }
}
