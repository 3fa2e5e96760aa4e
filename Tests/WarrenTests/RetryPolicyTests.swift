import Testing
import WarrenAMQP
@testable import Warren

@Suite struct RetryPolicyTests {
    struct Passing: Error {}
    struct BadPayload: PermanentError {}

    @Test func transientFailuresWalkTheDelaysThenDeadLetter() {
        let policy = RetryPolicy()
        #expect(policy.decision(after: Passing(), attempt: 1, immediateRetriesSoFar: 0) == .retryLater(delay: .seconds(1), nextAttempt: 2))
        #expect(policy.decision(after: Passing(), attempt: 2, immediateRetriesSoFar: 0) == .retryLater(delay: .seconds(10), nextAttempt: 3))
        #expect(policy.decision(after: Passing(), attempt: 3, immediateRetriesSoFar: 0) == .retryLater(delay: .seconds(60), nextAttempt: 4))
        #expect(policy.decision(after: Passing(), attempt: 4, immediateRetriesSoFar: 0) == .deadLetter(permanent: false))
        #expect(policy.decision(after: Passing(), attempt: 99, immediateRetriesSoFar: 0) == .deadLetter(permanent: false))
    }

    @Test func permanentErrorsAndUndecodableBodiesAreDeadLetteredAtOnce() {
        let policy = RetryPolicy(immediateRetries: 3)
        #expect(policy.decision(after: BadPayload(), attempt: 1, immediateRetriesSoFar: 0) == .deadLetter(permanent: true))
        #expect(policy.decision(after: PermanentFailure(Passing()), attempt: 1, immediateRetriesSoFar: 0) == .deadLetter(permanent: true))
        #expect(policy.decision(after: UndecodableMessage("x"), attempt: 1, immediateRetriesSoFar: 0) == .deadLetter(permanent: true))
    }

    @Test func immediateRetriesComeFirstInEveryDelivery() {
        let policy = RetryPolicy(immediateRetries: 2, delays: [.seconds(5)])
        #expect(policy.decision(after: Passing(), attempt: 1, immediateRetriesSoFar: 0) == .retryNow(number: 1))
        #expect(policy.decision(after: Passing(), attempt: 1, immediateRetriesSoFar: 1) == .retryNow(number: 2))
        #expect(policy.decision(after: Passing(), attempt: 1, immediateRetriesSoFar: 2) == .retryLater(delay: .seconds(5), nextAttempt: 2))
        #expect(policy.decision(after: Passing(), attempt: 2, immediateRetriesSoFar: 0) == .retryNow(number: 1))
        #expect(policy.decision(after: Passing(), attempt: 2, immediateRetriesSoFar: 2) == .deadLetter(permanent: false))
        #expect(RetryPolicy.none.decision(after: Passing(), attempt: 1, immediateRetriesSoFar: 0) == .deadLetter(permanent: false))
    }

    @Test func retryQueuesAreNamedAfterTheirDelay() {
        #expect(RetryPolicy.retryQueue(of: "orders", delay: .seconds(10)) == "orders.retry.10s")
        #expect(RetryPolicy.retryQueue(of: "orders", delay: .seconds(60)) == "orders.retry.1m")
        #expect(RetryPolicy.retryQueue(of: "orders", delay: .seconds(90)) == "orders.retry.90s")
        #expect(RetryPolicy.retryQueue(of: "orders", delay: .milliseconds(250)) == "orders.retry.250ms")
        #expect(RetryPolicy.retryQueue(of: "orders", delay: .milliseconds(1500)) == "orders.retry.1500ms")
    }

