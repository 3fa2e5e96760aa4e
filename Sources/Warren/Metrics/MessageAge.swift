import WarrenAMQP

/// When a message was published, as far as its properties tell, for
/// `warren_message_age_seconds` (the "critical time" from publish to handler start).
///
/// Read from the `timestamp_in_ms` header (milliseconds since the Unix epoch: RabbitMQ's
/// `rabbitmq_message_timestamp` plugin and `warren publish` set it), else from the AMQP
/// `timestamp` property (whole seconds, so ages under a few seconds are only roughly right).
/// A message with neither has no age and is not recorded.
public enum MessageAge {
    /// The header RabbitMQ's message-timestamp plugin sets (an integer, milliseconds).
    public static let header = "timestamp_in_ms"

    /// Milliseconds since the Unix epoch at which `properties` say the message was published.
    public static func publishedAtMilliseconds(_ properties: AMQPProperties) -> Int64? {
        if let value = properties.headers?[header] {
            switch value {
            case .int(let ms): return ms
            case .timestamp(let ms): return Int64(clamping: ms)
            case .double(let ms) where ms.isFinite: return Int64(ms)
            default: break
            }
        }
        return properties.timestamp.map { Int64(clamping: $0) &* 1000 }
    }

    /// The wall clock in milliseconds since the Unix epoch: the value to put in `header` when
    /// publishing.
    public static func nowMilliseconds() -> Int64 { WallClock.nowMilliseconds() }

    /// The age in nanoseconds at `nowMilliseconds`; a clock ahead of ours (another host's
    /// skew) counts as age 0 rather than a negative age. The clock is read only for a message
    /// that has a publish time (most of a stream either all have one or none do).
    static func nanoseconds(_ properties: AMQPProperties, nowMilliseconds: @autoclosure () -> Int64) -> Int64? {
        guard let published = publishedAtMilliseconds(properties) else { return nil }
        let (age, overflow) = nowMilliseconds().subtractingReportingOverflow(published)
        // A garbage header (far past or future) is no age at all, rather than a trap.
        guard !overflow, age < Int64.max / 1_000_000 else { return nil }
        return max(0, age) * 1_000_000
    }
}
