/// Turns the acks handed to the owner thread in one turn into as few `basic.ack` frames as
/// possible, without ever delaying one.
///
/// Delivery tags on a channel increase, and `basic.ack(multiple: true)` settles every
/// outstanding delivery up to a tag. So when the acks of one batch, together with deliveries
/// already settled, cover the oldest outstanding deliveries without a gap, one multiple-ack
/// replaces them all. Acks beyond a gap (a slow handler still holds an older delivery) are sent
/// one by one at once, never held back, so a slow message cannot stall the others.
///
/// Nacks are always sent individually and immediately; they only count as "settled" here, so
/// a later multiple-ack can reach past them (a settled delivery is not outstanding any more, so
/// the multiple-ack does not touch it).
///
/// Pure value, owner-thread confined; `ConnectionLoop` sends what `flush()` returns.
struct AckCoalescer {
    enum Frame: Equatable {
        case ack(UInt64, multiple: Bool)
    }

    /// Outstanding deliveries in arrival (= tag) order, from `head` on.
    private var outstanding: [UInt64] = []
    private var head = 0
    /// Acked in this batch, not yet sent.
    private var acked: Set<UInt64> = []
    /// Already settled on the wire (nacked, or acked individually) but still in `outstanding`.
    private var settled: Set<UInt64> = []

    mutating func delivered(_ tag: UInt64) {
        outstanding.append(tag)
    }

    mutating func ack(_ tag: UInt64) {
        acked.insert(tag)
    }

    /// The caller has sent (or is sending) a nack for this tag.
    mutating func nacked(_ tag: UInt64) {
        settled.insert(tag)
    }

    /// The frames to send for the acks recorded since the last flush.
    mutating func flush() -> [Frame] {
        guard !acked.isEmpty else { return [] }
        var frames: [Frame] = []
        var multipleUpTo: UInt64?
        var covered = 0
        while head < outstanding.count {
            let tag = outstanding[head]
            if acked.remove(tag) != nil {
                multipleUpTo = tag
                covered += 1
            } else if settled.remove(tag) == nil {
                break
            }
            head += 1
        }
        if let multipleUpTo {
            frames.append(.ack(multipleUpTo, multiple: covered > 1))
        }
        for tag in acked.sorted() {
            frames.append(.ack(tag, multiple: false))
            settled.insert(tag)
        }
        acked.removeAll(keepingCapacity: true)
        if head > 4096 && head * 2 > outstanding.count {
            outstanding.removeFirst(head)
            head = 0
        }
        return frames
    }
}
