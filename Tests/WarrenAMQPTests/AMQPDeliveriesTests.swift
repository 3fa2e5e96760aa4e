import Testing
@testable import WarrenAMQP

/// How the owner thread hands a consumer its deliveries: one batch per turn, in order, and
/// never fewer than it read before the consumer's stream ends.
@Suite struct AMQPDeliveriesTests {
    /// One wake-up of the reading task per owner turn, not one per delivery (issue 17).
    @Test("deliveries read in one turn are handed over as one batch, in order")
    func oneBatchPerTurn() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        // Pushed at once: the owner's next turn reads all five.
        transport.push(.delivery(.fake(tag: 1)), .delivery(.fake(tag: 2)), .delivery(.fake(tag: 3)),
                       .delivery(.fake(tag: 4)), .delivery(.fake(tag: 5)))
        var batches = consumer.deliveries.batches.makeAsyncIterator()
        let first = try #require(try await batches.next())
        #expect(first.map(\.deliveryTag) == [1, 2, 3, 4, 5])
        await connection.close()
    }

    /// Deliveries the broker sent before it cancelled the consumer (queue deleted, node failed
    /// over) are still handed over, ahead of the error, not requeued behind the reader's back.
    @Test("deliveries read before a broker-side cancel reach the reader before the stream throws")
    func deliveriesBeforeACancelStillArrive() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        transport.push(.delivery(.fake(tag: 1)), .delivery(.fake(tag: 2)), .consumerCancelled(consumerTag: consumer.tag))
        var deliveries = consumer.deliveries.makeAsyncIterator()
        #expect(try await deliveries.next()?.deliveryTag == 1)
        #expect(try await deliveries.next()?.deliveryTag == 2)
        await #expect(throws: AMQPError.consumerCancelled(consumerTag: consumer.tag)) { _ = try await deliveries.next() }
        #expect(!transport.written.contains { if case .nack = $0 { true } else { false } }, "\(transport.written)")
        await connection.close()
    }
}
