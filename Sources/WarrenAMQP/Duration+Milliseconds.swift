extension Duration {
    /// Whole milliseconds (truncated), for log fields, `poll()` timeouts and messages.
    /// Package-wide so every layer converts the same way.
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
