import Logging

/// The one place executables and examples set up logging.
///
/// ```swift
/// WarrenLogging.bootstrap(format: .default, level: .info)
/// ```
public enum WarrenLogging {
    /// Makes every `Logger` created from now on write through Warren's handler in `format`.
    ///
    /// - Parameters:
    ///   - format: JSON or text lines on standard output (``LogFormat/default`` picks by `isatty`).
    ///   - level: the least severe level written.
    ///   - metadataProvider: contextual metadata added to every line (for example a tracer's
    ///     ids); it also becomes `LoggingSystem.metadataProvider`.
    /// - Important: This calls `LoggingSystem.bootstrap`, which may run only once per process (a
    ///   second call traps): call it once, first thing in `main`, before creating any `Logger`.
    ///   Loggers created earlier keep swift-log's default handler.
    public static func bootstrap(
        format: LogFormat,
        level: Logger.Level,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        LoggingSystem.bootstrap({ label, provider in
            makeHandler(label: label, format: format, level: level, metadataProvider: provider)
        }, metadataProvider: metadataProvider)
    }

    /// A handler in `format` writing to standard output, for building a `Logger` by hand (for
    /// example in tests or a program that bootstraps its own `MultiplexLogHandler`).
    public static func makeHandler(
        label: String,
        format: LogFormat,
        level: Logger.Level,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) -> any LogHandler {
        makeHandler(label: label, format: format, level: level, metadataProvider: metadataProvider, output: .standardOutput)
    }

    /// The same, writing to `output` (tests capture lines through a pipe).
    static func makeHandler(
        label: String, format: LogFormat, level: Logger.Level, metadataProvider: Logger.MetadataProvider?, output: LogOutput
    ) -> any LogHandler {
        switch format {
        case .json: JSONLogHandler(label: label, level: level, metadataProvider: metadataProvider, output: output)
        case .text: TextLogHandler(label: label, level: level, metadataProvider: metadataProvider, output: output)
        }
    }
}
