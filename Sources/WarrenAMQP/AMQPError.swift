import CRabbitMQ

/// An error from librabbitmq or from the broker, with the broker's reply code and text kept intact.
///
/// Its `description` reads the way RabbitMQ operators know it, e.g. `404 NOT_FOUND - no queue 'x'`.
///
/// A struct rather than an enum so that Warren can add kinds of failure without breaking an
/// exhaustive `switch` in your code: switch on ``code`` and always keep a `default:` branch.
/// The details each kind carries are read through properties (``replyCode``, ``replyText``,
/// ``context``, ``consumerTag``…), `nil` where that kind has none.
public struct AMQPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong and its details: the storage behind ``code`` and the accessors. Package
    /// access, not public, so a new case is not a breaking change for users.
    package enum Kind: Sendable, Equatable {
        /// librabbitmq reported a status code (socket error, timeout, protocol error…).
        /// `context` names the operation that failed.
        case library(status: Int32, message: String, context: String)
        /// The broker closed the connection with `connection.close`.
        case connectionClosed(replyCode: UInt16, replyText: String, context: String)
        /// The broker closed the channel with `channel.close` (e.g. 404, 406).
        case channelClosed(replyCode: UInt16, replyText: String, context: String)
        /// The broker cancelled a consumer (`basic.cancel`), e.g. because its queue was deleted.
        case consumerCancelled(consumerTag: String)
        /// The broker answered a publish with `basic.nack`: it did not take responsibility for it.
        case publishNacked
        /// A mandatory publish could not be routed to any queue (`basic.return`).
        case unroutable(replyCode: UInt16, replyText: String)
        /// No frame arrived from the broker for two heartbeat intervals.
        case heartbeatTimeout
        /// The connection was closed by this process; no further operations are possible.
        case connectionClosedByClient
        /// An AMQP URL that cannot be used.
        case invalidURL(String)
        /// A TLS problem: a certificate the broker or Warren refused (unknown CA, expired, host name
        /// mismatch, missing or rejected client certificate), or TLS files that cannot be loaded.
        /// `reason` names the cause and never holds key material or passphrases; `permanent` is
        /// true when retrying cannot help without an operator's change (see `isPermanent`).
        case tls(reason: String, context: String, permanent: Bool)
        /// A publish that AMQP cannot carry (e.g. a property or header key over 255 bytes),
        /// refused before anything was sent: the connection stays up.
        case invalidPublish(String)
    }

    /// The failure and its details; Warren's own code switches on it exhaustively.
    package let kind: Kind

    /// An error of `kind`.
    package init(_ kind: Kind) {
        self.kind = kind
    }

    /// The error as RabbitMQ operators read it, e.g. `basic.consume: 404 NOT_FOUND - no queue 'x'`.
    public var description: String {
        switch kind {
        case .library(_, let message, let context):
            return "\(context): \(message)"
        case .connectionClosed(let code, let text, let context):
            return "\(context): connection closed by broker: \(code) \(text)"
        case .channelClosed(let code, let text, let context):
            return "\(context): \(code) \(text)"
        case .consumerCancelled(let tag):
            return "consumer \(tag) was cancelled by the broker (queue deleted or node failed over)"
        case .publishNacked:
            return "the broker nacked the publish"
        case .unroutable(let code, let text):
            return "unroutable: \(code) \(text)"
        case .heartbeatTimeout:
            return "missed heartbeats: no data from the broker for two heartbeat intervals"
        case .connectionClosedByClient:
            return "the connection is closed"
        case .invalidURL(let reason):
            return "invalid AMQP URL: \(reason)"
        case .invalidPublish(let reason):
            return "invalid publish: \(reason)"
        case .tls(let reason, let context, _):
            return "\(context): TLS: \(reason)"
        }
    }

    /// Maps a librabbitmq status code (`AMQP_STATUS_*`, negative on failure) to an error.
    init(status: Int32, context: String) {
        let message = amqp_error_string2(status).map { String(cString: $0) } ?? "status \(status)"
        self.init(.library(status: status, message: message, context: context))
    }

    /// Maps an RPC reply to an error, or `nil` when the reply is `AMQP_RESPONSE_NORMAL`.
    ///
    /// `reply.reply.decoded` must point at the decoded method, as librabbitmq leaves it after an RPC.
    static func from(_ reply: amqp_rpc_reply_t, context: String) -> AMQPError? {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return nil
        case AMQP_RESPONSE_NONE:
            return .library(status: 0, message: "missing RPC reply type", context: context)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return AMQPError(status: reply.library_error, context: context)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            switch reply.reply.id {
            case AMQP_CONNECTION_CLOSE_METHOD:
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                return .connectionClosed(replyCode: close.reply_code, replyText: close.reply_text.swiftString, context: context)
            case AMQP_CHANNEL_CLOSE_METHOD:
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                return .channelClosed(replyCode: close.reply_code, replyText: close.reply_text.swiftString, context: context)
            default:
                return .library(status: 0, message: "unexpected server method 0x\(String(reply.reply.id, radix: 16))", context: context)
            }
        default:
            return .library(status: 0, message: "unknown reply type \(reply.reply_type.rawValue)", context: context)
        }
    }

    /// Whether retrying the same operation cannot succeed without an operator's change
    /// (bad credentials, missing vhost, incompatible queue arguments, access refused).
    public var isPermanent: Bool {
        switch kind {
        case .connectionClosed(let code, _, _), .channelClosed(let code, _, _):
            // 403 ACCESS_REFUSED, 404 NOT_FOUND, 406 PRECONDITION_FAILED, 530 NOT_ALLOWED (vhost).
            return code == 403 || code == 404 || code == 406 || code == 530
        case .invalidURL, .invalidPublish:
            return true
        case .tls(_, _, let permanent):
            return permanent
        default:
            return false
        }
    }
}

extension amqp_bytes_t {
    /// The bytes as UTF-8 text (invalid sequences repaired); empty for a null buffer.
    var swiftString: String {
        guard let bytes, len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }

    var swiftBytes: [UInt8] {
        guard let bytes, len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }
}
