/// Turns the acks handed to the owner thread in one turn into as few `basic.ack` frames as
/// possible, without ever delaying one, and settles every delivery at most once.
///
/// Delivery tags on a channel increase, and `basic.ack(multiple: true)` settles every
/// outstanding delivery up to a tag. So when the acks of one batch cover the oldest unsettled
/// deliveries without a gap, one multiple-ack replaces them all. Acks beyond a gap (a slow
/// handler still holds an older delivery) are sent one by one at once, never held back, so a
/// slow message cannot stall the others.
///
/// Nacks are always sent individually and immediately; they only count as "settled" here, so a
/// later multiple-ack can reach past them (a settled delivery is not outstanding any more, so
/// the multiple-ack does not touch it). An ack or nack of a tag that is not outstanding (never
/// delivered on this channel, or already settled) is dropped: the broker would close the
/// channel with `406 PRECONDITION_FAILED - unknown delivery tag`.
///
/// Memory stays proportional to the unsettled deliveries (at most the prefetch), not to the
/// traffic: a delivery that is never settled (a handler that hangs) does not pin the rest.
///
/// Pure value, owner-thread confined; `ConnectionLoop` sends what `flush()` returns.
struct AckCoalescer {
    enum Frame: Equatable {
        case ack(UInt64, multiple: Bool)
    }

    /// Delivered but not yet settled on the wire: the truth about what is outstanding.
    private var live: Set<UInt64> = []
    /// Delivered tags in arrival (= tag) order from `head` on; settled ones are removed lazily.
    /// An array with a head index rather than swift-collections' `Deque`: WarrenAMQP depends on
    /// swift-log alone, and the fuzz targets build it with nothing else.
    private var order: [UInt64] = []
    private var head = 0
    /// Acked in this batch, not yet sent (a subset of `live`).
    private var acked: Set<UInt64> = []

    /// How many tags are tracked (for tests of the memory bound).
    var trackedCount: Int { order.count - head }

    /// How many deliveries are neither acked nor nacked.
    var unsettledCount: Int { live.count }

    mutating func delivered(_ tag: UInt64) {
        live.insert(tag)
        order.append(tag)
    }

    /// Records an ack to send with the next `flush()`. Returns false, recording nothing, when
    /// the tag is not outstanding.
    @discardableResult
    mutating func ack(_ tag: UInt64) -> Bool {
        guard live.contains(tag) else { return false }
        acked.insert(tag)
        return true
    }

    /// Whether a nack for this tag may be sent (it is outstanding and not already acked).
    func canNack(_ tag: UInt64) -> Bool {
        live.contains(tag) && !acked.contains(tag)
    }

    /// The caller has sent (or is sending) a nack for this tag.
    mutating func nacked(_ tag: UInt64) {
        live.remove(tag)
        acked.remove(tag)
    }

    /// The frames to send for the acks recorded since the last flush.
    mutating func flush() -> [Frame] {
        guard !acked.isEmpty else { return [] }
        var frames: [Frame] = []
        var multipleUpTo: UInt64?
        var covered = 0
        while head < order.count {
            let tag = order[head]
            if !live.contains(tag) {
                head += 1  // settled earlier
            } else if acked.remove(tag) != nil {
                live.remove(tag)
                multipleUpTo = tag
                covered += 1
                head += 1
            } else {
                break  // the oldest unsettled delivery is still being handled
            }
        }
        if let multipleUpTo {
            frames.append(.ack(multipleUpTo, multiple: covered > 1))
        }
        for tag in acked.sorted() {
            frames.append(.ack(tag, multiple: false))
            live.remove(tag)
        }
        acked.removeAll(keepingCapacity: true)
        compact()
        return frames
    }

    /// Drops settled tags from `order` once they make up most of it, so its size stays within
    /// a constant factor of `live`.
    private mutating func compact() {
        let tracked = order.count - head
        if tracked > 2 * live.count + 1024 {
            order = order[head...].filter { live.contains($0) }
            head = 0
        } else if head > 4096 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
