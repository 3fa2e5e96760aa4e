import Logging
import Metrics
#if canImport(Glibc)
import Glibc
#endif

/// Where log lines go: a bounded in-memory buffer that one dedicated writer thread drains with
/// `write(2)`, so logging never blocks the caller, even when the descriptor is a pipe whose
/// reader (a log shipper) stalled.
///
/// - Lines are appended whole and written in order by a single thread: they never interleave.
/// - When a line does not fit in the buffer (`capacity` bytes, 4 MiB by default, of which
///   `debug` lines may fill half and `info` lines three quarters, so that a flood crowds out only
///   lines of its level or below: see `LogOutputBuffer`; the batch being
///   written is held apart, so up to twice that is in memory) it is dropped, counted in the
///   swift-metrics counter `warren_log_lines_dropped_total`, and once the writer catches up it
///   adds one line of its own:
///   `{"ts":…,"level":"warning","logger":"warren.log","msg":"log lines dropped: output too slow","event":"log.dropped","dropped":N}`.
///   That line is JSON whatever the handlers' format: the output only sees bytes, and one
///   machine-readable shape is what a log pipeline can alert on.
/// - Write errors: `EINTR` is retried; `EAGAIN` (someone made the descriptor non-blocking) waits
///   in `poll`; any other error (`EPIPE`: the reader is gone) discards the rest of the batch.
///   The writer thread blocks `SIGPIPE` for itself, so a vanished reader yields `EPIPE` instead
///   of killing the process.
///
/// - Important: ``write(_:)`` may be called from any thread, including ones that must never
///   block (an AMQP connection's owner thread): it only copies the bytes under a short lock.
///   ``flush(timeout:)`` and ``close()`` block their caller.
final class LogOutput: Sendable {
    /// Standard output. Its first use starts the writer thread and registers an `atexit` handler
    /// that flushes for up to 2 seconds, so `exit()` (ArgumentParser's `ExitCode`, the end of
    /// `main`) keeps the last lines, and a crash handler that writes them on a crash signal
    /// (``installCrashFlush()``); only `SIGKILL` (an out-of-memory kill) can still lose what
    /// was queued.
    static let standardOutput: LogOutput = {
        let output = LogOutput(fd: STDOUT_FILENO)
        atexit { _ = LogOutput.standardOutput.flush(timeout: .seconds(2)) }
        installCrashFlush()
        return output
    }()

    static let defaultCapacity = 4 * 1024 * 1024

    /// Created on the first drop rather than per output, so a metrics backend bootstrapped after
    /// logging started still receives it.
    private static let droppedLinesCounter = Counter(label: "warren_log_lines_dropped_total")

    let fd: Int32
    /// Internal for the crash handler (`writePendingOnCrash`), which takes the lines itself.
    let buffer: ConditionLock<LogOutputBuffer>
    /// Nil when no thread could be started: lines are then written inline, under the lock.
    private let writerThread: pthread_t?

    /// How long the writer, woken by a line, lets the lines right behind it gather before it
    /// takes them: a failing queue logs a line per message, thousands a second, and a wake-up
    /// and a `write(2)` per line cost a failed message more CPU than formatting its line (two
    /// context switches each). A millisecond later, one wake-up and one write carry them all.
    static let defaultGatherDelay: Duration = .milliseconds(1)

    /// Starts the writer thread for `fd`, which the caller keeps owning (``close()`` does not
    /// close it). `gatherDelay`: see ``defaultGatherDelay``.
    init(fd: Int32, capacity: Int = LogOutput.defaultCapacity, gatherDelay: Duration = LogOutput.defaultGatherDelay) {
        self.fd = fd
        let buffer = ConditionLock(LogOutputBuffer(capacity: capacity))
        self.buffer = buffer
        writerThread = LogWriterThread.start { Self.runWriter(buffer, fd: fd, gatherDelay: gatherDelay) }
    }

    deinit {
        // Without `close()` the writer still finishes what is pending, then exits on its own.
        if let writerThread, stop() { pthread_detach(writerThread) }
    }

    /// Queues one whole line (ending in a newline) logged at `level`, or drops it if the buffer
    /// has no room left for that level.
    func write(_ line: String, level: Logger.Level = .critical) {
        var line = line
        line.withUTF8 { write($0, level: level) }
    }

