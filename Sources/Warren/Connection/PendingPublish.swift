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
    private let deadline: ContinuousClock.Instant
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
    /// confirmed, else the error (`AMQPError.publishNacked`, `AMQPError.unroutable`,
    /// `PublishTimeout`, the connection's error, or `CancellationError` when the waiting task is
    /// cancelled). Counts it in `warren_publish_confirms_total` (not a cancellation) and ends
    /// the producer span. Call once.
    func outcome() async -> (any Error)? {
        var error: (any Error)?
        switch handle {
        case .failed(let failure):
            error = failure
        case .confirmation(let confirmation):
            do {
                try await wait(for: confirmation)
            } catch let failure {
                error = failure
            }
        }
        if !(error is CancellationError) { publisher.publishMetrics.record(error: error) }
        if let span {
            if let error { WarrenConnection.recordSendError(error, on: span) }
            span.end()
        }
        return error
    }

    private func wait(for confirmation: PublishConfirmation) async throws {
        let deadline = self.deadline
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await confirmation.wait()
                return true
            }
            group.addTask {
                try await Task.sleep(until: deadline)
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else {
                throw PublishTimeout(timeout: timeout, blockedReason: publisher.blockedReason)
            }
        }
    }
}
