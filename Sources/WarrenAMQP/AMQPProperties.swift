import CRabbitMQ

/// The basic-class properties of a message (AMQP 0-9-1 content header).
///
/// A value type with copy-on-write storage: copies share one box until one of them is mutated.
/// Decoded on the connection's owner thread for each delivery, built by callers for a publish;
/// every copy is safe to use on any thread.
public struct AMQPProperties: Sendable, Equatable {
    // Why boxed: a delivery's properties are copied into its `MessageContext`, read by the
    // tracing and crash-guard code, and copied again with the delivery. Field by field each copy
    // retained ten strings and the headers: 20 of a message's 83 retains (callgrind, issue 17),
    // each an atomic read-modify-write, mostly on a cache line the owner thread wrote. Boxed, a
    // copy is one retain. The three plain fields stay inline: copying them costs no refcount.
    var storage: Storage

    /// MIME type of the body, e.g. `application/json`.
    public var contentType: String? {
        get { storage.contentType }
        set { uniqueStorage().contentType = newValue }
    }
    /// Encoding of the body, e.g. `gzip`.
    public var contentEncoding: String? {
        get { storage.contentEncoding }
        set { uniqueStorage().contentEncoding = newValue }
    }
    /// Application headers (Warren's `x-warren-*`, `traceparent`, …), overrides included
    /// (`overrideHeaders(_:)`).
    public var headers: AMQPTable? {
        get { storage.effectiveHeaders }
        set {
            let storage = uniqueStorage()
            storage.headers = newValue
            storage.headerOverrides = []
        }
    }

    /// Sets each of `entries` as a header, over any header of the same key (also over one set
    /// by an earlier call), without copying the headers table: the entries are merged with it
    /// only when the message is encoded, or when `headers` is read. No two of `entries` may
    /// have the same key (checked in debug builds).
    ///
    /// For Warren's dead-letter and retry copies: each adds half a dozen headers to the
    /// original's, and copying the original's dictionary with room for them, hashing each in
    /// and freeing the copy after the publish was 10,000 instructions, an eighth of a failed
    /// message's (callgrind, issue 17).
    package mutating func overrideHeaders(_ entries: [HeaderOverride]) {
        guard !entries.isEmpty else { return }
        let storage = uniqueStorage()
        // Taken out and put back whole: one exclusive access to the box, not one per entry.
        var overrides: [HeaderOverride] = []
        swap(&overrides, &storage.headerOverrides)
        assert(HeaderOverride.keysAreUnique(entries), "overrideHeaders: a key twice in one call")
        if overrides.isEmpty {
            overrides = entries  // the usual case: shared, not copied
        } else {
            for entry in entries {
                if let index = overrides.firstIndex(where: { $0.hasKey(entry.key) }) {
                    overrides[index].value = entry.value
                } else {
                    overrides.append(entry)
                }
            }
        }
        swap(&overrides, &storage.headerOverrides)
    }

    /// 2 = persistent, 1 = transient.
    public var deliveryMode: UInt8?
    /// Message priority; only priority queues (`x-max-priority`) use it.
    public var priority: UInt8?
    /// Ties a reply or follow-up to the message that caused it.
    public var correlationID: String? {
        get { storage.correlationID }
        set { uniqueStorage().correlationID = newValue }
    }
    /// The queue a reply should go to.
    public var replyTo: String? {
        get { storage.replyTo }
        set { uniqueStorage().replyTo = newValue }
    }
    /// Per-message TTL in milliseconds, as decimal text (AMQP's type for it).
    public var expiration: String? {
        get { storage.expiration }
        set { uniqueStorage().expiration = newValue }
    }
    /// The publisher's id for the message (Warren logs it).
    public var messageID: String? {
        get { storage.messageID }
        set { uniqueStorage().messageID = newValue }
    }
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    /// The application's message type name.
    public var type: String? {
        get { storage.type }
        set { uniqueStorage().type = newValue }
    }
    /// The user that published it; RabbitMQ checks it against the connection's user.
    public var userID: String? {
        get { storage.userID }
        set { uniqueStorage().userID = newValue }
    }
    /// The publishing application.
    public var appID: String? {
        get { storage.appID }
        set { uniqueStorage().appID = newValue }
    }

    /// Properties from their values; every one defaults to absent.
    public init(
        contentType: String? = nil, contentEncoding: String? = nil, headers: AMQPTable? = nil,
        deliveryMode: UInt8? = nil, priority: UInt8? = nil, correlationID: String? = nil,
        replyTo: String? = nil, expiration: String? = nil, messageID: String? = nil,
        timestamp: UInt64? = nil, type: String? = nil, userID: String? = nil, appID: String? = nil
    ) {
        self.deliveryMode = deliveryMode
        self.priority = priority
        self.timestamp = timestamp
        storage = Storage(
            contentType: contentType, contentEncoding: contentEncoding, headers: headers, correlationID: correlationID,
            replyTo: replyTo, expiration: expiration, messageID: messageID, type: type, userID: userID, appID: appID)
    }

    /// Equal when every property is: copies that still share their storage are equal at once.
    public static func == (lhs: AMQPProperties, rhs: AMQPProperties) -> Bool {
        lhs.deliveryMode == rhs.deliveryMode && lhs.priority == rhs.priority && lhs.timestamp == rhs.timestamp
            && (lhs.storage === rhs.storage || lhs.storage.hasSameValues(as: rhs.storage))
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
        self.init(
            contentType: has(AMQP_BASIC_CONTENT_TYPE_FLAG) ? contentTypes.text(of: c.content_type) : nil,
            contentEncoding: has(AMQP_BASIC_CONTENT_ENCODING_FLAG) ? c.content_encoding.swiftShortString : nil,
            headers: has(AMQP_BASIC_HEADERS_FLAG) ? AMQPTable(cTable: c.headers) : nil,
            deliveryMode: has(AMQP_BASIC_DELIVERY_MODE_FLAG) ? c.delivery_mode : nil,
            priority: has(AMQP_BASIC_PRIORITY_FLAG) ? c.priority : nil,
            correlationID: has(AMQP_BASIC_CORRELATION_ID_FLAG) ? c.correlation_id.swiftShortString : nil,
            replyTo: has(AMQP_BASIC_REPLY_TO_FLAG) ? c.reply_to.swiftShortString : nil,
            expiration: has(AMQP_BASIC_EXPIRATION_FLAG) ? c.expiration.swiftShortString : nil,
            messageID: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? c.message_id.swiftShortString : nil,
            timestamp: has(AMQP_BASIC_TIMESTAMP_FLAG) ? c.timestamp : nil,
            type: has(AMQP_BASIC_TYPE_FLAG) ? c.type.swiftShortString : nil,
            userID: has(AMQP_BASIC_USER_ID_FLAG) ? c.user_id.swiftShortString : nil,
            appID: has(AMQP_BASIC_APP_ID_FLAG) ? c.app_id.swiftShortString : nil)
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
        if storage.headers != nil || !storage.headerOverrides.isEmpty {
            c.headers = arena.table(storage.headers ?? [:], overriddenBy: storage.headerOverrides)
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
