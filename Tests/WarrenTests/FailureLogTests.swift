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
        log.warning("message failed; dead-lettered", fields: [
            LogLineField("attempts", "2"), LogLineField("event", "message.dead_lettered"), LogLineField("queue", "from the line"),
        ])

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
        log.warning("m", fields: { Issue.record("fields built for a line not written"); return [] }())
        #expect(capture.lines().isEmpty)
    }

    /// On the JSON handler without a provider the line is written from `LogLineField`s, not
    /// through swift-log: it must be the general path's line byte for byte (`ts` aside), which
    /// a provider that adds nothing forces. Handler fields sort before, between and after the
    /// message's, one of them shares a key with the line (the line's wins), and values need
    /// escaping; with and without the optional `correlation_id` and `trace_id`.
    @Test(arguments: [false, true])
    func theFastLineIsTheGeneralPathsLineByteForByte(withOptionalFields: Bool) throws {
        let capture = try LogOutputCapture()
        func base(_ provider: Logger.MetadataProvider?) -> Logger {
            var logger = capture.logger(.json, metadataProvider: provider)
            for (key, value) in ["aaa": "first", "m": "between", "zz": "last", "reason": "the handler's", "worker": "w\"1"] {
                logger[metadataKey: key] = .string(value)
            }
            return logger
        }
        let properties = withOptionalFields
            ? AMQPProperties(
                headers: ["traceparent": .string(traceParent), "x-warren-attempt": .int(3)], correlationID: "corr \u{2028}", messageID: "m\"1")
            : AMQPProperties(messageID: nil)
        let lines: [(String, [LogLineField])] = [
            ("message failed; dead-lettered", [
                LogLineField("attempts", "3"), LogLineField("dead_letter_reason", "permanent"),
                LogLineField("event", "message.dead_lettered"),
            ]),
            ("message failed; retry scheduled", [
                LogLineField("delay_ms", "600000"), LogLineField("event", "message.retry_scheduled"),
                LogLineField("next_attempt", "4"), LogLineField("queue", "from the line"), LogLineField("retry_queue", "orders.retry.10m"),
            ]),
        ]
        for (message, fields) in lines {
            for provider in [nil, Logger.MetadataProvider { [:] }] {
                let context = MessageContext(queue: "orders", deliveryTag: 7, redelivered: false, properties: properties, logger: base(provider))
                FailureLog(context: context, errorType: "DemoFailure", reason: "it \"broke\"\n日", durationMilliseconds: 12)
                    .warning(message, fields: fields)
            }
        }
        // And the fast path is taken on such a handler (else both lines above were the general
        // path's).
        let handler = try #require(base(nil).handler as? JSONLogHandler)
        #expect(handler.writeLine(level: .warning, message: "direct", sortedFields: [LogLineField("event", "e")]))
        let written = capture.lines().map { $0.replacing(/^\{"ts":"[^"]*",/, with: "") }
        try #require(written.count == 5)
        #expect(written[4].hasPrefix(#""level":"warning","logger":"test","msg":"direct","aaa":"first","event":"e","m":"between""#))
        #expect(written[0] == written[1])
        #expect(written[2] == written[3])
        #expect(written[0].hasPrefix(#""level":"warning","logger":"test","msg":"message failed; dead-lettered","aaa":"first","attempt":"#))
        #expect(written[2].contains(#""queue":"from the line","reason":"it \"broke\"\n日","#))
        #expect(written[2].hasSuffix(#""worker":"w\"1","zz":"last"}"#))
        #expect(written[2].contains("trace_id") == withOptionalFields)
    }

    /// The fast line is not taken where it would differ: a handler key that is reserved (the
    /// general path writes it as `meta.<key>`).
    @Test func aReservedHandlerKeyTakesTheGeneralPath() throws {
        let capture = try LogOutputCapture()
        var base = capture.logger(.json)
        base[metadataKey: "msg"] = "mine"
        let handler = try #require(base.handler as? JSONLogHandler)
        #expect(!handler.writeLine(level: .warning, message: "m", sortedFields: [LogLineField("a", "b")]))
        FailureLog(context: context(base), errorType: "E", reason: "r", durationMilliseconds: 1)
            .warning("m", fields: [LogLineField("event", "e")])
        let lines = capture.lines()
        try #require(lines.count == 1)
        #expect(lines[0].contains(#""meta.msg":"mine""#) && lines[0].contains(#""event":"e""#))
    }
}
