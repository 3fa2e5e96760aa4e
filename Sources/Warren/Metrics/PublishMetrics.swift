import Metrics
import WarrenAMQP

/// `warren_publish_confirms_total{result}`: how the broker answered each confirmed publish,
/// whether from `WarrenConnection.publish` (handlers' follow-ups, an embedding app) or from
/// `warren publish`.
///
/// | result | meaning |
/// |---|---|
/// | `ack` | confirmed and routed to a queue |
/// | `nack` | the broker refused it (`basic.nack`) |
/// | `unroutable` | confirmed but returned: no queue took it (mandatory publish) |
/// | `timeout` | no confirm within the caller's timeout (outcome unknown) |
/// | `error` | the connection failed before the confirm |
///
/// Made once per publisher (lookups take the metrics backend's lock); thread-safe.
public struct PublishMetrics: Sendable {
    /// How the broker answered one publish; the raw value is the `result` label (see the table).
    public enum Result: String, Sendable, CaseIterable {
        /// One per row of the table above.
        case ack, nack, unroutable, timeout, error
    }

    private let counters: [Result: Counter]

    /// Binds to the metrics backend bootstrapped now (a no-op one if none is).
    public init() {
        var counters: [Result: Counter] = [:]
        for result in Result.allCases {
            counters[result] = Counter(label: "warren_publish_confirms_total", dimensions: [("result", result.rawValue)])
        }
        self.counters = counters
    }

    /// Counts one publish with `result`; any thread, never blocks.
    public func record(_ result: Result) {
        counters[result]?.increment()
    }

    /// Records the outcome of waiting for a confirm: success or the error it threw.
    public func record(error: (any Error)?) {
        guard let error else { return record(.ack) }
        switch (error as? AMQPError)?.code {
        case .publishNacked: record(.nack)
        case .unroutable: record(.unroutable)
        default: record(error is PublishTimeout ? .timeout : .error)
        }
    }
}
