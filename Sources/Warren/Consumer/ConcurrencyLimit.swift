import DequeModule
import Synchronization

/// Bounds how many handlers run at once, across reconnects: handlers of a connection that died
/// keep their slots until they finish, so a flapping broker cannot multiply the load.
///
/// The `HandlerPool` workers take a slot for each handler they run; the delivery loop takes one
/// for a crash suspect it runs alone.
///
/// Thread-safe; `acquire` suspends (without blocking a thread) while all slots are taken. The
/// continuations are unsafe ones: each is stored under the lock and taken out of it exactly once
/// (by `release`, or at once when the slot was free), and a `CheckedContinuation` costs a heap
/// allocation per suspension on the hot path.
final class ConcurrencyLimit: Sendable {
    private struct State {
        var available: Int
        var waiters: Deque<UnsafeContinuation<Void, Never>> = []
        var idleWaiters: [UnsafeContinuation<Void, Never>] = []
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

    /// Takes a slot if one is free, without suspending; `false` if all are taken.
    func tryAcquire() -> Bool {
        state.withLock { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
    }

    /// Takes a slot, suspending until one is released if all are taken.
    func acquire() async {
        if tryAcquire() { return }
        await withUnsafeContinuation { continuation in
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

    /// Gives a slot back: to the longest waiting `acquire`, else to the free ones.
    func release() {
        let (waiter, idle) = state.withLock { state -> (UnsafeContinuation<Void, Never>?, [UnsafeContinuation<Void, Never>]) in
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
        await withUnsafeContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if state.available == limit { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}
