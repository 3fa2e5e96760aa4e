import Logging
import Testing
@testable import Warren

@Suite struct LogOutputBufferTests {
    @Test func linesThatDoNotFitAreDroppedWholeAndCounted() {
        var buffer = LogOutputBuffer(capacity: 10)
        #expect(buffer.append("12345\n") == .accepted)
        #expect(buffer.append("1234\n") == .dropped, "6 + 5 bytes exceed 10")
        #expect(buffer.append("123\n") == .accepted, "6 + 4 bytes fit exactly")
        #expect(buffer.append("\n") == .dropped)
        #expect(buffer.pending == Array("12345\n123\n".utf8))
        #expect(buffer.droppedTotal == 2)
    }

    /// A flood of debug lines fills half the buffer; info lines still fit up to three quarters,
    /// warnings up to all of it: a flood crowds out only lines of its level or below.
    @Test func lowerLevelsLeaveRoomForHigherOnes() {
        var buffer = LogOutputBuffer(capacity: 100)
        let line = String(repeating: "d", count: 9) + "\n"  // 10 bytes
        var accepted = 0
        while buffer.append(line, level: .debug) == .accepted { accepted += 1 }
        #expect(accepted == 5, "debug lines stop at half")
        #expect(buffer.append(line, level: .trace) == .dropped)
        #expect(buffer.append(line, level: .info) == .accepted)
        #expect(buffer.append(line, level: .notice) == .accepted)
        #expect(buffer.append(String(repeating: "i", count: 5) + "\n", level: .info) == .dropped, "76 > 75")
        #expect(buffer.append(line, level: .warning) == .accepted)
        #expect(buffer.append(line, level: .error) == .accepted)
        #expect(buffer.append(line, level: .critical) == .accepted)
        #expect(buffer.append(line, level: .critical) == .dropped, "full")
        #expect(buffer.pending.count == 100)
        #expect(buffer.droppedTotal == 4)
    }

    @Test func aBatchTakesEverythingAndTheDropsSinceTheLastOne() {
        var buffer = LogOutputBuffer(capacity: 4)
        #expect(buffer.append("ab\n") == .accepted)
        #expect(buffer.append("cd\n") == .dropped)
        var batch: [UInt8] = []
        #expect(buffer.takeBatch(swappingWith: &batch) == 1)
        #expect(batch == Array("ab\n".utf8))
        #expect(buffer.pending.isEmpty && !buffer.hasWork)
        #expect(buffer.append("ef\n") == .accepted, "room again while the batch is written")
        batch.removeAll()
        #expect(buffer.takeBatch(swappingWith: &batch) == 0, "drops are reported once")
        #expect(buffer.droppedTotal == 1)
    }

    @Test func aDropAloneIsWorkForTheWriter() {
        var buffer = LogOutputBuffer(capacity: 2)
        #expect(!buffer.hasWork)
        #expect(buffer.append("too long\n") == .dropped)
        #expect(buffer.hasWork, "the writer must wake up to report it")
    }

    @Test func flushWaitsForTheBatchThatHoldsWhatWasPending() {
        var buffer = LogOutputBuffer(capacity: 100)
        #expect(buffer.flushTarget == 0, "nothing written, nothing pending")
        _ = buffer.append("a\n")
        #expect(buffer.flushTarget == 1)
        var batch: [UInt8] = []
        _ = buffer.takeBatch(swappingWith: &batch)
        #expect(buffer.flushTarget == 1, "the batch in flight")
        _ = buffer.append("b\n")
        #expect(buffer.flushTarget == 2)
        buffer.finishBatch()
        #expect(buffer.batchesWritten == 1 && buffer.flushTarget == 2)
    }

    @Test func closedBuffersIgnoreLines() {
        var buffer = LogOutputBuffer(capacity: 100)
        buffer.close()
        #expect(buffer.append("a\n") == .closed)
        #expect(!buffer.hasWork && buffer.droppedTotal == 0)
    }

    /// A crash writes what is pending only between batches, so its lines never interleave with
    /// (or overtake) the batch the writer is writing; it counts as a batch, and the buffer stays
    /// open for a process that survives the signal.
    @Test func aCrashWritesThePendingLinesOnlyBetweenBatches() {
        var buffer = LogOutputBuffer(capacity: 100)
        _ = buffer.append("a\n")
        var batch: [UInt8] = []
        _ = buffer.takeBatch(swappingWith: &batch)
        _ = buffer.append("b\n")
        var written: [UInt8] = []
        let wroteDuringBatch = buffer.writeForCrash { written += $0 }
        #expect(!wroteDuringBatch, "the writer is writing a batch")
        #expect(written.isEmpty && buffer.pending == Array("b\n".utf8))
        buffer.finishBatch()
        let wroteAfterBatch = buffer.writeForCrash { written += $0 }
        #expect(wroteAfterBatch)
        #expect(written == Array("b\n".utf8))
        #expect(!buffer.hasWork && buffer.flushTarget == buffer.batchesWritten, "a flush waits for nothing more")
        #expect(buffer.append("c\n") == .accepted && !buffer.isClosed)
    }
}
