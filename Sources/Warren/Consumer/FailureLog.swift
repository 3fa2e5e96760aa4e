import Logging

/// What the log lines of a failed message say about its failure (`error_type`, `reason`,
/// `duration_ms`, beside the message's own fields from `MessageContext.logger`), kept as values
/// until a line is written.
///
/// A failed message waits in its connection's `SettlementPipeline` for its copy's confirm, up to
/// `prefetch` of them at once: holding the parts instead of a ready-made `Logger` keeps a
/// metadata dictionary per waiting message out of memory, and its one outcome line passes the
/// failure's fields with the line's own in a single dictionary instead of three more copies of
/// the logger's.
struct FailureLog: Sendable {
    var context: MessageContext
    /// `DeadLetterHeaders.errorTypeName` of the handler's error.
    var errorType: String
    /// The handler's error, described (`"\(error)"`).
    var reason: String
    var durationMilliseconds: Int64

    /// The message's logger with the failure's fields: for the rare lines a settlement may add
    /// (the copy tried again, the message requeued or abandoned).
    var logger: Logger {
        var logger = context.logger
        addFields(to: &logger.handler.metadata)
        return logger
    }

    /// `error_type`, `reason` and `duration_ms`, over any fields of those names in `metadata`.
    private func addFields(to metadata: inout Logger.Metadata) {
        metadata["error_type"] = .string(errorType)
        metadata["reason"] = .string(reason)
        metadata["duration_ms"] = .string("\(durationMilliseconds)")
    }

    /// Writes the settled message's one outcome line at `warning`: the same fields as
    /// `logger.warning(message, metadata: metadata)` would write (a later pair wins over an
    /// earlier one with the same key).
    ///
    /// Without a metadata provider, the message's and the failure's fields go with the line's,
    /// in one dictionary, on the consumer's logger: the same line (each wins over the ones
    /// before it, as on `logger`, and all over the consumer's), without a logger of its own built
    /// key by key. A provider sits between a logger's fields and a line's, so with one `logger`
    /// is built. The line's own fields come as pairs, not a dictionary: they are copied into
    /// that one dictionary anyway, and a dictionary of their own was hashed for nothing.
    func warning(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> KeyValuePairs<String, Logger.MetadataValue>) {
        let base = context.baseLogger
        guard base.logLevel <= .warning else { return }
        guard base.metadataProvider == nil else {
            let line = Logger.Metadata(metadata().map { ($0.key, $0.value) }, uniquingKeysWith: { _, later in later })
            return logger.warning(message(), metadata: line)
        }
        let line = metadata()
        var all = context.messageMetadata(reservingCapacity: 3 + line.count)
        addFields(to: &all)
        for (key, value) in line { all[key] = value }
        base.warning(message(), metadata: all)
    }
}
