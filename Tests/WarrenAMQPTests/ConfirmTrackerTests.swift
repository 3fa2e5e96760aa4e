import Testing
@testable import WarrenAMQP

/// `ConfirmTracker`: which publish each `basic.ack`/`basic.nack`/`basic.return` settles.
@Suite struct ConfirmTrackerTests {
    /// Publishes 1...count in order and records which of them complete.
    private struct Publishes {
        var tracker = ConfirmTracker()
        let confirmations: [PublishConfirmation]
        let completed = Recorder<Int>()

        init(count: Int) {
            let completed = completed
            confirmations = (1...count).map { sequence in PublishConfirmation(onComplete: { completed.append(sequence) }) }
            for confirmation in confirmations { tracker.add(confirmation) }
        }

        /// The outcome of a publish (1-based, as the broker numbers them); `nil` while it is
        /// pending (checked first: waiting on a pending one would hang the test).
        func outcome(_ sequence: Int) async -> Result<Void, AMQPError>? {
            guard completed.values.contains(sequence) else { return nil }
            do {
                try await confirmations[sequence - 1].wait()
                return .success(())
            } catch {
                return .failure(error as? AMQPError ?? .publishNacked)
            }
        }

        var completedSet: Set<Int> { Set(completed.values) }
    }

    @Test func aSingleAckSettlesOnlyThePublishItNames() async {
        var publishes = Publishes(count: 3)
        publishes.tracker.settle(upTo: 2, multiple: false, acked: true)
        #expect(publishes.completed.values == [2])
        #expect(await publishes.outcome(2) == .success(()))
    }

    @Test func aMultipleAckSettlesEveryPendingPublishUpToItsTag() async {
        var publishes = Publishes(count: 5)
        publishes.tracker.settle(upTo: 2, multiple: false, acked: true)
        publishes.tracker.settle(upTo: 4, multiple: true, acked: true)
        #expect(publishes.completedSet == [1, 2, 3, 4], "5 is not covered")
        #expect(publishes.completed.values.count == 4, "2 was not settled twice")
        for sequence in [1, 3, 4] { #expect(await publishes.outcome(sequence) == .success(())) }
        // The next multiple-ack starts after what was settled.
        publishes.tracker.settle(upTo: 5, multiple: true, acked: true)
        #expect(publishes.completedSet == [1, 2, 3, 4, 5])
    }

    @Test func aNackFailsItsPublishesAsNacked() async {
        var publishes = Publishes(count: 3)
        publishes.tracker.settle(upTo: 2, multiple: true, acked: false)
        #expect(publishes.completedSet == [1, 2])
        #expect(await publishes.outcome(1) == .failure(.publishNacked))
        #expect(await publishes.outcome(2) == .failure(.publishNacked))
    }

    /// A `basic.return` comes right before its publish's own confirm: it fails that publish
    /// (the one the confirm names), not its neighbours, and only that confirm.
    @Test func aReturnFailsThePublishTheNextConfirmNames() async {
        let returned = AMQPError.unroutable(replyCode: 312, replyText: "NO_ROUTE")
        var publishes = Publishes(count: 4)
        publishes.tracker.markReturned(returned)
        publishes.tracker.settle(upTo: 2, multiple: true, acked: true)
        #expect(await publishes.outcome(1) == .success(()))
        #expect(await publishes.outcome(2) == .failure(returned))
        publishes.tracker.settle(upTo: 3, multiple: false, acked: true)
        #expect(await publishes.outcome(3) == .success(()), "the return was used up by the confirm after it")
    }

    @Test func failAllFailsEveryPendingPublishWithTheConnectionsError() async {
        var publishes = Publishes(count: 3)
        publishes.tracker.settle(upTo: 1, multiple: false, acked: true)
        publishes.tracker.failAll(.heartbeatTimeout)
        #expect(publishes.completedSet == [1, 2, 3])
        #expect(await publishes.outcome(2) == .failure(.heartbeatTimeout))
        #expect(await publishes.outcome(3) == .failure(.heartbeatTimeout))
    }
}

extension Optional where Wrapped == Result<Void, AMQPError> {
    fileprivate static func == (lhs: Self, rhs: Wrapped) -> Bool {
        switch (lhs, rhs) {
        case (.success?, .success): true
        case (.failure(let left)?, .failure(let right)): left == right
        default: false
        }
    }
}
