#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex guarding a value, with one condition variable for waiting until the value
/// changes. `Synchronization.Mutex` has no condition variable, and the log writer thread needs to
/// sleep until there is work, and `flush` callers until the writer made progress.
///
/// Waiters always re-check their predicate under the lock, so a single condition variable
/// shared by differently-minded waiters is correct as long as changes use ``broadcast()``.
///
/// - Important: Every thread may call every method. Do not call ``withLock(_:)`` from inside
///   another `withLock` body on the same lock (the mutex is not recursive).
final class ConditionLock<State: Sendable>: @unchecked Sendable {
    // @unchecked: `state` is only read or written between pthread_mutex_lock and _unlock, and the
    // pthread objects live at stable heap addresses for the lifetime of the instance.
    private var state: State
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init(_ state: State) {
        self.state = state
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Timed waits measure against the monotonic clock, so setting the wall clock cannot
        // stretch or cut short a bounded flush.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the state.
    func withLock<Result>(_ body: (inout State) -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&state)
    }

    /// Runs `body` with exclusive access to the state if the lock is free now; returns nil
    /// without waiting when another thread holds it. For a crash handler, which must never
    /// wait on a lock its own thread may hold (`LogOutput.writePendingOnCrash`).
    func tryWithLock<Result>(_ body: (inout State) -> Result) -> Result? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return body(&state)
    }

    /// Waits, with the lock released, while `blocked(state)` is true, then runs `body` with
    /// exclusive access to the state. With a `timeout`, it stops waiting when it expires and
    /// runs `body` anyway: `body` re-checks whatever it needs.
    func withLock<Result>(
        waitingWhile blocked: (State) -> Bool,
        timeout: Duration? = nil,
        _ body: (inout State) -> Result
    ) -> Result {
        let deadline = timeout.map(Self.monotonicDeadline(after:))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while blocked(state) {
            if var deadline {
                if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        return body(&state)
    }

    /// Wakes every waiter so it re-checks its predicate. Call it after changing the state.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }

    private static func monotonicDeadline(after timeout: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        // Capped at a year so that `.seconds(.max)` cannot overflow the sum.
        let (seconds, attoseconds) = min(max(timeout, .zero), .seconds(365 * 24 * 3600)).components
        var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var wholeSeconds = Int(now.tv_sec) + Int(seconds)
        if nanoseconds >= 1_000_000_000 {
            wholeSeconds += 1
            nanoseconds -= 1_000_000_000
        }
        return timespec(tv_sec: wholeSeconds, tv_nsec: nanoseconds)
    }
}
