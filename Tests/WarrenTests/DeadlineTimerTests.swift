import Synchronization
import Testing
@testable import Warren

/// `DeadlineTimer`: the one timer a settlement pipeline re-arms for each copy's deadline.
@Suite(.timeLimit(.minutes(1))) struct DeadlineTimerTests {
    /// What expired, and when.
    private final class Expired: Sendable {
        private let fired = Mutex<[(target: Int, at: ContinuousClock.Instant)]>([])

        func record(_ target: Int) { fired.withLock { $0.append((target, .now)) } }
        var targets: [Int] { fired.withLock { $0.map(\.target) } }
        var times: [ContinuousClock.Instant] { fired.withLock { $0.map(\.at) } }
    }

    @Test("the armed target expires once, not before its deadline")
    func expiresAtTheDeadline() async {
        let expired = Expired()
        let timer = DeadlineTimer<Int> { expired.record($0) }
        let deadline = ContinuousClock.now + .milliseconds(50)
        #expect(timer.arm(deadline, for: 1))
        await timer.sleep(until: deadline)
        #expect(expired.targets == [1])
        #expect(expired.times.allSatisfy { $0 >= deadline })
    }

    /// The point of the type: re-armed for a later deadline (the next copy) while a task
    /// sleeps, no new task is needed; the sleeping one wakes, finds the first deadline replaced,
    /// and sleeps on until the new one.
    @Test("re-armed later: the same sleeping task watches the new deadline")
    func reArmedLaterKeepsOneTask() async {
        let expired = Expired()
        let timer = DeadlineTimer<Int> { expired.record($0) }
        let first = ContinuousClock.now + .milliseconds(30)
        let second = first + .milliseconds(60)
        #expect(timer.arm(first, for: 1))
        #expect(!timer.arm(second, for: 2), "a task already wakes before the new deadline")
        await timer.sleep(until: first)
        #expect(expired.targets == [2], "the replaced target never expires; the new one does, once")
        #expect(expired.times.allSatisfy { $0 >= second })
    }

    @Test("re-armed earlier: a new sleeping task is needed for the earlier deadline")
    func reArmedEarlierNeedsATask() async {
        let expired = Expired()
        let timer = DeadlineTimer<Int> { expired.record($0) }
        let late = ContinuousClock.now + .seconds(60)
        let early = ContinuousClock.now + .milliseconds(30)
        #expect(timer.arm(late, for: 1))
        let lateSleeper = Task { await timer.sleep(until: late) }
        #expect(timer.arm(early, for: 2))
        await timer.sleep(until: early)
        #expect(expired.targets == [2])
        lateSleeper.cancel()
        await lateSleeper.value
        #expect(expired.targets == [2], "a cancelled sleeping task expires nothing")
    }

    @Test("disarmed: the sleeping task ends at its wake without expiring anything")
    func disarmedExpiresNothing() async {
        let expired = Expired()
        let timer = DeadlineTimer<Int> { expired.record($0) }
        let deadline = ContinuousClock.now + .milliseconds(30)
        #expect(timer.arm(deadline, for: 1))
        timer.disarm()
        await timer.sleep(until: deadline)
        #expect(expired.targets.isEmpty)
        // Armed again after its task ended: a new one is needed.
        #expect(timer.arm(deadline, for: 3))
    }

    @Test("a cancelled sleeping task returns at once, long before its wake")
    func cancelledReturnsAtOnce() async {
        let timer = DeadlineTimer<Int> { _ in }
        let wake = ContinuousClock.now + .seconds(600)
        #expect(timer.arm(wake, for: 1))
        let sleeper = Task { await timer.sleep(until: wake) }
        sleeper.cancel()
        await sleeper.value
        #expect(ContinuousClock.now < wake)
    }
}
