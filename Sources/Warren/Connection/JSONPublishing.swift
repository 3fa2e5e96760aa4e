import WarrenAMQP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The body and properties of a JSON message: persistent, `application/json`, with a message
/// id (a new UUID unless given) and the current time as its timestamp.
enum JSONPublishing {
    static func encode<T: Encodable>(
        _ value: T, messageID: String?, correlationID: String?, headers: AMQPTable?
    ) throws -> (body: [UInt8], properties: AMQPProperties) {
        let body = Array(try JSONEncoder().encode(value))
        let properties = AMQPProperties(
            contentType: "application/json", headers: headers, deliveryMode: 2, correlationID: correlationID,
            messageID: messageID ?? UUID().uuidString.lowercased(), timestamp: UInt64(Date().timeIntervalSince1970))
        return (body, properties)
    }
}

extension WarrenConnection {
    /// Encodes `value` as JSON, publishes it persistent with publisher confirms, and returns its
    /// message id once the broker confirmed it (`timeout`: see `publish(_:exchange:routingKey:…)`).
    @discardableResult
    public func publish<T: Encodable>(
        json value: T, exchange: String = "", routingKey: String, messageID: String? = nil,
        correlationID: String? = nil, headers: AMQPTable? = nil, timeout: Duration? = nil
    ) async throws -> String {
        let (body, properties) = try JSONPublishing.encode(value, messageID: messageID, correlationID: correlationID, headers: headers)
        try await publish(body, exchange: exchange, routingKey: routingKey, properties: properties, timeout: timeout)
        return properties.messageID!
    }
}

extension MessageContext {
    /// Publishes `value` as a JSON follow-up message (see `publish(_:exchange:routingKey:…)`,
    /// also for `timeout`) and returns its message id once the broker confirmed it.
    @discardableResult
    public func publish<T: Encodable>(
        json value: T, exchange: String = "", routingKey: String, messageID: String? = nil, headers: AMQPTable? = nil,
        timeout: Duration? = nil
    ) async throws -> String {
        let (body, properties) = try JSONPublishing.encode(value, messageID: messageID, correlationID: nil, headers: headers)
        try await publish(body, exchange: exchange, routingKey: routingKey, properties: properties, timeout: timeout)
        return properties.messageID!
    }
}
