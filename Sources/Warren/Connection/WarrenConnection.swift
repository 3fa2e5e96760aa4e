import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import WarrenAMQP

/// A broker connection that opens on first use and reopens on the next use after it failed.
///
/// Connect attempts are spaced by `ConnectionConfiguration.reconnectBackoff`: after a failed
/// attempt the next one starts no sooner than the backoff's delay (full jitter below a doubling
/// cap; a successful attempt resets it), however often it is asked for, and at most one attempt
/// runs at a time. So publishers calling in a tight loop while the broker is down or hung make
/// a few attempts a second at most, not one (and one owner thread) per call.
///
/// Share one between several consumers (`WarrenConsumer(…, connection: .shared(connection), …)`)
/// and publishers, or let each consumer open its own (`.dedicated(configuration)`). Nothing
/// connects at construction, so creating one never waits on the broker.
///
/// As a `Service` it does nothing until the group shuts down, then closes the connection. List
/// it **before** the services that use it: a `ServiceGroup` stops services in reverse order, so
/// the consumers drain and the HTTP server finishes its requests before the connection closes.
///
/// ```swift
/// let connection = WarrenConnection(configuration.connection(named: "shop@\(host)"))
/// let group = ServiceGroup(services: [connection, ordersConsumer, emailConsumer], …)
/// ```
///
/// Consumers sharing a connection share its channel: AMQP closes the channel on a broker
/// exception, so one consumer's `406 PRECONDITION_FAILED` (a queue declared with other
/// arguments) ends the other consumers' streams too; the channel is opened again on the same
/// connection and they consume again (see `AMQPConnection`). Share a connection between
/// consumers whose topology you control; give a consumer whose queue may be misconfigured its
/// own.
///
/// - Important: Thread-safe; every method may be called from any task. The AMQP work itself
///   runs on the connection's owner thread (see `AMQPConnection`), never on the caller's.
public final class WarrenConnection: Service, Sendable {
    /// The broker, the connection name and the timeouts every connection opened here uses.
    public let configuration: ConnectionConfiguration
    /// Declared on every connection opened here, before anyone uses it.
    public let topologies: [Topology]
    private let logger: Logger
    let publishMetrics = PublishMetrics()
    private let state: Mutex<State>
    private let listeners = Mutex<[UInt64: @Sendable (AMQPConnectionEvent) -> Void]>([:])

    private struct State {
        enum Phase {
            case idle
            case connecting(generation: UInt64, task: Task<Void, Never>)
            case open(AMQPConnection, generation: UInt64)
            case closed
        }
        var phase = Phase.idle
        /// The broker's `connection.blocked` reason, and the generation of the connection it
        /// was sent on (a blocked connection that is gone blocks nothing).
        var blocked: (generation: UInt64, reason: String)?
        var waiters: [UInt64: CheckedContinuation<AMQPConnection, Error>] = [:]
        var nextID: UInt64 = 0
        /// When the next connect attempt may start.
        var schedule: ReconnectSchedule
        /// Which node each attempt tries first (after the last one that failed).
        var rotation: AMQPNodeRotation
        /// The node of the connection of `generation`, and its index in `rotation.nodes`.
        var node: (generation: UInt64, index: Int, node: BrokerNode)?

        /// The connection of `generation` failed or was given up: the next attempt starts with
        /// the node after its node, so a node that just died is tried last.
        mutating func nodeFailed(_ generation: UInt64) {
            guard let node, node.generation == generation else { return }
            rotation.failed(node.index)
            self.node = nil
        }
    }

