import Logging
import WarrenAMQP

/// Everything `warren worker` needs, validated. Build it with `init(resolving:)` at startup so
/// a bad value stops the process before it touches the broker.
///
/// | env | flag | default |
/// |---|---|---|
/// | WARREN_AMQP_URL | --amqp-url | amqp://guest:guest@127.0.0.1:5672/ |
/// | WARREN_QUEUE | --queue | warren.jobs |
/// | WARREN_QUEUE_TYPE | --queue-type | quorum |
/// | WARREN_PREFETCH | --prefetch | 50 |
/// | WARREN_CONCURRENCY | --concurrency | 8 |
/// | WARREN_LOG_LEVEL | --log-level | info |
public struct WorkerConfiguration: Sendable, Equatable {
    public var broker: BrokerConfiguration
    /// `basic.qos` prefetch: how many unacked deliveries the broker may send ahead.
    public var prefetch: UInt16
    /// How many handlers run at once.
    public var concurrency: Int
    public var logLevel: Logger.Level

    public init(broker: BrokerConfiguration, prefetch: UInt16 = 50, concurrency: Int = 8, logLevel: Logger.Level = .info) {
        self.broker = broker
        self.prefetch = prefetch
        self.concurrency = concurrency
        self.logLevel = logLevel
    }

    public init(resolving settings: SettingsResolver) throws {
        broker = try BrokerConfiguration(resolving: settings)
        prefetch = try settings.integer("prefetch", default: 50, in: 1...65535)
        concurrency = try settings.integer("concurrency", default: 8, in: 1...10_000)
        logLevel = try settings.logLevel("log-level", default: .info)
    }
}
