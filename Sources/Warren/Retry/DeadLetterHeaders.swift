import WarrenAMQP

/// The headers a dead-lettered copy carries to say why, added to every original header (which
/// are kept, as are all properties and the body):
///
/// | header | value |
/// |---|---|
/// | `x-warren-error-type` | the Swift type of the error (the wrapped one for `PermanentFailure`); `crash-loop` for `CrashLoopDetected` |
/// | `x-warren-error-message` | its description, at most `maximumMessageBytes` of UTF-8 (cut at a character boundary, `…` appended) |
/// | `x-warren-failed-at` | when, RFC 3339 UTC with milliseconds |
/// | `x-warren-attempts` | how many deliveries were tried |
/// | `x-warren-original-exchange`, `x-warren-original-routing-key` | where it was first published |
///
/// Pure: the caller passes the time.
public enum DeadLetterHeaders {
    /// `x-warren-error-type`: the Swift type of the error.
    public static let errorType = "x-warren-error-type"
    /// `x-warren-error-message`: the error's description, truncated to `maximumMessageBytes`.
    public static let errorMessage = "x-warren-error-message"
    /// `x-warren-failed-at`: when it was dead-lettered, RFC 3339 UTC with milliseconds.
    public static let failedAt = "x-warren-failed-at"
    /// `x-warren-attempts`: how many deliveries were tried.
    public static let attempts = "x-warren-attempts"
    /// `x-warren-original-exchange`: the exchange it was first published to.
    public static let originalExchange = "x-warren-original-exchange"
    /// `x-warren-original-routing-key`: the routing key it was first published with.
    public static let originalRoutingKey = "x-warren-original-routing-key"
    /// Enough for a stack of wrapped errors; AMQP headers must stay well below the frame size.
    public static let maximumMessageBytes = 1024

    /// `headers` plus the error headers. The original exchange and routing key already recorded
    /// by an earlier hop (a retry queue) are kept, so they always name the first publish.
    public static func adding(
        to headers: AMQPTable, error: any Error, attempts: Int, exchange: String, routingKey: String, failedAt: String
    ) -> AMQPTable {
        adding(
            to: headers, errorType: errorTypeName(error), errorDescription: ErrorDescription.of(error), attempts: attempts,
            exchange: exchange, routingKey: routingKey, failedAt: failedAt)
    }

    /// The same, with `errorTypeName(error)` and `ErrorDescription.of(error)` (for a
    /// `PermanentFailure`, its wrapped error's) already computed.
    static func adding(
        to headers: AMQPTable, errorType: String, errorDescription: String, attempts: Int, exchange: String, routingKey: String,
        failedAt: String
    ) -> AMQPTable {
        var result = headers
        for entry in entries(
            over: headers, errorType: errorType, errorDescription: errorDescription, attempts: attempts, exchange: exchange,
            routingKey: routingKey, failedAt: failedAt)
        {
            result[entry.key] = entry.value
        }
        return result
    }

    /// What `adding` sets, as entries to set over the original's headers without copying them
    /// (`AMQPProperties.overrideHeaders`), which is how the consumer's copies carry them: the
    /// four error headers, and the original exchange and routing key unless `headers` already
    /// has them from an earlier hop. `errorType` and `errorDescription` as `adding` computes
    /// them: the failure path also logs both, and naming a type (a dynamic cast and a demangled
    /// type name) and describing an error were several per cent of its CPU done twice.
    ///
    /// Room is reserved for one more (a retry copy's `x-warren-attempt`).
    static func entries(
        over headers: AMQPTable?, errorType: String, errorDescription: String, attempts: Int, exchange: String, routingKey: String,
        failedAt: String
    ) -> [HeaderOverride] {
        var entries: [HeaderOverride] = []
        entries.reserveCapacity(7)
        // `Self.` throughout: the parameters share the keys' names.
        entries.append(HeaderOverride(Self.errorType, .string(errorType)))
        entries.append(HeaderOverride(Self.errorMessage, .string(truncated(errorDescription, toBytes: maximumMessageBytes))))
        entries.append(HeaderOverride(Self.failedAt, .string(failedAt)))
        entries.append(HeaderOverride(Self.attempts, .int(Int64(attempts))))
        appendOrigin(over: headers, exchange: exchange, routingKey: routingKey, to: &entries)
        return entries
    }

    /// `headers` with `x-warren-original-exchange` and `-routing-key` set to `exchange` and
    /// `routingKey` unless an earlier hop already recorded them, so they always name the first
    /// publish. Every copy Warren publishes carries them.
    public static func recordingOrigin(in headers: AMQPTable, exchange: String, routingKey: String) -> AMQPTable {
        var origin: [HeaderOverride] = []
        appendOrigin(over: headers, exchange: exchange, routingKey: routingKey, to: &origin)
        var result = headers
        for entry in origin { result[entry.key] = entry.value }
        return result
    }

    /// Appends `x-warren-original-exchange` and `-routing-key` to `entries`, each unless
    /// `headers` already has it from an earlier hop: the one place that rule is written, for
    /// `entries` (a failed message's copy) and `recordingOrigin` (every other copy).
    private static func appendOrigin(over headers: AMQPTable?, exchange: String, routingKey: String, to entries: inout [HeaderOverride]) {
        if headers?[Self.originalExchange] == nil { entries.append(HeaderOverride(Self.originalExchange, .string(exchange))) }
        if headers?[Self.originalRoutingKey] == nil { entries.append(HeaderOverride(Self.originalRoutingKey, .string(routingKey))) }
    }

    /// The name `x-warren-error-type` and the logs give `error`: its Swift type (the wrapped
    /// one for `PermanentFailure`), or `crash-loop` for `CrashLoopDetected`, which has no error
    /// of the handler's to name (operators filter on that word).
    public static func errorTypeName(_ error: any Error) -> String {
        let reported = PermanentFailure.reported(error)
        let type = type(of: reported)
        return typeNames.value(of: type) {
            reported is CrashLoopDetected ? "crash-loop" : String(describing: type)
        }
    }

    /// The names already given, by type: a failing message's error is named for its headers and
    /// its log lines, and demangling a type name costs more than the rest of naming it.
    private static let typeNames = PerTypeCache<String>()

    /// At most `limit` bytes of UTF-8, cut before a whole character, with `…` when cut.
    static func truncated(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        let ellipsis = "…"
        var result = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size + ellipsis.utf8.count > limit { break }
            result.append(character)
            used += size
        }
        return result + ellipsis
    }
}