    /// - Parameters:
    ///   - configuration: the broker (URL list, credentials, TLS) and the connection's name.
    ///   - topologies: queues (with their dead-letter routes) to declare on every connection
    ///     opened here, before it is handed out, so a publisher can publish to a queue whose
    ///     consumer has not connected yet (a publish to a missing queue is unroutable). Declaring
    ///     is idempotent; a declaration the broker refuses fails the connect.
    ///   - logger: given to the connection's owner thread for its debug lines.
    public init(_ configuration: ConnectionConfiguration, declaring topologies: [Topology] = [], logger: Logger = Logger(label: "warren")) {
        self.configuration = configuration
        self.topologies = topologies
        self.logger = logger
        state = Mutex(State(
            schedule: ReconnectSchedule(backoff: configuration.reconnectBackoff),
            rotation: AMQPNodeRotation(configuration.orderedURLs)))
    }

    /// The open connection, opening one first when there is none or the last one failed.
    /// Concurrent callers share a single connect attempt; its error goes to all of them. After a
    /// failed attempt the next one first waits out the reconnect backoff, and callers wait with
    /// it (bound the wait with `publish(…, timeout:)` or task cancellation). A cancelled caller
    /// stops waiting at once; the attempt goes on without it (bounded by the connect timeout),
    /// so callers that give up and call again join it instead of starting another. A connection
    /// it opens with nobody waiting is kept for the next caller.
    ///
    /// Throws an `AMQPError` with code `.connectionClosedByClient` after `close()`.
    public func connection() async throws -> AMQPConnection {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AMQPConnection, Error>) in
                let immediate = state.withLock { state -> Result<AMQPConnection, Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    switch state.phase {
                    case .open(let connection, _) where connection.isOpen:
                        return .success(connection)
                    case .closed:
                        return .failure(AMQPError.connectionClosedByClient)
                    case .connecting:
                        state.waiters[id] = continuation
                    case .idle, .open:
                        if case .open(_, let generation) = state.phase { state.nodeFailed(generation) }
                        state.waiters[id] = continuation
                        let generation = id
                        state.phase = .connecting(generation: generation, task: Task { await self.attempt(generation) })
                    }
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            // Only this caller stops waiting: abandoning the attempt would let the next call
            // start another one at once, which is the reconnect storm the backoff prevents.
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// The connection if one is open right now, without waiting or connecting (the fast path of
    /// `enqueuePublish`). Thread-safe.
    var openConnection: AMQPConnection? {
        let connection = state.withLock { state -> AMQPConnection? in
            guard case .open(let connection, _) = state.phase else { return nil }
            return connection
        }
        // Asked outside the lock: it takes the connection's own, which its owner thread holds
        // often, and every failed message's copy comes through here.
        guard let connection, connection.isOpen else { return nil }
        return connection
    }

    /// One connect attempt, on its own task: waits out the backoff left by the last failed
    /// attempt, connects, declares the topologies, and hands the result to every waiter.
    /// Cancelled only by `close()`.
    private func attempt(_ generation: UInt64) async {
        let result: Result<AMQPConnection, Error>
        let wait = state.withLock { $0.schedule.wait(at: .now) }
        if wait > .zero { try? await Task.sleep(for: wait) }
        if Task.isCancelled {
            result = .failure(CancellationError())
        } else {
            result = await connectAndDeclare(generation)
        }
        let (waiters, orphan) = state.withLock { state -> ([CheckedContinuation<AMQPConnection, Error>], AMQPConnection?) in
            guard case .connecting(let current, _) = state.phase, current == generation else {
                // Closed while connecting: nobody will use this connection.
                return ([], try? result.get())
            }
            let waiters = Array(state.waiters.values)
            state.waiters = [:]
            switch result {
            case .success(let connection):
                state.schedule.succeeded()
                state.phase = .open(connection, generation: generation)
            case .failure:
                state.schedule.failed(at: .now, jitter: .random(in: 0..<1))
                state.phase = .idle
            }
            return (waiters, nil)
        }
        if let orphan { await orphan.close() }
        for waiter in waiters { waiter.resume(with: result) }
    }

    /// Tries the nodes from the one after the last that failed (see `AMQPNodeRotation`), each
    /// with its own connect deadline, then declares the topologies. Nodes that failed before one
    /// connected are logged (`connection.node_failed`), so a node that is down or refuses this
    /// URL's credentials shows up even while the others carry the load.
    private func connectAndDeclare(_ generation: UInt64) async -> Result<AMQPConnection, Error> {
        let rotation = state.withLock { $0.rotation }
        let order = rotation.attemptOrder
        let made: AMQPConnection.NodeConnection
        do {
            made = try await AMQPConnection.connect(
                configuration.amqp, nodes: order.map { rotation.nodes[$0] }, logger: logger,
                onEvent: { [weak self] event in self?.received(event, onGeneration: generation) })
        } catch {
            state.withLock { $0.rotation.failed(order[order.count - 1]) }
            return .failure(error)
        }
        let connection = made.connection
        let index = order[made.index]
        let node = BrokerNode(url: rotation.nodes[index], serverProperties: connection.serverProperties)
        state.withLock { state in
            if made.index > 0 { state.rotation.failed(order[made.index - 1]) }
            state.node = (generation, index, node)
        }
        for skipped in made.skipped {
            logger.warning("broker node failed; connected through another", metadata: [
                "event": "connection.node_failed", "connection": "\(configuration.connectionName)",
                "node": "\(BrokerNode(host: skipped.node.host, port: skipped.node.port))", "error": "\(skipped.error)",
                "connected_to": "\(node)",
            ])
        }
        do {
            for topology in topologies { try await topology.declare(on: connection) }
            return .success(connection)
        } catch {
            await connection.close()
            return .failure(error)
        }
    }

    /// The node the open connection is connected to, or `nil` while there is none (never
    /// connected, reconnecting, closed).
    ///
    /// - Important: Thread-safe; read at any time (e.g. by `/readyz`).
    public var connectedNode: BrokerNode? {
        state.withLock { state in
            guard case .open(let connection, let generation) = state.phase, connection.isOpen,
                  let node = state.node, node.generation == generation
            else { return nil }
            return node.node
        }
    }

    /// The node `connection` (opened here) is connected to, while it is the current one.
    func node(of connection: AMQPConnection) -> BrokerNode? {
        state.withLock { state in
            guard case .open(let open, let generation) = state.phase, open === connection,
                  let node = state.node, node.generation == generation
            else { return nil }
            return node.node
        }
    }

    /// Publishes on this connection (opening it if needed) and waits for the broker's confirm.
    /// Throws an `AMQPError` with code `.publishNacked`, an `AMQPError` with code `.unroutable` (when `mandatory` and no queue
    /// took it), or the connection's error; the next call then opens a new connection.
    ///
    /// Each outcome is counted in `warren_publish_confirms_total{result}` (`PublishMetrics`).
    /// With a tracer bootstrapped (swift-distributed-tracing), the publish is a producer span
    /// `send <exchange, or the routing key on the default exchange>` whose context — a child of
    /// the caller's `ServiceContext.current`, e.g. the handler's `process` span — is written into
    /// the headers (W3C `traceparent` with an OpenTelemetry tracer), replacing any given there.
    ///
    /// - Parameters:
    ///   - body: the message body, sent as it is.
    ///   - exchange: the exchange to publish to; `""` is the default exchange.
    ///   - routingKey: the routing key (on the default exchange: the queue's name).
    ///   - mandatory: ask the broker to return the message when no queue takes it.
    ///   - properties: the message's properties (persistent by default).
    ///   - timeout: longest wait for the connection and the confirm together (a broker
    ///     under a memory alarm blocks publishers indefinitely); then `PublishTimeout` is thrown,
    ///     carrying the broker's `connection.blocked` reason when the connection was blocked.
    ///     A timed-out message may still be stored by the broker: retrying may duplicate it, so
    ///     consumers must be idempotent (as at-least-once delivery requires anyway).
    public func publish(
        _ body: [UInt8], exchange: String = "", routingKey: String, mandatory: Bool = true,
        properties: AMQPProperties = AMQPProperties(deliveryMode: 2), timeout: Duration? = nil
    ) async throws {
        let tracer = InstrumentationSystem.tracer
        guard !(tracer is NoOpTracer) else {
            return try await publishCounted(body, exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties, timeout: timeout)
        }
        let (span, properties) = Self.startSendSpan(
            tracer, exchange: exchange, routingKey: routingKey, properties: properties, bodySize: body.count)
        defer { span.end() }
        do {
            try await publishCounted(body, exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties, timeout: timeout)
        } catch {
            Self.recordSendError(error, on: span)
            throw error
        }
    }

    private func publishCounted(
        _ body: [UInt8], exchange: String, routingKey: String, mandatory: Bool, properties: AMQPProperties, timeout: Duration?
    ) async throws {
        do {
            try await publishUncounted(body, exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties, timeout: timeout)
            publishMetrics.record(error: nil)
        } catch {
            if !(error is CancellationError) { publishMetrics.record(error: error) }
            throw error
        }
    }

    private func publishUncounted(
        _ body: [UInt8], exchange: String, routingKey: String, mandatory: Bool, properties: AMQPProperties, timeout: Duration?
    ) async throws {
        guard let timeout else {
            return try await connection().publish(exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties, body: body)
        }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await self.connection().publish(exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties, body: body)
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else { throw PublishTimeout(timeout: timeout, blockedReason: blockedReason) }
        }
    }

