extension Duration {
    /// Whole milliseconds (truncated), for log fields, `poll()` timeouts and messages.
    /// Package-wide so every layer converts the same way.
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension Duration {
    /// Whole nanoseconds (truncated, saturating), for metrics timers.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled &+ attoseconds / 1_000_000_000
    }
}
