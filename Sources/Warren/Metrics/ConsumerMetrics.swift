import Metrics

/// One consumer's metrics, through swift-metrics: whatever backend the process bootstrapped
/// (`warren worker` bootstraps Prometheus and serves `/metrics`; with none, they cost a no-op
/// call each).
///
/// | name | type | labels |
/// |---|---|---|
/// | `warren_messages_received_total` | counter | `queue` |
/// | `warren_messages_redelivered_total` | counter | `queue` (deliveries flagged `redelivered`: every possible duplicate, e.g. after a node failed) |
/// | `warren_messages_acked_total` | counter | `queue` |
/// | `warren_messages_dead_lettered_total` | counter | `queue`, `reason` (`DeadLetterReason`) |
/// | `warren_messages_retried_total` | counter | `queue`, `kind`: `immediate` (in process) or `delayed` (through `Q.retry.<delay>`) |
/// | `warren_messages_isolated_total` | counter | `queue` (redelivered messages handled alone, see `CrashGuard`) |
/// | `warren_messages_requeued_total` | counter | `queue`, `reason`: `unstarted` (prefetched but not started, given back by a drain) or `copy_failed` (its retry or dead-letter copy could not be published) |
/// | `warren_messages_abandoned_total` | counter | `queue` (left unacked: the broker redelivers them) |
/// | `warren_handler_duration_seconds` | histogram | `queue` (every handled message, whatever its outcome) |
/// | `warren_message_age_seconds` | histogram | `queue` (publish → handler start, see `MessageAge`) |
/// | `warren_messages_in_flight` | gauge | `queue` |
/// | `warren_concurrency_limit` | gauge | `queue` (the configured concurrency, set once: the ceiling of `warren_messages_in_flight`) |
/// | `warren_connection_state` | gauge | `queue`, `state`: 1 for the current state, 0 for the others (a stall leaves `consuming` at 1) |
/// | `warren_stalled_seconds` | gauge | `queue`: how long deliveries have been unable to flow, 0 while they flow (`WorkerStatus.refreshMetrics`, at each scrape) |
/// | `warren_reconnects_total` | counter | `queue` |
/// | `warren_broker_node` | gauge | `queue`, `node` (`host:port` of a configured URL): 1 for the node the consumer is connected to, 0 for the others |
///
/// Labels are bounded: the queue names and nodes come from configuration, `reason` and `state` from
/// fixed lists; never a message id or an error text. The `# HELP` texts are in `WarrenMetricHelp`.
///
/// Every handle is made once, when the consumer is created (a metric lookup takes the backend's
/// lock; an increment does not), so bootstrap the metrics backend before creating consumers.
/// Thread-safe: the handles are updated from handler tasks and the connection's thread.
struct ConsumerMetrics: Sendable {
    let received: Counter
    let redelivered: Counter
    let acked: Counter
    let requeuedUnstarted: Counter
    let requeuedCopyFailed: Counter
    let retriedImmediately: Counter
    let retriedLater: Counter
    let isolated: Counter
    let abandoned: Counter
    let reconnects: Counter
    let inFlight: Meter
    /// Set when read, not on a transition: `WorkerStatus.refreshMetrics()`.
    let stalledSeconds: Gauge
    let handlerDuration: Timer
    let messageAge: Timer
    private let deadLettered: [DeadLetterReason: Counter]
    private let states: [WorkerStatus.State: Gauge]
    private let nodes: [String: Gauge]

    /// Every state the gauge shows, so each series exists (at 0) from the start: all but
    /// `stalled`, which `WorkerStatus` finds when `/readyz` asks, not on a transition; a stall
    /// leaves `consuming` at 1 (`WorkerStatus.gaugedState`).
    static let gaugedStates = WorkerStatus.State.allCases.filter { $0 != .stalled }

    /// - Parameters:
    ///   - nodes: every configured node's `host:port`, so each series exists (at 0) from the start.
    ///   - concurrency: the configured concurrency, exported once as `warren_concurrency_limit`
    ///     so that dashboards can show in-flight handlers against their ceiling.
    ///   - factory: the backend; the bootstrapped one unless a test passes its own (the global
    ///     bootstrap can happen once per process).
    init(queue: String, nodes: [String] = [], concurrency: Int? = nil, factory: any MetricsFactory = MetricsSystem.factory) {
        let labels = [("queue", queue)]
        received = Counter(label: "warren_messages_received_total", dimensions: labels, factory: factory)
        redelivered = Counter(label: "warren_messages_redelivered_total", dimensions: labels, factory: factory)
        acked = Counter(label: "warren_messages_acked_total", dimensions: labels, factory: factory)
        requeuedUnstarted = Counter(label: "warren_messages_requeued_total", dimensions: labels + [("reason", "unstarted")], factory: factory)
        requeuedCopyFailed = Counter(label: "warren_messages_requeued_total", dimensions: labels + [("reason", "copy_failed")], factory: factory)
        retriedImmediately = Counter(label: "warren_messages_retried_total", dimensions: labels + [("kind", "immediate")], factory: factory)
        retriedLater = Counter(label: "warren_messages_retried_total", dimensions: labels + [("kind", "delayed")], factory: factory)
        isolated = Counter(label: "warren_messages_isolated_total", dimensions: labels, factory: factory)
        abandoned = Counter(label: "warren_messages_abandoned_total", dimensions: labels, factory: factory)
        reconnects = Counter(label: "warren_reconnects_total", dimensions: labels, factory: factory)
        inFlight = Meter(label: "warren_messages_in_flight", dimensions: labels, factory: factory)
        stalledSeconds = Gauge(label: "warren_stalled_seconds", dimensions: labels, factory: factory)
        stalledSeconds.record(0)
        handlerDuration = Timer(label: "warren_handler_duration_seconds", dimensions: labels, preferredDisplayUnit: .seconds, factory: factory)
        messageAge = Timer(label: "warren_message_age_seconds", dimensions: labels, preferredDisplayUnit: .seconds, factory: factory)
        var deadLettered: [DeadLetterReason: Counter] = [:]
        for reason in DeadLetterReason.allCases {
            deadLettered[reason] = Counter(label: "warren_messages_dead_lettered_total", dimensions: labels + [("reason", reason.rawValue)], factory: factory)
        }
        self.deadLettered = deadLettered
        var states: [WorkerStatus.State: Gauge] = [:]
        for state in Self.gaugedStates {
            states[state] = Gauge(label: "warren_connection_state", dimensions: labels + [("state", state.rawValue)], factory: factory)
        }
        self.states = states
        var nodeGauges: [String: Gauge] = [:]
        for node in nodes {
            nodeGauges[node] = Gauge(label: "warren_broker_node", dimensions: labels + [("node", node)], factory: factory)
        }
        self.nodes = nodeGauges
        setState(.starting)
        setNode(nil)
        if let concurrency {
            Gauge(label: "warren_concurrency_limit", dimensions: labels, factory: factory).record(concurrency)
        }
    }

    func deadLettered(_ reason: DeadLetterReason) {
        deadLettered[reason]?.increment()
    }

    /// Sets the gauge of `state` to 1 and every other state's to 0. `state` is one of
    /// `gaugedStates`: any other would leave every series at 0.
    func setState(_ state: WorkerStatus.State) {
        for (name, gauge) in states { gauge.record(name == state ? 1 : 0) }
    }

    /// Sets the gauge of `node` (`host:port`) to 1 and every other node's to 0; `nil` while not
    /// connected.
    func setNode(_ node: String?) {
        for (name, gauge) in nodes { gauge.record(name == node ? 1 : 0) }
    }
}
