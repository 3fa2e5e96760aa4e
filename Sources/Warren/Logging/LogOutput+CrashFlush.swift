import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a crash signal's handler needs, set up before the handler is installed and only read
/// after: the actions it replaced, by signal number, and which thread flushes.
private enum CrashFlushState {
    /// `sigaction`s as they were before `installCrashFlush`, indexed by signal number.
    nonisolated(unsafe) static let previous: UnsafeMutablePointer<sigaction> = {
        let actions = UnsafeMutablePointer<sigaction>.allocate(capacity: Int(NSIG))
        actions.initialize(repeating: sigaction(), count: Int(NSIG))
        return actions
    }()
    /// Set by the first crashing thread: two threads crashing at once flush once.
    static let flushing = Atomic<Bool>(false)
    static let installed = Mutex(false)
}

extension LogOutput {
    /// The signals a crash ends the process with: a Swift runtime trap (`fatalError`, a failed
    /// `precondition`, a forced unwrap of nil, an overflow: `SIGILL` on x86-64, `SIGTRAP` on
    /// arm64), `abort()`, and the memory faults.
    static let crashSignals: [Int32] = [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE]

    /// How long a crashing process may spend writing the queued lines before it dies anyway
    /// (a reader that stopped reading must not keep a crashed replica alive).
    static let crashFlushBudgetSeconds: UInt32 = 2

    /// Installs, once, a handler for the ``crashSignals`` that writes ``standardOutput``'s
    /// queued lines before the process dies, then hands the signal on to the action that was
    /// there before: the default one (the process ends with that signal, as without Warren), or
    /// one installed earlier (Swift's backtracer, another library's crash reporter).
    ///
    /// Why: lines are written by the writer thread about a millisecond after they are logged
    /// (``defaultGatherDelay``), so without this a crash lost the very lines an operator needs to
    /// see what the process was doing (the handler's last line, the message it was on).
    ///
    /// The handler runs on the crashing thread and stays within what a signal handler may do:
    /// no allocation, no lock it could wait on (``ConditionLock/tryWithLock(_:)`` only, retried
    /// with `nanosleep` while the writer finishes its batch), and `write(2)`. It is bounded by
    /// `alarm(2)` at ``crashFlushBudgetSeconds``: if stdout's reader stopped reading, the
    /// process dies of `SIGALRM` instead of hanging. A crash inside the handler goes straight to
    /// the previous action. A count of lines dropped since the last batch is not reported on
    /// this path (formatting its notice would allocate).
    static func installCrashFlush() {
        CrashFlushState.installed.withLock { installed in
            guard !installed else { return }
            installed = true
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in LogOutput.crashed(by: signal) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            for signal in crashSignals {
                sigaction(signal, &action, CrashFlushState.previous + Int(signal))
            }
        }
    }

    /// The crash signals' handler (on the crashing thread): restores the previous action first,
    /// so that a fault in here goes to it, writes what is queued, and re-raises the signal; it
    /// is blocked until this returns, and then the previous action receives it. A synchronous
    /// fault would also recur when the faulting instruction runs again, under the same action.
    private static func crashed(by signal: Int32) {
        sigaction(signal, CrashFlushState.previous + Int(signal), nil)
        if CrashFlushState.flushing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            alarm(crashFlushBudgetSeconds)
            standardOutput.writePendingOnCrash(waitingUpTo: Double(crashFlushBudgetSeconds) - 0.5)
            alarm(0)
        }
        raise(signal)
    }

    /// Writes the queued lines from the calling thread, once the writer has finished the batch
    /// it is writing (waiting for it up to `seconds`, in 1 ms naps), and closes the output.
    /// Gives up, writing nothing, when the lock stays taken or the writer stays busy that long
    /// (the crash happened while holding the lock, or on the writer thread itself).
    ///
    /// Safe in a signal handler: no allocation, no blocking lock. Also a test's way in.
    func writePendingOnCrash(waitingUpTo seconds: Double) {
        var taken: [UInt8] = []
        var waited = 0.0
        while buffer.tryWithLock({ $0.takeForCrash(into: &taken) }) != true {
            guard waited < seconds else { return }
            var nap = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&nap, nil)
            waited += 0.001
        }
        taken.withUnsafeBytes { _ = Self.writeAll($0, to: fd) }
    }
}
