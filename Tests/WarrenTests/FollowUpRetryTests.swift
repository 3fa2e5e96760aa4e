import Testing
import WarrenAMQP
@testable import Warren

@Suite struct FollowUpRetryTests {
    @Test func anotherPublishsRefusalClosingTheSharedChannelIsRetried() {
        let closedByNeighbour = AMQPError.channelClosed(
            replyCode: 404, replyText: "NOT_FOUND - no exchange 'missing' in vhost '/'", context: "channel")
        #expect(FollowUpRetry.isSharedFailure(closedByNeighbour, exchange: "orders"))
        #expect(FollowUpRetry.isSharedFailure(closedByNeighbour, exchange: ""))
    }

    @Test func aRefusalOfThisPublishsOwnExchangeIsNot() {
        let own = AMQPError.channelClosed(replyCode: 404, replyText: "NOT_FOUND - no exchange 'missing' in vhost '/'", context: "channel")
        #expect(!FollowUpRetry.isSharedFailure(own, exchange: "missing"))
        let denied = AMQPError.channelClosed(
            replyCode: 403, replyText: "ACCESS_REFUSED - access to exchange 'audit' in vhost '/' refused for user 'u'", context: "channel")
        #expect(!FollowUpRetry.isSharedFailure(denied, exchange: "audit"))
        // The default exchange, as RabbitMQ names it when it refuses a publish to "".
        let deniedDefault = AMQPError.channelClosed(
            replyCode: 403, replyText: "ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user 'u'",
            context: "channel")
        #expect(!FollowUpRetry.isSharedFailure(deniedDefault, exchange: ""))
        #expect(FollowUpRetry.isSharedFailure(deniedDefault, exchange: "audit"))
    }

    /// Tries go on while the timeout lasts, not for a fixed count: a storm of closes made by
    /// other handlers' bad publishes met three immediate tries in 30 ms (the chaos soak).
    @Test func pausesDoubleFromFiveMillisecondsUpTo200() {
        #expect((2...9).map { FollowUpRetry.pause(before: $0) } == [5, 10, 20, 40, 80, 160, 200, 200].map { Duration.milliseconds($0) })
        #expect(FollowUpRetry.pause(before: 1_000) == .milliseconds(200))
        // Within the default 10 s publish timeout there is room for far more than three tries.
        var elapsed = Duration.zero, tries = 1
        while elapsed + FollowUpRetry.pause(before: tries + 1) < MessageContext.defaultPublishTimeout {
            tries += 1
            elapsed += FollowUpRetry.pause(before: tries)
        }
        #expect(tries > 40)
    }

    /// A close of the shared channel alone is tried again whatever the count (the deadline
    /// bounds it); a lost connection three times in all, failing while the broker is down.
    @Test func channelClosesAreTriedUntilTheDeadlineLostConnectionsThreeTimes() {
        let channel = AMQPError.channelClosed(replyCode: 404, replyText: "NOT_FOUND - no exchange 'missing' in vhost '/'", context: "channel")
        #expect(FollowUpRetry.mayTryAgain(after: 1, failedWith: channel))
        #expect(FollowUpRetry.mayTryAgain(after: 50, failedWith: channel))
        let refused = AMQPError.library(status: -9, message: "connect to 127.0.0.1:5672: Connection refused", context: "connect")
        let forced = AMQPError.connectionClosed(replyCode: 320, replyText: "CONNECTION_FORCED", context: "c")
        for error in [refused, forced] {
            #expect(FollowUpRetry.mayTryAgain(after: 2, failedWith: error))
            #expect(!FollowUpRetry.mayTryAgain(after: 3, failedWith: error))
        }
    }

    @Test func lostConnectionsAreRetriedTheHandlersOwnOutcomesAreNot() {
        #expect(FollowUpRetry.isSharedFailure(AMQPError.connectionClosed(replyCode: 320, replyText: "CONNECTION_FORCED", context: "c"), exchange: "x"))
        #expect(FollowUpRetry.isSharedFailure(AMQPError.library(status: -9, message: "socket error", context: "c"), exchange: "x"))
        #expect(FollowUpRetry.isSharedFailure(AMQPError.heartbeatTimeout, exchange: "x"))
        #expect(!FollowUpRetry.isSharedFailure(AMQPError.unroutable(replyCode: 312, replyText: "NO_ROUTE"), exchange: "x"))
        #expect(!FollowUpRetry.isSharedFailure(AMQPError.publishNacked, exchange: "x"))
        #expect(!FollowUpRetry.isSharedFailure(PublishTimeout(timeout: .seconds(1)), exchange: "x"))
        #expect(!FollowUpRetry.isSharedFailure(CancellationError(), exchange: "x"))
    }
}
