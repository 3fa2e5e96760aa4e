import Testing
@testable import Warren

/// `FailureSettlement`: where `WarrenConsumer.settle(failure:…)` sends a failed message.
@Suite struct FailureSettlementTests {
    struct Flaky: Error {}

    private let policy = RetryPolicy(immediateRetries: 2, delays: [.seconds(1), .seconds(10)])

    /// Immediate retries cut short (connection gone, shutdown) go on to the first delayed retry:
    /// `settle` never hands back `.retryNow`, which it could not act on.
    @Test func immediateRetriesCutShortGoOnToTheNextStep() {
        let settlement = FailureSettlement(policy: policy, error: Flaky(), attempt: 1, immediateRetries: 0)
        #expect(settlement.decision == .retryLater(delay: .seconds(1), nextAttempt: 2))
        let lastDelay = FailureSettlement(policy: policy, error: Flaky(), attempt: 2, immediateRetries: 1)
        #expect(lastDelay.decision == .retryLater(delay: .seconds(10), nextAttempt: 3))
    }

    @Test func noRetryLeftDeadLettersAsRetriesExhausted() {
        let settlement = FailureSettlement(policy: policy, error: Flaky(), attempt: 3, immediateRetries: 2)
        #expect(settlement == FailureSettlement(policy: policy, error: Flaky(), attempt: 3, immediateRetries: 0))
        #expect(settlement.decision == .deadLetter(permanent: false))
        #expect(settlement.reason == .retriesExhausted)
        // Immediate retries alone also count as retries that were used up.
        let immediateOnly = FailureSettlement(policy: RetryPolicy(immediateRetries: 1, delays: []), error: Flaky(), attempt: 1, immediateRetries: 1)
        #expect(immediateOnly.reason == .retriesExhausted)
    }

    /// Dead-lettered at once, whatever retries are configured: named after the error.
    @Test func aMessageDeadLetteredAtOnceIsNamedAfterItsError() {
        let permanent = FailureSettlement(policy: policy, error: PermanentFailure(Flaky()), attempt: 1, immediateRetries: 0)
        #expect(permanent.decision == .deadLetter(permanent: true))
        #expect(permanent.reason == .handlerError)
        let undecodable = FailureSettlement(policy: policy, error: UndecodableMessage("not JSON"), attempt: 1, immediateRetries: 0)
        #expect(undecodable.reason == .undecodable)
        let crashLoop = FailureSettlement(policy: policy, error: CrashLoopDetected(crashes: 3, limit: 3), attempt: 1, immediateRetries: 0)
        #expect(crashLoop.reason == .crashLoop)
    }

    /// With no retries configured there is nothing to exhaust: the error names the reason.
    @Test func withoutRetriesTheErrorNamesTheReason() {
        let timeout = FailureSettlement(policy: .none, error: HandlerTimeout(timeout: .seconds(1)), attempt: 1, immediateRetries: 0)
        #expect(timeout.decision == .deadLetter(permanent: false))
        #expect(timeout.reason == .handlerTimeout)
        #expect(FailureSettlement(policy: .none, error: Flaky(), attempt: 1, immediateRetries: 0).reason == .handlerError)
    }
}
