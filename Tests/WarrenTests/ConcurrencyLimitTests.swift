import Synchronization
import Testing
@testable import Warren

@Suite(.timeLimit(.minutes(1))) struct ConcurrencyLimitTests {
    @Test func acquiresUpToTheLimitThenWaitsForARelease() async {
        let limit = ConcurrencyLimit(2)
        await limit.acquire()
        await limit.acquire()
        #expect(limit.inUse == 2)
        let third = Latch()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await limit.acquire()
                third.open()
            }
            // The third acquire suspends as a waiter (an acquire that does not block never
            // becomes one, and this fails) and stays suspended until a slot is released.
            await awaitCondition("the third acquire waits") { limit.waitingCount == 1 }
            #expect(!third.isOpen, "acquired a third slot of two")
            #expect(limit.inUse == 2)
            limit.release()
            await third.wait()
            await group.waitForAll()
        }
        #expect(limit.waitingCount == 0)
        #expect(limit.inUse == 2, "the released slot went straight to the waiter")
    }

    @Test func waitUntilIdleReturnsOnceEverySlotIsBack() async {
        let limit = ConcurrencyLimit(3)
        await limit.waitUntilIdle()  // idle from the start: returns at once
        await limit.acquire()
        await limit.acquire()
        let idle = Latch()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await limit.waitUntilIdle()
                idle.open()
            }
            await awaitCondition("waitUntilIdle waits") { limit.idleWaitingCount == 1 }
            limit.release()
            // One slot is still taken: the waiter must still be registered, not resumed.
            #expect(limit.idleWaitingCount == 1, "resumed with one slot still taken")
            #expect(!idle.isOpen)
            limit.release()
            await idle.wait()
            await group.waitForAll()
        }
        #expect(limit.idleWaitingCount == 0)
        #expect(limit.inUse == 0)
    }
}
