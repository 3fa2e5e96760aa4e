import Synchronization
import Testing
@testable import Warren
@testable import WarrenAMQP

/// `SettlementPipeline` without a broker: copies whose confirms the test completes by hand.
/// (Against a broker: the PipelinedCopies, BlockedCopies and PublishTimeout integration tests.)
@Suite(.timeLimit(.minutes(1))) struct SettlementPipelineTests {
    /// How each submitted message was settled: `nil` for a confirmed copy, else its error.
    private final class Settled: Sendable {
        private let outcomes = Mutex<[Int: String]>([:])

        func record(_ id: Int, _ error: (any Error)?) {
            outcomes.withLock { $0[id] = error.map { "\(type(of: $0))" } ?? "confirmed" }
        }

        var all: [Int: String] { outcomes.withLock { $0 } }

        /// Waits until `count` messages are settled, at most `timeout`: a settler that never
        /// settles one makes the test fail instead of hang (`finish()` waits without a bound).
        func wait(for count: Int, within timeout: Duration = .seconds(20)) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while all.count < count {
                guard ContinuousClock.now < deadline else { return false }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return true
        }
    }

    /// Ends the settler: `finish()` once every message is settled, else cancelled (which
    /// settles what it still holds at once).
    private func end(_ pipeline: SettlementPipeline, _ settler: Task<Void, Never>, settled: Bool) async {
        if settled {
            await pipeline.finish()
        } else {
            pipeline.close()
            settler.cancel()
        }
        await settler.value
    }

    /// Nothing listens on port 1: the publisher is only what a copy reports its timeout against.
    private let publisher = WarrenConnection(
        ConnectionConfiguration(url: try! AMQPURL("amqp://guest:guest@127.0.0.1:1/"), connectionName: "unit-test"))

    private func copy(_ confirmation: PublishConfirmation, deadline: ContinuousClock.Instant) -> PendingPublish {
        PendingPublish(confirmation, deadline: deadline, timeout: .seconds(1), publisher: publisher, span: nil)
    }

    /// Each copy is held to its own deadline, in order: one that is never confirmed fails with
    /// `PublishTimeout` once its deadline passed (on a fallback), the confirmed ones behind it
    /// settle, and so does a later copy whose own deadline passes unconfirmed.
    @Test("each copy unconfirmed past its own deadline times out; the confirmed ones settle")
    func copiesTimeOutAtTheirOwnDeadlines() async throws {
        let pipeline = SettlementPipeline()
        let settled = Settled()
        let settler = Task { await pipeline.run() }
        let confirmations = (0..<4).map { _ in PublishConfirmation() }
        let now = ContinuousClock.now
        // 0 and 3 are never confirmed; 3's deadline is later than 0's.
        let deadlines = [now + .milliseconds(100), now + .seconds(30), now + .seconds(30), now + .milliseconds(300)]
        confirmations[1].complete(.success(()))
        confirmations[2].complete(.success(()))
        for id in 0..<4 {
            #expect(pipeline.submit(.init(copy: copy(confirmations[id], deadline: deadlines[id])) { settled.record(id, $0) }))
        }
        let done = await settled.wait(for: 4)
        await end(pipeline, settler, settled: done)
        #expect(settled.all == [0: "PublishTimeout", 1: "confirmed", 2: "confirmed", 3: "PublishTimeout"])
        #expect(ContinuousClock.now >= deadlines[3], "3 waited for its own deadline")
        // Not until 1's (30 s): a copy's deadline is its own, whichever copies came before it.
        // The margin is for a loaded machine.
        #expect(ContinuousClock.now < now + .seconds(20), "3 timed out at its own deadline, not at 1's")
    }

    @Test("a copy confirmed before its deadline settles, though its deadline passes later")
    func aConfirmBeatsItsDeadline() async throws {
        let pipeline = SettlementPipeline()
        let settled = Settled()
        let settler = Task { await pipeline.run() }
        let confirmation = PublishConfirmation()
        #expect(pipeline.submit(.init(copy: copy(confirmation, deadline: .now + .milliseconds(200))) { settled.record(0, $0) }))
        confirmation.complete(.success(()))
        let done = await settled.wait(for: 1)
        await end(pipeline, settler, settled: done)
        #expect(settled.all == [0: "confirmed"])
    }

    /// The settler's acks are queued; it sends them when it is about to wait (for a copy not
    /// confirmed yet, or for more entries), so the originals of copies confirmed together are
    /// acked in one frame rather than one wake-up of the connection's thread each.
    @Test("queued acks are sent once per burst of confirmed copies, and before each wait")
    func queuedAcksAreSentBeforeTheSettlerWaits() async throws {
        let events = Mutex<[String]>([])
        let pipeline = SettlementPipeline(sendQueuedAcks: { events.withLock { $0.append("send") } })
        let settled = Settled()
        let deadline = ContinuousClock.now + .seconds(30)
        for id in 0..<3 {
            let confirmation = PublishConfirmation()
            confirmation.complete(.success(()))
            #expect(pipeline.submit(.init(copy: copy(confirmation, deadline: deadline)) { error in
                events.withLock { $0.append("settle \(id)") }
                settled.record(id, error)
            }))
        }
        let settler = Task { await pipeline.run() }
        var done = await settled.wait(for: 3)
        try await poll { events.withLock { $0.count } >= 4 }
        let late = PublishConfirmation()
        #expect(pipeline.submit(.init(copy: copy(late, deadline: deadline)) { error in
            events.withLock { $0.append("settle 3") }
            settled.record(3, error)
        }))
        // Before the settler waits for the unconfirmed copy, it sends what it queued.
        try await poll { events.withLock { $0.count } >= 5 }
        late.complete(.success(()))
        done = await settled.wait(for: 4) && done
        await end(pipeline, settler, settled: done)
        #expect(events.withLock { $0 } == ["settle 0", "settle 1", "settle 2", "send", "send", "settle 3", "send"])
    }

    /// Waits until `condition` holds, at most 20 s.
    private func poll(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 20 s")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Cancelled (the drain deadline, a second signal), the settler stops waiting at once: the
    /// copy's wait ends with `CancellationError` (its message is then abandoned), long before
    /// the copy's deadline.
    @Test("cancelled, a waiting copy settles with CancellationError at once")
    func cancellationEndsTheWaitAtOnce() async throws {
        let pipeline = SettlementPipeline()
        let settled = Settled()
        let settler = Task { await pipeline.run() }
        let deadline = ContinuousClock.now + .seconds(600)
        #expect(pipeline.submit(.init(copy: copy(PublishConfirmation(), deadline: deadline)) { settled.record(0, $0) }))
        pipeline.close()
        settler.cancel()
        await settler.value
        #expect(settled.all == [0: "CancellationError"])
        #expect(ContinuousClock.now < deadline)
    }
}
