import Testing
@testable import WarrenAMQP

@Suite struct PublishConfirmationTests {
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
}