    /// Queues one whole line of UTF-8 bytes (ending in a newline), or drops it if the buffer has
    /// no room left for `level`: the same, for a line built as bytes (`JSONLogHandler`).
    func write(_ line: UnsafeBufferPointer<UInt8>, level: Logger.Level = .critical) {
        guard writerThread != nil else {
            buffer.withLock { _ in _ = Self.writeAll(UnsafeRawBufferPointer(line), to: fd) }
            return
        }
        let (outcome, writerMayBeWaiting) = buffer.withLock { state in
            let idle = !state.hasWork
            return (state.append(line, level: level), idle)
        }
        if outcome != .closed, writerMayBeWaiting { buffer.broadcast() }
        if outcome == .dropped { Self.droppedLinesCounter.increment() }
    }

    /// Waits until every line queued before this call was handed to `write(2)` (or discarded
    /// because the descriptor failed), or until `timeout` passed.
    /// - Returns: `true` when everything was written, `false` on timeout.
    func flush(timeout: Duration) -> Bool {
        let target = buffer.withLock { $0.flushTarget }
        return buffer.withLock(waitingWhile: { $0.batchesWritten < target }, timeout: timeout) {
            $0.batchesWritten >= target
        }
    }

    /// Stops accepting lines, lets the writer write what is queued, and waits for its thread to
    /// end. Blocks as long as the descriptor does not take the bytes. Later calls do nothing.
    func close() {
        if let writerThread, stop() { pthread_join(writerThread, nil) }
    }

    /// Batches the writer took so far (tests check that lines in a burst share one).
    var batchCount: Int { buffer.withLock { $0.batchesTaken } }

    /// Lines dropped so far because the buffer was full.
    var droppedLineCount: Int { buffer.withLock { $0.droppedTotal } }

    /// CPU time the writer thread has used so far (tests check that it does not spin).
    func writerCPUTime() -> Duration? {
        guard let writerThread else { return nil }
        var clock = clockid_t()
        var used = timespec()
        guard pthread_getcpuclockid(writerThread, &clock) == 0, clock_gettime(clock, &used) == 0 else { return nil }
        return .seconds(used.tv_sec) + .nanoseconds(used.tv_nsec)
    }

    /// Marks the buffer closed and wakes the writer. Returns false if it was already closed.
    private func stop() -> Bool {
        let wasOpen = buffer.withLock { state in
            defer { state.close() }
            return !state.isClosed
        }
        buffer.broadcast()
        return wasOpen
    }

    /// The writer thread's loop: take everything queued (after `gatherDelay`), write it, report
    /// drops, repeat; sleep while there is nothing to do, end once closed and empty.
    private static func runWriter(_ buffer: ConditionLock<LogOutputBuffer>, fd: Int32, gatherDelay: Duration) {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)

        var batch: [UInt8] = []
        while true {
            let closed = buffer.withLock(waitingWhile: { !$0.hasWork && !$0.isClosed }) { $0.isClosed }
            if !closed, gatherDelay > .zero {
                // Writers do not signal while lines are pending: only `close()` cuts this short.
                buffer.withLock(waitingWhile: { !$0.isClosed }, timeout: gatherDelay) { _ in }
            }
            let dropped: Int? = buffer.withLock { state in
                state.hasWork ? state.takeBatch(swappingWith: &batch) : nil
            }
            guard let dropped else { return }
            batch.withUnsafeBytes { _ = writeAll($0, to: fd) }
            if dropped > 0 {
                var notice = droppedNotice(count: dropped)
                _ = notice.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: fd) }
            }
            // Keep a modest batch's capacity for the next swap; give a burst's memory back.
            if batch.capacity > 1 << 20 { batch = [] } else { batch.removeAll(keepingCapacity: true) }
            buffer.withLock { $0.finishBatch() }
            buffer.broadcast()
        }
    }

    static func droppedNotice(count: Int) -> String {
        "{\"ts\":\"\(UTCTimestamp.now())\",\"level\":\"warning\",\"logger\":\"warren.log\","
            + "\"msg\":\"log lines dropped: output too slow\",\"event\":\"log.dropped\",\"dropped\":\(count)}\n"
    }
}
