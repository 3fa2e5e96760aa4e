import Synchronization

/// A result produced once (usually on a connection's owner thread) and awaited by at most one
/// task: the bridge every call to the owner thread goes through.
///
/// The first `complete` wins; later ones are ignored, so the owner thread's answer and a
/// connection failure can race safely. A cancelled waiter throws `CancellationError` at once:
/// no wait on the owner thread outlives the caller's cancellation, so a timeout around a call
/// bounds it even while the owner thread is busy (the work itself may still happen later).
///
/// Carries no value, only success or an error: a caller with a value to hand over writes it
/// somewhere of its own before completing with success (`AMQPConnection.perform`), which the
/// lock orders before the waiter's return. Generic over the value, it cost a publish's
/// confirmation about 1,900 instructions in its deinit: a generic class is destroyed through the
/// value witnesses of its fields, `Result<Void, Error>` and `CheckedContinuation<Void, Error>`,
/// six generic metadata looked up per confirmation (callgrind, issue 17).
///
/// Thread-safe.
final class OneShot: Sendable {
    private struct State {
        var result: Result<Void, Error>?
        var waiter: CheckedContinuation<Void, Error>?
        /// What the next wait throws, set by `interrupt` while no task waited.
        var interruption: (any Error)?
    }

    private let state = Mutex(State())

    init() {}

    /// Returns once the result is there, or throws its error. Only one task may wait.
    func wait() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let result = state.withLock { state -> Result<Void, Error>? in
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
            let waiter = state.withLock { state -> CheckedContinuation<Void, Error>? in
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
        let waiter = state.withLock { state -> CheckedContinuation<Void, Error>? in
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
    func complete(_ result: Result<Void, Error>) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Error>?) in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(with: result)
        return accepted
    }
}
