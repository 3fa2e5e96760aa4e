import Logging
import WarrenAMQP

/// Handles one message: what a user of Warren writes.
///
/// Declare the message type and a `handle` function; Warren decodes the body first. Returning
/// acks the message; throwing a `PermanentError` dead-letters it to `Q.dead` at once, and any
/// other error retries it under the consumer's `RetryPolicy` (then dead-letters it), with the
/// error as the logged reason and in the dead-letter headers.
///
/// ```swift
/// struct OrderPlaced: Decodable, Sendable { var orderID: String; var cents: Int }
///
/// struct OrderHandler: MessageHandler {
///     func handle(_ order: OrderPlaced, context: MessageContext) async throws {
///         context.logger.info("order placed", metadata: ["order_id": "\(order.orderID)"])
///     }
/// }
/// ```
///
/// Decoding: when `Message` is `Decodable`, the body is decoded as JSON (`JSONMessageDecoding`:
/// a missing content type, `application/json` and `…+json` are accepted, anything else is
/// refused). When `Message` is `[UInt8]` the body is passed as is: the raw-bytes handler for
/// other formats. Implement `decode(_:context:)` yourself for anything else. A body that fails
/// to decode is dead-lettered with an `UndecodableMessage` error as the reason, and `handle` is
/// not called.
///
/// - Important: Called concurrently from up to `concurrency` tasks on Swift's cooperative pool
///   (long-lived worker tasks, one message at a time each): it must be `Sendable` and must not block the thread (no blocking
///   I/O or `sleep`; use async APIs). It should honour task cancellation, which happens when the
///   per-message timeout passes or a shutdown overruns its deadline.
public protocol MessageHandler<Message>: Sendable {
    /// What the body decodes to.
    associatedtype Message: Sendable

    /// Turns the body into a `Message`. Throwing dead-letters the message as undecodable.
    /// Runs on the message's task, before `handle`.
    func decode(_ body: [UInt8], context: MessageContext) throws -> Message

    /// Handles one message. Returning acks it; throwing retries or dead-letters it (see above).
    func handle(_ message: Message, context: MessageContext) async throws
}

extension MessageHandler where Message: Decodable {
    /// Decodes JSON, refusing bodies whose content type is not JSON.
    public func decode(_ body: [UInt8], context: MessageContext) throws -> Message {
        try JSONMessageDecoding.decode(Message.self, from: body, properties: context.properties)
    }
}

extension MessageHandler where Message == [UInt8] {
    /// The body as is: for formats other than JSON.
    public func decode(_ body: [UInt8], context: MessageContext) throws -> [UInt8] {
        body
    }
}

/// Acks every message without looking at it (benchmarks, smoke tests).
public struct NoopHandler: MessageHandler {
    /// A handler that acks everything.
    public init() {}
    /// Returns at once, so the message is acked.
    public func handle(_ message: [UInt8], context: MessageContext) async throws {}
}
