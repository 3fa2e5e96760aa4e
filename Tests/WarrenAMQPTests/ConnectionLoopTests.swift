import Synchronization
import Testing
@testable import WarrenAMQP

/// The connection core against a scripted transport: the invariant that every command the
/// mailbox accepted completes, with a result or an error, in bounded time, under the faults that
/// overlap in production (a socket dying mid-batch, commands after the end, a cancelled caller,
/// a blocked connection), and the bookkeeping of deliveries and confirms.
@Suite struct ConnectionLoopTests {
    static var socketDied: AMQPError { .library(status: -9, message: "socket error", context: "test") }

    /// Holds the owner thread in an RPC so the commands sent meanwhile reach it in one batch.
    static func withOwnerHeld(_ transport: FakeTransport, on connection: AMQPConnection, _ body: () async throws -> Void) async throws {
        transport.closeGate()
        let held = Task { try await connection.declareQueue("gate") }
        // Until the loop is inside the gate, commands could be taken one by one.
        try await Self.poll { transport.isHeldAtGate }
        try await body()
        transport.openGate()
        _ = try? await held.value
    }

    @Test("an ack flush that fails mid-batch fails every later command of the batch instead of dropping it")
    func socketDiesMidBatch() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        transport.push(.delivery(.fake(tag: 1)))
        var deliveries = consumer.deliveries.makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())

        var confirmations: [PublishConfirmation] = []
        try await Self.withOwnerHeld(transport, on: connection) {
            // One batch, sent in this order from this task: an ack whose flush fails when the
            // first publish needs it sent, then two publishes that must both complete.
            transport.failWrites(with: Self.socketDied)
            #expect(connection.ack(delivery.deliveryTag))
            confirmations.append(connection.enqueuePublish(routingKey: "first", body: []))
            confirmations.append(connection.enqueuePublish(routingKey: "second", body: []))
        }
        for confirmation in confirmations {
            #expect(await Self.outcome(within: .seconds(5)) { try await confirmation.wait() } == "\(Self.socketDied)")
        }
        #expect(!connection.isOpen)
        await #expect(throws: AMQPError.self) { while try await deliveries.next() != nil {} }
    }

    @Test("commands sent after the connection ended complete at once with its error")
    func commandsAfterFinish() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        transport.pushFailure(Self.socketDied)
        try await Self.poll { !connection.isOpen }
        await #expect(throws: AMQPError.self) { try await connection.declareQueue("late") }
        await #expect(throws: AMQPError.self) { try await connection.publish(routingKey: "q", body: []) }
        await #expect(throws: AMQPError.self) { try await connection.consume(queue: "q") }
        #expect(!connection.ack(1))
        #expect(!connection.nack(1, requeue: true))
        await connection.close()  // returns, idempotent
        #expect(connection.closeReason == Self.socketDied)
        #expect(transport.isClosed)
    }

    @Test("a caller waiting on a stuck owner thread returns at once when cancelled")
    func cancelledCallerReturnsAtOnce() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        transport.closeGate()
        let stuck = Task { try await connection.declareQueue("gate") }
        try await Self.poll { transport.isHeldAtGate }
        let waiting = Task { try await connection.declareQueue("behind-the-gate") }
        try await Task.sleep(for: .milliseconds(20))
        let cancelled = ContinuousClock.now
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(cancelled.duration(to: .now) < .seconds(1))
        transport.openGate()
        _ = try await stuck.value
        await connection.close()
    }

    @Test("a basic.return belongs to the confirm right after it, whatever the message ids")
    func returnBeforeItsAck() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        // Same message id on all three (retry copies and replays reuse ids).
        let properties = AMQPProperties(deliveryMode: 2, messageID: "same")
        let first = connection.enqueuePublish(routingKey: "a", properties: properties, body: [])
        let second = connection.enqueuePublish(routingKey: "b", properties: properties, body: [])
        let third = connection.enqueuePublish(routingKey: "c", properties: properties, body: [])
        _ = try await transport.waitForWritten { $0.count == 3 }
        transport.push(.returned(replyCode: 312, replyText: "NO_ROUTE"), .publishConfirmed(deliveryTag: 2, multiple: false),
                       .publishConfirmed(deliveryTag: 3, multiple: true))
        try await first.wait()
        await #expect(throws: AMQPError.unroutable(replyCode: 312, replyText: "NO_ROUTE")) { try await second.wait() }
        try await third.wait()
        await connection.close()
    }

    @Test("publishes are held, not written, while the broker blocks the connection, and written in order after")
    func heldWhileBlocked() async throws {
        let transport = FakeTransport()
        let events = Recorder<AMQPConnectionEvent>()
        let connection = try await AMQPConnection.fake(transport) { event in events.append(event) }
        transport.push(.blocked(reason: "low on memory"))
        try await Self.poll { events.values.count == 1 }
        let confirmations = (0..<3).map { connection.enqueuePublish(routingKey: "q\($0)", body: []) }
        // A bounded wait on a held publish ends by the caller's timeout…
        let timedOut = Task { try await confirmations[0].wait() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(transport.written.isEmpty, "written while blocked: \(transport.written)")
        timedOut.cancel()
        await #expect(throws: CancellationError.self) { try await timedOut.value }
        // …and once unblocked, every held publish is written, in call order.
        transport.push(.unblocked)
        let written = try await transport.waitForWritten { $0.count == 3 }
        #expect(written == [.publish(routingKey: "q0"), .publish(routingKey: "q1"), .publish(routingKey: "q2")])
        transport.push(.publishConfirmed(deliveryTag: 3, multiple: true))
        for confirmation in confirmations.dropFirst() { try await confirmation.wait() }
        await connection.close()
    }

    @Test("publishes held while blocked fail with the close error when the connection ends")
    func heldPublishesFailOnClose() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        transport.push(.blocked(reason: "disk"))
        let confirmation = connection.enqueuePublish(routingKey: "q", body: [])
        try await Task.sleep(for: .milliseconds(20))
        transport.pushFailure(Self.socketDied)
        await #expect(throws: Self.socketDied) { try await confirmation.wait() }
    }

    @Test("a delivery whose stream is no longer read is requeued, and the consumer cancelled")
    func abandonedStream() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q", prefetch: 10)
        let reader = Task {
            for try await _ in consumer.deliveries {}
        }
        try await Task.sleep(for: .milliseconds(20))
        reader.cancel()  // the reader goes away: onTermination cancels the consumer
        _ = try await transport.waitForWritten { $0.contains(.cancel("ctag-1")) }
        // A delivery already on its way for it is handed back, not left unsettled.
        transport.push(.delivery(.fake(tag: 1)))
        let written = try await transport.waitForWritten { $0.contains(.nack(1, requeue: true)) }
        #expect(written == [.qos(10), .consume(queue: "q"), .cancel("ctag-1"), .nack(1, requeue: true)])
        await connection.close()
    }

    /// The loop remembers the last delivery's consumer (`ConnectionLoop.consumer(tagged:)`):
    /// interleaved deliveries still reach their own consumers, and one cancelled since is not
    /// fed from that memory.
    @Test("deliveries reach their own consumer when two share the connection, and none a cancelled one")
    func twoConsumersAndACancel() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let first = try await connection.consume(queue: "q1")
        let second = try await connection.consume(queue: "q2")
        #expect(first.tag == "ctag-1" && second.tag == "ctag-2")
        let firstTags = SeenTags()
        let secondTags = SeenTags()
        let readers = [Task { try await firstTags.read(first) }, Task { try await secondTags.read(second) }]
        transport.push(.delivery(.fake(tag: 1, consumerTag: "ctag-1")), .delivery(.fake(tag: 2, consumerTag: "ctag-1")),
                       .delivery(.fake(tag: 3, consumerTag: "ctag-2")), .delivery(.fake(tag: 4, consumerTag: "ctag-1")))
        let deadline = ContinuousClock.now + .seconds(5)
        while firstTags.tags.count + secondTags.tags.count < 4, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(firstTags.tags == [1, 2, 4])
        #expect(secondTags.tags == [3])
        // Cancelled right after its own delivery (the remembered one): the next is handed back.
        try await connection.cancel(consumerTag: "ctag-1")
        transport.push(.delivery(.fake(tag: 5, consumerTag: "ctag-1")), .delivery(.fake(tag: 6, consumerTag: "ctag-2")))
        _ = try await transport.waitForWritten { $0.contains(.nack(5, requeue: true)) }
        while secondTags.tags.count < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(firstTags.tags == [1, 2, 4])
        #expect(secondTags.tags == [3, 6])
        await connection.close()
        for reader in readers { _ = try? await reader.value }
    }

    @Test("a silent broker is detected after two heartbeat intervals and everything waiting fails")
    func missedHeartbeats() async throws {
        // Alive while the test sets up: a test runner slow to schedule this task must not make
        // the set-up itself meet the silence.
        let transport = FakeTransport(heartbeat: 1, heartbeating: true)
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        let confirmation = connection.enqueuePublish(routingKey: "q", body: [])
        transport.goSilent()
        await #expect(throws: AMQPError.heartbeatTimeout) { try await confirmation.wait() }
        await #expect(throws: AMQPError.heartbeatTimeout) { for try await _ in consumer.deliveries {} }
    }

    /// A connection busy with RPCs gets no heartbeat frames (the broker's replies count as
    /// heartbeats) and librabbitmq reads those replies inside the RPC, where `poll()` never sees
    /// them: that is not a silent broker.
    @Test("answers to RPCs count as signs of life for the heartbeat check")
    func rpcRepliesAreSignsOfLife() async throws {
        // Only the RPCs this task sends keep the connection alive: a window in which the test
        // runner left this task unscheduled for a heartbeat interval proves nothing either way
        // (the broker really was silent that long), so such a window is tried again. A window
        // with the RPCs on time must keep the connection open.
        for _ in 1...5 {
            // The window starts before the connection exists: the broker's silence is counted
            // from the fake's creation, so a task left unscheduled while the connection opens is
            // a gap like any other.
            var last = ContinuousClock.now
            let transport = FakeTransport(heartbeat: 1)
            let connection = try await AMQPConnection.fake(transport)
            var longestGap = Duration.zero
            let until = last + .seconds(3)
            var failure: (any Error)?
            while ContinuousClock.now < until {
                do {
                    try await connection.declareQueue("busy")
                } catch {
                    failure = error
                }
                longestGap = max(longestGap, last.duration(to: .now))
                last = .now
                if failure != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            await connection.close()
            guard longestGap < .seconds(1) else { continue }  // starved: not a fair window
            #expect(failure == nil, "\(String(describing: failure))")
            return
        }
        Issue.record("the test task was never scheduled often enough to send its RPCs on time")
    }

    /// One caller's bad publish (a missing exchange) makes the broker close the channel: what
    /// lived on it fails with that error, the channel is opened again, and the connection goes on
    /// with publish sequence numbers starting over.
    @Test("a channel closed by the broker is reopened; what lived on it fails, the connection goes on")
    func channelLevelRecovery() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        let pending = connection.enqueuePublish(routingKey: "a", body: [])
        _ = try await transport.waitForWritten { $0.contains(.publish(routingKey: "a")) }
        let closed = AMQPError.channelClosed(replyCode: 404, replyText: "NOT_FOUND - no exchange 'x' in vhost '/'", context: "channel")
        transport.pushChannelClose(closed)
        #expect(await Self.outcome(within: .seconds(5)) { try await pending.wait() } == "\(closed)")
        #expect(await Self.outcome(within: .seconds(5)) { for try await _ in consumer.deliveries {} } == "\(closed)")
        #expect(connection.isOpen)
        // The next publish goes out on the reopened channel and its confirm is number 1 again.
        let next = connection.enqueuePublish(routingKey: "b", body: [])
        _ = try await transport.waitForWritten { $0.contains(.publish(routingKey: "b")) }
        transport.push(.publishConfirmed(deliveryTag: 1, multiple: false))
        #expect(await Self.outcome(within: .seconds(5)) { try await next.wait() } == "ok")
        #expect(transport.written == [.consume(queue: "q"), .publish(routingKey: "a"), .channelOpen, .publish(routingKey: "b")])
        await connection.close()
    }

    @Test("acks and nacks for tags that are not outstanding never reach the wire")
    func unknownTagsAreDropped() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        transport.push(.delivery(.fake(tag: 1)))
        var deliveries = consumer.deliveries.makeAsyncIterator()
        _ = try await deliveries.next()
        connection.ack(1)
        connection.ack(1)  // twice: a 406 PRECONDITION_FAILED from the broker otherwise
        connection.nack(7, requeue: true)  // never delivered
        _ = try await transport.waitForWritten { $0.contains(.ack(1, multiple: false)) }
        try await connection.declareQueue("sync")  // one more turn: anything else would be written by now
        #expect(transport.written == [.consume(queue: "q"), .ack(1, multiple: false), .declare("sync")])
        await connection.close()
    }

    @Test("acks queued for a burst stay off the wire until the burst is sent, then leave as one frame")
    func queuedAcksLeaveTogether() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        transport.push(.delivery(.fake(tag: 1)), .delivery(.fake(tag: 2)), .delivery(.fake(tag: 3)))
        var deliveries = consumer.deliveries.makeAsyncIterator()
        _ = try await deliveries.next()
        #expect(connection.queueAck(2))
        #expect(connection.queueAck(1))
        try await connection.declareQueue("sync")  // a turn of the owner: the acks are held
        #expect(transport.written == [.consume(queue: "q"), .declare("sync")])
        connection.sendQueuedAcks()
        _ = try await transport.waitForWritten { $0.contains(.ack(2, multiple: true)) }
        #expect(transport.written == [.consume(queue: "q"), .declare("sync"), .ack(2, multiple: true)])
        await connection.close()
    }

    /// An ack beyond a gap waits `AckCoalescer.gapHold` for the gap to close; with nothing else
    /// to wake the owner thread, its `poll()` still ends in time to send it (not after the
    /// usual second of idling).
    @Test("an ack held for a gap goes out by itself once its hold is over")
    func heldAckGoesOutOnTime() async throws {
        let transport = FakeTransport()
        let connection = try await AMQPConnection.fake(transport)
        let consumer = try await connection.consume(queue: "q")
        transport.push(.delivery(.fake(tag: 1)), .delivery(.fake(tag: 2)), .delivery(.fake(tag: 3)), .delivery(.fake(tag: 4)))
        var deliveries = consumer.deliveries.makeAsyncIterator()
        _ = try await deliveries.next()
        try await connection.declareQueue("sync")  // every delivery read
        let acked = ContinuousClock.now
        connection.ack(2)
        _ = try await transport.waitForWritten { $0.contains(.ack(2, multiple: false)) }
        #expect(ContinuousClock.now - acked < .milliseconds(800), "sent at the hold's end, not at the idle poll's")
        await connection.close()
    }

    /// How `body` ended ("ok", its error, or "no result within …"), without waiting longer than
    /// `timeout`: a call that never completes fails the test instead of hanging it.
    static func outcome(within timeout: Duration, _ body: @escaping @Sendable () async throws -> Void) async -> String {
        await withTaskGroup(of: String.self) { group in
            group.addTask {
                do { try await body(); return "ok" } catch { return "\(error)" }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return "no result within \(timeout)"
            }
            defer { group.cancelAll() }
            return await group.next()!
        }
    }

    static func poll(within timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within \(timeout)")
                return
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// Values appended from any task, read by the test.
final class Recorder<Value: Sendable>: Sendable {
    private let storage = Mutex<[Value]>([])
    func append(_ value: Value) { storage.withLock { $0.append(value) } }
    var values: [Value] { storage.withLock { $0 } }
}

/// Delivery tags one consumer's stream yielded, in order.
private final class SeenTags: Sendable {
    private let seen = Mutex<[UInt64]>([])
    var tags: [UInt64] { seen.withLock { $0 } }

    func read(_ consumer: AMQPConsumer) async throws {
        for try await delivery in consumer.deliveries { seen.withLock { $0.append(delivery.deliveryTag) } }
    }
}
