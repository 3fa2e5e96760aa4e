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
    public func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let result = state.withLock { state -> Result<Void, AMQPError>? in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let result { continuation.resume(with: result.mapError { $0 }) }
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
