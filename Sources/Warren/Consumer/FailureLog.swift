import Logging

/// What the log lines of a failed message say about its failure (`error_type`, `reason`,
/// `duration_ms`, beside the message's own fields from `MessageContext.logger`), kept as values
/// until a line is written.
///
/// A failed message waits in its connection's `SettlementPipeline` for its copy's confirm, up to
/// `prefetch` of them at once: holding the parts instead of a ready-made `Logger` keeps a
/// metadata dictionary per waiting message out of memory, and its one outcome line is written
/// from these parts (`warning(_:fields:)`) without one.
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

    /// Writes the settled message's one outcome line at `warning`: the same line as
    /// `logger.warning(message, metadata: fields)` would write (the line's fields win over the
    /// message's and the failure's with the same key). `fields` is sorted by key, each key once.
    ///
    /// On Warren's JSON handler without a metadata provider (how `warren worker` runs), the line
    /// is written straight from the fields (`JSONLogHandler.writeLine`): a failing queue writes
    /// one per message, and swift-log's path (a dictionary of the dozen fields, hashed, then
    /// merged, sorted and copied by the handler) cost a third of the failed message's
    /// instructions. Any other handler, or a provider, gets the dictionary: without a provider
    /// the message's, the failure's and the line's fields in one, on the consumer's logger (each
    /// wins over the ones before it, as on `logger`, and all over the consumer's); with one,
    /// `logger` is built, since a provider's fields sit between a logger's and a line's.
    func warning(_ message: @autoclosure () -> String, fields: @autoclosure () -> [LogLineField]) {
        let base = context.baseLogger
        guard base.logLevel <= .warning else { return }
        let line = fields()
        if base.metadataProvider == nil, let handler = base.handler as? JSONLogHandler,
           handler.writeLine(level: .warning, message: message(), sortedFields: LogLineField.merge(messageAndFailureFields(), line))
        {
            return
        }
        let lineMetadata = line.map { (String(describing: $0.key), Logger.MetadataValue.string($0.value)) }
        guard base.metadataProvider == nil else {
            let metadata = Logger.Metadata(lineMetadata, uniquingKeysWith: { _, later in later })
            return logger.warning("\(message())", metadata: metadata)
        }
        var all = context.messageMetadata(reservingCapacity: 3 + line.count)
        addFields(to: &all)
        for (key, value) in lineMetadata { all[key] = value }
        base.warning("\(message())", metadata: all)
    }

    /// The message's fields (`MessageContext.messageMetadata`'s) and the failure's, sorted by
    /// key: the order is written out here rather than sorted for every line.
    private func messageAndFailureFields() -> [LogLineField] {
        var fields: [LogLineField] = []
        fields.reserveCapacity(10)
        fields.append(LogLineField("attempt", String(context.attempt)))
        if let correlationID = context.properties.correlationID { fields.append(LogLineField("correlation_id", correlationID)) }
        fields.append(LogLineField("delivery_tag", String(context.deliveryTag)))
        fields.append(LogLineField("duration_ms", String(durationMilliseconds)))
        fields.append(LogLineField("error_type", errorType))
        fields.append(LogLineField("message_id", context.properties.messageID ?? ""))
        fields.append(LogLineField("queue", context.queue))
        fields.append(LogLineField("reason", reason))
        fields.append(LogLineField("redelivered", String(context.redelivered)))
        if let trace = context.trace { fields.append(LogLineField("trace_id", trace.traceID)) }
        return fields
    }
}
