import Synchronization

/// What handlers saw, appended from their concurrent tasks and read by the test afterwards.
final class InProcessRecorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    init() {}

    func append(_ value: Value) {
        values.withLock { $0.append(value) }
    }

    var all: [Value] { values.withLock { $0 } }
    var count: Int { values.withLock { $0.count } }
}

/// A counter of handlers running at once, recording the highest value seen.
final class InProcessConcurrencyGauge: Sendable {
    private let state = Mutex<(current: Int, highest: Int)>((0, 0))

    init() {}

    /// Counts `body` as running while it runs.
    func measure<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        state.withLock {
            $0.current += 1
            $0.highest = max($0.highest, $0.current)
        }
        defer { state.withLock { $0.current -= 1 } }
        return try await body()
    }

    var highest: Int { state.withLock { $0.highest } }
}
