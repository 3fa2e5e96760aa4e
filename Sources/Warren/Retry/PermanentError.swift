/// An error that retrying cannot fix (a bad payload, a rule the message breaks): a handler
/// throwing one has its message dead-lettered at once, without retries. Any other error is
/// treated as passing (a timeout downstream) and retried under the consumer's `RetryPolicy`.
///
/// ```swift
/// struct UnknownCustomer: PermanentError { var id: String }
/// ```
///
/// An undecodable body (`UndecodableMessage`) is permanent too. To mark an error you do not own,
/// wrap it: `throw PermanentFailure(error)`.
public protocol PermanentError: Error {}

/// Wraps any error to make it permanent (see `PermanentError`); logged and recorded as the
/// wrapped error's type and description.
public struct PermanentFailure: PermanentError, CustomStringConvertible {
    /// The wrapped error, whose type and description the dead-letter headers record.
    public let underlying: any Error

    /// Makes `underlying` permanent: the message is dead-lettered without a retry.
    public init(_ underlying: any Error) {
        self.underlying = underlying
    }

    /// The wrapped error's description.
    public var description: String { "\(underlying)" }

    /// The error a failure is reported as (type and description, in headers and logs): a
    /// `PermanentFailure`'s wrapped error, any other error itself.
    static func reported(_ error: any Error) -> any Error {
        // The type first: a cast from `any Error` costs about 800 instructions whatever it
        // finds, a metatype comparison a few, and most failures are not wrapped. A struct has
        // no subclasses, so the comparison answers exactly what the cast would.
        guard type(of: error) == PermanentFailure.self else { return error }
        return (error as? PermanentFailure)?.underlying ?? error
    }
}

extension UndecodableMessage: PermanentError {}
