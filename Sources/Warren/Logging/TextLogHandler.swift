import Logging

/// A swift-log handler that writes one human-readable line per event to standard output, for
/// terminals: `2026-11-22T10:00:00.123Z  info warren: consuming queue=orders prefetch=50`.
///
/// - Metadata follows the message as `key=value`, sorted by key, with the same sources,
///   precedence, `error` field and reserved-key rule (`meta.<key>`) as ``JSONLogHandler``.
///   A value is quoted only when it is empty or contains a space, quote, `=`, backslash or
///   control character; nested dictionaries are flattened into dotted keys (`ctx.id=7`).
/// - Control characters in the label, message, keys and values are escaped (`\n`, `\u001b`…),
///   so an event is always exactly one line and cannot send terminal escape sequences.
/// - `debug` and `trace` lines end with `file=… line=… function=…`.
/// - Output: the same non-blocking, bounded queue as ``JSONLogHandler`` (drops are reported by
///   a JSON `log.dropped` line).
///
/// - Important: `log(event:)` may be called from any thread or task, including threads that
///   must never block.
public struct TextLogHandler: LogHandler {
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
    ///   - label: shown before the message.
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
        output.write(line(for: event), level: event.level)
    }

    /// The whole line for `event`, newline included.
    func line(for event: LogEvent) -> String {
        // Right-aligned to five columns, so that the common levels line up.
        let level = event.level.rawValue
        var line = UTCTimestamp.now() + " " + String(repeating: " ", count: max(0, 5 - level.count)) + level
        if !label.isEmpty {
            line += " "
            LogfmtText.appendEscaped(label, to: &line)
            line += ":"
        }
        line += " "
        LogfmtText.appendEscaped(event.message.description, to: &line)
        for (key, value) in LogFields.merge(handler: metadata, provider: metadataProvider, event: event) {
            LogfmtText.appendField(key: key, value: value, to: &line)
        }
        if LogFields.showsSourceLocation(event.level) {
            LogfmtText.appendField(key: "file", value: .string(event.file), to: &line)
            LogfmtText.appendField(key: "line", value: .stringConvertible(event.line), to: &line)
            LogfmtText.appendField(key: "function", value: .string(event.function), to: &line)
        }
        line += "\n"
        return line
    }
}
