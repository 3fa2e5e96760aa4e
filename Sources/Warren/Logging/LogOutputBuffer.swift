import Logging

/// What a ``LogOutput``'s callers and its writer thread share: the bytes waiting to be written
/// (at most `capacity`), the lines dropped because they did not fit, and batch counters that let
/// `flush` wait for exactly what was buffered when it was called.
///
/// Room depends on the line's level (``room(for:)``): `trace` and `debug` lines may fill half of
/// `capacity`, `info` and `notice` three quarters, `warning` and above all of it. A flood of
/// lines therefore crowds out only lines of its own level or below: a worker logging every ack
/// at `debug` faster than its reader takes them still gets its `worker.connection_lost` warning
/// and its `worker.connected` line through, which are what an operator looks for afterwards.
///
/// A plain value without I/O, so the drop and flush rules are testable without threads; the
/// output guards it with its lock.
struct LogOutputBuffer: Sendable {
    /// What ``append(_:)`` did with a line.
    enum Outcome: Equatable, Sendable {
        case accepted
        /// The line did not fit: it is counted, and reported with the next batch.
        case dropped
        /// The output was closed: the line is ignored, uncounted.
        case closed
    }

    /// The most bytes that may wait for the writer, not counting the batch it is writing.
    let capacity: Int
    private(set) var pending: [UInt8] = []
    /// Lines dropped since the writer last took a batch: the number its notice reports.
    private(set) var droppedSinceLastBatch = 0
    private(set) var droppedTotal = 0
    private(set) var batchesTaken = 0
    private(set) var batchesWritten = 0
    private(set) var isClosed = false

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Whether the writer has something to do: bytes to write or drops to report.
    var hasWork: Bool { !pending.isEmpty || droppedSinceLastBatch > 0 }

    /// The number ``batchesWritten`` must reach for everything appended so far to be out: the
    /// next batch if anything is waiting, else the one being written (if any).
    var flushTarget: Int { hasWork ? batchesTaken + 1 : batchesTaken }

    /// How many pending bytes, this line's included, a line of `level` may bring the buffer to.
    func room(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: capacity / 2
        case .info, .notice: capacity / 4 * 3
        case .warning, .error, .critical: capacity
        }
    }

    /// Appends a whole line of `level`, or drops it if it does not fit in that level's
    /// ``room(for:)``: never waits.
    mutating func append(_ line: String, level: Logger.Level = .critical) -> Outcome {
        var line = line
        return line.withUTF8 { append($0, level: level) }
    }

    /// The same, for a line's UTF-8 bytes.
    mutating func append(_ line: UnsafeBufferPointer<UInt8>, level: Logger.Level = .critical) -> Outcome {
        guard !isClosed else { return .closed }
        guard pending.count + line.count <= room(for: level) else {
            droppedSinceLastBatch += 1
            droppedTotal += 1
            return .dropped
        }
        pending.append(contentsOf: line)
        return .accepted
    }

    /// Hands everything pending to the writer by swapping it with `batch` (which must be empty,
    /// and whose capacity the buffer reuses).
    /// - Returns: the lines dropped since the previous batch, to be reported after this one.
    mutating func takeBatch(swappingWith batch: inout [UInt8]) -> Int {
        precondition(batch.isEmpty, "the writer must finish a batch before it takes the next")
        swap(&pending, &batch)
        let dropped = droppedSinceLastBatch
        droppedSinceLastBatch = 0
        batchesTaken += 1
        return dropped
    }

    /// Records that the batch last taken was written (or discarded after a write error).
    mutating func finishBatch() {
        precondition(batchesWritten < batchesTaken, "finishBatch without takeBatch")
        batchesWritten += 1
    }

    /// For a process about to die (a crash signal): passes what is pending to `write`, which
    /// writes it at once, and counts it as a batch taken and written. Refuses (returns false,
    /// changing nothing) while the writer is writing a batch: the pending lines come after
    /// that batch, and the caller waits for it rather than interleave with it.
    ///
    /// The buffer stays open (a process may survive the signal: another handler may return
    /// from it) and keeps its memory: the caller is a signal handler, so nothing is allocated
    /// or freed here.
    mutating func writeForCrash(_ write: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard batchesWritten == batchesTaken else { return false }
        pending.withUnsafeBytes(write)
        pending.removeAll(keepingCapacity: true)
        batchesTaken += 1
        batchesWritten += 1
        return true
    }

    /// Stops accepting lines; what is pending still gets written.
    mutating func close() {
        isClosed = true
    }
}
