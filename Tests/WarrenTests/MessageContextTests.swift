import Logging
import Testing
import WarrenAMQP
@testable import Warren

@Suite struct MessageContextTests {
    /// Keeps metadata (the no-op handler drops it), logs nothing.
    struct MetadataHandler: LogHandler {
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {}
    }

    static let logger = Logger(label: "test") { _ in MetadataHandler() }

    static func context(headers: AMQPTable?) -> MessageContext {
        MessageContext(queue: "q", properties: AMQPProperties(headers: headers), logger: logger)
    }

    /// The context keeps its deadline as a `MessageClock` reading (a fixed-size field): the
    /// public `deadline` gives back the very instant it was built with, before the clock's origin
    /// or after, and none when none was given.
    @Test func deadlineIsTheInstantGiven() {
        let now = ContinuousClock.now
        for deadline in [now, now + .milliseconds(300), now - .seconds(3600), now + .nanoseconds(1)] {
            #expect(MessageContext(queue: "q", logger: Self.logger, deadline: deadline).deadline == deadline)
        }
        #expect(MessageContext(queue: "q", logger: Self.logger).deadline == nil)
    }

    @Test(arguments: [
        (AMQPFieldValue.int(3), 3), (.int(1), 1), (.int(0), 1), (.int(-4), 1), (.int(Int64.max), Int.max),
        (.string("4"), 4), (.string("0"), 1), (.string("x"), 1), (.string(" 2"), 1), (.double(2), 1), (.bool(true), 1),
    ])
    func attemptFromHeader(value: AMQPFieldValue, expected: Int) {
        #expect(Self.context(headers: ["x-warren-attempt": value]).attempt == expected)
    }

    @Test func attemptWithoutHeaderIsOne() {
        #expect(Self.context(headers: nil).attempt == 1)
        #expect(Self.context(headers: ["other": .int(7)]).attempt == 1)
    }

    @Test func headersDefaultToEmpty() {
        #expect(Self.context(headers: nil).headers.isEmpty)
        #expect(Self.context(headers: ["a": "b"]).headers == ["a": .string("b")])
    }

    @Test func loggerCarriesTheMessageMetadata() {
        var base = Self.logger
        base[metadataKey: "service"] = "orders"
        let context = MessageContext(
            queue: "orders", exchange: "shop", routingKey: "order.placed", deliveryTag: 42, redelivered: true,
            properties: AMQPProperties(headers: ["x-warren-attempt": .int(2)], correlationID: "c-1", messageID: "m-1"),
            logger: base)
        let logger = context.logger
        #expect(logger[metadataKey: "message_id"]?.description == "m-1")
        #expect(logger[metadataKey: "correlation_id"]?.description == "c-1")
        #expect(logger[metadataKey: "queue"]?.description == "orders")
        #expect(logger[metadataKey: "delivery_tag"]?.description == "42")
        #expect(logger[metadataKey: "redelivered"]?.description == "true")
        #expect(logger[metadataKey: "attempt"]?.description == "2")
        #expect(logger[metadataKey: "service"]?.description == "orders", "the consumer logger's own metadata is kept")
        #expect(context.exchange == "shop" && context.routingKey == "order.placed" && context.deliveryTag == 42 && context.redelivered)
    }

    @Test func loggerWithoutIDs() {
        let context = MessageContext(queue: "q", logger: Self.logger)
        #expect(context.logger[metadataKey: "message_id"]?.description == "")
        #expect(context.logger[metadataKey: "correlation_id"] == nil)
        #expect(context.logger[metadataKey: "attempt"]?.description == "1")
        #expect(context.logger[metadataKey: "redelivered"]?.description == "false")
    }

    /// Without a publisher (a context built in a unit test), publish throws instead of hanging.
    @Test func publishWithoutPublisherThrows() async {
        let context = MessageContext(queue: "q", logger: Self.logger)
        await #expect(throws: AMQPError.self) { try await context.publish(Array("x".utf8), routingKey: "r") }
        await #expect(throws: AMQPError.self) { try await context.publish(json: ["a": 1], routingKey: "r") }
    }
}
