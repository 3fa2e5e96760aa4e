import Testing
@testable import WarrenAMQP

@Suite struct AckCoalescerTests {
    private func coalescer(delivered tags: ClosedRange<UInt64>) -> AckCoalescer {
        var coalescer = AckCoalescer()
        for tag in tags { coalescer.delivered(tag) }
        return coalescer
    }

    @Test func contiguousAcksFromTheOldestBecomeOneMultipleAck() {
        var acks = coalescer(delivered: 1...5)
        for tag: UInt64 in [2, 1, 3] { acks.ack(tag) }
        #expect(acks.flush() == [.ack(3, multiple: true)])
        acks.ack(4)
        #expect(acks.flush() == [.ack(4, multiple: false)])
    }

    @Test func acksBeyondAGapAreSentAtOnceOneByOne() {
        // Delivery 1 is still being handled: 2 and 3 must not wait for it.
        var acks = coalescer(delivered: 1...4)
        acks.ack(3)
        acks.ack(2)
        #expect(acks.flush() == [.ack(2, multiple: false), .ack(3, multiple: false)])
        // When 1 finishes, a single ack settles it; 2 and 3 are not acked twice.
        acks.ack(1)
        #expect(acks.flush() == [.ack(1, multiple: false)])
        acks.ack(4)
        #expect(acks.flush() == [.ack(4, multiple: false)])
    }

    /// On the failure path copies are confirmed in the order handlers finished, so the acks of
    /// one confirm often start just past an older delivery whose copy is in the next one.
    @Test func acksBeyondAGapWaitForItToCloseAndGoAsOneMultipleAck() {
        var acks = coalescer(delivered: 1...8)
        let start = ContinuousClock.now
        acks.ack(2)
        acks.ack(3)
        #expect(acks.flush(holdingGapsAt: start).isEmpty)
        #expect(acks.holdDeadline == start + AckCoalescer.gapHold)
        acks.ack(1)
        #expect(acks.flush(holdingGapsAt: start + .milliseconds(5)) == [.ack(3, multiple: true)])
        #expect(acks.holdDeadline == nil)
        #expect(acks.unsettledCount == 5)
    }

    @Test func heldAcksGoOneByOneOnceHeldForGapHold() {
        var acks = coalescer(delivered: 1...10)
        let start = ContinuousClock.now
        acks.ack(4)
        acks.ack(3)
        #expect(acks.flush(holdingGapsAt: start).isEmpty)
        #expect(acks.flush(holdingGapsAt: start + AckCoalescer.gapHold - .milliseconds(1)).isEmpty)
        #expect(acks.flush(holdingGapsAt: start + AckCoalescer.gapHold) == [.ack(3, multiple: false), .ack(4, multiple: false)])
        #expect(acks.holdDeadline == nil)
        // 1 is still outstanding, 3 and 4 are not: nothing is acked twice.
        acks.ack(1)
        #expect(acks.flush(holdingGapsAt: start + .seconds(1)) == [.ack(1, multiple: false)])
    }

    /// A slow handler must not shut the prefetch window: acks behind it are held only while
    /// they are at most half of the outstanding deliveries.
    @Test func neverMoreThanHalfOfTheOutstandingDeliveriesAreHeld() {
        var acks = coalescer(delivered: 1...6)
        let start = ContinuousClock.now
        for tag: UInt64 in [2, 3, 4] { acks.ack(tag) }
        #expect(acks.flush(holdingGapsAt: start).isEmpty, "3 of 6 outstanding: held")
        acks.ack(5)
        #expect(acks.flush(holdingGapsAt: start) == (2...5).map { .ack($0, multiple: false) }, "4 of 6: sent")
    }

    /// Before a nack, a cancel or a close nothing may stay behind.
    @Test func aPlainFlushSendsTheHeldAcks() {
        var acks = coalescer(delivered: 1...4)
        acks.ack(2)
        #expect(acks.flush(holdingGapsAt: .now).isEmpty)
        #expect(acks.flush() == [.ack(2, multiple: false)])
        #expect(acks.holdDeadline == nil)
    }

