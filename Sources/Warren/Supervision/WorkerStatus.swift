import Metrics
import Synchronization

/// What a worker is doing right now, for readiness probes and status lines.
///
/// Thread-safe: written by the consumer service, read by the HTTP server (any task or thread).
public final class WorkerStatus: Sendable {
    /// A snapshot for `/readyz`.
    public struct Readiness: Sendable, Equatable {
        /// True only while connected and consuming (and neither the consuming connection nor a
        /// publishing one is blocked by the broker).
        public var isReady: Bool
        /// What the worker is doing; `/readyz` shows its word (`starting`, `connecting`,
        /// `consuming`, `blocked`, `stalled`, `reconnecting`, `draining`, `stopped`, `failed`).
        public var state: State
        /// Why it is not ready, for people, e.g. `reconnecting in 3.2s after: connection refused`.
        public var reason: String?
        /// The broker node (`host:port`) the consumer is connected to, while it is connected.
        public var node: String?

        /// A snapshot; `reason` is shown (falling back to the state's word) only when not ready.
        public init(isReady: Bool, state: State, reason: String? = nil, node: String? = nil) {
            self.isReady = isReady
            self.state = state
            self.reason = reason
            self.node = node
        }
    }

    private struct Stored {
        var isReady = false
        var state = State.starting
        var detail: String? = "starting"
        var retryAt: ContinuousClock.Instant?
    }

    /// A snapshot for `/healthz`.
    public struct Liveness: Sendable, Equatable {
        /// False once the worker is wedged: a stall (see `Readiness` state `stalled`) that lasted
        /// twice the consumer's `stallTimeout`. An orchestrator should restart the process.
        public var isAlive: Bool
        /// Why it is not alive.
        public var reason: String?

        /// A snapshot; `reason` only when not alive.
        public init(isAlive: Bool, reason: String? = nil) {
            self.isAlive = isAlive
            self.reason = reason
        }
    }

    private let stored = Mutex(Stored())
    /// The node the consumer is connected to (`host:port`), set by the consumer.
    private let node = Mutex<String?>(nil)
    /// Watches that deliveries can flow while consuming (set by the consumer).
    private let flow = Mutex<FlowMonitor?>(nil)
    /// `warren_stalled_seconds` of the consumer that reports here (`refreshMetrics()`).
    private let stallGauge = Mutex<Gauge?>(nil)
    /// Publishing connections whose `connection.blocked` makes a consuming worker not ready
    /// (`WarrenConnection.blockedReason`), by registration id.
    private let publishers = Mutex<(nextID: UInt64, connections: [UInt64: (role: String, connection: WarrenConnection)])>((0, [:]))

    /// A status reading `starting`, not ready, until a consumer reports to it.
    public init() {}

    /// The consumer that reports here watches its flow with `monitor`; `stallGauge`, if given,
    /// shows its stalls (`refreshMetrics()`).
    func watch(_ monitor: FlowMonitor, stallGauge: Gauge? = nil) {
        flow.withLock { $0 = monitor }
        if let stallGauge { self.stallGauge.withLock { $0 = stallGauge } }
    }

    /// Brings `warren_stalled_seconds` up to date: how long the current stall has lasted (the
    /// one `/readyz` reports as `stalled`), or 0 while deliveries can flow.
    ///
    /// A stall is no event: it is found by looking (`FlowMonitor`), so no transition could set
    /// the gauge. The `/metrics` handler of `HealthServer` calls this before every scrape; a
    /// program serving the metrics some other way should call it before each export, or the
    /// gauge keeps its last value. From any task or thread.
    public func refreshMetrics() {
        guard let gauge = stallGauge.withLock({ $0 }) else { return }
        let stall = stored.withLock({ $0.isReady }) ? flow.withLock({ $0 })?.stall : nil
        gauge.record(stall.map { Double($0.duration.components.seconds) + Double($0.duration.components.attoseconds) / 1e18 } ?? 0)
    }

    /// The current readiness; a pending reconnect's countdown, a stall (deliveries cannot flow)
    /// and whether a publishing connection is blocked are found at the time of reading.
    public var readiness: Readiness {
        var readiness = readinessWithoutNode
        readiness.node = node.withLock { $0 }
        return readiness
    }

    /// Records the node the consumer is connected to (`nil` once it is not).
    func connected(to node: String?) {
        self.node.withLock { $0 = node }
    }

