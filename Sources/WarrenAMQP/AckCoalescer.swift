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
/// No hashing: the broker numbers deliveries on a channel 1, 2, 3, …, so the tracked tags sit
/// in one array in increasing order, and a tag's place is found by its distance from the first
/// (a binary search once settled ones were dropped from between). Two `Set`s hashed every tag
/// four times (issue 17: 3 % of a `noop` consumer's instructions).
///
/// Pure value, owner-thread confined; `ConnectionLoop` sends what `flush()` returns.
struct AckCoalescer {
    enum Frame: Equatable {
        case ack(UInt64, multiple: Bool)
    }

    private enum State {
        /// Delivered, neither acked nor nacked.
        case unsettled
        /// Acked since the last flush, not yet sent.
        case acked
        /// Acked on the wire, or nacked: not outstanding any more.
        case settled
    }

    private struct Entry {
        let tag: UInt64
        var state: State
    }

    /// Delivered tags in increasing order from `head` on; settled ones are dropped lazily.
    /// An array with a head index rather than swift-collections' `Deque`: WarrenAMQP depends on
    /// swift-log alone, and the fuzz targets build it with nothing else.
    private var entries: [Entry] = []
    private var head = 0
    /// Tags acked since the last flush, in call order (some may have been nacked since).
    private var acked: [UInt64] = []
    /// How many deliveries are neither acked nor nacked.
    private(set) var unsettledCount = 0

    /// How many tags are tracked (for tests of the memory bound).
    var trackedCount: Int { entries.count - head }

    mutating func delivered(_ tag: UInt64) {
        guard let last = entries.last, tag <= last.tag else {
            entries.append(Entry(tag: tag, state: .unsettled))  // the broker's order: always this way
            unsettledCount += 1
            return
        }
        // Not in increasing order: kept sorted all the same.
        let at = firstIndex(notBelow: tag)
        if at < entries.count, entries[at].tag == tag {
            guard entries[at].state == .settled else { return }
            entries[at].state = .unsettled
        } else {
            entries.insert(Entry(tag: tag, state: .unsettled), at: at)
        }
        unsettledCount += 1
    }

    /// Records an ack to send with the next `flush()`. Returns false, recording nothing, when
    /// the tag is not outstanding.
    @discardableResult
    mutating func ack(_ tag: UInt64) -> Bool {
        guard let index = index(of: tag) else { return false }
        switch entries[index].state {
        case .unsettled:
            entries[index].state = .acked
            acked.append(tag)
            return true
        case .acked:
            return true
        case .settled:
            return false
        }
    }

    /// Whether a nack for this tag may be sent (it is outstanding and not already acked).
    func canNack(_ tag: UInt64) -> Bool {
        guard let index = index(of: tag) else { return false }
        return entries[index].state == .unsettled
    }

    /// The caller has sent (or is sending) a nack for this tag.
    mutating func nacked(_ tag: UInt64) {
        guard let index = index(of: tag), entries[index].state != .settled else { return }
        entries[index].state = .settled
        unsettledCount -= 1
    }

    /// The frames to send for the acks recorded since the last flush.
    mutating func flush() -> [Frame] {
        guard !acked.isEmpty else { return [] }
        var frames: [Frame] = []
        var multipleUpTo: UInt64?
        var covered = 0
        sweep: while head < entries.count {
            switch entries[head].state {
            case .settled:
                head += 1  // settled earlier
            case .acked:
                entries[head].state = .settled
                unsettledCount -= 1
                multipleUpTo = entries[head].tag
                covered += 1
                head += 1
            case .unsettled:
                break sweep  // the oldest unsettled delivery is still being handled
            }
        }
        if let multipleUpTo {
            frames.append(.ack(multipleUpTo, multiple: covered > 1))
        }
        if covered < acked.count {
            // Beyond the gap (or nacked since): each one still acked goes alone, at once.
            for tag in acked.sorted() {
                guard let index = index(of: tag), entries[index].state == .acked else { continue }
                entries[index].state = .settled
                unsettledCount -= 1
                frames.append(.ack(tag, multiple: false))
            }
        }
        acked.removeAll(keepingCapacity: true)
        compact()
        return frames
    }

    /// Where `tag` is tracked, from `head` on: at its distance from the first tracked tag while
    /// the tags are consecutive (the usual case), else by binary search.
    private func index(of tag: UInt64) -> Int? {
        guard head < entries.count, tag >= entries[head].tag else { return nil }
        let distance = tag - entries[head].tag
        if distance < UInt64(entries.count - head), entries[head + Int(distance)].tag == tag {
            return head + Int(distance)
        }
        let at = firstIndex(notBelow: tag)
        return at < entries.count && entries[at].tag == tag ? at : nil
    }

    /// The first index from `head` on whose tag is not below `tag` (`entries.count` if none).
    private func firstIndex(notBelow tag: UInt64) -> Int {
        var low = head
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].tag < tag { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Drops settled tags once they make up most of what is tracked, so its size stays within a
    /// constant factor of the unsettled deliveries.
    private mutating func compact() {
        let tracked = entries.count - head
        if tracked > 2 * unsettledCount + 1024 {
            entries = entries[head...].filter { $0.state != .settled }
            head = 0
        } else if head > 4096 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
