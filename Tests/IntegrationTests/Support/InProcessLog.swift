import Logging
import Synchronization

/// One log record captured in memory by `InProcessLog`, its metadata flattened to text.
struct InProcessLogRecord: Sendable, CustomStringConvertible {
    let level: Logger.Level
    let message: String
    let metadata: [String: String]

    /// The `event` field Warren puts on its lines, e.g. `message.dead_lettered`.
    var event: String? { metadata["event"] }

    subscript(key: String) -> String? { metadata[key] }

    var description: String {
        let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "[\(level)] \(message) \(fields)"
    }
}

/// Captures what in-process Warren services log, so tests can assert on events and metadata
/// without parsing a child process's stdout.
///
/// ```swift
/// let log = InProcessLog()
/// let consumer = WarrenConsumer(configuration: …, connection: …, handler: …, logger: log.logger())
/// …
/// let dead = try await log.waitFor("message.dead_lettered", count: 2)
/// ```
///
/// - Important: Thread-safe: handlers and connection threads log concurrently.
final class InProcessLog: Sendable {
    private let records = Mutex<[InProcessLogRecord]>([])

    init() {}

    /// A logger writing into this capture (debug and up, so `message.acked` is captured too).
    func logger(label: String = "warren", level: Logger.Level = .debug) -> Logger {
        Logger(label: label) { _ in InProcessLogHandler(sink: self, logLevel: level) }
    }

    func append(_ record: InProcessLogRecord) {
        records.withLock { $0.append(record) }
    }

    var all: [InProcessLogRecord] { records.withLock { $0 } }

    /// Every record whose `event` is `name`, in logging order.
    func events(_ name: String) -> [InProcessLogRecord] {
        all.filter { $0.event == name }
    }

    /// Every record logged with `message_id` equal to `id`.
    func records(messageID id: String) -> [InProcessLogRecord] {
        all.filter { $0["message_id"] == id }
    }

    /// Waits until at least `count` records of event `name` satisfying `condition` were logged,
    /// and returns them.
    @discardableResult
    func waitFor(
        _ name: String, count: Int = 1, timeout: Duration = .seconds(10),
        where condition: @escaping @Sendable (InProcessLogRecord) -> Bool = { _ in true }
    ) async throws -> [InProcessLogRecord] {
        try await pollValue(timeout: timeout, interval: .milliseconds(20), "\(count) \(name) record(s)", lastSeen: { self.transcript }) {
            let matching = self.events(name).filter(condition)
            return matching.count >= count ? matching : nil
        }
    }

    /// Every record, one a line, for failure messages (the last 200).
    var transcript: String {
        "\n" + all.suffix(200).map(\.description).joined(separator: "\n")
    }
}

/// A swift-log handler appending to an `InProcessLog`.
struct InProcessLogHandler: LogHandler {
    let sink: InProcessLog
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let explicit = event.metadata { fields.merge(explicit) { _, new in new } }
        if let error = event.error, fields["error"] == nil { fields["error"] = "\(error)" }
        sink.append(InProcessLogRecord(
            level: event.level, message: event.message.description, metadata: fields.mapValues { "\($0)" }))
    }
}
