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
    private let label: String
    private let output: LogOutput

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
        output.write(line(for: event))
    }

    /// The whole line for `event`, newline included.
    func line(for event: LogEvent) -> String {
        var line = ""
        // Most lines fit: one allocation instead of the several a growing string makes.
        line.reserveCapacity(512)
        line += "{\"ts\":\""
        line += UTCTimestamp.now()
        line += "\",\"level\":\""
        line += event.level.rawValue
        line += "\",\"logger\":"
        JSONText.appendString(label, to: &line)
        line += ",\"msg\":"
        JSONText.appendString(event.message.description, to: &line)
        if LogFields.showsSourceLocation(event.level) {
            line += ",\"file\":"
            JSONText.appendString(event.file, to: &line)
            line += ",\"line\":\(event.line),\"function\":"
            JSONText.appendString(event.function, to: &line)
        }
        for (key, value) in LogFields.merge(handler: metadata, provider: metadataProvider, event: event) {
            line += ","
            JSONText.appendString(key, to: &line)
            line += ":"
            JSONText.append(value, to: &line)
        }
        line += "}\n"
        return line
    }
}
