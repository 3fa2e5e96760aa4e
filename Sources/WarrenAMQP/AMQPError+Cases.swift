/// Constructors named like the kinds, so Warren's code builds errors as it did when `AMQPError`
/// was an enum (`throw AMQPError.heartbeatTimeout`). Package access: users read errors, they
/// do not make them.
extension AMQPError {
    /// A ``Code/library`` error: librabbitmq's `status` (or 0), its `message`, the operation.
    package static func library(status: Int32, message: String, context: String) -> AMQPError {
        AMQPError(.library(status: status, message: message, context: context))
    }

    /// A ``Code/connectionClosed`` error: the broker's `connection.close`.
    package static func connectionClosed(replyCode: UInt16, replyText: String, context: String) -> AMQPError {
        AMQPError(.connectionClosed(replyCode: replyCode, replyText: replyText, context: context))
    }

    /// A ``Code/channelClosed`` error: the broker's `channel.close`.
    package static func channelClosed(replyCode: UInt16, replyText: String, context: String) -> AMQPError {
        AMQPError(.channelClosed(replyCode: replyCode, replyText: replyText, context: context))
    }

    /// A ``Code/consumerCancelled`` error: the broker's `basic.cancel` for `consumerTag`.
    package static func consumerCancelled(consumerTag: String) -> AMQPError {
        AMQPError(.consumerCancelled(consumerTag: consumerTag))
    }

    /// A ``Code/publishNacked`` error.
    package static let publishNacked = AMQPError(.publishNacked)

    /// A ``Code/unroutable`` error: the broker's `basic.return`.
    package static func unroutable(replyCode: UInt16, replyText: String) -> AMQPError {
        AMQPError(.unroutable(replyCode: replyCode, replyText: replyText))
    }

    /// A ``Code/heartbeatTimeout`` error.
    package static let heartbeatTimeout = AMQPError(.heartbeatTimeout)

    /// A ``Code/connectionClosedByClient`` error.
    package static let connectionClosedByClient = AMQPError(.connectionClosedByClient)

    /// A ``Code/invalidURL`` error saying why.
    package static func invalidURL(_ reason: String) -> AMQPError {
        AMQPError(.invalidURL(reason))
    }

    /// A ``Code/tls`` error; `permanent` when retrying cannot help without an operator's change.
    package static func tls(reason: String, context: String, permanent: Bool) -> AMQPError {
        AMQPError(.tls(reason: reason, context: context, permanent: permanent))
    }

    /// A ``Code/invalidPublish`` error saying why.
    package static func invalidPublish(_ reason: String) -> AMQPError {
        AMQPError(.invalidPublish(reason))
    }
}
