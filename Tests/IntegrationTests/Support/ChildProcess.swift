import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a child process ended.
enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// Collects everything a child writes to one pipe, on a dedicated thread (never on Swift's
/// cooperative pool, where a blocking `read` would starve the tests' own tasks).
final class PipeCollector: Sendable {
    private struct State {
        var data = Data()
        var lineStart = 0
        var finished = false
    }

    private let state = Mutex(State())
    private let onLine: (@Sendable (String) -> Void)?

    /// Starts reading `fd` until end of file; closes it then.
    /// - Parameter onLine: called on the reader thread with each complete line (without its newline).
    init(fd: Int32, onLine: (@Sendable (String) -> Void)? = nil) {
        self.onLine = onLine
        let thread = Thread { [self] in self.readLoop(fd: fd) }
        thread.name = "it-pipe-reader"
        thread.start()
    }

    private func readLoop(fd: Int32) {
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 1)
        defer {
            buffer.deallocate()
            close(fd)
        }
        while true {
            let n = read(fd, buffer, bufferSize)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            let lines: [String] = state.withLock { state in
                state.data.append(buffer.assumingMemoryBound(to: UInt8.self), count: n)
                guard onLine != nil else { return [] }
                var lines: [String] = []
                let newline = UInt8(ascii: "\n")
                while let end = state.data[state.lineStart...].firstIndex(of: newline) {
                    lines.append(String(decoding: state.data[state.lineStart..<end], as: UTF8.self))
                    state.lineStart = end + 1
                }
                return lines
            }
            for line in lines { onLine?(line) }
        }
        let rest: String? = state.withLock { state in
            guard onLine != nil, state.lineStart < state.data.count else { return nil }
            return String(decoding: state.data[state.lineStart...], as: UTF8.self)
        }
        // A last line without a newline still counts; deliver it before `isFinished` turns true.
        if let rest { onLine?(rest) }
        state.withLock { $0.finished = true }
    }

    /// Everything read so far.
    var text: String { state.withLock { String(decoding: $0.data, as: UTF8.self) } }

    /// True once the writer side is closed by every process that held it.
    var isFinished: Bool { state.withLock { $0.finished } }

    /// Waits until the writer side is closed by every process that held it and every line has
    /// been delivered, so `text` (and what `onLine` collected) is the whole output.
    /// - Throws: `UnclosedPipeError` if it is still open after `timeout` (a process the child
    ///   started still holds it): what was read so far may be truncated, and a test must not
    ///   treat it as all the output.
    func waitUntilFinished(timeout: Duration, _ what: String) async throws {
        do {
            try await poll(timeout: timeout, interval: .milliseconds(5), "\(what) to close") { self.isFinished }
        } catch is TimeoutError {
            throw UnclosedPipeError(description: "\(what) still open \(timeout) after the process exited: a process it "
                + "started still holds it, so the output read so far may be truncated")
        }
    }
}

/// A child's output pipe stayed open after the child exited (see `PipeCollector.waitUntilFinished`).
struct UnclosedPipeError: Error, CustomStringConvertible {
    let description: String
}

/// A running child process with captured stdout and stderr.
///
/// Spawned with `posix_spawn` rather than Foundation's `Process`: `Process` passes on the
/// calling thread's signal mask, and Swift's cooperative and Dispatch threads block nearly every
/// signal, so a child started from a test could never see SIGTERM or SIGINT. Here every child
/// starts the way a shell would start it: no blocked signals, default signal dispositions.
final class ChildProcess: Sendable {
    let pid: pid_t
    let stdout: PipeCollector
    let stderr: PipeCollector
    let commandLine: String
    private let exitStatus = Mutex<Termination?>(nil)

