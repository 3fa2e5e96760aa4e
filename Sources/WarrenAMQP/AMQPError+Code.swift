extension AMQPError {
    /// The kind of an ``AMQPError``: compare it (`error.code == .unroutable`) or switch on it.
    ///
    /// A struct with static constants rather than an enum (the pattern of postgres-nio's
    /// `PSQLError.Code`) so that a code added in a later version does not break your `switch`:
    /// match the codes you handle and always keep a `default:` branch for the rest.
    /// Its `description` is the constant's name, e.g. `channelClosed`, for logs and metrics labels.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// Private so that adding a case is not visible to users' switches.
        private enum Base: String, Sendable, Hashable {
            case library, connectionClosed, channelClosed, consumerCancelled, publishNacked, unroutable
            case heartbeatTimeout, connectionClosedByClient, invalidURL, tls, invalidPublish
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// librabbitmq reported a failure: a socket error, a timeout, a protocol error, or a
        /// connect that failed. ``AMQPError/context`` names the operation.
        public static let library = Code(.library)
        /// The broker closed the connection with `connection.close` (e.g. `320 CONNECTION_FORCED`,
        /// `403 ACCESS_REFUSED` at login); see ``AMQPError/replyCode`` and ``AMQPError/replyText``.
        public static let connectionClosed = Code(.connectionClosed)
        /// The broker closed the channel with `channel.close` (e.g. `404 NOT_FOUND`,
        /// `406 PRECONDITION_FAILED`); see ``AMQPError/replyCode`` and ``AMQPError/replyText``.
        public static let channelClosed = Code(.channelClosed)
        /// The broker cancelled a consumer (`basic.cancel`), e.g. because its queue was deleted;
        /// see ``AMQPError/consumerTag``.
        public static let consumerCancelled = Code(.consumerCancelled)
        /// The broker answered a publish with `basic.nack`: it did not take responsibility for it.
        public static let publishNacked = Code(.publishNacked)
        /// A mandatory publish could not be routed to any queue (`basic.return`, reply code 312).
        public static let unroutable = Code(.unroutable)
        /// No frame arrived from the broker for two heartbeat intervals.
        public static let heartbeatTimeout = Code(.heartbeatTimeout)
        /// The connection was closed by this process; no further operations are possible.
        public static let connectionClosedByClient = Code(.connectionClosedByClient)
        /// An AMQP URL (or list of URLs) that cannot be used; ``AMQPError/reason`` says why.
        public static let invalidURL = Code(.invalidURL)
        /// A TLS problem: a refused certificate or TLS files that cannot be loaded;
        /// ``AMQPError/reason`` names the cause.
        public static let tls = Code(.tls)
        /// A publish that AMQP cannot carry (e.g. a header key over 255 bytes), refused before
        /// anything was sent; the connection stays up.
        public static let invalidPublish = Code(.invalidPublish)

        /// The constant's name, e.g. `channelClosed`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is. Switch on it with a `default:` branch; read the details
    /// through ``replyCode``, ``replyText``, ``context``, ``consumerTag`` and ``reason``.
    public var code: Code {
        switch kind {
        case .library: .library
        case .connectionClosed: .connectionClosed
        case .channelClosed: .channelClosed
        case .consumerCancelled: .consumerCancelled
        case .publishNacked: .publishNacked
        case .unroutable: .unroutable
        case .heartbeatTimeout: .heartbeatTimeout
        case .connectionClosedByClient: .connectionClosedByClient
        case .invalidURL: .invalidURL
        case .tls: .tls
        case .invalidPublish: .invalidPublish
        }
    }
}