    @Test func heldAcksNackedSinceAreDropped() {
        var acks = coalescer(delivered: 1...4)
        acks.ack(2)
        #expect(acks.flush(holdingGapsAt: .now).isEmpty)
        acks.nacked(2)
        #expect(acks.flush(holdingGapsAt: .now).isEmpty)
        #expect(acks.holdDeadline == nil)
        #expect(acks.flush().isEmpty)
    }

    @Test func aMultipleAckReachesPastNackedDeliveries() {
        var acks = coalescer(delivered: 1...4)
        acks.nacked(2)
        for tag: UInt64 in [1, 3] { acks.ack(tag) }
        #expect(acks.flush() == [.ack(3, multiple: true)])
    }

    @Test func aMultipleAckNeverCoversAnUnsettledDelivery() {
        var acks = coalescer(delivered: 1...6)
        for tag: UInt64 in [1, 2, 4, 5] { acks.ack(tag) }
        let frames = acks.flush()
        #expect(frames == [.ack(2, multiple: true), .ack(4, multiple: false), .ack(5, multiple: false)])
        // 3 is still outstanding. Once it and 6 finish, one multiple-ack settles both: 4 and 5
        // were acked already, so the broker no longer counts them as outstanding.
        acks.ack(6)
        acks.ack(3)
        #expect(acks.flush() == [.ack(6, multiple: true)])
    }

    @Test func nothingToFlushSendsNothing() {
        var acks = coalescer(delivered: 1...3)
        #expect(acks.flush().isEmpty)
        acks.nacked(1)
        #expect(acks.flush().isEmpty)
    }

    /// Model check against what the broker does with each frame: a multiple-ack settles every
    /// unsettled delivery up to its tag, a single ack settles one and must name an unsettled one.
    /// Over random completion orders across many flushes, every delivery the handlers finished is
    /// settled exactly once (no ack lost, none doubled), by the flush right after it finished (no
    /// ack held back: a later multiple-ack sweeping up a dropped one would otherwise hide the
    /// loss), and nothing still running is touched.
    @Test func everyDeliveryIsSettledExactlyOnceOverALongRun() {
        checkAgainstTheBroker(holdingGaps: false)
    }

    /// The same with acks beyond a gap held back (`flush(holdingGapsAt:)`), on a simulated
    /// clock: every finished delivery is still settled exactly once, nothing running is touched,
    /// and none waits `gapHold` or longer after it finished.
    @Test func withGapsHeldEveryDeliveryIsSettledOnceAndOnTime() {
        checkAgainstTheBroker(holdingGaps: true)
    }

    private func checkAgainstTheBroker(holdingGaps: Bool) {
        var generator = SystemRandomNumberGenerator()
        var acks = AckCoalescer()
        var settled: [UInt64: Int] = [:]  // by the broker model
        var unsettledOnBroker: Set<UInt64> = []
        var running: [UInt64] = []
        var finished: Set<UInt64> = []
        var finishedAt: [UInt64: ContinuousClock.Instant] = [:]  // finished, not settled yet
        var nextTag: UInt64 = 1
        var now = ContinuousClock.now
        for _ in 0..<2000 {
            now += .milliseconds(Int.random(in: 0...6, using: &generator))
            for _ in 0..<Int.random(in: 0...8, using: &generator) {
                acks.delivered(nextTag)
                unsettledOnBroker.insert(nextTag)
                running.append(nextTag)
                nextTag += 1
            }
            running.shuffle(using: &generator)
            let finishing = running.prefix(Int.random(in: 0...running.count, using: &generator))
            running.removeFirst(finishing.count)
            for tag in finishing {
                finished.insert(tag)
                if Bool.random(using: &generator) {
                    let accepted = acks.ack(tag)
                    #expect(accepted)
                    finishedAt[tag] = now
                } else {
                    #expect(acks.canNack(tag))
                    acks.nacked(tag)  // the loop sends the nack itself
                    unsettledOnBroker.remove(tag)
                    settled[tag, default: 0] += 1
                }
            }
            for frame in holdingGaps ? acks.flush(holdingGapsAt: now) : acks.flush() {
                guard case .ack(let tag, let multiple) = frame else { continue }
                let covered = multiple ? unsettledOnBroker.filter { $0 <= tag } : [tag]
                #expect(multiple || unsettledOnBroker.contains(tag), "single ack of settled tag \(tag)")
                for covered in covered {
                    #expect(!running.contains(covered), "acked \(covered) while its handler still runs")
                    unsettledOnBroker.remove(covered)
                    settled[covered, default: 0] += 1
                    finishedAt[covered] = nil
                }
            }
            if holdingGaps {
                let late = finishedAt.filter { now - $0.value >= AckCoalescer.gapHold }
                guard late.isEmpty else {
                    Issue.record("held \(AckCoalescer.gapHold) or longer: \(late.keys.sorted())")
                    return
                }
            } else {
                guard unsettledOnBroker.isSubset(of: running) else {
                    Issue.record("finished but not settled by the flush after it: \(unsettledOnBroker.subtracting(running).sorted())")
                    return
                }
            }
        }
        // Every finished delivery was settled exactly once; no running one was.
        #expect(Set(settled.keys).union(finishedAt.keys) == finished)
        #expect(settled.values.allSatisfy { $0 == 1 })
        #expect(unsettledOnBroker == Set(running).union(finishedAt.keys))
    }