    /// Launches `executable` with `arguments`.
    /// - Parameters:
    ///   - executable: a path, or a name looked up on `PATH`.
    ///   - environment: added to (and overriding) this process's environment.
    ///   - removingEnvironment: a predicate on inherited variable names to drop.
    ///   - stdin: bytes written to the child's standard input, which is then closed
    ///     (nil: `/dev/null`).
    ///   - onStdoutLine: called with each line of stdout as it arrives, on a reader thread.
    init(
        executable: String,
        arguments: [String],
        environment: [String: String] = [:],
        removingEnvironment: (String) -> Bool = { _ in false },
        stdin: Data? = nil,
        onStdoutLine: (@Sendable (String) -> Void)? = nil
    ) throws {
        var env = ProcessInfo.processInfo.environment.filter { !removingEnvironment($0.key) }
        env.merge(environment) { _, new in new }
        commandLine = ([executable] + arguments).joined(separator: " ")

        // Every descriptor we create is close-on-exec; dup2 in the child clears it on 0, 1 and 2.
        let outPipe = try makePipe()
        let errPipe = try makePipe()
        let inPipe = try stdin.map { _ in try makePipe() }
        var childEnds = [outPipe.write, errPipe.write]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let inPipe {
            posix_spawn_file_actions_adddup2(&actions, inPipe.read, 0)
            childEnds.append(inPipe.read)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe.write, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        sigdelset(&allSignals, SIGKILL)
        sigdelset(&allSignals, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc =
            executable.contains("/")
            ? posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            : posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        // Our copies of the child's ends must go, or the readers never see end of file.
        childEnds.forEach { close($0) }
        guard rc == 0 else {
            [outPipe.read, errPipe.read, inPipe?.write].compactMap { $0 }.forEach { close($0) }
            throw SetupError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        self.stdout = PipeCollector(fd: outPipe.read, onLine: onStdoutLine)
        self.stderr = PipeCollector(fd: errPipe.read)
        if let stdin, let inPipe {
            // A failed write means the child did not get its input: say so rather than let the
            // test run on with a child that saw part of it.
            let writer = FileHandle(fileDescriptor: inPipe.write, closeOnDealloc: true)
            do {
                try writer.write(contentsOf: stdin)
                try writer.close()
            } catch {
                throw SetupError("cannot write stdin of \(commandLine): \(error)")
            }
        }
    }

    /// True until the process has exited (and been reaped).
    var isRunning: Bool { termination == nil }

    /// How the process ended, or nil while it runs.
    var termination: Termination? {
        exitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (they are macros).
            let signal = raw & 0x7f
            status = signal == 0 ? .exited((raw >> 8) & 0xff) : .signaled(signal)
            return status
        }
    }

    /// Sends `signal` if the process has not been reaped (so the pid cannot have been reused).
    func send(_ signal: Int32) {
        exitStatus.withLock { status in
            if status == nil { _ = kill(pid, signal) }
        }
    }

    /// SIGKILL if still running: for `defer` blocks, so no child outlives its test.
    func forceStop() {
        send(SIGKILL)
    }

    /// Waits for the process to end and for its output pipes to close, so `stdout` and
    /// `stderr` hold all of its output.
    /// - Throws: `TimeoutError` (after killing the process) if it runs longer than `timeout`;
    ///   `UnclosedPipeError` if a pipe is still open 5 s after the exit (the output may be truncated).
    @discardableResult
    func waitForExit(timeout: Duration) async throws -> Termination {
        do {
            try await poll(timeout: timeout, interval: .milliseconds(20), "`\(commandLine)` to exit") {
                !self.isRunning
            }
        } catch {
            forceStop()
            throw error
        }
        // A grandchild that inherited the pipes could hold them open: don't wait for it long,
        // but never return as if the output were complete. 5 s: the reader threads need only
        // to be scheduled once on a loaded machine.
        try await stdout.waitUntilFinished(timeout: .seconds(5), "stdout of `\(commandLine)`")
        try await stderr.waitUntilFinished(timeout: .seconds(5), "stderr of `\(commandLine)`")
        return termination!
    }

    deinit {
        // Reap it if it was killed but never waited for, so no zombie is left behind.
        if termination == nil {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
        }
    }
}

private func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    // pipe2(O_CLOEXEC) is not in Swift's Glibc module. Between pipe() and fcntl() a child spawned
    // by another thread could inherit these ends; the suite starts children one test at a time.
    guard pipe(&fds) == 0 else {
        throw SetupError("pipe failed: \(String(cString: strerror(errno)))")
    }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (fds[0], fds[1])
}

/// The result of running a short-lived tool to completion.
struct ToolResult: Sendable, CustomStringConvertible {
    let commandLine: String
    let termination: Termination
    let stdout: String
    let stderr: String

    var succeeded: Bool { termination == .exited(0) }
    var output: String { stdout + stderr }

    var description: String {
        "`\(commandLine)` \(termination)\n--- stdout ---\n\(stdout.suffix(4000))\n--- stderr ---\n\(stderr.suffix(4000))"
    }
}

/// Runs a tool to completion with a deadline.
/// - Parameter executable: a path, or a name looked up on `PATH`.
/// - Throws: `TimeoutError` if it runs longer than `timeout` (it is killed first).
func runTool(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String] = [:],
    removingEnvironment: (String) -> Bool = { _ in false },
    stdin: Data? = nil,
    timeout: Duration = .seconds(60)
) async throws -> ToolResult {
    let child = try ChildProcess(
        executable: executable, arguments: arguments, environment: environment,
        removingEnvironment: removingEnvironment, stdin: stdin)
    defer { child.forceStop() }
    let termination = try await child.waitForExit(timeout: timeout)
    return ToolResult(
        commandLine: child.commandLine, termination: termination,
        stdout: child.stdout.text, stderr: child.stderr.text)
}

/// Like `runTool`, but throws unless the tool exits 0.
@discardableResult
func runToolChecked(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String] = [:],
    removingEnvironment: (String) -> Bool = { _ in false },
    stdin: Data? = nil,
    timeout: Duration = .seconds(60)
) async throws -> ToolResult {
    let result = try await runTool(
        executable, arguments, environment: environment, removingEnvironment: removingEnvironment,
        stdin: stdin, timeout: timeout)
    guard result.succeeded else { throw ToolFailure(result: result) }
    return result
}

struct ToolFailure: Error, CustomStringConvertible {
    let result: ToolResult
    var description: String { "tool failed: \(result)" }
}
