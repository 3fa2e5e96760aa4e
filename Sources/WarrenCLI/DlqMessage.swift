import Warren
import WarrenAMQP

/// What `warren dlq` reads from a dead-lettered message and writes into its replayed copy.
enum DlqMessage {
    /// Why the message was dead-lettered: Warren's `x-warren-error-type` header, else the
    /// broker's reason in the first `x-death` entry (`rejected`, `expired`, `delivery_limit`, …),
    /// else `unknown`.
    static func reason(of properties: AMQPProperties) -> String {
        let headers = properties.headers ?? [:]
        if let type = text(headers["x-warren-error-type"]), !type.isEmpty { return type }
        if case .array(let deaths)? = headers["x-death"], case .table(let first)? = deaths.first,
           let reason = text(first["reason"]), !reason.isEmpty {
            return reason
        }
        return "unknown"
    }

    /// Headers that describe a failed attempt or a dead-lettering: a replayed copy starts over
    /// without them (the attempt counter resets to the first attempt).
    static let resetHeaders: Set<String> = [
        "x-warren-attempt", "x-warren-attempts", "x-warren-error-type", "x-warren-error-message",
        "x-warren-failed-at", "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
    ]

    /// The properties of the copy `replay` publishes: the reset headers (and every
    /// `x-last-death-*`) dropped, `x-warren-replayed-at` added, persistent; every other header
    /// and property, the message id included, unchanged.
    static func replayProperties(of properties: AMQPProperties, replayedAt: String) -> AMQPProperties {
        var copy = properties
        var headers = (properties.headers ?? [:]).filter { key, _ in
            !resetHeaders.contains(key) && !key.hasPrefix("x-last-death-")
        }
        headers["x-warren-replayed-at"] = .string(replayedAt)
        copy.headers = headers
        copy.deliveryMode = 2
        return copy
    }

    /// One `peek` line: `{"message_id":…,"reason":…,"redelivered":…,"properties":{…},"headers":{…},"body":…}`.
    /// The body is text when it is valid UTF-8, else `"body_base64"`.
    static func jsonLine(_ delivery: AMQPDelivery) -> String {
        let properties = delivery.properties
        let body: (String, String)
        if let text = String(validating: delivery.body, as: UTF8.self) {
            body = ("body", DlqJSON.string(text))
        } else {
            body = ("body_base64", DlqJSON.string(DlqJSON.base64(delivery.body)))
        }
        return DlqJSON.object([
            ("message_id", properties.messageID.map(DlqJSON.string) ?? "null"),
            ("reason", DlqJSON.string(reason(of: properties))),
            ("redelivered", delivery.redelivered ? "true" : "false"),
            ("properties", DlqJSON.object(propertyFields(properties))),
            ("headers", DlqJSON.table(properties.headers ?? [:])),
            body,
        ])
    }

    /// The properties that are set, except the message id and headers (top-level fields).
    private static func propertyFields(_ p: AMQPProperties) -> [(String, String)] {
        let strings: [(String, String?)] = [
            ("content_type", p.contentType), ("content_encoding", p.contentEncoding),
            ("correlation_id", p.correlationID), ("reply_to", p.replyTo), ("expiration", p.expiration),
            ("type", p.type), ("user_id", p.userID), ("app_id", p.appID),
        ]
        var fields = strings.compactMap { key, value in value.map { (key, DlqJSON.string($0)) } }
        if let mode = p.deliveryMode { fields.append(("delivery_mode", String(mode))) }
        if let priority = p.priority { fields.append(("priority", String(priority))) }
        if let timestamp = p.timestamp { fields.append(("timestamp", DlqJSON.string(UTCTimestamp.format(epochSeconds: timestamp)))) }
        return fields
    }

    private static func text(_ value: AMQPFieldValue?) -> String? {
        switch value {
        case .string(let text)?: return text
        case .bytes(let bytes)?: return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }
}
