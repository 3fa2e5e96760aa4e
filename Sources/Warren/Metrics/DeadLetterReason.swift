/// Why a message was dead-lettered, as a bounded label value for metrics and logs (the error
/// text itself goes only to the log line and the span).
public enum DeadLetterReason: String, Sendable, CaseIterable {
    /// The handler (or the factory making it) threw.
    case handlerError = "handler_error"
    /// The body could not be decoded into the handler's message type (`UndecodableMessage`).
    case undecodable
    /// The handler ran past the per-message timeout (`HandlerTimeout`).
    case handlerTimeout = "handler_timeout"

    /// The reason for a handler's error.
    public init(_ error: any Error) {
        switch error {
        case is UndecodableMessage: self = .undecodable
        case is HandlerTimeout: self = .handlerTimeout
        default: self = .handlerError
        }
    }
}
