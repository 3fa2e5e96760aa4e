import WarrenAMQP

/// When a handler's publish (`MessageContext.publish`) is tried again on a fresh channel.
///
/// Handlers of a consumer share one connection and channel for their follow-up publishes, and
/// AMQP closes a channel on any broker exception: one handler's publish to a missing exchange
/// (`404 NOT_FOUND - no exchange 'x'`) fails every other publish waiting on that channel. Those
/// others did nothing wrong, so their failure must not become their messages' failure (which
/// would retry and finally dead-letter them for Warren's own reasons). A publish that failed
/// because its channel or connection went away is tried again, on the connection
/// `WarrenConnection` reopens, within the publish's timeout (`mayTryAgain`):
///
/// - after **a close of the shared channel** (the connection lives on, the channel is reopened
///   at once), for as long as the timeout lasts, after a pause that doubles from 5 ms up to
///   200 ms (`pause(before:)`). Tries used to stop at three, back to back: in the chaos soak
///   (`make soak`, 100,000 messages) a handler's publish met three closes in 30 ms, made by other
///   handlers' publishes to a missing exchange, and its message was dead-lettered for Warren's
///   reason, not its own;
/// - after **a lost connection**, three tries in all, as before (each waits for the reconnect).
///   Waiting out a broker restart instead held the handler until its timeout, which then failed
///   its message once the broker was back, able to take its retry or dead-letter copy; failing
///   while the broker is still down leaves the copy unpublishable, so the message is requeued.
///
/// A publish the broker refused for what it asked (its own exchange named in the refusal, the
/// default exchange as `amq.default`), an unroutable or nacked one, and a timeout are not tried
/// again: those are the handler's to handle.
///
/// A retried publish may duplicate one the broker took before the channel closed (the confirm
/// was lost with it): follow-ups are at least once, like everything else.
enum FollowUpRetry {
    /// Tries after a lost connection (see the type's documentation).
    static let connectionLossAttempts = 3

    /// Pure: whether try number `attempt` + 1 may follow try `attempt`, which failed with
    /// `error` (a shared failure, `isSharedFailure`): always after a close of the channel alone
    /// (the caller stops at its deadline), at most `connectionLossAttempts` in all otherwise.
    static func mayTryAgain(after attempt: Int, failedWith error: any Error) -> Bool {
        if let error = error as? AMQPError, case .channelClosed = error.kind { return true }
        return attempt < connectionLossAttempts
    }

    /// Pure: how long to wait before try number `attempt` (2 or more): 5 ms, doubling, at most
    /// 200 ms, so a burst of channel closes passes and the channel can reopen in between.
    static func pause(before attempt: Int) -> Duration {
        let doublings = min(max(attempt - 2, 0), 6)  // 5 ms × 2⁶ is past the cap already
        return min(.milliseconds(5 << doublings), .milliseconds(200))
    }

    /// Pure: whether `error`, from a publish to `exchange`, came from the shared channel or
    /// connection rather than from this publish.
    static func isSharedFailure(_ error: any Error, exchange: String) -> Bool {
        guard let error = error as? AMQPError else { return false }
        switch error.kind {
        case .channelClosed(_, let text, _), .connectionClosed(_, let text, _):
            // RabbitMQ names what it refused: "NOT_FOUND - no exchange 'x' in vhost '/'",
            // "ACCESS_REFUSED - access to exchange 'x' in vhost '/' refused for user 'u'"; the
            // default exchange ("") as 'amq.default', whose permission it checks.
            let named = exchange.isEmpty ? "amq.default" : exchange
            return !text.contains("exchange '\(named)'")
        case .library, .heartbeatTimeout, .tls:
            return true
        case .consumerCancelled, .publishNacked, .unroutable, .connectionClosedByClient, .invalidURL, .invalidPublish:
            return false
        }
    }
}