    /// The state the `warren_connection_state` gauge shows: the readiness's state, except that a
    /// stall reads as the state under it (`consuming`). A stall is no state of the connection —
    /// it is up and the consumer registered, deliveries just do not flow — and it is found only
    /// when asked (`/readyz`, `/healthz`), not on a transition, so a gauge series of its own could
    /// not follow it; `stalled` has none (`ConsumerMetrics.gaugedStates`). A blocked publishing
    /// connection still shows as `blocked`.
    var gaugedState: State {
        readiness(of: stored.withLock { $0 }).state
    }

    private var readinessWithoutNode: Readiness {
        let stored = stored.withLock { $0 }
        if stored.isReady, let stall = flow.withLock({ $0 })?.stall {
            return Readiness(isReady: false, state: .stalled, reason: stall.reason)
        }
        return readiness(of: stored)
    }

    /// The readiness `stored` means, a pending reconnect's countdown and a blocked publishing
    /// connection included, without looking for a stall.
    private func readiness(of stored: Stored) -> Readiness {
        guard let retryAt = stored.retryAt else {
            if stored.isReady, let blocked = blockedPublisher {
                return Readiness(isReady: false, state: .blocked, reason: blocked)
            }
            return Readiness(isReady: stored.isReady, state: stored.state, reason: stored.detail)
        }
        let remaining = max(.zero, ContinuousClock.now.duration(to: retryAt))
        let tenths = (remaining.components.seconds * 10) + remaining.components.attoseconds / 100_000_000_000_000_000
        let reason = "reconnecting in \(tenths / 10).\(tenths % 10)s after: \(stored.detail ?? "an error")"
        return Readiness(isReady: false, state: stored.state, reason: reason)
    }

    /// Alive unless a stall has lasted twice its limit (the process is wedged).
    public var liveness: Liveness {
        guard let monitor = flow.withLock({ $0 }), let stall = monitor.stall, stall.duration > monitor.limit * 2 else {
            return Liveness(isAlive: true)
        }
        return Liveness(isAlive: false, reason: "wedged: \(stall.reason)")
    }

    /// The liveness of several consumers as one: the first one that is not alive, else alive.
    public static func combinedLiveness(_ statuses: [WorkerStatus]) -> Liveness {
        statuses.lazy.map(\.liveness).first { !$0.isAlive } ?? Liveness(isAlive: true)
    }

    /// The readiness of several consumers as one: the first one that is not ready, else the
    /// first one (all ready). No statuses at all reads as ready with state `consuming`.
    public static func combinedReadiness(_ statuses: [WorkerStatus]) -> Readiness {
        let all = statuses.map(\.readiness)
        return all.first { !$0.isReady } ?? all.first ?? Readiness(isReady: true, state: .consuming)
    }

    /// Why a watched publishing connection is blocked (`<role> connection blocked by the broker:
    /// <reason>`), or `nil`. Read outside every lock of this status: it takes the connection's.
    var blockedPublisher: String? {
        let watched = publishers.withLock { $0.connections.sorted { $0.key < $1.key }.map(\.value) }
        for (role, connection) in watched {
            if let reason = connection.blockedReason { return "\(role) connection blocked by the broker: \(reason)" }
        }
        return nil
    }

    /// Makes a block of `connection` show as `state: blocked` while the worker consumes: the
    /// broker blocks only connections that publish, so a worker whose retries, dead-letter
    /// copies or handler follow-ups cannot be published is not fully working. Returns an id for
    /// `unwatch`.
    func watch(_ connection: WarrenConnection, role: String) -> UInt64 {
        publishers.withLock { state in
            state.nextID += 1
            state.connections[state.nextID] = (role, connection)
            return state.nextID
        }
    }

    func unwatch(_ id: UInt64) {
        _ = publishers.withLock { $0.connections.removeValue(forKey: id) }
    }

    /// Records a new state. `retryAt` is set while waiting to reconnect; `detail` says why the
    /// worker is not ready (or the cause of the pending reconnect).
    public func update(state: State, isReady: Bool, detail: String? = nil, retryAt: ContinuousClock.Instant? = nil) {
        stored.withLock { $0 = Stored(isReady: isReady, state: state, detail: detail, retryAt: retryAt) }
    }
}
