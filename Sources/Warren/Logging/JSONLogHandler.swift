import Logging

/// A swift-log handler that writes one JSON object per line to standard output:
/// `{"ts":"2026-11-21T20:40:19.123Z","level":"info","logger":"warren","msg":"…", <metadata>…}`.
///
/// - Metadata: every key is a top-level field, sorted by key; nested dictionaries become JSON
///   objects and arrays JSON arrays. Precedence, lowest first: the handler's `metadata`, its
///   `metadataProvider`, the call's metadata. A logged error becomes `"error":"Type: description"`
///   unless the metadata already has an `error` key.
/// - Source location: `debug` and `trace` lines also carry `"file"` (the `#fileID`, e.g.
///   `Warren/WarrenConsumer.swift`), `"line"` (a number) and `"function"`; `info` and above do not.
/// - Reserved keys: a metadata key equal to one of the line's own fields (`ts`, `level`, `logger`,
///   `msg`, `file`, `line`, `function`, at every level) is written as `meta.<key>` (or
///   `meta.meta.<key>` if that is taken too), so a line never repeats a key.
/// - Output: the line is formatted on the calling thread and queued for a dedicated writer
///   thread, so logging never blocks on a slow reader of stdout. When 4 MiB are already queued,
///   lines are dropped and counted (`warren_log_lines_dropped_total`, and a `log.dropped` line
///   once output catches up). `exit()` waits up to 2 s for queued lines.
///
/// - Important: `log(event:)` may be called from any thread or task, including threads that
///   must never block.
public struct JSONLogHandler: LogHandler {
    /// Metadata on every line of this logger (swift-log's `logger[metadataKey:]` sets it); a copy
    /// per `Logger` value, like the logger itself.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata read at each call, on the calling task (e.g. a tracer's ids).
    public var metadataProvider: Logger.MetadataProvider?
    /// The least severe level written; lower ones cost a comparison.
    public var logLevel: Logger.Level
    let label: String
    let output: LogOutput

    /// - Parameters:
    ///   - label: the `logger` field of every line.
    ///   - level: the least severe level written.
    ///   - metadataProvider: contextual metadata added to every line (for example a tracer's ids).
    public init(
        label: String,
        level: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.init(label: label, level: level, metadataProvider: metadataProvider, output: .standardOutput)
    }

    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider?, output: LogOutput) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.output = output
    }

    /// One key of `metadata`.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Formats the line on the calling thread and queues it for the writer thread; never blocks.
    public func log(event: LogEvent) {
        line(for: event).withUnsafeBufferPointer { output.write($0, level: event.level) }
    }

    /// The whole line for `event`, newline included, as UTF-8: built as bytes and handed to
    /// the output as bytes, which is all it keeps (see `JSONText`).
    func line(for event: LogEvent) -> [UInt8] {
        var line = head(level: event.level, message: event.message.description)
        if LogFields.showsSourceLocation(event.level) {
            JSONText.appendRaw(",\"file\":", to: &line)
            JSONText.appendString(event.file, to: &line)
            JSONText.appendRaw(",\"line\":", to: &line)
            JSONText.appendRaw(String(event.line), to: &line)
            JSONText.appendRaw(",\"function\":", to: &line)
            JSONText.appendString(event.function, to: &line)
        }
        for (key, value) in LogFields.merge(handler: metadata, provider: metadataProvider, event: event) {
            line.append(UInt8(ascii: ","))
            JSONText.appendString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            JSONText.append(value, to: &line)
        }
        JSONText.appendRaw("}\n", to: &line)
        return line
    }

    /// A line's fields before its metadata: `ts`, `level`, `logger` and `msg`, without the
    /// closing brace.
    func head(level: Logger.Level, message: String) -> [UInt8] {
        var line: [UInt8] = []
        // Most lines fit: one allocation instead of the several a growing array makes.
        line.reserveCapacity(512)
        writeHead(level: level, message: message, to: &line)
        return line
    }

    /// The same, into `line`.
    func writeHead<Sink: JSONByteSink & ~Copyable>(level: Logger.Level, message: String, to line: inout Sink) {
        JSONText.appendRaw("{\"ts\":\"", to: &line)
        UTCTimestamp.appendNow(to: &line)
        JSONText.appendRaw("\",\"level\":\"", to: &line)
        JSONText.appendRaw(level.rawValue, to: &line)
        JSONText.appendRaw("\",\"logger\":", to: &line)
        JSONText.appendString(label, to: &line)
        JSONText.appendRaw(",\"msg\":", to: &line)
        JSONText.appendString(message, to: &line)
    }
}
