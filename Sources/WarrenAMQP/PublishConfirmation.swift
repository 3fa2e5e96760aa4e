import Synchronization

/// The broker's answer to one publish, to await later: lets one task pipeline many publishes
/// in order (see `AMQPConnection.enqueuePublish`).
///
/// Thread-safe: completed once by the connection's owner thread, awaited by any task.
public final class PublishConfirmation: Sendable {
    private struct State {
        var result: Result<Void, AMQPError>?
        var waiter: CheckedContinuation<Void, Error>?
    }

    private let state = Mutex(State())

    init() {}

    /// Returns once the broker confirmed the message; throws `AMQPError.publishNacked`,
    /// `AMQPError.unroutable`, or the error the connection failed with.
    ///
    /// Cancelling the waiting task throws `CancellationError` at once. The message is not
    /// recalled: the broker may still store it, so a cancelled publish has an unknown outcome.
    /// Only one task may wait.
    public func wait() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let result = state.withLock { state -> Result<Void, Error>? in
                    if let result = state.result { return result.mapError { $0 } }
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

    func complete(_ result: Result<Void, AMQPError>) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result.mapError { $0 })
    }
}
