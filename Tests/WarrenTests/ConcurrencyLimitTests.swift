import Synchronization
import Testing
@testable import Warren

@Suite struct ConcurrencyLimitTests {
    @Test func acquiresUpToTheLimitThenWaitsForARelease() async {
        let limit = ConcurrencyLimit(2)
        await limit.acquire()
        await limit.acquire()
        #expect(limit.inUse == 2)
        let third = Flag()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await limit.acquire()
                third.set()
            }
            // The third acquire cannot complete until a slot is released.
            for _ in 0..<100 { await Task.yield() }
            #expect(third.isSet == false)
            limit.release()
            await group.waitForAll()
        }
        #expect(third.isSet)
        #expect(limit.inUse == 2, "the released slot went straight to the waiter")
    }

    @Test func waitUntilIdleReturnsOnceEverySlotIsBack() async {
        let limit = ConcurrencyLimit(3)
        await limit.waitUntilIdle()  // idle from the start: returns at once
        await limit.acquire()
        await limit.acquire()
        let idle = Flag()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await limit.waitUntilIdle()
                idle.set()
            }
            for _ in 0..<100 { await Task.yield() }
            limit.release()
            for _ in 0..<100 { await Task.yield() }
            #expect(idle.isSet == false, "one slot still taken")
            limit.release()
            await group.waitForAll()
        }
        #expect(idle.isSet)
        #expect(limit.inUse == 0)
    }
}

/// A flag child tasks can set (a `Mutex` itself cannot be captured: it is non-copyable).
private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
