import Logging
import WarrenAMQP

/// Handles one message. Returning acks it; throwing dead-letters it (`basic.nack`,
/// `requeue: false`, routed by the broker to `Q.dead`).
///
/// - Important: Called concurrently from up to `concurrency` tasks on Swift's cooperative pool:
///   it must be `Sendable`, and must not block the thread (no blocking I/O or `sleep`; use async
///   APIs). It should honour task cancellation, which happens only when shutdown overruns its
///   deadline; a cancelled handler's message is left unacked and the broker redelivers it.
public protocol MessageHandler: Sendable {
    /// - Parameters:
    ///   - delivery: the message; its body is a private copy.
    ///   - logger: carries the message's `message_id` and `delivery_tag`.
    func handle(_ delivery: AMQPDelivery, logger: Logger) async throws
}

/// Acks every message without looking at it (benchmarks, smoke tests).
public struct NoopHandler: MessageHandler {
    public init() {}
    public func handle(_ delivery: AMQPDelivery, logger: Logger) async throws {}
}
