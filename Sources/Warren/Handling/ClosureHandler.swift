/// A `MessageHandler` made of a closure, for handlers short enough to write inline:
///
/// ```swift
/// let handler = ClosureHandler { (order: OrderPlaced, context) in
///     context.logger.info("order \(order.orderID)")
/// }
/// ```
///
/// Decoding follows `MessageHandler`: JSON for a `Decodable` message, the body as is for `[UInt8]`.
public struct ClosureHandler<Message: Sendable>: MessageHandler {
    private let decodeBody: @Sendable ([UInt8], MessageContext) throws -> Message
    private let body: @Sendable (Message, MessageContext) async throws -> Void

    /// A handler of JSON messages.
    public init(_ body: @escaping @Sendable (Message, MessageContext) async throws -> Void) where Message: Decodable {
        self.decodeBody = { bytes, context in
            try JSONMessageDecoding.decode(Message.self, from: bytes, properties: context.properties)
        }
        self.body = body
    }

    /// A handler of raw bodies.
    public init(_ body: @escaping @Sendable ([UInt8], MessageContext) async throws -> Void) where Message == [UInt8] {
        self.decodeBody = { bytes, _ in bytes }
        self.body = body
    }

    /// JSON-decodes the body (or passes the bytes through), as chosen by the initializer.
    public func decode(_ body: [UInt8], context: MessageContext) throws -> Message {
        try decodeBody(body, context)
    }

    /// Runs the closure on the worker task running the message (cooperative pool); its error decides retry or
    /// dead-letter as for any handler.
    public func handle(_ message: Message, context: MessageContext) async throws {
        try await body(message, context)
    }
}
