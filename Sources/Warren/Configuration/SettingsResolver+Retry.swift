extension RetryPolicy {
    /// Reads `immediate-retries` (0–100, default 0) and `retry-delays` (`RetryPolicy.parseDelays`,
    /// default 1s,10s,1m) as `warren worker` does; `warren publish` and `warren dlq` read the
    /// same settings so they declare the same retry queues.
    public init(resolving settings: SettingsResolver) throws {
        let immediateRetries = try settings.integer("immediate-retries", default: 0, in: 0...100)
        var delays = RetryPolicy.defaultDelays
        if let raw = try settings.raw("retry-delays", as: .list(separator: ",")) {
            guard let parsed = RetryPolicy.parseDelays(raw.value) else {
                throw ConfigurationError(
                    key: raw.key, value: raw.value,
                    problem: "must be comma-separated durations from 1ms to 24h, e.g. 1s,10s,1m (empty for none)")
            }
            delays = parsed
        }
        self.init(immediateRetries: immediateRetries, delays: delays)
    }
}

extension Topology {
    /// Reads `delivery-limit` (0–100000, default 20; 0 declares none).
    public static func deliveryLimit(resolving settings: SettingsResolver) throws -> Int? {
        let limit = try settings.integer("delivery-limit", default: Topology.defaultDeliveryLimit, in: 0...100_000)
        return limit == 0 ? nil : limit
    }

    /// The topology of `broker`'s queue under the retry, delivery-limit, binding and
    /// existing-queue settings, for the tools that declare it (`warren publish`, `warren dlq`)
    /// without a whole worker configuration.
    public init(broker: BrokerConfiguration, resolving settings: SettingsResolver) throws {
        self.init(
            queue: broker.queue, queueType: broker.queueType, retryDelays: try RetryPolicy(resolving: settings).delays,
            deliveryLimit: try Topology.deliveryLimit(resolving: settings), bindings: try Topology.bindings(resolving: settings),
            existingQueue: try Topology.existingQueue(resolving: settings))
    }
}
