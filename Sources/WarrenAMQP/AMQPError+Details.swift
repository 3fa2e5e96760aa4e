extension AMQPError {
    /// The broker's reply code when the broker closed the channel or connection, or returned an
    /// unroutable publish (`404`, `406`, `312`…); `nil` for the other codes.
    public var replyCode: UInt16? {
        switch kind {
        case .connectionClosed(let code, _, _), .channelClosed(let code, _, _), .unroutable(let code, _):
            return code
        default:
            return nil
        }
    }

    /// The broker's reply text, as RabbitMQ wrote it (e.g. `NOT_FOUND - no queue 'x' in vhost '/'`),
    /// for the same codes as ``replyCode``; `nil` for the others.
    public var replyText: String? {
        switch kind {
        case .connectionClosed(_, let text, _), .channelClosed(_, let text, _), .unroutable(_, let text):
            return text
        default:
            return nil
        }
    }

    /// The operation that failed (e.g. `queue.declare 'orders'`, `connect to host:5672`, `login`)
    /// for ``Code/library``, ``Code/connectionClosed``, ``Code/channelClosed`` and ``Code/tls``;
    /// `nil` for the others.
    public var context: String? {
        switch kind {
        case .library(_, _, let context), .connectionClosed(_, _, let context), .channelClosed(_, _, let context),
             .tls(_, let context, _):
            return context
        default:
            return nil
        }
    }

    /// The tag of the consumer the broker cancelled, for ``Code/consumerCancelled``; else `nil`.
    public var consumerTag: String? {
        guard case .consumerCancelled(let tag) = kind else { return nil }
        return tag
    }

    /// Why, in words, for ``Code/library`` (librabbitmq's message), ``Code/invalidURL``,
    /// ``Code/invalidPublish`` and ``Code/tls``; `nil` for the others. Never holds a password,
    /// key material or a passphrase.
    public var reason: String? {
        switch kind {
        case .library(_, let message, _), .invalidURL(let message), .invalidPublish(let message), .tls(let message, _, _):
            return message
        default:
            return nil
        }
    }

    /// librabbitmq's status code (`AMQP_STATUS_*`, negative; 0 when Warren detected the failure
    /// itself) for ``Code/library``; else `nil`.
    public var libraryStatus: Int32? {
        guard case .library(let status, _, _) = kind else { return nil }
        return status
    }
}
