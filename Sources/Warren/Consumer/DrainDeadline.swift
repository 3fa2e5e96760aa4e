import Synchronization

/// Set when the drain deadline passed (as opposed to a second signal cutting the drain short).
final class DrainDeadline: Sendable {
    private let passed = Atomic<Bool>(false)

    func pass() { passed.store(true, ordering: .relaxed) }
    var hasPassed: Bool { passed.load(ordering: .relaxed) }
}
