import DequeModule
import Synchronization

/// Bounds how many handlers run at once, across reconnects: handlers of a connection that died
/// keep their slots until they finish, so a flapping broker cannot multiply the load.
///
/// Thread-safe; `acquire` suspends (without blocking a thread) while all slots are taken.
final class ConcurrencyLimit: Sendable {
    private struct State {
        var available: Int
        var waiters: Deque<CheckedContinuation<Void, Never>> = []
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let limit: Int
    private let state: Mutex<State>

    init(_ limit: Int) {
        self.limit = limit
        state = Mutex(State(available: limit))
    }

    /// How many slots are taken.
    var inUse: Int { state.withLock { limit - $0.available } }

    /// How many `acquire` calls are suspended waiting for a slot (lets tests await a waiter
    /// instead of guessing with sleeps).
    var waitingCount: Int { state.withLock { $0.waiters.count } }

    /// How many `waitUntilIdle` calls are suspended (for tests, as `waitingCount`).
    var idleWaitingCount: Int { state.withLock { $0.idleWaiters.count } }

    func acquire() async {
        let acquired = state.withLock { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
        if acquired { return }
        await withCheckedContinuation { continuation in
            let acquiredNow = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquiredNow { continuation.resume() }
        }
    }

    func release() {
        let (waiter, idle) = state.withLock { state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            if !state.waiters.isEmpty {
                // Hand the slot straight to the next waiter.
                return (state.waiters.removeFirst(), [])
            }
            state.available += 1
            guard state.available == limit else { return (nil, []) }
            defer { state.idleWaiters = [] }
            return (nil, state.idleWaiters)
        }
        waiter?.resume()
        for continuation in idle { continuation.resume() }
    }

    /// Returns once no slot is taken.
    func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if state.available == limit { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}
