import Foundation
import Logging
import Synchronization
import Testing
@testable import Warren

@Suite struct LogOutputTests {
    @Test func flushReturnsOnceTheReaderCanReadEveryLine() throws {
        let pipe = try LogTestPipe()
        defer { pipe.close() }
        let output = LogOutput(fd: pipe.writeEnd)
        defer { output.close() }
        for index in 0..<10 { output.write(#"{"n":\#(index)}"# + "\n") }
        #expect(output.flush(timeout: .seconds(5)))
        // No waiting: flush returned only after write(2) handed every byte to the pipe.
        let lines = pipe.readAvailable().split(separator: "\n")
        #expect(lines == (0..<10).map { #"{"n":\#($0)}"#[...] })
    }

    /// A burst of lines (a failing queue logs one per message) goes out in one batch: one
    /// wake-up of the writer and one write(2), not one per line. The second line comes well
    /// after the writer was woken by the first (which it would otherwise have written alone),
    /// and well within the gather delay (long here, for a loaded machine).
    @Test func linesRightBehindTheFirstShareItsBatch() throws {
        let pipe = try LogTestPipe()
        defer { pipe.close() }
        let output = LogOutput(fd: pipe.writeEnd, gatherDelay: .seconds(2))
        defer { output.close() }
        output.write("{\"n\":1}\n")
        Thread.sleep(forTimeInterval: 0.1)
        output.write("{\"n\":2}\n")
        #expect(output.flush(timeout: .seconds(10)))
        #expect(output.batchCount == 1)
        #expect(pipe.readAvailable().split(separator: "\n") == [#"{"n":1}"#, #"{"n":2}"#])
    }

    /// What a crash signal's handler does (`LogOutput.installCrashFlush`): the lines still
    /// waiting for the writer (a long gather delay holds them here) are written by the calling
    /// thread at once, in order; lines logged afterwards go out as before.
    @Test func aCrashWritesThePendingLinesFromTheCrashingThread() throws {
        let pipe = try LogTestPipe()
        defer { pipe.close() }
        let output = LogOutput(fd: pipe.writeEnd, gatherDelay: .seconds(30))
        defer { output.close() }
        output.write("{\"n\":1}\n")
        output.write("{\"n\":2}\n")
        #expect(pipe.readAvailable().isEmpty, "held by the gather delay")
        output.writePendingOnCrash(waitingUpTo: 5)
        #expect(pipe.readAvailable().split(separator: "\n") == [#"{"n":1}"#, #"{"n":2}"#])
        output.write("{\"n\":3}\n")
        output.close()
        #expect(pipe.readAvailable().split(separator: "\n") == [#"{"n":3}"#], "a process that survives the signal keeps logging")
    }

    /// A crash while the lock is held (here by this test, as by a thread that crashed inside
    /// `write`) gives up after its wait instead of hanging the dying process.
    @Test func aCrashGivesUpWhenTheLockStaysTaken() throws {
        let pipe = try LogTestPipe()
        defer { pipe.close() }
        let output = LogOutput(fd: pipe.writeEnd, gatherDelay: .seconds(30))
        defer { output.close() }
        output.write("{\"n\":1}\n")
        output.buffer.withLock { _ in output.writePendingOnCrash(waitingUpTo: 0.05) }
        #expect(pipe.readAvailable().isEmpty)
    }

    @Test func aStalledReaderMakesLinesDropInsteadOfBlockingAndTheDropIsReported() throws {
        let pipe = try LogTestPipe()
        defer { pipe.close() }
        // A full pipe from the start: the writer blocks on its first write(2), whatever the
        // relative speed of the threads.
        pipe.fill()
        let output = LogOutput(fd: pipe.writeEnd, capacity: 4096)
        defer { output.close() }
        let total = 2000  // 400 kB: far more than the buffer (4 kB) holds
        let padding = String(repeating: "x", count: 180)

        // If write blocked, this thread would never finish: wait for it with a deadline. (A
        // thread, not a task: the blocked tests around it may hold every cooperative thread.)
        let finished = DoneFlag()
        Thread {
            for index in 0..<total { output.write(#"{"n":\#(index),"pad":"\#(padding)"}"# + "\n") }
            finished.set()
        }.start()
        guard pollUntil(.seconds(20), { finished.isSet }) else {
            pipe.closeReadEnd()  // unblocks a blocked write(2) with EPIPE, so the test can end
            Issue.record("write blocked on a stalled reader")
            return
        }
        #expect(output.droppedLineCount > 0)
        #expect(output.flush(timeout: .milliseconds(100)) == false, "nobody reads: flush must time out")

        // The reader catches up: everything queued arrives, then the writer's own report.
        var text = ""
        let drained = pollUntil(.seconds(20)) {
            text += pipe.readAvailable()
            return output.flush(timeout: .milliseconds(10)) && text.contains(#""event":"log.dropped""#)
        }
        text += pipe.readAvailable()
        #expect(drained, "no log.dropped line after the reader drained: \(text.suffix(300))")

        let objects = try parseJSONLines(text)
        #expect(objects.count(where: { $0["filler"] != nil }) == pipe.fillerLines)
        let written = objects.filter { $0["n"] != nil }
        let notices = objects.filter { $0["event"] as? String == "log.dropped" }
        let reportedDrops = notices.compactMap { $0["dropped"] as? Int }.reduce(0, +)
        #expect(notices.allSatisfy { $0["level"] as? String == "warning" && $0["logger"] as? String == "warren.log" })
        #expect(reportedDrops == output.droppedLineCount)
        #expect(written.count + reportedDrops == total, "every line is either written whole or counted as dropped")
        let numbers = written.compactMap { $0["n"] as? Int }
        #expect(numbers == numbers.sorted(), "lines keep their order")
    }

    /// What an operator looks for after a flood of debug lines reaches the reader: both log
    /// handlers pass each line's level to the output, and a warning logged after the debug lines
    /// filled their share of a stalled output still gets through.
    @Test(arguments: ["json", "text"])
    func aWarningGetsThroughAFloodOfDebugLines(format: String) throws {
        let pipe = try LogTestPipe()
        defer { pipe.close() }
        pipe.fill()
        let output = LogOutput(fd: pipe.writeEnd, capacity: 8192)
        defer { output.close() }
        let handler: any LogHandler = format == "json"
            ? JSONLogHandler(label: "test", level: .debug, metadataProvider: nil, output: output)
            : TextLogHandler(label: "test", level: .debug, metadataProvider: nil, output: output)
        let logger = Logger(label: "test", factory: { _ in handler })
        for index in 0..<500 { logger.debug("acked \(index)", metadata: ["pad": "\(String(repeating: "z", count: 80))"]) }
        #expect(output.droppedLineCount > 0, "the debug lines overflowed their share")
        let dropsBefore = output.droppedLineCount
        // Longer than any debug line: it cannot slip into the gap they left.
        logger.warning("connection lost", metadata: ["pad": "\(String(repeating: "w", count: 200))"])
        #expect(output.droppedLineCount == dropsBefore, "the warning was kept")

        var text = ""
        let drained = pollUntil(.seconds(20)) {
            text += pipe.readAvailable()
            return output.flush(timeout: .milliseconds(10)) && text.contains("log.dropped")
        }
        text += pipe.readAvailable()
        #expect(drained)
        #expect(text.contains("connection lost"), "\(text.suffix(500))")
    }

    @Test func aNonBlockingDescriptorIsWaitedOnWithPollNotASpin() throws {
        let pipe = try LogTestPipe()
        defer { pipe.close() }
        let flags = fcntl(pipe.writeEnd, F_GETFL)
        #expect(fcntl(pipe.writeEnd, F_SETFL, flags | O_NONBLOCK) == 0)
        let output = LogOutput(fd: pipe.writeEnd, capacity: 1 << 20)
        defer { output.close() }
        let total = 1000  // 200 kB: the pipe fills up and write(2) says EAGAIN
        let padding = String(repeating: "y", count: 180)
        for index in 0..<total { output.write(#"{"n":\#(index),"pad":"\#(padding)"}"# + "\n") }

        // Let the writer hit the full pipe, then stall for a while: a spinning writer would
        // burn about as much CPU as the stall lasts.
        #expect(output.flush(timeout: .milliseconds(100)) == false)
        let before = try #require(output.writerCPUTime())
        Thread.sleep(forTimeInterval: 0.4)
        let after = try #require(output.writerCPUTime())
        #expect(after - before < .milliseconds(100), "writer used \(after - before) of CPU while the pipe was full")

        var text = ""
        let drained = pollUntil(.seconds(20)) {
            text += pipe.readAvailable()
            return output.flush(timeout: .milliseconds(10))
        }
        text += pipe.readAvailable()
        #expect(drained)
        let objects = try parseJSONLines(text)
        #expect(objects.count == total, "nothing lost, nothing torn")
        #expect(output.droppedLineCount == 0)
    }

    @Test func aVanishedReaderNeitherKillsTheProcessNorHangsTheWriter() throws {
        let pipe = try LogTestPipe()
        pipe.closeReadEnd()  // writes now fail with EPIPE (and raise SIGPIPE unless blocked)
        defer { pipe.close() }
        let output = LogOutput(fd: pipe.writeEnd)
        defer { output.close() }
        for index in 0..<100 { output.write(#"{"n":\#(index)}"# + "\n") }
        #expect(output.flush(timeout: .seconds(5)), "failed writes count as done")
        output.write("{\"after\":true}\n")
        #expect(output.flush(timeout: .seconds(5)))
    }

    @Test func closeWritesWhatIsQueuedThenIgnoresLaterLines() throws {
        let pipe = try LogTestPipe()
        defer { pipe.close() }
        let output = LogOutput(fd: pipe.writeEnd)
        for index in 0..<5 { output.write(#"{"n":\#(index)}"# + "\n") }
        output.close()
        output.write("{\"late\":true}\n")
        output.close()  // a second close does nothing
        #expect(output.flush(timeout: .zero))
        #expect(pipe.readAvailable().split(separator: "\n").count == 5)
        #expect(output.droppedLineCount == 0, "lines after close are ignored, not counted as drops")
    }

    @Test func theDroppedNoticeIsOneJSONLine() throws {
        let notice = LogOutput.droppedNotice(count: 42)
        #expect(notice.hasSuffix("}\n"))
        #expect(notice.dropLast().contains("\n") == false)
        let object = try #require(try parseJSONLines(notice).first)
        #expect(object["msg"] as? String == "log lines dropped: output too slow")
        #expect(object["dropped"] as? Int == 42)
        #expect((object["ts"] as? String)?.count == 24)
    }
}

// MARK: - Support shared by the log tests

private final class DoneFlag: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}

/// A pipe whose read end the test drains without blocking.
final class LogTestPipe {
    let readEnd: Int32
    let writeEnd: Int32
    private var readEndOpen = true

    init() throws {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        readEnd = fds[0]
        writeEnd = fds[1]
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
    }

    private(set) var fillerLines = 0

    /// Fills the pipe with `{"filler":true}` lines until it is full, leaving the write end
    /// blocking as it was. (Writes under PIPE_BUF bytes are all-or-nothing, so lines stay whole.)
    func fill() {
        let flags = fcntl(writeEnd, F_GETFL)
        _ = fcntl(writeEnd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(writeEnd, F_SETFL, flags) }
        var line = "{\"filler\":true}\n"
        while line.withUTF8({ Glibc.write(writeEnd, $0.baseAddress, $0.count) }) > 0 { fillerLines += 1 }
    }

    /// Everything readable right now.
    func readAvailable() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func closeReadEnd() {
        // Only once: a number closed twice may already belong to another test's descriptor.
        if readEndOpen { Glibc.close(readEnd) }
        readEndOpen = false
    }

    func close() {
        closeReadEnd()
        Glibc.close(writeEnd)
    }
}

/// A `LogOutput` writing to a temporary file, and what it wrote, line by line.
final class LogOutputCapture: Sendable {
    let output: LogOutput
    private let fd: Int32
    private let path: String

    init(capacity: Int = LogOutput.defaultCapacity) throws {
        var template = Array("/tmp/warren-log-test-XXXXXX".utf8CString)
        fd = mkstemp(&template)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        output = LogOutput(fd: fd, capacity: capacity)
    }

    deinit {
        output.close()
        close(fd)
        unlink(path)
    }

    /// Every line written so far (after waiting for the writer), without the newlines.
    func lines() -> [String] {
        #expect(output.flush(timeout: .seconds(10)), "the writer did not catch up")
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(bytes.count)) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.isEmpty || text.hasSuffix("\n"), "the last line is whole")
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}

/// Parses each line as a JSON object; throws on the first that is not one.
func parseJSONLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        guard let dictionary = object as? [String: Any] else {
            throw POSIXError(.EINVAL, userInfo: ["line": String(line)])
        }
        return dictionary
    }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passed.
func pollUntil(_ timeout: Duration, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return condition()
}