    @Test func delaysParseFromTheirSetting() {
        #expect(RetryPolicy.parseDelays("1s,10s,1m") == [.seconds(1), .seconds(10), .seconds(60)])
        #expect(RetryPolicy.parseDelays(" 250ms , 2 ") == [.milliseconds(250), .seconds(2)])
        #expect(RetryPolicy.parseDelays("") == [])
        for bad in ["1s,,2s", "fast", "0s", "-1s", "25h", "1s,"] {
            #expect(RetryPolicy.parseDelays(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct DeadLetterHeadersTests {
    struct Boom: Error, CustomStringConvertible {
        var description: String
    }

    @Test func theErrorHeadersJoinEveryOriginalOne() {
        let headers = DeadLetterHeaders.adding(
            to: ["tenant": "acme", "x-warren-attempt": .int(4)], error: Boom(description: "downstream timed out"),
            attempts: 4, exchange: "shop", routingKey: "orders.placed", failedAt: "2026-11-22T10:00:00.000Z")
        #expect(headers == [
            "tenant": "acme", "x-warren-attempt": .int(4),
            "x-warren-error-type": "Boom", "x-warren-error-message": "downstream timed out",
            "x-warren-failed-at": "2026-11-22T10:00:00.000Z", "x-warren-attempts": .int(4),
            "x-warren-original-exchange": "shop", "x-warren-original-routing-key": "orders.placed",
        ])
    }

    /// What a copy sets over the original's headers (`AMQPProperties.overrideHeaders`): the
    /// error headers, the first publish's route unless an earlier hop recorded it, and room for
    /// a retry copy's `x-warren-attempt` (appended without growing the list).
    @Test(arguments: [[:], ["tenant": "acme"], ["x-warren-original-exchange": "first", "x-warren-original-routing-key": "k"]] as [AMQPTable])
    func theCopysEntriesAreWhatAddingSets(original: AMQPTable) {
        let entries = DeadLetterHeaders.entries(
            over: original, errorType: "Boom", errorDescription: "x", attempts: 1, exchange: "shop", routingKey: "orders",
            failedAt: "t")
        #expect(entries.capacity > entries.count)
        var merged = original
        for entry in entries { merged[entry.key] = entry.value }
        #expect(merged == DeadLetterHeaders.adding(
            to: original, error: Boom(description: "x"), attempts: 1, exchange: "shop", routingKey: "orders", failedAt: "t"))
        #expect(entries.contains { $0.key == "x-warren-original-exchange" } == (original["x-warren-original-exchange"] == nil))
    }

    @Test func aRetryHopKeepsTheFirstPublishsRouteAndAWrappedErrorShowsItsCause() {
        let headers = DeadLetterHeaders.adding(
            to: ["x-warren-original-exchange": "shop", "x-warren-original-routing-key": "orders.placed"],
            error: PermanentFailure(Boom(description: "bad sku")), attempts: 2, exchange: "", routingKey: "orders",
            failedAt: "t")
        #expect(headers["x-warren-original-exchange"] == "shop" && headers["x-warren-original-routing-key"] == "orders.placed")
        #expect(headers["x-warren-error-type"] == "Boom" && headers["x-warren-error-message"] == "bad sku")
    }

    @Test func longMessagesAreCutAtACharacterBoundary() {
        let long = String(repeating: "é", count: 2000)
        let cut = DeadLetterHeaders.truncated(long, toBytes: 1024)
        #expect(cut.utf8.count <= 1024 && cut.hasSuffix("…"))
        #expect(cut.dropLast().allSatisfy { $0 == "é" })
        #expect(DeadLetterHeaders.truncated("short", toBytes: 1024) == "short")
    }
}

/// A type whose conformance to `PermanentError` depends on its argument.
private struct Tagged<Tag>: Error {}
extension Tagged: PermanentError where Tag == Int {}

@Suite struct PermanentErrorCheckTests {
    /// Remembered per type, the answers stay those of `is any PermanentError`, asked again and
    /// again, for a generic type whose conformance depends on its argument too.
    @Test func answersAsTheCastDoesEveryTime() {
        struct Passing: Error {}
        struct Bad: PermanentError {}
        let errors: [any Error] = [Passing(), Bad(), PermanentFailure(Passing()), UndecodableMessage("x"), Tagged<Int>(), Tagged<String>()]
        for round in 1...3 {
            for error in errors {
                #expect(PermanentErrorCheck.isPermanent(error) == (error is any PermanentError), "round \(round): \(type(of: error))")
            }
        }
        #expect(PermanentErrorCheck.isPermanent(Tagged<Int>()))
        #expect(!PermanentErrorCheck.isPermanent(Tagged<String>()))
        #expect(PermanentErrorCheck.count <= PerTypeCache<Bool>.capacity)
    }
}
