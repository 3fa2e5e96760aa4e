#if canImport(Glibc)
import Glibc
#endif

/// The shape of Warren's log lines on standard output.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line (``JSONLogHandler``), for log shippers.
    case json
    /// One human-readable line per event (``TextLogHandler``), for terminals.
    case text

    /// The format when none was chosen: `.text` when standard output is a terminal, else `.json`.
    public static var `default`: LogFormat {
        isatty(STDOUT_FILENO) == 1 ? .text : .json
    }
}
