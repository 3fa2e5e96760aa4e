import Synchronization
import Testing

/// A one-shot gate between tasks: `wait()` suspends until `open()` was called (before or after).
/// The wait ignores cancellation on purpose, so a test can hold a body that is being cancelled
/// at a known point instead of guessing with sleeps.
final class Latch: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var isOpen: Bool { state.withLock { $0.isOpen } }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let openAlready = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if openAlready { continuation.resume() }
        }
    }
}

/// Awaits `condition` (checked every millisecond) and records an issue if it does not hold
/// within `timeout`, which is generous: it only bounds a failing test, a passing one returns as
/// soon as the condition holds. Returns whether it held.
@discardableResult
func awaitCondition(
    within timeout: Duration = .seconds(10), _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("not within \(timeout): \(what)", sourceLocation: sourceLocation)
            return false
        }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return true
}
