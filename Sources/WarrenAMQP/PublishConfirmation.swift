/// The broker's answer to one publish, to await later: lets one task pipeline many publishes
/// in order (see `AMQPConnection.enqueuePublish`).
///
/// Thread-safe: completed once by the connection's owner thread (or by the connection failing),
/// awaited by any task. Every confirmation handed out is completed in bounded time: by the
/// broker's `basic.ack`/`basic.nack`, or with the error the connection ended with.
public final class PublishConfirmation: Sendable {
    private let result = OneShot()
    /// Called once, when the outcome is known (gives a `PublishWindow` slot back).
    private let onComplete: (@Sendable () -> Void)?

    init(onComplete: (@Sendable () -> Void)? = nil) {
        self.onComplete = onComplete
    }

    /// Returns once the broker confirmed the message; throws an `AMQPError` with code `.publishNacked`,
    /// an `AMQPError` with code `.unroutable`, or the error the connection failed with.
    ///
    /// Cancelling the waiting task throws `CancellationError` at once. The message is not
    /// recalled: the broker may still store it, so a cancelled publish has an unknown outcome.
    /// Only one task may wait.
    public func wait() async throws {
        try await result.wait()
    }

    /// Whether the outcome is known (confirmed, nacked, returned or failed): `wait()` returns or
    /// throws at once. From any thread.
    public var isAnswered: Bool {
        result.hasResult
    }

    /// Ends the task waiting in `wait()` (or the next one to wait) with `error`, unless the
    /// broker's answer is there first: for a caller whose deadline is kept by a timer of its
    /// own rather than by a task per wait. The answer still completes the confirmation when it
    /// comes (giving its window slot back), as for a cancelled wait. From any thread.
    public func interruptWait(throwing error: any Error) {
        result.interrupt(throwing: error)
    }

    func complete(_ result: Result<Void, AMQPError>) {
        if self.result.complete(result.mapError { $0 }) { onComplete?() }
    }
}
