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
