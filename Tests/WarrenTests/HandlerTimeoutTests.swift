import Synchronization
import Testing
@testable import Warren

/// `withHandlerTimeout`: the per-message timeout around a handler.
@Suite struct HandlerTimeoutTests {
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
                await Self.uncancellableSleep(.milliseconds(200))
                throw HandlerError()
            }
        }
    }

    /// A body that ignores cancellation and returns normally after the timeout: its result
    /// stands (the work was done), though it saw the cancellation.
    @Test func aBodyCompletingAfterCancellationStands() async throws {
        let sawCancellation = Flag()
        try await withHandlerTimeout(.milliseconds(30)) {
            await Self.uncancellableSleep(.milliseconds(200))
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
        let started = Flag()
        let task = Task {
            try await withHandlerTimeout(.seconds(30)) {
                started.set(true)
                try await Task.sleep(for: .seconds(30))
            }
        }
        while started.current != true { await Task.yield() }
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
    }

    /// Cancelled from outside after the timeout already fired: still cancellation, not a timeout.
    @Test func outerCancellationAfterTheTimeoutIsStillCancellation() async {
        let timedOut = Flag()
        let task = Task {
            try await withHandlerTimeout(.milliseconds(20)) {
                // Ignores the timeout's cancellation for a while, long enough for the outer one.
                await Self.uncancellableSleep(.milliseconds(800))
                timedOut.set(Task.isCancelled)
                throw CancellationError()
            }
        }
        try? await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(timedOut.current == true, "the timeout had fired")
    }

    /// Waits without reacting to cancellation (an unstructured task does not inherit it).
    static func uncancellableSleep(_ duration: Duration) async {
        await Task { try? await Task.sleep(for: duration) }.value
    }
}
