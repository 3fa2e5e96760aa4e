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
    /// there before, as that action would have received it: an earlier handler (Swift's
    /// backtracer, another library's crash reporter) is called with the same `siginfo_t` and
    /// context; the default action is restored and the signal raised again, so the process ends
    /// with that signal, as without Warren.
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
            action.__sigaction_handler.sa_sigaction = { signal, info, context in
                LogOutput.crashed(by: signal, info: info, context: context)
            }
            sigemptyset(&action.sa_mask)
            // On the thread's alternate signal stack where it has one (Swift's backtracer sets
            // one up), as the handler we replace ran: a stack overflow still reaches it.
            action.sa_flags = SA_SIGINFO | SA_ONSTACK
            for signal in crashSignals {
                sigaction(signal, &action, CrashFlushState.previous + Int(signal))
            }
        }
    }

    /// The crash signals' handler (on the crashing thread): restores the previous action first,
    /// so that a fault in here goes to it, writes what is queued, then hands the signal on
    /// (see ``installCrashFlush()``).
    private static func crashed(by signal: Int32, info: UnsafeMutablePointer<siginfo_t>?, context: UnsafeMutableRawPointer?) {
        let previous = CrashFlushState.previous + Int(signal)
        sigaction(signal, previous, nil)
        if CrashFlushState.flushing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            alarm(crashFlushBudgetSeconds)
            standardOutput.writePendingOnCrash(waitingUpTo: Double(crashFlushBudgetSeconds) - 0.5)
            alarm(0)
        }
        if previous.pointee.sa_flags & SA_SIGINFO != 0, let handler = previous.pointee.__sigaction_handler.sa_sigaction {
            handler(signal, info, context)
        } else if let handler = previous.pointee.__sigaction_handler.sa_handler, unsafeBitCast(handler, to: Int.self) != 1 {
            // (SIG_DFL is a null pointer, SIG_IGN the address 1: neither can be called.)
            handler(signal)
        } else {
            // Blocked until this returns; then the restored action (the default) receives it.
            raise(signal)
            return
        }
        // The previous handler returned. A fault recurs when the faulting instruction runs
        // again, under whatever action that handler left. A signal sent by a process (`kill`,
        // `si_code` <= 0) does not, and Swift's backtracer returns from one: the process would
        // go on running after its backtrace. A crash signal ends the process: the default
        // action receives it once this returns.
        if (info?.pointee.si_code ?? 0) <= 0 {
            var defaultAction = sigaction()
            sigemptyset(&defaultAction.sa_mask)
            sigaction(signal, &defaultAction, nil)
            raise(signal)
        }
    }

    /// Writes the queued lines from the calling thread, once the writer has finished the batch
    /// it is writing (waiting for it up to `seconds`, in 1 ms naps), holding the lock meanwhile
    /// so that no line is queued or written until they are out. Gives up, writing nothing, when
    /// the lock stays taken or the writer stays busy that long (the crash happened while
    /// holding the lock, or on the writer thread itself). The output then goes on as before.
    ///
    /// Safe in a signal handler: no allocation, no blocking lock. Also a test's way in.
    func writePendingOnCrash(waitingUpTo seconds: Double) {
        var waited = 0.0
        let fd = fd
        while buffer.tryWithLock({ $0.writeForCrash { _ = Self.writeAll($0, to: fd) } }) != true {
            guard waited < seconds else { return }
            var nap = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&nap, nil)
            waited += 0.001
        }
    }
}
