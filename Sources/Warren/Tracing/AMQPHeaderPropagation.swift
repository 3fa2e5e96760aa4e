import Tracing
import WarrenAMQP

/// Writes trace-context fields (W3C `traceparent`, `tracestate`, or whatever the bootstrapped
/// instrument propagates) into a message's headers, as long strings.
public struct AMQPHeadersInjector: Injector {
    /// An injector; stateless.
    public init() {}

    /// Sets `headers[key]` to `value` as a long string, replacing any value.
    public func inject(_ value: String, forKey key: String, into headers: inout AMQPTable) {
        headers[key] = .string(value)
    }
}

/// Reads trace-context fields from a message's headers. A header that is not a string (a
/// publisher that sent bytes, say) is read as UTF-8 text; anything else is absent.
public struct AMQPHeadersExtractor: Extractor {
    /// An extractor; stateless.
    public init() {}

    /// The header `key` as text: a long string, or bytes read as UTF-8; `nil` otherwise.
    public func extract(key: String, from headers: AMQPTable) -> String? {
        switch headers[key] {
        case .string(let text)?: text
        case .bytes(let bytes)?: String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }
}
