import Synchronization

/// A result produced once (usually on a connection's owner thread) and awaited by at most one
/// task: the bridge every call to the owner thread goes through.
///
/// The first `complete` wins; later ones are ignored, so the owner thread's answer and a
/// connection failure can race safely. A cancelled waiter throws `CancellationError` at once:
/// no wait on the owner thread outlives the caller's cancellation, so a timeout around a call
/// bounds it even while the owner thread is busy (the work itself may still happen later).
///
/// Thread-safe.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var result: Result<Value, Error>?
        var waiter: CheckedContinuation<Value, Error>?
        /// What the next wait throws, set by `interrupt` while no task waited.
        var interruption: (any Error)?
    }

    private let state = Mutex(State())

    init() {}

    /// Returns the result once it is there. Only one task may wait.
    func wait() async throws -> Value {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, Error>) in
                let result = state.withLock { state -> Result<Value, Error>? in
                    if let result = state.result { return result }
                    if let interruption = state.interruption {
                        state.interruption = nil
                        return .failure(interruption)
                    }
                    // Checked under the lock: a cancel that ran before this found no waiter.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiter = continuation
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Value, Error>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Ends the current wait (or, if no task waits yet, the next one) with `error`, unless the
    /// result is there first: a waiter's own deadline, enforced by a timer that is not its task
    /// (cancelling would need a task per wait). The result, when it comes, is still set.
    func interrupt(throwing error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, Error>? in
            guard state.result == nil else { return nil }
            guard let waiter = state.waiter else {
                state.interruption = error
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(throwing: error)
    }

    /// Whether the result is set: a `wait()` now returns without suspending.
    var hasResult: Bool {
        state.withLock { $0.result != nil }
    }

    /// Sets the result and wakes the waiter; returns false (and changes nothing) when a result
    /// was already set.
    @discardableResult
    func complete(_ result: Result<Value, Error>) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Value, Error>?) in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(with: result)
        return accepted
    }
}
