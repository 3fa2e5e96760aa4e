import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of `warren`'s stdout: a JSON object per line (`ts`, `level`, `logger`, `msg`,
/// metadata such as `event`, `message_id`, …), or raw text if it does not parse.
struct LogLine: Sendable, CustomStringConvertible {
    let raw: String
    /// Top-level fields, values rendered as strings (numbers and booleans by their JSON text);
    /// nil when the line is not a JSON object.
    let fields: [String: String]?

    init(_ raw: String) {
        self.raw = raw
        let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(raw.utf8))
        fields = object?.mapValues(\.text)
    }

    subscript(key: String) -> String? { fields?[key] }
    var event: String? { self["event"] }
    var description: String { raw }
}

/// Any JSON value, decoded only to be shown as text.
private indirect enum JSONValue: Decodable {
    case string(String), bool(Bool), int(Int64), double(Double), null
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// A string as itself; anything else as its JSON text.
    var text: String {
        switch self {
        case .string(let value): value
        case .bool(let value): value ? "true" : "false"
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .null: "null"
        case .array(let values): "[" + values.map(\.json).joined(separator: ",") + "]"
        case .object(let fields):
            "{" + fields.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\($0.value.json)" }.joined(separator: ",") + "}"
        }
    }

    private var json: String {
        if case .string(let value) = self { return quoted(value) }
        return text
    }

    private func quoted(_ string: String) -> String {
        let data = try? JSONEncoder().encode(string)
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\(string)\""
    }
}

/// The `warren` executable running as a child of the test, with its stdout parsed line by line.
///
///     let worker = try WarrenProcess.launch(env, ["worker", "--queue", queue])
///     defer { worker.forceStop() }
///     try await worker.waitForEvent("worker.consuming")
///
/// Inherited `WARREN_*` variables are removed so only what a test passes reaches the child.
final class WarrenProcess: Sendable {
    let child: ChildProcess
    private let log: LogLines

    private init(child: ChildProcess, log: LogLines) {
        self.child = child
        self.log = log
    }

    static func launch(
        _ test: TestEnvironment,
        _ arguments: [String],
        environment: [String: String] = [:],
        executable: String? = nil
    ) throws -> WarrenProcess {
        let log = LogLines()
        var arguments = arguments
        // Workers run side by side in tests: unless a test picks the health port, let the
        // kernel pick a free one (it is logged as `http.listening`).
        if arguments.first == "worker", !arguments.contains("--http-port"), environment["WARREN_HTTP_PORT"] == nil {
            arguments += ["--http-port", "0"]
        }
        let child = try ChildProcess(
            executable: executable ?? test.warrenBinary,
            arguments: arguments,
            environment: environment,
            removingEnvironment: { $0.hasPrefix("WARREN_") },
            onStdoutLine: { log.append(LogLine($0)) }
        )
        return WarrenProcess(child: child, log: log)
    }

    /// All stdout lines so far.
    var lines: [LogLine] { log.snapshot }
    /// Lines whose `event` field is `event`.
    func events(_ event: String) -> [LogLine] { lines.filter { $0.event == event } }
    var stderrText: String { child.stderr.text }
    var isRunning: Bool { child.isRunning }
    var termination: Termination? { child.termination }

    /// Every line of output, stdout and stderr, as raw text.
    var allOutputLines: [String] {
        lines.map(\.raw) + stderrText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The last lines of output, for failure messages.
    var transcript: String {
        let tail = lines.suffix(25).map(\.raw).joined(separator: "\n")
        return """
            `\(child.commandLine)` (\(termination.map(\.description) ?? "running"))
            --- last stdout lines ---
            \(tail)
            --- stderr ---
            \(stderrText.suffix(3000))
            """
    }

    /// Waits until a line satisfying `predicate` has been logged, and returns the first such line.
    /// - Throws: if the deadline passes or the process exits first, with the transcript.
    @discardableResult
    func waitForLine(
        timeout: Duration = .seconds(20),
        _ what: @autoclosure () -> String,
        where predicate: @escaping (LogLine) -> Bool
    ) async throws -> LogLine {
        try await pollValue(timeout: timeout, what(), lastSeen: { self.transcript }) {
            if let line = self.lines.first(where: predicate) { return line }
            if !self.child.isRunning {
                // It may have printed the line just before exiting.
                _ = try? await poll(timeout: .seconds(2), "stdout to close") { self.child.stdout.isFinished }
                if let line = self.lines.first(where: predicate) { return line }
                throw TimeoutError(description: "warren exited before logging \(what()):\n\(self.transcript)")
            }
            return nil
        }
    }

    /// Waits for the first line with `"event": event`.
    @discardableResult
    func waitForEvent(_ event: String, timeout: Duration = .seconds(20)) async throws -> LogLine {
        try await waitForLine(timeout: timeout, "event \(event)") { $0.event == event }
    }

    func send(_ signal: Int32) { child.send(signal) }

    /// SIGKILL if still running: call it from `defer` so no worker outlives its test.
    func forceStop() { child.forceStop() }

    /// Waits for the process to exit (and its output to be read to the end).
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Termination {
        do {
            return try await child.waitForExit(timeout: timeout)
        } catch {
            throw TimeoutError(description: "\(error)\n\(transcript)")
        }
    }
}

/// The parsed stdout lines, appended by the pipe's reader thread.
private final class LogLines: Sendable {
    private let lines = Mutex<[LogLine]>([])
    func append(_ line: LogLine) { lines.withLock { $0.append(line) } }
    var snapshot: [LogLine] { lines.withLock { $0 } }
}