    /// Closes the connection (if open) and refuses to open another; waiting callers fail.
    /// Idempotent.
    public func close() async {
        let (connection, waiters, task) = state.withLock { state in
            var connection: AMQPConnection?
            var task: Task<Void, Never>?
            switch state.phase {
            case .open(let open, _): connection = open
            case .connecting(_, let attempt): task = attempt
            case .idle, .closed: break
            }
            state.phase = .closed
            let waiters = Array(state.waiters.values)
            state.waiters = [:]
            return (connection, waiters, task)
        }
        task?.cancel()
        for waiter in waiters { waiter.resume(throwing: AMQPError.connectionClosedByClient) }
        await connection?.close()
    }

    /// Waits for the group's graceful shutdown (or cancellation), then closes the connection.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes `connection` if it is still the current one, so the next caller opens a fresh
    /// connection (used after a failure left it in an unknown state).
    func discard(_ connection: AMQPConnection) async {
        let current = state.withLock { state -> Bool in
            guard case .open(let open, let generation) = state.phase, open === connection else { return false }
            state.nodeFailed(generation)
            state.phase = .idle
            return true
        }
        if current { await connection.close() }
    }

    /// The broker's reason while it blocks the current connection (`connection.blocked`, sent
    /// under a memory or disk alarm to connections that publish), else `nil`. A blocked
    /// connection that has since closed or been replaced no longer counts.
    ///
    /// - Important: Thread-safe; read at any time (e.g. by `/readyz`).
    public var blockedReason: String? {
        state.withLock { state in
            guard let blocked = state.blocked, case .open(let connection, let generation) = state.phase,
                  generation == blocked.generation, connection.isOpen
            else { return nil }
            return blocked.reason
        }
    }

    /// Registers a callback for `connection.blocked`/`unblocked` on every connection opened
    /// from now on. Called on the connection's owner thread: it must return quickly.
    func addListener(_ listener: @escaping @Sendable (AMQPConnectionEvent) -> Void) -> UInt64 {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        listeners.withLock { $0[id] = listener }
        return id
    }

    func removeListener(_ id: UInt64) {
        _ = listeners.withLock { $0.removeValue(forKey: id) }
    }

    /// On the owner thread of the connection of `generation`: records the block, then tells the
    /// listeners (outside the lock).
    private func received(_ event: AMQPConnectionEvent, onGeneration generation: UInt64) {
        state.withLock { state in
            switch event {
            case .blocked(let reason): state.blocked = (generation, reason)
            case .unblocked: if state.blocked?.generation == generation { state.blocked = nil }
            }
        }
        for listener in listeners.withLock({ Array($0.values) }) { listener(event) }
    }
}
