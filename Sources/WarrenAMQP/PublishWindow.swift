import Synchronization

/// Bounds the publishes one connection has in flight (handed to the owner thread and not yet
/// confirmed, or held while the broker blocks the connection), so a blocked or slow broker
/// makes publishers wait instead of growing the owner thread's queues without limit.
///
/// A slot is taken before a publish is handed over and given back when its confirmation
/// completes (not when its caller stops waiting: a timed-out publish still occupies the
/// connection until the broker answers or the connection ends).
///
/// Thread-safe; `acquire` suspends without blocking a thread and is cancellable.
final class PublishWindow: Sendable {
    private struct State {
        var available: Int
        // An array, not swift-collections' `Deque`: WarrenAMQP depends on swift-log alone (the
        // fuzz targets build it with nothing else); the waiters are few (callers beyond 1,024
        // unconfirmed publishes).
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
        var nextID: UInt64 = 0
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        precondition(capacity > 0, "a publish window needs room for at least one publish")
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    /// Waits for a slot. Throws `CancellationError` (taking no slot) if the task is cancelled.
    func acquire() async throws {
        let id = state.withLock { state -> UInt64? in
            if state.available > 0, state.waiters.isEmpty {
                state.available -= 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let outcome = state.withLock { state -> Result<Void, Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.available > 0, state.waiters.isEmpty {
                        state.available -= 1
                        return .success(())
                    }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back (straight to the oldest waiter, if any).
    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Error>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.available += 1
            return nil
        }
        waiter?.resume()
    }
}
