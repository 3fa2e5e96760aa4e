import Testing
import WarrenAMQP
@testable import Warren

/// `WarrenConnection` without a broker: what it does before any socket is opened. (Sharing one
/// attempt, the backoff between attempts and reconnecting are covered against the broker in
/// IntegrationTests.)
@Suite(.timeLimit(.minutes(1))) struct WarrenConnectionTests {
    /// Nothing listens on port 1 of loopback: an attempt, if one started, would fail with a
    /// connection error, not with the errors these tests expect.
    private func connection() throws -> WarrenConnection {
        WarrenConnection(ConnectionConfiguration(url: try AMQPURL("amqp://guest:guest@127.0.0.1:1/"), connectionName: "unit-test"))
    }

    @Test func afterCloseNoConnectionIsOpened() async throws {
        let connection = try connection()
        await connection.close()
        await #expect(throws: AMQPError.connectionClosedByClient) { try await connection.connection() }
        await connection.close()  // idempotent
        await #expect(throws: AMQPError.connectionClosedByClient) { try await connection.connection() }
    }

    /// A caller already cancelled gets `CancellationError` at once instead of joining an attempt.
    @Test func anAlreadyCancelledCallerDoesNotWait() async throws {
        let connection = try connection()
        let start = Latch()
        let caller = Task {
            await start.wait()
            return try await connection.connection()
        }
        caller.cancel()
        start.open()
        let result = await caller.result
        #expect(throws: CancellationError.self) { try result.get() }
        await connection.close()
    }
}
