import Testing
import Warren

@Suite struct BackoffTests {
    @Test func capsDoubleFromTheInitialDelayUpToTheMaximum() {
        let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
        let caps = (1...8).map { backoff.cap(afterFailures: $0) }
        #expect(caps == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        #expect(backoff.cap(afterFailures: 10_000) == .seconds(30), "no overflow after many failures")
    }

    @Test func fullJitterSpansZeroToTheCap() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(8))
        #expect(backoff.delay(afterFailures: 3, jitter: 0) == .zero)
        #expect(backoff.delay(afterFailures: 3, jitter: 0.5) == .seconds(2))
        #expect(backoff.delay(afterFailures: 3, jitter: 7) == .seconds(4), "jitter is clamped to [0, 1]")
    }

    @Test func aMaximumBelowTheInitialDelayIsRaisedToIt() {
        #expect(Backoff(initial: .seconds(5), maximum: .seconds(1)).cap(afterFailures: 3) == .seconds(5))
    }
}
