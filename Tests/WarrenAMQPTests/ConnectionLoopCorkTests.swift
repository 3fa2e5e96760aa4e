import Testing
@testable import WarrenAMQP

/// `ConnectionLoop`'s corking (`corkIfNeeded`): a turn's frames that wait for no answer
/// (publishes, acks, nacks) are held in the kernel and leave together, and nothing that waits
/// for the broker (an RPC, a read, the close handshake) ever runs while frames are held back.
@Suite struct ConnectionLoopCorkTests {
    @Test("a turn's burst of acks and publishes is written corked, and uncorked before the loop reads or waits")
    func burstIsCorked() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        transport.push(.delivery(.fake(tag: 1)))
        var deliveries = consumer.deliveries.makeAsyncIterator()
        _ = try await deliveries.next()
        try await ConnectionLoopTests.withOwnerHeld(transport, on: connection) {
            // One batch: the ack goes out first (before the publishes), then the three publishes.
            #expect(connection.ack(1))
            for key in ["a", "b", "c"] { _ = connection.enqueuePublish(routingKey: key, body: []) }
        }
        _ = try await transport.waitForWritten { $0.contains(.publish(routingKey: "c")) }
        #expect(transport.writtenCorked == [
            .ack(1, multiple: false), .publish(routingKey: "a"), .publish(routingKey: "b"), .publish(routingKey: "c"),
        ])
        try await ConnectionLoopTests.poll { !transport.isCorked }
        try await connection.declareQueue("sync")  // a later turn reads and waits: never corked
        #expect(transport.waitedCorked.isEmpty, "\(transport.waitedCorked)")
        await connection.close()
    }

    @Test("a command that waits for the broker runs uncorked, even between publishes of one turn")
    func rpcBetweenPublishesIsUncorked() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        var declare: Task<Void, any Error>?
        try await ConnectionLoopTests.withOwnerHeld(transport, on: connection) {
            _ = connection.enqueuePublish(routingKey: "a", body: [])
            _ = connection.enqueuePublish(routingKey: "b", body: [])
            declare = Task { try await connection.declareQueue("between") }
            // The declare must be in the mailbox before the last publish.
            try await ConnectionLoopTests.poll { connection.queuedCommandCount >= 3 }
            _ = connection.enqueuePublish(routingKey: "c", body: [])
        }
        try await declare?.value
        _ = try await transport.waitForWritten { $0.contains(.publish(routingKey: "c")) }
        #expect(transport.written == [
            .publish(routingKey: "a"), .publish(routingKey: "b"), .declare("between"), .publish(routingKey: "c"),
        ])
        #expect(transport.waitedCorked.isEmpty, "queue.declare waited for an answer behind a cork: \(transport.waitedCorked)")
        #expect(transport.writtenCorked == [.publish(routingKey: "a"), .publish(routingKey: "b")],
                "the last command of a turn needs no cork")
        await connection.close()
    }

    @Test("a turn of acks alone is not corked: they leave as one coalesced frame anyway")
    func acksAloneAreNotCorked() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        transport.push(.delivery(.fake(tag: 1)), .delivery(.fake(tag: 2)))
        var deliveries = consumer.deliveries.makeAsyncIterator()
        _ = try await deliveries.next()
        try await connection.declareQueue("sync")  // both deliveries read
        try await ConnectionLoopTests.withOwnerHeld(transport, on: connection) {
            #expect(connection.ack(1))
            #expect(connection.ack(2))
        }
        _ = try await transport.waitForWritten { $0.contains(.ack(2, multiple: true)) }
        #expect(transport.writtenCorked.isEmpty, "two setsockopt calls for a frame that leaves alone")
        await connection.close()
    }

    @Test("a publish alone in its turn is written without corking")
    func lonePublishIsNotCorked() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        _ = connection.enqueuePublish(routingKey: "alone", body: [])
        _ = try await transport.waitForWritten { $0.contains(.publish(routingKey: "alone")) }
        #expect(transport.writtenCorked.isEmpty)
        await connection.close()
    }

    @Test("a socket that dies in a corked burst is closed uncorked, and every publish of the burst fails")
    func deathInABurstClosesUncorked() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        var confirmations: [PublishConfirmation] = []
        try await ConnectionLoopTests.withOwnerHeld(transport, on: connection) {
            transport.failWrites(with: ConnectionLoopTests.socketDied)
            for key in ["a", "b", "c"] { confirmations.append(connection.enqueuePublish(routingKey: key, body: [])) }
        }
        for confirmation in confirmations {
            #expect(await ConnectionLoopTests.outcome(within: .seconds(5)) { try await confirmation.wait() }
                == "\(ConnectionLoopTests.socketDied)")
        }
        try await ConnectionLoopTests.poll { transport.isClosed }
        #expect(transport.waitedCorked.isEmpty, "the close handshake ran behind a cork: \(transport.waitedCorked)")
        #expect(!transport.isCorked)
    }
}
