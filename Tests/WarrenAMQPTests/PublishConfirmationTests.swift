import Testing
@testable import WarrenAMQP

@Suite(.timeLimit(.minutes(1))) struct PublishConfirmationTests {
    @Test func aConfirmWakesTheWaiter() async throws {
        let confirmation = PublishConfirmation()
        async let waited: Void = confirmation.wait()
        confirmation.complete(.success(()))
        try await waited
    }

    /// A cancelled wait throws at once; the confirm that arrives later changes nothing.
    @Test func cancellingTheWaiterThrowsCancellationAtOnce() async {
        let confirmation = PublishConfirmation()
        let task = Task { try await confirmation.wait() }
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        confirmation.complete(.success(()))
    }

    @Test func aResultBeforeTheWaitIsReturnedAtOnce() async {
        let confirmation = PublishConfirmation()
        confirmation.complete(.failure(.publishNacked))
        await #expect(throws: AMQPError.self) { try await confirmation.wait() }
    }

    /// `interruptWait` is how a caller's own timer ends a wait at its deadline.
    @Test func anInterruptEndsTheWaitWithItsError() async {
        let confirmation = PublishConfirmation()
        // A child task, so that the suite's time limit cancels it should the interrupt be lost.
        async let waited: Void = confirmation.wait()
        // Either order: interrupted while waiting, or before the wait began (then the wait
        // throws at once).
        confirmation.interruptWait(throwing: AMQPError.heartbeatTimeout)
        let result: Result<Void, any Error>
        do {
            try await waited
            result = .success(())
        } catch {
            result = .failure(error)
        }
        #expect(throws: AMQPError.heartbeatTimeout) { try result.get() }
        confirmation.complete(.success(()))  // the late answer changes nothing
    }

    @Test func anInterruptBeforeTheWaitEndsTheNextWait() async {
        let confirmation = PublishConfirmation()
        confirmation.interruptWait(throwing: AMQPError.heartbeatTimeout)
        await #expect(throws: AMQPError.heartbeatTimeout) { try await confirmation.wait() }
    }

    @Test func theAnswerWinsOverALaterInterrupt() async throws {
        let confirmation = PublishConfirmation()
        confirmation.complete(.success(()))
        confirmation.interruptWait(throwing: AMQPError.heartbeatTimeout)
        try await confirmation.wait()
    }
}
