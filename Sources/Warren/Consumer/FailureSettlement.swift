/// Where a message whose handler failed goes once the handler's turn is over, and the reason
/// recorded if it is dead-lettered: the pure part of `WarrenConsumer.settle(failure:…)`, which
/// then publishes the copy and acks the original.
///
/// - an in-process retry that was cut short (connection gone, shutdown) moves on to the next
///   step, as if every immediate retry had been made: the message never goes back unsettled
///   because of Warren's own state;
/// - a message dead-lettered after retries were configured and used up is `retries_exhausted`;
///   one dead-lettered at once (a `PermanentError`, an undecodable body, a crash loop, or no
///   retries configured) is named after its error.
struct FailureSettlement: Equatable {
    /// `.retryLater` or `.deadLetter`; never `.retryNow`.
    var decision: RetryPolicy.Decision
    /// The `dead_letter_reason` if `decision` dead-letters.
    var reason: DeadLetterReason

    init(policy: RetryPolicy, error: any Error, attempt: Int, immediateRetries: Int) {
        var decision = policy.decision(after: error, attempt: attempt, immediateRetriesSoFar: immediateRetries)
        if case .retryNow = decision {
            decision = policy.decision(after: error, attempt: attempt, immediateRetriesSoFar: policy.immediateRetries)
        }
        self.decision = decision
        if case .deadLetter(permanent: false) = decision, policy.immediateRetries > 0 || !policy.delays.isEmpty {
            reason = .retriesExhausted
        } else {
            reason = DeadLetterReason(error)
        }
    }
}
