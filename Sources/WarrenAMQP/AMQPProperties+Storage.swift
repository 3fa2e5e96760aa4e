extension AMQPProperties {
    /// The storage, copied first unless this value is its only owner: a write must never show
    /// through another copy (which may be on another thread).
    mutating func uniqueStorage() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// The refcounted properties, shared by copies until one of them writes.
    final class Storage: @unchecked Sendable {
        // @unchecked: written only through `uniqueStorage()`, that is while exactly one
        // `AMQPProperties` refers to it; a copy that went to another thread shares the box, so
        // the writer copies it first and nothing another thread can read is ever written.
        var contentType: String?
        var contentEncoding: String?
        var headers: AMQPTable?
        /// Headers set over `headers` (`overrideHeaders`), each key once.
        var headerOverrides: [HeaderOverride] = []
        var correlationID: String?
        var replyTo: String?
        var expiration: String?
        var messageID: String?
        var type: String?
        var userID: String?
        var appID: String?

        init(
            contentType: String?, contentEncoding: String?, headers: AMQPTable?, correlationID: String?,
            replyTo: String?, expiration: String?, messageID: String?, type: String?, userID: String?, appID: String?
        ) {
            self.contentType = contentType
            self.contentEncoding = contentEncoding
            self.headers = headers
            self.correlationID = correlationID
            self.replyTo = replyTo
            self.expiration = expiration
            self.messageID = messageID
            self.type = type
            self.userID = userID
            self.appID = appID
        }

        func copy() -> Storage {
            let copy = Storage(
                contentType: contentType, contentEncoding: contentEncoding, headers: headers, correlationID: correlationID,
                replyTo: replyTo, expiration: expiration, messageID: messageID, type: type, userID: userID, appID: appID)
            copy.headerOverrides = headerOverrides
            return copy
        }

        /// `headers` with the overrides set over them.
        func mergedHeaders() -> AMQPTable {
            var merged = headers ?? [:]
            for entry in headerOverrides { merged[entry.key] = entry.value }
            return merged
        }

        /// The headers as `AMQPProperties.headers` reads them: `headers`, with the overrides
        /// merged in when there are any.
        var effectiveHeaders: AMQPTable? {
            headerOverrides.isEmpty ? headers : mergedHeaders()
        }

        func hasSameValues(as other: Storage) -> Bool {
            contentType == other.contentType && contentEncoding == other.contentEncoding && effectiveHeaders == other.effectiveHeaders
                && correlationID == other.correlationID && replyTo == other.replyTo && expiration == other.expiration
                && messageID == other.messageID && type == other.type && userID == other.userID && appID == other.appID
        }
    }
}
