import Synchronization
import Testing
@testable import Warren

/// `withHandlerTimeout`: the per-message timeout around a handler.
@Suite(.timeLimit(.minutes(1))) struct HandlerTimeoutTests {
    struct HandlerError: Error, Equatable {}

    /// A flag the bodies set from their tasks (a `Mutex` itself cannot be captured by an escaping closure).
    final class Flag: Sendable {
        private let value = Mutex<Bool?>(nil)
        func set(_ newValue: Bool) { value.withLock { $0 = newValue } }
        var current: Bool? { value.withLock { $0 } }
    }

    @Test func aBodyThatHonoursCancellationTimesOutAsHandlerTimeout() async {
        let start = ContinuousClock.now
        let error = await #expect(throws: HandlerTimeout.self) {
            try await withHandlerTimeout(.milliseconds(50)) { try await Task.sleep(for: .seconds(10)) }
        }
        #expect(error?.timeout == .milliseconds(50))
        #expect(error.map { "\($0)" } == "handler did not finish within 0.05 seconds")
        let elapsed = start.duration(to: .now)
        #expect(elapsed >= .milliseconds(50) && elapsed < .seconds(5), "\(elapsed)")
    }

    /// A body that ignores cancellation and throws its own error after the timeout: HandlerTimeout.
    @Test func aBodyThrowingItsOwnErrorAfterTheTimeoutBecomesHandlerTimeout() async {
        await #expect(throws: HandlerTimeout.self) {
            try await withHandlerTimeout(.milliseconds(30)) {
                await Self.untilCancelled()
                throw HandlerError()
            }
        }
    }

    /// A body that ignores cancellation and returns normally after the timeout: its result
    /// stands (the work was done), though it saw the cancellation.
    @Test func aBodyCompletingAfterCancellationStands() async throws {
        let sawCancellation = Flag()
        try await withHandlerTimeout(.milliseconds(30)) {
            await Self.untilCancelled()
            sawCancellation.set(Task.isCancelled)
        }
        #expect(sawCancellation.current == true, "the timeout cancelled the body")
    }

    @Test func aBodyFinishingInTimeReturnsWithoutWaitingForTheTimeout() async throws {
        let start = ContinuousClock.now
        let ran = Flag()
        try await withHandlerTimeout(.seconds(30)) { ran.set(true) }
        #expect(ran.current == true)
        #expect(start.duration(to: .now) < .seconds(5))
    }

    @Test func aBodysOwnErrorBeforeTheTimeoutPassesThrough() async {
        await #expect(throws: HandlerError()) {
            try await withHandlerTimeout(.seconds(30)) { throw HandlerError() }
        }
    }

    @Test func noTimeoutRunsTheBodyAsIs() async throws {
        await #expect(throws: HandlerError()) {
            try await withHandlerTimeout(nil) { throw HandlerError() }
        }
        try await withHandlerTimeout(nil) { try await Task.sleep(for: .milliseconds(100)) }
    }

    /// Cancellation from outside (shutdown overran its deadline) is not a timeout.
    @Test func outerCancellationIsCancellationErrorNotHandlerTimeout() async {
        let started = Latch()
        let task = Task {
            try await withHandlerTimeout(.seconds(30)) {
                started.open()
                try await Task.sleep(for: .seconds(30))
            }
        }
        await started.wait()
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
    }

    /// Cancelled from outside after the timeout already fired: still cancellation, not a timeout.
    @Test func outerCancellationAfterTheTimeoutIsStillCancellation() async {
        let timeoutFired = Latch()
        let outerCancelled = Latch()
        let task = Task {
            try await withHandlerTimeout(.milliseconds(20)) {
                // The first cancellation the body sees is the timeout's: the outer one comes only
                // after the test saw this one. The body ignores both until the outer one happened.
                await Self.untilCancelled(timeoutFired)
                await outerCancelled.wait()
                throw CancellationError()
            }
        }
        await timeoutFired.wait()
        task.cancel()
        outerCancelled.open()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
    }

    /// Suspends until the current task is cancelled, without throwing (the body of a handler
    /// that notices cancellation only to finish its work). Opens `witness` when it happens.
    static func untilCancelled(_ witness: Latch = Latch()) async {
        await withTaskCancellationHandler {
            await witness.wait()
        } onCancel: {
            witness.open()
        }
    }
}
