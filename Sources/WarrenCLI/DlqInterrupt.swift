import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The first SIGINT or SIGTERM, 0 until one arrives. Written by the signal handler, so it must be
/// lock-free: an `Atomic` store is async-signal-safe, a lock is not.
private let firstSignal = Atomic<Int32>(0)

/// SIGINT/SIGTERM for `warren dlq replay`: the first signal asks the replay to stop at a safe
/// point (a batch being confirmed is finished and acked, nothing unconfirmed is acked); a second
/// one exits at once, which is as safe as SIGKILL (an original is only acked after its copy was
/// confirmed, so at worst a message is in both queues).
enum DlqInterrupt {
    /// Installs the handlers. Call once, from the command's task, before the replay starts.
    static func install() {
        // Globals are initialised lazily (with a lock): make sure that never happens in a handler.
        _ = firstSignal.load(ordering: .relaxed)
        for number in [SIGINT, SIGTERM] {
            signal(number) { number in
                if !firstSignal.compareExchange(expected: 0, desired: number, ordering: .relaxed).exchanged {
                    _exit(128 + number)
                }
            }
        }
    }

    /// The first SIGINT or SIGTERM received since `install()`, if any. Safe from any thread.
    static var receivedSignal: Int32? {
        let number = firstSignal.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }
}
