/// The lease tokens a replica holds for one job: unacked deliveries from the job's
/// single-active-consumer queue, each carrying the newest tick recorded as done when it was
/// published (`nil` for a seed token).
///
/// Holding at least one token is being the leader. Tokens are merged by keeping the one with
/// the newest tick and acking the others, so the queue converges to a single token and the
/// newest recorded tick is never lost (see Docs/scheduled-jobs.md). Pure; the
/// `JobScheduler` task that owns it does the acks.
struct LeaseTokens: Equatable, Sendable {
    /// Delivery tag → recorded tick.
    private(set) var held: [UInt64: Int64?] = [:]
    /// A tick this replica recorded whose token has not come back yet (recording acks the old
    /// tokens before the broker delivers the new one).
    private(set) var recordedLocally: Int64?

    var isLeader: Bool { !held.isEmpty || recordedLocally != nil }

    /// The newest tick recorded as done, from any token held or recorded here.
    var lastCompleted: Int64? {
        let fromTokens = held.values.compactMap { $0 }.max()
        switch (fromTokens, recordedLocally) {
        case (let a?, let b?): return max(a, b)
        case (let a?, nil): return a
        case (nil, let b): return b
        }
    }

    mutating func received(tag: UInt64, tick: Int64?) {
        held[tag] = tick
        if let tick, let local = recordedLocally, tick >= local { recordedLocally = nil }
    }

    /// The tags to ack so that one token, with the newest tick, remains.
    mutating func surplus() -> [UInt64] {
        guard held.count > 1 else { return [] }
        // Keep the newest tick; among equals (or only seeds) the lowest tag, for determinism.
        let keep = held.min { lhs, rhs in
            let (l, r) = (lhs.value ?? Int64.min, rhs.value ?? Int64.min)
            return l != r ? l > r : lhs.key < rhs.key
        }!.key
        let extra = held.keys.filter { $0 != keep }.sorted()
        for tag in extra { held.removeValue(forKey: tag) }
        return extra
    }

    /// After a new token for `tick` was confirmed by the broker: the tokens held with an older
    /// tick (or none) are acked. The new token may already be here — the broker can deliver
    /// it to its active consumer before the publisher confirm arrives — and is kept.
    mutating func recorded(_ tick: Int64) -> [UInt64] {
        let older = held.filter { ($0.value ?? Int64.min) < tick }.keys.sorted()
        for tag in older { held.removeValue(forKey: tag) }
        if !held.values.contains(where: { ($0 ?? Int64.min) >= tick }) {
            recordedLocally = max(recordedLocally ?? tick, tick)
        }
        return older
    }

    /// The tags to give back (requeue) when stepping down.
    mutating func release() -> [UInt64] {
        let tags = held.keys.sorted()
        held.removeAll()
        recordedLocally = nil
        return tags
    }
}
