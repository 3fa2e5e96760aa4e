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

    @Test func everyDeliveryIsSettledExactlyOnceOverALongRun() {
        // Random completion order across many flushes: each tag is settled by exactly one frame.
        var generator = SystemRandomNumberGenerator()
        var acks = AckCoalescer()
        var settledBy: [UInt64: Int] = [:]
        var pending: [UInt64] = []
        var nextTag: UInt64 = 1
        var lastMultiple: UInt64 = 0
        for _ in 0..<2000 {
            for _ in 0..<Int.random(in: 0...8, using: &generator) {
                acks.delivered(nextTag)
                pending.append(nextTag)
                nextTag += 1
            }
            pending.shuffle(using: &generator)
            let finishing = pending.prefix(Int.random(in: 0...pending.count, using: &generator))
            pending.removeFirst(finishing.count)
            for tag in finishing {
                if Bool.random(using: &generator) { acks.ack(tag) } else { acks.nacked(tag); settledBy[tag, default: 0] += 1 }
            }
            for frame in acks.flush() {
                guard case .ack(let tag, let multiple) = frame else { continue }
                if multiple {
                    // Covers every not-yet-settled tag up to `tag`: none may still be pending.
                    #expect(!pending.contains { $0 <= tag })
                    for covered in (lastMultiple + 1)...tag where settledBy[covered] == nil { settledBy[covered] = 1 }
                    lastMultiple = tag
                } else {
                    settledBy[tag, default: 0] += 1
                }
            }
        }
        #expect(settledBy.values.allSatisfy { $0 == 1 })
    }
}
