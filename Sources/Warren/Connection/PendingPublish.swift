import Tracing
import WarrenAMQP

/// A publish handed to a connection (`WarrenConnection.enqueuePublish`) whose confirm is awaited
/// later, by one task, with `outcome()`.
struct PendingPublish: Sendable {
    private enum Handle {
        case confirmation(PublishConfirmation)
        case failed(any Error)
    }

    private let handle: Handle
    /// When the wait for its confirm is over: `timeout` after `enqueuePublish` was called.
    let deadline: ContinuousClock.Instant
    private let timeout: Duration
    private let publisher: WarrenConnection
    private let span: (any Span)?

    init(_ confirmation: PublishConfirmation, deadline: ContinuousClock.Instant, timeout: Duration, publisher: WarrenConnection, span: (any Span)?) {
        handle = .confirmation(confirmation)
        self.deadline = deadline
        self.timeout = timeout
        self.publisher = publisher
        self.span = span
    }

    init(failed error: any Error, publisher: WarrenConnection, span: (any Span)?) {
        handle = .failed(error)
        deadline = .now
        timeout = .zero
        self.publisher = publisher
        self.span = span
    }

    /// Waits for the broker's answer until the deadline given to `enqueuePublish`: `nil` once
    /// confirmed, else the error (an `AMQPError` with code `.publishNacked`, an `AMQPError` with code `.unroutable`,
    /// `PublishTimeout`, the connection's error, or `CancellationError` when the waiting task is
    /// cancelled), passed through `finish`. Call once (or use `waitForConfirm` and `finish`).
    func outcome() async -> (any Error)? {
        do {
            try await waitForConfirmUntilDeadline()
            return finish(nil)
        } catch {
            return finish(error)
        }
    }

    /// Waits for the confirm, with no deadline of its own: bound it with `deadline`, calling
    /// `expire()` once it passed (a caller whose one timer watches many in turn, as
    /// `SettlementPipeline` does).
    func waitForConfirm() async throws {
        switch handle {
        case .failed(let error): throw error
        case .confirmation(let confirmation): try await confirmation.wait()
        }
    }

    /// Whether `waitForConfirm()` would return (or throw) without waiting: the broker answered,
    /// the connection failed, or the publish never left.
    var isAnswered: Bool {
        switch handle {
        case .failed: true
        case .confirmation(let confirmation): confirmation.isAnswered
        }
    }

    /// Ends the `waitForConfirm()` in progress (or the next one) with `timedOut`, unless the
    /// broker answered first: its `deadline` passed. From any task.
    func expire() {
        guard case .confirmation(let confirmation) = handle else { return }
        confirmation.interruptWait(throwing: timedOut)
    }

    /// The error of a wait that reached `deadline`.
    var timedOut: PublishTimeout { PublishTimeout(timeout: timeout, blockedReason: publisher.blockedReason) }

    /// Records the outcome (`nil`: confirmed) in `warren_publish_confirms_total` (not a
    /// cancellation) and ends the producer span; returns `error`. Call once.
    @discardableResult
    func finish(_ error: (any Error)?) -> (any Error)? {
        if !(error is CancellationError) { publisher.publishMetrics.record(error: error) }
        if let span {
            if let error { WarrenConnection.recordSendError(error, on: span) }
            span.end()
        }
        return error
    }

    private func waitForConfirmUntilDeadline() async throws {
        let deadline = self.deadline
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await waitForConfirm()
                return true
            }
            group.addTask {
                try await Task.sleep(until: deadline)
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else { throw timedOut }
        }
    }
}
