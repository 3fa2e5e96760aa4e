/// Why a message was dead-lettered, as a bounded label value for metrics and logs (the error
/// text itself goes only to the log line and the span).
///
/// Every reason is something the message or its handler did. A failure of Warren's own
/// connections (a copy that could not be published) never dead-letters: the message is
/// requeued and counted in `warren_messages_requeued_total{reason="copy_failed"}`, which
/// replaced this enum's former `copy_failed` case.
public enum DeadLetterReason: String, Sendable, CaseIterable {
    /// The handler (or the factory making it) threw a `PermanentError`.
    case handlerError = "handler_error"
    /// The body could not be decoded into the handler's message type (`UndecodableMessage`).
    case undecodable
    /// The handler ran past the per-message timeout (`HandlerTimeout`).
    case handlerTimeout = "handler_timeout"
    /// A passing error outlived every retry of the `RetryPolicy`.
    case retriesExhausted = "retries_exhausted"
    /// The message crashed the worker `crashLimit` times while handled alone (`CrashGuard`).
    case crashLoop = "crash_loop"

    /// The reason for a handler's error that is dead-lettered at once (no retry left or none
    /// wanted); `retriesExhausted` and `crashLoop` are chosen by the consumer.
    public init(_ error: any Error) {
        // Metatype comparisons, not `is` casts (about 400 instructions each from `any Error`):
        // the three are structs, which have no subclasses, so the answers are the same.
        let type = type(of: error)
        if type == UndecodableMessage.self {
            self = .undecodable
        } else if type == HandlerTimeout.self {
            self = .handlerTimeout
        } else if type == CrashLoopDetected.self {
            self = .crashLoop
        } else {
            self = .handlerError
        }
    }
}
