import CRabbitMQ

/// The AMQP 0-9-1 short-string limit and the checks that keep Warren within it.
///
/// Names, routing keys, most basic properties (`message_id`, `content_type`, `type`…) and
/// field-table keys are short strings: a length byte, then at most 255 bytes. librabbitmq
/// writes a table key's length as a truncated byte without checking it, so a longer key
/// corrupts the frame; and a too-long property fails `amqp_basic_publish` after the method
/// frame went out, which breaks the connection. Both would turn one bad message into an
/// infrastructure fault, so Warren keeps every short string it decodes within the limit
/// and refuses, before it reaches the owner thread, a publish that exceeds it.
enum ShortString {
    static let maxBytes = 255

    /// `string` cut to the longest prefix of whole Unicode scalars whose UTF-8 fits in a
    /// short string. Only a decoded value can need it: repairing invalid UTF-8 turns each
    /// bad byte into U+FFFD (3 bytes), so 255 wire bytes may become 765.
    static func fitting(_ string: String) -> String {
        guard string.utf8.count > maxBytes else { return string }
        var result = String.UnicodeScalarView()
        var length = 0
        for scalar in string.unicodeScalars {
            length += UTF8.width(scalar)
            if length > maxBytes { break }
            result.append(scalar)
        }
        return String(result)
    }

    /// What makes `request` unpublishable as AMQP short strings, or `nil` when it fits.
    static func violation(in request: PublishRequest) -> String? {
        let properties = request.properties
        // Checked one by one rather than from an array of (value, name) pairs: every publish,
        // each retry and dead-letter copy included, passes here, and the array was an allocation.
        if let problem = check(request.exchange, "exchange name") ?? check(request.routingKey, "routing key") {
            return problem
        }
        if let problem = check(properties.contentType, "content_type") ?? check(properties.contentEncoding, "content_encoding")
            ?? check(properties.correlationID, "correlation_id")
        {
            return problem
        }
        if let problem = check(properties.replyTo, "reply_to") ?? check(properties.expiration, "expiration")
            ?? check(properties.messageID, "message_id")
        {
            return problem
        }
        if let problem = check(properties.type, "type") ?? check(properties.userID, "user_id") ?? check(properties.appID, "app_id") {
            return problem
        }
        // The table and its overrides apart: reading `headers` would merge them into a new one.
        if let problem = properties.storage.headers.flatMap({ tableViolation($0, path: { "headers" }) }) { return problem }
        for entry in properties.storage.headerOverrides {
            if let problem = entryViolation(key: entry.key, value: entry.value, path: { "headers" }) { return problem }
        }
        return nil
    }

    private static func check(_ value: String?, _ name: String) -> String? {
        guard let length = value?.utf8.count, length > maxBytes else { return nil }
        return "\(name) is \(length) bytes; AMQP allows at most \(maxBytes)"
    }

    /// `path` is built only for the message of a violation: every retry and dead-letter copy
    /// passes its headers through here, and naming each key's path up front was a dozen
    /// `String` appends per copy for a message that is almost never written.
    private static func tableViolation(_ table: AMQPTable, path: () -> String) -> String? {
        for (key, value) in table {
            if let problem = entryViolation(key: key, value: value, path: path) { return problem }
        }
        return nil
    }

    private static func entryViolation(key: String, value: AMQPFieldValue, path: () -> String) -> String? {
        if key.utf8.count > maxBytes {
            return "\(path()) has a key of \(key.utf8.count) bytes; AMQP allows at most \(maxBytes)"
        }
        return valueViolation(value, path: { "\(path()).\(key)" })
    }

    private static func valueViolation(_ value: AMQPFieldValue, path: () -> String) -> String? {
        switch value {
        case .table(let nested): return tableViolation(nested, path: path)
        case .array(let items):
            for item in items {
                if let problem = valueViolation(item, path: path) { return problem }
            }
            return nil
        default: return nil
        }
    }
}

extension amqp_bytes_t {
    /// The bytes as UTF-8 text (invalid sequences repaired), cut to fit a short string so
    /// that a copy of what was received can always be sent again.
    var swiftShortString: String {
        ShortString.fitting(swiftString)
    }
}
