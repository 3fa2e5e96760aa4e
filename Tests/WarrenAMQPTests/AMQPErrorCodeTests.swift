import Testing
@testable import WarrenAMQP

/// `AMQPError` as users see it: a `code` to switch on (with a `default:`), details through
/// properties, and the same descriptions logs and operators have always read.
@Suite struct AMQPErrorCodeTests {
    /// One error of every kind, its expected code, and its description as it read when
    /// `AMQPError` was an enum (logs, alerts and tests compare these texts).
    static let examples: [(AMQPError, AMQPError.Code, String)] = [
        (.library(status: -9, message: "socket error", context: "connect to b:5672"), .library, "connect to b:5672: socket error"),
        (.connectionClosed(replyCode: 320, replyText: "CONNECTION_FORCED", context: "connection"), .connectionClosed,
         "connection: connection closed by broker: 320 CONNECTION_FORCED"),
        (.channelClosed(replyCode: 404, replyText: "NOT_FOUND - no queue 'x'", context: "queue.declare 'x'"), .channelClosed,
         "queue.declare 'x': 404 NOT_FOUND - no queue 'x'"),
        (.consumerCancelled(consumerTag: "ctag-1"), .consumerCancelled,
         "consumer ctag-1 was cancelled by the broker (queue deleted or node failed over)"),
        (.publishNacked, .publishNacked, "the broker nacked the publish"),
        (.unroutable(replyCode: 312, replyText: "NO_ROUTE"), .unroutable, "unroutable: 312 NO_ROUTE"),
        (.heartbeatTimeout, .heartbeatTimeout, "missed heartbeats: no data from the broker for two heartbeat intervals"),
        (.connectionClosedByClient, .connectionClosedByClient, "the connection is closed"),
        (.invalidURL("missing scheme"), .invalidURL, "invalid AMQP URL: missing scheme"),
        (.tls(reason: "unknown CA", context: "TLS handshake", permanent: true), .tls, "TLS handshake: TLS: unknown CA"),
        (.invalidPublish("message_id is over 255 bytes"), .invalidPublish, "invalid publish: message_id is over 255 bytes"),
    ]

    @Test func everyKindHasItsCodeAndKeepsItsDescription() {
        for (error, code, description) in Self.examples {
            #expect(error.code == code, "\(error)")
            #expect(error.description == description)
            #expect("\(error)" == description)
        }
    }

    @Test func codesAreDistinctHashableAndNamed() {
        let codes = Self.examples.map(\.1)
        #expect(Set(codes).count == codes.count)
        #expect(codes.map(\.description) == [
            "library", "connectionClosed", "channelClosed", "consumerCancelled", "publishNacked", "unroutable",
            "heartbeatTimeout", "connectionClosedByClient", "invalidURL", "tls", "invalidPublish",
        ])
        let counts = Dictionary(grouping: Self.examples.map(\.0), by: \.code)
        #expect(counts[.channelClosed]?.count == 1)
    }

    /// The way the README tells users to handle errors: a switch on `code` with a `default:`.
    @Test func codeWorksInASwitchWithDefault() {
        func action(for error: AMQPError) -> String {
            switch error.code {
            case .unroutable: "declare the queue"
            case .channelClosed where error.replyCode == 404: "missing"
            case .heartbeatTimeout, .connectionClosed: "reconnect"
            default: "other"
            }
        }
        #expect(action(for: .unroutable(replyCode: 312, replyText: "NO_ROUTE")) == "declare the queue")
        #expect(action(for: .channelClosed(replyCode: 404, replyText: "NOT_FOUND", context: "c")) == "missing")
        #expect(action(for: .channelClosed(replyCode: 406, replyText: "PRECONDITION_FAILED", context: "c")) == "other")
        #expect(action(for: .heartbeatTimeout) == "reconnect")
        #expect(action(for: .publishNacked) == "other")
    }

    @Test func detailsAreReadThroughProperties() {
        let closed = AMQPError.channelClosed(replyCode: 406, replyText: "PRECONDITION_FAILED - inequivalent arg", context: "queue.declare 'q'")
        #expect(closed.replyCode == 406)
        #expect(closed.replyText == "PRECONDITION_FAILED - inequivalent arg")
        #expect(closed.context == "queue.declare 'q'")
        #expect(closed.consumerTag == nil && closed.reason == nil && closed.libraryStatus == nil)

        let connection = AMQPError.connectionClosed(replyCode: 530, replyText: "NOT_ALLOWED", context: "login")
        #expect(connection.replyCode == 530 && connection.replyText == "NOT_ALLOWED" && connection.context == "login")

        let returned = AMQPError.unroutable(replyCode: 312, replyText: "NO_ROUTE")
        #expect(returned.replyCode == 312 && returned.replyText == "NO_ROUTE" && returned.context == nil)

        let library = AMQPError.library(status: -9, message: "socket error", context: "poll")
        #expect(library.libraryStatus == -9 && library.reason == "socket error" && library.context == "poll")
        #expect(library.replyCode == nil && library.replyText == nil)

        #expect(AMQPError.consumerCancelled(consumerTag: "ctag-7").consumerTag == "ctag-7")
        #expect(AMQPError.invalidURL("bad port").reason == "bad port")
        #expect(AMQPError.invalidPublish("too long").reason == "too long")
        let tls = AMQPError.tls(reason: "expired", context: "handshake", permanent: false)
        #expect(tls.reason == "expired" && tls.context == "handshake")
        for error in [AMQPError.publishNacked, .heartbeatTimeout, .connectionClosedByClient] {
            #expect(error.replyCode == nil && error.replyText == nil && error.context == nil)
            #expect(error.consumerTag == nil && error.reason == nil && error.libraryStatus == nil)
        }
    }

    @Test func equalityComparesKindAndDetails() {
        #expect(AMQPError.publishNacked == .publishNacked)
        #expect(AMQPError.unroutable(replyCode: 312, replyText: "NO_ROUTE") == .unroutable(replyCode: 312, replyText: "NO_ROUTE"))
        #expect(AMQPError.channelClosed(replyCode: 404, replyText: "a", context: "c") != .channelClosed(replyCode: 404, replyText: "b", context: "c"))
        #expect(AMQPError.heartbeatTimeout != .connectionClosedByClient)
    }

    @Test func isPermanentIsUnchanged() {
        let permanent: [AMQPError] = [
            .connectionClosed(replyCode: 403, replyText: "ACCESS_REFUSED", context: "login"),
            .connectionClosed(replyCode: 530, replyText: "NOT_ALLOWED", context: "login"),
            .channelClosed(replyCode: 404, replyText: "NOT_FOUND", context: "c"),
            .channelClosed(replyCode: 406, replyText: "PRECONDITION_FAILED", context: "c"),
            .invalidURL("x"), .invalidPublish("x"), .tls(reason: "x", context: "c", permanent: true),
        ]
        let passing: [AMQPError] = [
            .library(status: -9, message: "socket error", context: "c"),
            .connectionClosed(replyCode: 320, replyText: "CONNECTION_FORCED", context: "c"),
            .channelClosed(replyCode: 504, replyText: "CHANNEL_ERROR", context: "c"),
            .consumerCancelled(consumerTag: "t"), .publishNacked, .unroutable(replyCode: 312, replyText: "NO_ROUTE"),
            .heartbeatTimeout, .connectionClosedByClient, .tls(reason: "x", context: "c", permanent: false),
        ]
        for error in permanent { #expect(error.isPermanent, "\(error)") }
        for error in passing { #expect(!error.isPermanent, "\(error)") }
    }
}
