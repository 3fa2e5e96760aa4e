/// Builds a fresh handler, with its own resources, for every message, and tears it down after
/// the handler's outcome: the counterpart of a dependency-injection scope per message.
///
/// ```swift
/// struct OrderHandlerFactory: MessageHandlerFactory {
///     let database: Database
///
///     func makeHandler(context: MessageContext) async throws -> OrderHandler {
///         OrderHandler(transaction: try await database.begin())
///     }
///
///     func tearDown(_ handler: OrderHandler, outcome: HandlerOutcome, context: MessageContext) async {
///         await handler.transaction.rollbackUnlessCommitted()
///     }
/// }
/// ```
///
/// For each message Warren calls `makeHandler`, then the handler's `decode` and `handle`, then
/// `tearDown` exactly once for every handler `makeHandler` returned, whatever happened: success,
/// a thrown error, an undecodable body, a timeout, or cancellation at shutdown. `tearDown` runs
/// **before** the message is acked or dead-lettered, so a transaction committed by `handle` is
/// durable before the broker forgets the message (a crash in between redelivers it: at least
/// once). If `makeHandler` throws, the message is dead-lettered with that error and there is
/// nothing to tear down.
///
/// - Important: Both methods run on the worker task running the message, on Swift's cooperative
///   pool, up to `concurrency` at once: they must not block the thread. `tearDown` runs even when that task
///   is cancelled (it should not rely on `Task.sleep` or other cancellable waits to finish).
public protocol MessageHandlerFactory: Sendable {
    /// The handler `setUp` makes for each message.
    associatedtype Handler: MessageHandler

    /// Builds the handler for one message, with fresh per-message resources.
    func makeHandler(context: MessageContext) async throws -> Handler

    /// Releases what `makeHandler` acquired. Errors are the factory's to handle (log them):
    /// they cannot change the message's outcome any more.
    func tearDown(_ handler: Handler, outcome: HandlerOutcome, context: MessageContext) async
}

extension MessageHandlerFactory {
    /// Nothing to release.
    public func tearDown(_ handler: Handler, outcome: HandlerOutcome, context: MessageContext) async {}
}

/// How handling one message ended, as told to `MessageHandlerFactory.tearDown`.
public enum HandlerOutcome: Sendable {
    /// `handle` returned: the message will be acked.
    case succeeded
    /// Decoding or `handle` threw (or the handler timed out): the message will be dead-lettered.
    case failed(any Error)
    /// Shutdown overran its deadline and cancelled the handler: the message is left unacked and
    /// the broker redelivers it.
    case cancelled

    /// True for `.succeeded`.
    public var succeeded: Bool {
        if case .succeeded = self { return true }
        return false
    }
}

extension HandlerOutcome: CustomStringConvertible {
    /// `succeeded`, `failed: <error>` or `cancelled`, for logs.
    public var description: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed(let error): "failed: \(error)"
        case .cancelled: "cancelled"
        }
    }
}

/// One handler for every message: what `WarrenConsumer` uses when given a `MessageHandler`.
struct SharedHandlerFactory<Handler: MessageHandler>: MessageHandlerFactory {
    let handler: Handler

    func makeHandler(context: MessageContext) async throws -> Handler { handler }
}