    /// A delivery that is never settled (a handler that hangs) must not pin memory: what the
    /// coalescer tracks stays proportional to the unsettled deliveries, and later acks still go out.
    @Test func aNeverSettledTagDoesNotGrowMemory() {
        var acks = AckCoalescer()
        acks.delivered(1)  // never acked
        var sent = 0
        for tag: UInt64 in 2...200_001 {
            acks.delivered(tag)
            acks.ack(tag)
            if tag % 50 == 0 { sent += acks.flush().count }
        }
        sent += acks.flush().count
        #expect(sent == 200_000)
        #expect(acks.unsettledCount == 1)
        #expect(acks.trackedCount <= 2 * acks.unsettledCount + 1024 + 50, "tracks \(acks.trackedCount) tags")
    }

    /// Once settled tags were dropped from between the tracked ones (a delivery that stays
    /// unsettled while thousands after it are acked), a tag is no longer at its distance from
    /// the first: an ack or nack must still find its own tag, and never another one there.
    @Test func tagsAreFoundAfterSettledOnesWereDroppedFromBetween() {
        var acks = AckCoalescer()
        acks.delivered(1)  // stays unsettled
        for tag: UInt64 in 2...3000 {
            acks.delivered(tag)
            acks.ack(tag)
            if tag % 10 == 0 { _ = acks.flush() }
        }
        _ = acks.flush()
        #expect(acks.trackedCount < 1100, "tracks \(acks.trackedCount) tags")  // dropped from between
        for tag: UInt64 in 3001...3005 { acks.delivered(tag) }
        // Settled long ago: refused, whatever is tracked at their distance from tag 1 now.
        var staleAccepted: [UInt64] = []
        for tag: UInt64 in 2...3000 where acks.canNack(tag) || acks.ack(tag) { staleAccepted.append(tag) }
        #expect(staleAccepted.isEmpty)
        #expect(acks.flush().isEmpty)
        let fresh = acks.ack(3003)
        #expect(fresh)
        #expect(acks.canNack(3002) && !acks.canNack(3003))
        acks.nacked(3002)
        #expect(acks.flush() == [.ack(3003, multiple: false)])
        #expect(acks.unsettledCount == 4)  // 1, 3001, 3004, 3005
        let oldest = [acks.ack(1), acks.ack(3001)]
        #expect(oldest == [true, true])
        #expect(acks.flush() == [.ack(3001, multiple: true)])
    }

    @Test func acksOfUnknownOrSettledTagsAreRefused() {
        var acks = coalescer(delivered: 1...2)
        let unknown = acks.ack(9)
        let first = acks.ack(1)
        let frames = acks.flush()
        let again = acks.ack(1)
        #expect(!unknown && first && !again)
        #expect(frames == [.ack(1, multiple: false)])
        #expect(!acks.canNack(1))
        #expect(acks.flush().isEmpty)
    }
}
