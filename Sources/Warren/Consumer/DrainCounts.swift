import Synchronization

/// Counts messages left unacked for redelivery; updated from handler tasks.
final class DrainCounts: Sendable {
    private let abandonedTotal = Atomic<Int>(0)

    func abandoned() { abandonedTotal.add(1, ordering: .relaxed) }
    var abandonedCount: Int { abandonedTotal.load(ordering: .relaxed) }
}
