/// Turns the acks handed to the owner thread into as few `basic.ack` frames as possible, and
/// settles every delivery at most once.
///
/// Delivery tags on a channel increase, and `basic.ack(multiple: true)` settles every
/// outstanding delivery up to a tag. So when the acks of one batch cover the oldest unsettled
/// deliveries without a gap, one multiple-ack replaces them all.
///
/// Acks beyond a gap (an older delivery is still being handled, or its failure copy is not
/// confirmed yet) cannot ride on a multiple-ack. `flush(holdingGapsAt:)` holds them back for a
/// moment, `gapHold`, in case the gap closes: on the failure path it nearly always does within
/// a confirm or two (copies are confirmed in the order handlers finished, not the delivery
/// order), and one multiple-ack then covers them all instead of one frame each (on a quorum
/// queue every ack frame is also a log entry the broker writes and replicates). They are sent
/// one by one, as before, once held `gapHold`, or as soon as they would be half of the
/// outstanding deliveries, so a slow message never keeps the prefetch window shut: it holds
/// up the acks behind it by `gapHold` at most and never more than half the window.
/// `flush()` holds nothing back (before a nack, a cancel, a close).
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
    /// How many deliveries are neither acked on the wire nor nacked (held acks count).
    private(set) var unsettledCount = 0
    /// Since when acks beyond a gap have been held back; `nil` while none are. Not moved on when
    /// the gap closes only in part: the acks still held (behind the next gap) may then leave
    /// before they have waited a full `gapHold` themselves, never after.
    private var heldSince: ContinuousClock.Instant?

    /// How long acks beyond a gap are held back, waiting for it to close. A few confirm round
    /// trips on a busy broker; short enough that a slow handler's gap costs the acks behind it
    /// no more than a blink.
    static let gapHold: Duration = .milliseconds(20)

    /// When the acks held back must be sent if their gap has not closed: the owner thread's
    /// `poll()` wakes by then. `nil` while none are held.
    var holdDeadline: ContinuousClock.Instant? { heldSince.map { $0 + Self.gapHold } }

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

    /// The frames to send for every ack recorded and not sent yet, held ones included.
    mutating func flush() -> [Frame] {
        flush(holding: false, now: { .now })
    }

    /// The frames to send for the acks recorded and not sent yet, except acks beyond a gap
    /// that may still wait for it to close (see the type's doc): `now` is read only if some
    /// are beyond a gap.
    mutating func flush(holdingGapsAt now: @autoclosure () -> ContinuousClock.Instant) -> [Frame] {
        flush(holding: true, now: now)
    }

    private mutating func flush(holding: Bool, now: () -> ContinuousClock.Instant) -> [Frame] {
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
            if holding, holdsBeyondGap(now: now) {
                compact()
                return frames
            }
            // Beyond the gap (or nacked since): each one still acked goes alone, now.
            for tag in acked.sorted() {
                guard let index = index(of: tag), entries[index].state == .acked else { continue }
                entries[index].state = .settled
                unsettledCount -= 1
                frames.append(.ack(tag, multiple: false))
            }
        }
        acked.removeAll(keepingCapacity: true)
        heldSince = nil
        compact()
        return frames
    }

    /// After a sweep that left some of `acked` unsent: keeps the acks still waiting beyond the gap
    /// in `acked` and returns true if they may wait longer (held less than `gapHold`, and at
    /// most half of the outstanding deliveries).
    private mutating func holdsBeyondGap(now: () -> ContinuousClock.Instant) -> Bool {
        // Still acked and unsent (not nacked since, not swept). In place: this runs on every
        // owner-thread turn while acks are held, and `filter` allocated a new array each time.
        var stillAcked = acked
        acked = []  // `stillAcked` owns the buffer alone: `removeAll(where:)` does not copy it
        stillAcked.removeAll { tag in index(of: tag).map { entries[$0].state != .acked } ?? true }
        acked = stillAcked
        guard !acked.isEmpty else {
            heldSince = nil
            return true  // nothing left to send: all nacked since
        }
        guard acked.count * 2 <= unsettledCount else { return false }
        let now = now()
        if let heldSince, now - heldSince >= Self.gapHold { return false }
        if heldSince == nil { heldSince = now }
        return true
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
