import Synchronization

/// Watches one deadline at a time, re-armed for each wait, with long-lived sleeping tasks
/// instead of a timer per wait: `SettlementPipeline` awaits its copies' confirms one after
/// another, each against its own deadline, thousands a second on a failing queue.
///
/// A timer per wait (a `Task.sleep` raced against the wait and cancelled when the wait won)
/// costs a task each time, and a cancelled sleep stays queued in the runtime, holding its
/// memory, until its deadline passes. Here a sleeping task wakes at the deadline it was started
/// for, and if what is armed by then is due later, sleeps again until then: while copies keep
/// being confirmed, one task wakes about once per timeout (the deadlines move forward with the
/// confirms), whatever the rate. A new sleeping task is needed only when a deadline is armed
/// that no sleeping task wakes for in time (the first one, or one earlier than the last).
///
/// Usage: `arm(deadline, target)` before a wait; when it returns true, start a task running
/// `sleep(until: deadline)` (in a group cancelled when the timer is no longer needed: a
/// cancelled `sleep` returns at once). When the armed deadline passes, `expire(target)` is
/// called once, on a sleeping task, unless `arm` or `disarm` replaced it first.
///
/// - Important: Thread-safe: `arm`/`disarm` from the waiting task, `sleep` on tasks of its own.
final class DeadlineTimer<Target: Sendable>: Sendable {
    private struct Armed {
        var deadline: ContinuousClock.Instant
        var target: Target
    }

    private struct State {
        var armed: Armed?
        /// When each sleeping task wakes next (nearly always one, or none).
        var wakes: [ContinuousClock.Instant] = []
    }

    private let state = Mutex(State())
    private let expire: @Sendable (Target) -> Void

    /// - Parameter expire: called with the armed target once its deadline passes; on a sleeping
    ///   task, so it must not block.
    init(expire: @escaping @Sendable (Target) -> Void) {
        self.expire = expire
    }

    /// Watches `deadline` for `target`, in place of what was armed. Returns true when no sleeping
    /// task wakes by `deadline`: the caller then starts one with `sleep(until: deadline)`.
    func arm(_ deadline: ContinuousClock.Instant, for target: Target) -> Bool {
        state.withLock { state in
            state.armed = Armed(deadline: deadline, target: target)
            guard !state.wakes.contains(where: { $0 <= deadline }) else { return false }
            state.wakes.append(deadline)
            return true
        }
    }

    /// Watches nothing: the sleeping tasks end at their next wake.
    func disarm() {
        state.withLock { $0.armed = nil }
    }

    /// One sleeping task: sleeps until `wake`; then expires what is armed if its deadline
    /// passed, or sleeps again until it when no other task wakes for it sooner; else returns.
    /// Cancelled, returns at once.
    func sleep(until wake: ContinuousClock.Instant) async {
        var wake = wake
        while true {
            let slept = (try? await Task.sleep(until: wake, clock: .continuous)) != nil
            let (due, next) = state.withLock { state -> (Target?, ContinuousClock.Instant?) in
                if let index = state.wakes.firstIndex(of: wake) { state.wakes.remove(at: index) }
                guard slept, let armed = state.armed else { return (nil, nil) }
                if armed.deadline <= .now {
                    state.armed = nil
                    return (armed.target, nil)
                }
                guard !state.wakes.contains(where: { $0 <= armed.deadline }) else { return (nil, nil) }
                state.wakes.append(armed.deadline)
                return (nil, armed.deadline)
            }
            if let due { expire(due) }
            guard let next else { return }
            wake = next
        }
    }
}
