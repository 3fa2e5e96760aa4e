import Testing
@testable import Warren

@Suite struct ReconnectScheduleTests {
    private let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(4))
    private let start = ContinuousClock.now

    @Test func theFirstAttemptStartsAtOnce() {
        #expect(ReconnectSchedule(backoff: backoff).wait(at: start) == .zero)
    }

    /// Each failure in a row doubles the cap (0.5, 1, 2, 4, 4 s) and the jitter picks the delay
    /// below it; the wait counts down from the failure.
    @Test func failuresInARowWaitTheBackoffFromTheFailure() {
        var schedule = ReconnectSchedule(backoff: backoff)
        for (failure, cap) in [(1, 500), (2, 1000), (3, 2000), (4, 4000), (5, 4000)] {
            schedule.failed(at: start, jitter: 0.5)
            #expect(schedule.failuresInARow == failure)
            #expect(schedule.wait(at: start) == .milliseconds(cap / 2), "failure \(failure)")
            #expect(schedule.wait(at: start + .milliseconds(cap / 4)) == .milliseconds(cap / 4))
            #expect(schedule.wait(at: start + .milliseconds(cap)) == .zero, "due after the delay")
        }
    }

    @Test func aSuccessResetsTheCount() {
        var schedule = ReconnectSchedule(backoff: backoff)
        schedule.failed(at: start, jitter: 0.9)
        schedule.failed(at: start, jitter: 0.9)
        schedule.succeeded()
        #expect(schedule.wait(at: start) == .zero)
        #expect(schedule.failuresInARow == 0)
        schedule.failed(at: start, jitter: 1)
        #expect(schedule.wait(at: start) == .milliseconds(500), "back to the first cap")
    }

    @Test func zeroJitterRetriesAtOnce() {
        var schedule = ReconnectSchedule(backoff: backoff)
        schedule.failed(at: start, jitter: 0)
        #expect(schedule.wait(at: start) == .zero)
    }
}
