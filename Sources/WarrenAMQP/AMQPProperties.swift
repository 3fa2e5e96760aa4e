import CRabbitMQ

/// The basic-class properties of a message (AMQP 0-9-1 content header).
public struct AMQPProperties: Sendable, Equatable {
    /// MIME type of the body, e.g. `application/json`.
    public var contentType: String?
    /// Encoding of the body, e.g. `gzip`.
    public var contentEncoding: String?
    /// Application headers (Warren's `x-warren-*`, `traceparent`, …).
    public var headers: AMQPTable?
    /// 2 = persistent, 1 = transient.
    public var deliveryMode: UInt8?
    /// Message priority; only priority queues (`x-max-priority`) use it.
    public var priority: UInt8?
    /// Ties a reply or follow-up to the message that caused it.
    public var correlationID: String?
    /// The queue a reply should go to.
    public var replyTo: String?
    /// Per-message TTL in milliseconds, as decimal text (AMQP's type for it).
    public var expiration: String?
    /// The publisher's id for the message (Warren logs it).
    public var messageID: String?
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    /// The application's message type name.
    public var type: String?
    /// The user that published it; RabbitMQ checks it against the connection's user.
    public var userID: String?
    /// The publishing application.
    public var appID: String?

    /// Properties from their values; every one defaults to absent.
    public init(
        contentType: String? = nil, contentEncoding: String? = nil, headers: AMQPTable? = nil,
        deliveryMode: UInt8? = nil, priority: UInt8? = nil, correlationID: String? = nil,
        replyTo: String? = nil, expiration: String? = nil, messageID: String? = nil,
        timestamp: UInt64? = nil, type: String? = nil, userID: String? = nil, appID: String? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.deliveryMode = deliveryMode
        self.priority = priority
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.userID = userID
        self.appID = appID
    }

    /// Persistent JSON, the usual properties of a work message.
    public static func persistentJSON(messageID: String?) -> AMQPProperties {
        AMQPProperties(contentType: "application/json", deliveryMode: 2, messageID: messageID)
    }

    /// Decodes properties owned by librabbitmq; only the fields flagged as present are read.
    init(_ c: amqp_basic_properties_t) {
        var uncached = RepeatedText()
        self.init(c, contentTypes: &uncached)
    }

    /// As `init(_:)`, with the content type taken from (and remembered in) `contentTypes`.
    init(_ c: amqp_basic_properties_t, contentTypes: inout RepeatedText) {
        func has(_ flag: Int32) -> Bool { c._flags & amqp_flags_t(flag) != 0 }
        contentType = has(AMQP_BASIC_CONTENT_TYPE_FLAG) ? contentTypes.text(of: c.content_type) : nil
        contentEncoding = has(AMQP_BASIC_CONTENT_ENCODING_FLAG) ? c.content_encoding.swiftShortString : nil
        headers = has(AMQP_BASIC_HEADERS_FLAG) ? AMQPTable(cTable: c.headers) : nil
        deliveryMode = has(AMQP_BASIC_DELIVERY_MODE_FLAG) ? c.delivery_mode : nil
        priority = has(AMQP_BASIC_PRIORITY_FLAG) ? c.priority : nil
        correlationID = has(AMQP_BASIC_CORRELATION_ID_FLAG) ? c.correlation_id.swiftShortString : nil
        replyTo = has(AMQP_BASIC_REPLY_TO_FLAG) ? c.reply_to.swiftShortString : nil
        expiration = has(AMQP_BASIC_EXPIRATION_FLAG) ? c.expiration.swiftShortString : nil
        messageID = has(AMQP_BASIC_MESSAGE_ID_FLAG) ? c.message_id.swiftShortString : nil
        timestamp = has(AMQP_BASIC_TIMESTAMP_FLAG) ? c.timestamp : nil
        type = has(AMQP_BASIC_TYPE_FLAG) ? c.type.swiftShortString : nil
        userID = has(AMQP_BASIC_USER_ID_FLAG) ? c.user_id.swiftShortString : nil
        appID = has(AMQP_BASIC_APP_ID_FLAG) ? c.app_id.swiftShortString : nil
    }

    /// Encodes into C properties whose buffers live in `arena`.
    func cProperties(in arena: CArena) -> amqp_basic_properties_t {
        var c = amqp_basic_properties_t()
        var flags: Int32 = 0
        func set(_ value: String?, _ flag: Int32, _ field: inout amqp_bytes_t) {
            guard let value else { return }
            field = arena.bytes(value)
            flags |= flag
        }
        set(contentType, AMQP_BASIC_CONTENT_TYPE_FLAG, &c.content_type)
        set(contentEncoding, AMQP_BASIC_CONTENT_ENCODING_FLAG, &c.content_encoding)
        set(correlationID, AMQP_BASIC_CORRELATION_ID_FLAG, &c.correlation_id)
        set(replyTo, AMQP_BASIC_REPLY_TO_FLAG, &c.reply_to)
        set(expiration, AMQP_BASIC_EXPIRATION_FLAG, &c.expiration)
        set(messageID, AMQP_BASIC_MESSAGE_ID_FLAG, &c.message_id)
        set(type, AMQP_BASIC_TYPE_FLAG, &c.type)
        set(userID, AMQP_BASIC_USER_ID_FLAG, &c.user_id)
        set(appID, AMQP_BASIC_APP_ID_FLAG, &c.app_id)
        if let headers {
            c.headers = arena.table(headers)
            flags |= AMQP_BASIC_HEADERS_FLAG
        }
        if let deliveryMode {
            c.delivery_mode = deliveryMode
            flags |= AMQP_BASIC_DELIVERY_MODE_FLAG
        }
        if let priority {
            c.priority = priority
            flags |= AMQP_BASIC_PRIORITY_FLAG
        }
        if let timestamp {
            c.timestamp = timestamp
            flags |= AMQP_BASIC_TIMESTAMP_FLAG
        }
        c._flags = amqp_flags_t(flags)
        return c
    }
}
