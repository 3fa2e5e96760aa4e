import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import WarrenAMQP

/// A queue consumer as a swift-service-lifecycle `Service`: put it in any `ServiceGroup`,
/// beside an HTTP server or other consumers.
///
/// ```swift
/// let consumer = WarrenConsumer(
///     configuration: ConsumerConfiguration(queue: "orders"),
///     connection: .dedicated(ConnectionConfiguration(url: try AMQPURL("amqp://localhost/"), connectionName: "orders")),
///     handler: OrderHandler(),
///     logger: logger)
/// let group = ServiceGroup(services: [consumer], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// `run()` opens the broker connection itself, on the connection's own thread, so nothing else
/// in the process waits on the broker. It declares the topology (`Topology`), sets prefetch and
/// consumes, running up to `concurrency` handlers at once, one task each. A message is acked
/// only after its handler returned. A failed one is retried or dead-lettered under
/// `configuration.retryPolicy`, always by publishing a confirmed copy (to `Q.retry.<delay>` or
/// `Q.dlx`) before acking it (see `settle(failure:…)` for the at-least-once contract), and
/// logged once, as `message.retry_scheduled` or `message.dead_lettered`, with the error as the
/// reason. A delivery that arrives `redelivered` is a crash suspect: the `CrashGuard` records
/// each of its runs in the broker, makes one that was running at a crash run alone, and
/// dead-letters one that keeps crashing the process as `crash-loop`.
///
/// Connection life follows `ConnectionStateMachine`: transient failures (refused, reset, forced
/// close, missed heartbeats, broker restart, consumer cancelled by the broker) reconnect with
/// capped exponential backoff and full jitter and restore topology and consumer; permanent
/// refusals (403, 404, 406, 530) end `run()` with `WorkerFailure(.refused)` after
/// `maxRefusedAttempts` in a row. Handlers still running when their connection died finish, but
/// their result is logged as `message.abandoned`: their delivery tag is dead, the broker
/// redelivers the message.
///
/// On graceful shutdown it drains: `basic.cancel` so no new deliveries start, running handlers
/// finish and are acked, prefetched-but-unstarted deliveries are given back (republished to `Q`
/// with a confirm, then acked, so they do not return `redelivered` and become suspects; see
/// `returnUnstarted`), then a dedicated connection closes and `run()` returns. If the
/// drain outlasts `shutdownTimeout`, or the task is cancelled (a second signal), running
/// handlers are cancelled and their messages left unacked for redelivery.
///
/// `status` reflects every state change for readiness probes; `ConsumerMetrics` lists the
/// metrics it records (through swift-metrics: bootstrap a backend before creating consumers).
///
/// Tracing: with a tracer bootstrapped (swift-distributed-tracing) before `run()`, each message
/// is handled inside a consumer span `process <queue>` whose parent is the context the
/// publisher put in the headers (W3C `traceparent` with an OpenTelemetry tracer). The span
/// carries the messaging semantic-convention attributes (`messaging.system` = `rabbitmq`,
/// `messaging.operation.type` = `process`, `messaging.destination.name` = the exchange,
/// `messaging.destination.subscription.name` = the queue, routing key, delivery tag, message
/// id, conversation id, body size, `server.address`/`server.port`), plus `warren.attempt`,
/// `warren.redelivered` and `warren.outcome` (`acked`, `dead_lettered`, `abandoned`); a failed
/// message's span records the error, sets `error.type` and ends with status error. The span is
/// the task-local `ServiceContext.current` while the handler runs, so the handler's own spans
/// and `MessageContext.publish` nest under it. With no tracer (the default), none of this runs.
///
/// - Important: `run()` must be called once, from the group; handlers run as child tasks of it
///   on Swift's cooperative pool, and every librabbitmq call on the connection's owner thread.
public final class WarrenConsumer: Service {
    /// What it consumes and how (queue, prefetch, concurrency, timeouts).
    public let configuration: ConsumerConfiguration
    private let connection: WarrenConnection
    private let ownsConnection: Bool
    /// Warren's own publishing connection (name suffixed `/publish`): retry and dead-letter
    /// copies, drain give-backs and crash markers. Always the consumer's own, opened on first
    /// use, and never shared with handlers: a handler's bad publish (to a missing exchange)
    /// closes the connection it was sent on and fails every confirm pending there, and must not
    /// fail another message's copy.
    let publisher: WarrenConnection
    /// Where `MessageContext.publish` sends handlers' follow-up messages: the one given to
    /// `init`, or the consumer's own (name suffixed `/follow-ups`).
    private let followUpPublisher: WarrenConnection
    private let ownsFollowUpPublisher: Bool
    private let processing: MessageProcessing
    let logger: Logger
    let metrics: ConsumerMetrics
    /// Crash-loop detection for redelivered messages; `nil` when `crashLimit` is off.
    private let crashGuard: CrashGuard?
    /// What this consumer is doing, for readiness probes (`HealthServer`).
    public let status: WorkerStatus
    /// Set by the first ack on a connection, so the supervisor can tell a connection that did
    /// work from one refused at once (see `ConnectionStateMachine.progressed()`).
    private let madeProgress = Atomic<Bool>(false)
    /// Handlers running right now (a slot taken for crash-guard bookkeeping is not one): a
    /// delivery loop stuck while this is 0 is a stall (see `FlowMonitor`).
    private let handlersRunning = Atomic<Int>(0)
    /// Each consuming connection's settlement pipeline (failed messages' copies in flight).
    let settlementPipelines = SettlementPipelines()

    /// A consumer running one `MessageHandler` for every message.
    ///
    /// - Parameters:
    ///   - connection: its own connection (`.dedicated`) or one shared with others (`.shared`).
    ///   - publisher: where `MessageContext.publish` sends follow-up messages. By default a
    ///     connection of the consumer's own (same broker, name suffixed `/follow-ups`), opened
    ///     on the first publish and closed when the consumer stops. Warren's own copies (retries,
    ///     dead letters) never go there: they use a separate connection (suffixed `/publish`), so
    ///     a handler's failed publish cannot fail them.
    ///   - logger: used for every line the consumer and its handlers log.
    public convenience init(
        configuration: ConsumerConfiguration, connection: ConsumerConnection, handler: some MessageHandler,
        publisher: WarrenConnection? = nil, status: WorkerStatus = WorkerStatus(), logger: Logger
    ) {
        self.init(configuration: configuration, connection: connection, handlerFactory: SharedHandlerFactory(handler: handler),
                  publisher: publisher, status: status, logger: logger)
    }

    /// A consumer that builds a fresh handler, with its own resources, for every message and
    /// tears it down after the outcome (see `MessageHandlerFactory`).
    public init(
        configuration: ConsumerConfiguration, connection: ConsumerConnection, handlerFactory: some MessageHandlerFactory,
        publisher: WarrenConnection? = nil, status: WorkerStatus = WorkerStatus(), logger: Logger
    ) {
        self.configuration = configuration
        switch connection {
        case .dedicated(let settings):
            self.connection = WarrenConnection(settings, logger: logger)
            ownsConnection = true
        case .shared(let shared):
            self.connection = shared
            ownsConnection = false
        }
        let settings = self.connection.configuration
        self.publisher = WarrenConnection(settings.named(settings.connectionName + "/publish"), logger: logger)
        if let publisher {
            followUpPublisher = publisher
            ownsFollowUpPublisher = false
        } else {
            followUpPublisher = WarrenConnection(settings.named(settings.connectionName + "/follow-ups"), logger: logger)
            ownsFollowUpPublisher = true
        }
        processing = MessageProcessing(handlerFactory, timeout: configuration.handlerTimeout)
        self.logger = logger
        self.status = status
        metrics = ConsumerMetrics(queue: configuration.queue, nodes: settings.urls.urls.map { BrokerNode(url: $0, serverProperties: [:]).address })
        let publisher = self.publisher
        crashGuard = configuration.crashLimit.map { CrashGuard(queue: configuration.queue, limit: $0, publisher: publisher) }
    }

    /// Consumes until the group shuts down gracefully (then drains and returns) or the consumer
    /// stops for good (throws `WorkerFailure`). Closes the connections the consumer owns on every
    /// path out; a shared connection stays open.
    public func run() async throws {
        do {
            try await runUntilStopped()
        } catch {
            await closeOwnedConnections()
            throw error
        }
        await closeOwnedConnections()
    }

    private func closeOwnedConnections() async {
        if ownsConnection { await connection.close() }
        await publisher.close()
        if ownsFollowUpPublisher { await followUpPublisher.close() }
    }

    private func runUntilStopped() async throws {
        let deadline = DrainDeadline()
        // The drain deadline is the consumer's own: when it passes, only the consumer's work is
        // cancelled (handlers left unacked for redelivery), and the rest of the group — the HTTP
        // server answering "draining" — still shuts down gracefully afterwards.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.supervise(deadline: deadline) }
            group.addTask {
                guard (try? await gracefulShutdown()) != nil else { return }
                guard (try? await Task.sleep(for: self.configuration.shutdownTimeout)) != nil else { return }
                deadline.pass()
                // Returning ends the race below, which cancels the supervisor.
            }
            // Whichever ends first: the supervisor (stopped or failed) or the deadline.
            do {
                try await group.next()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            // The supervisor unwinds its cancelled handlers, closes the connection and returns.
            while !group.isEmpty { try await group.next() }
        }
    }

    private func supervise(deadline: DrainDeadline) async throws {
        let supervised = SupervisedState(
            ConnectionStateMachine(backoff: configuration.reconnectBackoff, maxRefusedAttempts: configuration.maxRefusedAttempts),
            status: status, metrics: metrics)
        // Looked up once: with none bootstrapped, messages skip the tracing work entirely.
        let tracer: (any Tracer)? = InstrumentationSystem.tracer is NoOpTracer ? nil : InstrumentationSystem.tracer
        let limit = ConcurrencyLimit(configuration.concurrency)
        let flow = FlowMonitor(limit: configuration.stallTimeout, handlersRunning: { [weak self] in
            // Weak: the status (which keeps the monitor) is the consumer's own.
            self?.handlersRunning.load(ordering: .relaxed) ?? 0
        })
        status.watch(flow)
        let counts = DrainCounts()
        let logger = self.logger
        let listener = connection.addListener { event in
            // On the connection's thread: only quick, non-blocking work here.
            switch event {
            case .blocked(let reason):
                logger.warning("connection blocked by the broker", metadata: [
                    "event": "connection.blocked", "connection": "consume", "reason": "\(reason)",
                ])
                _ = supervised.apply { $0.blocked(reason: reason) }
            case .unblocked:
                logger.info("connection unblocked by the broker", metadata: ["event": "connection.unblocked", "connection": "consume"])
                _ = supervised.apply { $0.unblocked() }
            }
        }
        defer { connection.removeListener(listener) }
        // The broker blocks only connections that publish (RabbitMQ 3.10 never blocks one that
        // only consumes and acks): watch the publishing ones too.
        var publishers = [(publisher, "publish")]
        if followUpPublisher !== connection && followUpPublisher !== publisher { publishers.append((followUpPublisher, "follow-ups")) }
        let watched = publishers.map { publisher, role in
            let watch = status.watch(publisher, role: role)
            let listener = publisher.addListener { event in
                // On the connection's thread: only quick, non-blocking work here.
                switch event {
                case .blocked(let reason):
                    logger.warning("publishing connection blocked by the broker", metadata: [
                        "event": "connection.blocked", "connection": "\(role)", "reason": "\(reason)",
                    ])
                case .unblocked:
                    logger.info("publishing connection unblocked by the broker", metadata: [
                        "event": "connection.unblocked", "connection": "\(role)",
                    ])
                }
                supervised.publisherBlockChanged()
            }
            return (publisher, watch, listener)
        }
        defer {
            for (publisher, watch, listener) in watched {
                publisher.removeListener(listener)
                status.unwatch(watch)
            }
        }
        try await withThrowingDiscardingTaskGroup { handlers in
            var action = supervised.apply { $0.start() }
            while true {
                switch action {
                case .connect(let attempt):
                    action = await connectAndConsume(
                        attempt: attempt, supervised: supervised, limit: limit, flow: flow, counts: counts, deadline: deadline,
                        tracer: tracer, handlers: &handlers)
                case .wait(let delay, let attempt, let cause):
                    metrics.reconnects.increment()
                    logger.warning("reconnecting", metadata: [
                        "event": "worker.reconnecting", "attempt": "\(attempt + 1)",
                        "delay_ms": "\(delay.milliseconds)", "cause": "\(cause)",
                    ])
                    do {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                        action = supervised.apply { $0.backoffElapsed() }
                    } catch {
                        action = supervised.apply { $0.shutdownRequested() }
                    }
                case .stop:
                    await limit.waitUntilIdle()
                    logger.info("consumer stopped", metadata: ["event": "worker.stopped", "queue": "\(configuration.queue)"])
                    return
                case .fail(let reason, let cause):
                    await limit.waitUntilIdle()
                    throw WorkerFailure(cause == .crashed ? .crashed : .refused, reason: reason)
                case .drain, .abandonDrain, .none:
                    // Only produced while consuming, where connectAndConsume handles them.
                    action = supervised.apply { $0.crashed(reason: "consumer loop: unexpected action \(action) outside consuming") }
                }
            }
        }
    }

    /// Opens a connection, consumes until it ends, and returns the next action.
    private func connectAndConsume(
        attempt: Int, supervised: SupervisedState, limit: ConcurrencyLimit, flow: FlowMonitor, counts: DrainCounts,
        deadline: DrainDeadline, tracer: (any Tracer)?, handlers: inout ThrowingDiscardingTaskGroup<Error>
    ) async -> ConnectionStateMachine.Action {
        logger.info("connecting", metadata: [
            "event": "worker.connecting", "attempt": "\(attempt)", "url": "\(self.connection.configuration.urls.redacted)",
        ])
        let connection: AMQPConnection
        let consumer: AMQPConsumer
        do {
            (connection, consumer) = try await cancelWhenGracefulShutdown {
                try await self.open()
            }
        } catch {
            if error is CancellationError || Task.isShuttingDownGracefully || Task.isCancelled {
                return supervised.apply { $0.shutdownRequested() }
            }
            logger.warning("connect failed", metadata: ["event": "worker.connect_failed", "attempt": "\(attempt)", "error": "\(error)"])
            return supervised.apply { $0.connectFailed(Self.failure(error), jitter: .random(in: 0..<1)) }
        }
        _ = supervised.apply { $0.connected() }
        let node = self.connection.node(of: connection)?.address
        status.connected(to: node)
        metrics.setNode(node)
        defer {
            status.connected(to: nil)
            metrics.setNode(nil)
        }
        madeProgress.store(false, ordering: .relaxed)
        flow.consuming(on: connection.activity)
        defer { flow.notConsuming() }
        // Failed messages' copies settle on this connection's pipeline; its settler is a child of
        // the handler group, so a drain (and the group's end) waits for it.
        let settlements = SettlementPipeline()
        settlementPipelines.register(settlements, for: connection)
        handlers.addTask { await settlements.run() }
        defer {
            settlementPipelines.remove(for: connection)
            settlements.close()
        }
        logger.info("consuming", metadata: [
            "event": "worker.consuming", "queue": "\(configuration.queue)", "consumer_tag": "\(consumer.tag)",
            "prefetch": "\(configuration.prefetch)", "concurrency": "\(configuration.concurrency)",
        ])

        let ending = await consume(
            consumer, on: connection, supervised: supervised, limit: limit, flow: flow, counts: counts, tracer: tracer,
            handlers: &handlers)
        switch ending {
        case .drained(let started, let abandonedBefore, let drainedInFlight, let returned):
            // No new deliveries; wait for the running handlers. If the deadline or a second
            // signal cancels us meanwhile, they are cancelled and left unacked.
            await limit.waitUntilIdle()
            // Copies still unconfirmed: their originals are acked once they are (or abandoned,
            // cancelled).
            await settlements.finish()
            await release(connection)
            let elapsed = started.duration(to: .now).milliseconds
            if Task.isCancelled {
                logger.warning("drain cut short: unfinished messages left unacked for redelivery", metadata: [
                    "event": deadline.hasPassed ? "worker.shutdown_timeout" : "worker.drain_abandoned",
                    "abandoned": "\(counts.abandonedCount - abandonedBefore)", "returned": "\(returned)", "duration_ms": "\(elapsed)",
                ])
                _ = supervised.apply { $0.shutdownRequested() }
            } else {
                logger.info("drained", metadata: [
                    "event": "worker.drained", "finished": "\(drainedInFlight)", "returned": "\(returned)", "duration_ms": "\(elapsed)",
                ])
            }
            return supervised.apply { $0.drainFinished() }
        case .lost(let error):
            await release(connection)
            if madeProgress.exchange(false, ordering: .relaxed) { _ = supervised.apply { $0.progressed() } }
            if case AMQPError.consumerCancelled = error {
                logger.warning("consumer cancelled by the broker", metadata: ["event": "worker.consumer_cancelled", "error": "\(error)"])
            } else {
                logger.warning("connection lost", metadata: ["event": "worker.connection_lost", "error": "\(error)", "in_flight": "\(limit.inUse)"])
            }
            return supervised.apply { $0.connectionLost(Self.failure(error), jitter: .random(in: 0..<1)) }
        case .crashed(let error):
            try? await connection.cancel(consumerTag: consumer.tag)
            await release(connection)
            return supervised.apply { $0.crashed(reason: "consumer loop: \(error)") }
        }
    }

    /// Gets the connection (opening it unless a shared one is open), declares the topology,
    /// sets prefetch and starts consuming.
    private func open() async throws -> (AMQPConnection, AMQPConsumer) {
        let connection = try await self.connection.connection()
        do {
            // The node actually connected to (a shared connection's, or the first URL's if it
            // was already replaced), and the cluster it belongs to.
            let node = self.connection.node(of: connection)
                ?? BrokerNode(url: self.connection.configuration.url, serverProperties: connection.serverProperties)
            let vhost = self.connection.configuration.urls.urls.first { $0.host == node.host && $0.port == node.port }?.vhost
                ?? self.connection.configuration.url.vhost
            logger.info("connected", metadata: [
                "event": "worker.connected", "server": "\(node.address)", "vhost": "\(vhost)",
                "cluster_name": "\(node.clusterName ?? "unknown")",
                "broker_product": "\(connection.serverProperties["product"]?.description ?? "unknown")",
                "broker_version": "\(connection.serverProperties["version"]?.description ?? "unknown")",
                "heartbeat_s": "\(connection.heartbeatSeconds)",
                "frame_max": "\(connection.frameMax)",
                "connection_name": "\(self.connection.configuration.connectionName)",
            ])
            try await configuration.topology.declare(on: connection)
            // Per consumer (global = false), sent together with basic.consume: consumers sharing
            // the connection keep their own.
            return (connection, try await connection.consume(queue: configuration.queue, prefetch: configuration.prefetch))
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Done with a connection: a dedicated one is closed (a fresh one is opened next time); a
    /// shared one stays open for the others (if it failed, the next user reopens it).
    private func release(_ connection: AMQPConnection) async {
        if ownsConnection { await self.connection.discard(connection) }
    }

    private enum ConsumeEnding {
        /// The delivery stream ended after a shutdown began (possibly cut short by cancellation).
        case drained(started: ContinuousClock.Instant, abandonedBefore: Int, inFlight: Int, returned: Int)
        case lost(Error)
        case crashed(Error)
    }

    /// Runs handlers for the consumer's deliveries until its stream ends: drained on shutdown,
    /// or lost with the connection.
    private func consume(
        _ consumer: AMQPConsumer, on connection: AMQPConnection, supervised: SupervisedState,
        limit: ConcurrencyLimit, flow: FlowMonitor, counts: DrainCounts, tracer: (any Tracer)?,
        handlers: inout ThrowingDiscardingTaskGroup<Error>
    ) async -> ConsumeEnding {
        let drain = DrainStart()
        return await withTaskGroup(of: Void.self) { watcher in
            watcher.addTask {
                // Returns when shutdown begins; throws (and we stop waiting) if the consumer
                // ended first and this watcher is cancelled.
                guard (try? await gracefulShutdown()) != nil else { return }
                guard supervised.apply({ $0.shutdownRequested() }) == .drain else { return }
                let inFlight = limit.inUse
                drain.begin(abandonedSoFar: counts.abandonedCount, inFlight: inFlight)
                self.logger.info("draining", metadata: [
                    "event": "worker.draining", "in_flight": "\(inFlight)", "shutdown_timeout": "\(self.configuration.shutdownTimeout)",
                ])
                // Ends the delivery stream once the broker confirms; an error means the
                // connection is already gone, which ends the stream too.
                try? await connection.cancel(consumerTag: consumer.tag)
            }
            defer { watcher.cancelAll() }
            var returned = 0
            do {
                for try await delivery in consumer.deliveries {
                    // Busy until it waits for the next delivery again (see `FlowMonitor`).
                    flow.deliveryLoopBusy()
                    defer { flow.deliveryLoopIdle() }
                    await limit.acquire()
                    if drain.started || !connection.isOpen {
                        limit.release()
                        // Given back with the lost connection: remembered if known unmarked.
                        if !drain.started { _ = crashGuard?.unmarked.admit(delivery, consumerTag: consumer.tag) }
                        if await returnUnstarted(delivery, on: connection) { returned += 1 }
                        continue
                    }
                    let knownUnmarked = crashGuard?.unmarked.admit(delivery, consumerTag: consumer.tag) ?? true
                    if let crashGuard, !knownUnmarked {
                        let marker = crashGuard.markerQueue(for: delivery)
                        let plan: CrashGuard.Plan?
                        do {
                            plan = CrashGuard.plan(markedCrashes: try await crashGuard.markedCrashes(marker), limit: crashGuard.limit)
                        } catch {
                            plan = nil
                            logger.warning("crash count unavailable: the redelivered message runs alone, uncounted", metadata: [
                                "event": "message.isolated_unguarded", "message_id": "\(delivery.properties.messageID ?? "")",
                                "error": "\(error)",
                            ])
                        }
                        if plan == .beside {
                            handlers.addTask {
                                defer { limit.release() }
                                await self.handleSuspect(
                                    delivery, plan: .beside, marker: marker, guardedBy: crashGuard, on: connection, counts: counts,
                                    tracer: tracer)
                            }
                            continue
                        }
                        // Alone: on this task, once every running handler has finished; nothing
                        // else starts meanwhile (see `CrashGuard`).
                        limit.release()
                        await limit.waitUntilIdle()
                        await limit.acquire()
                        defer { limit.release() }
                        if drain.started || !connection.isOpen {
                            if await returnUnstarted(delivery, on: connection) { returned += 1 }
                            continue
                        }
                        if let plan {
                            await handleSuspect(
                                delivery, plan: plan, marker: marker, guardedBy: crashGuard, on: connection, counts: counts, tracer: tracer)
                        } else {
                            await handle(delivery, on: connection, counts: counts, tracer: tracer)
                        }
                        continue
                    }
                    handlers.addTask {
                        defer { limit.release() }
                        await self.handle(delivery, on: connection, counts: counts, tracer: tracer)
                        self.crashGuard?.unmarked.finished(delivery, consumerTag: consumer.tag, connectionOpen: connection.isOpen)
                    }
                }
            } catch {
                if let started = drain.startedAt, Task.isCancelled {
                    return .drained(started: started, abandonedBefore: drain.abandonedBefore, inFlight: drain.inFlight, returned: returned)
                }
                if error is AMQPError { return .lost(error) }
                return .crashed(error)
            }
            if drain.startedAt == nil && Task.isCancelled {
                // Cancelled without a graceful shutdown (the group is going down): a drain cut
                // short from its first moment.
                drain.begin(abandonedSoFar: counts.abandonedCount, inFlight: limit.inUse)
            }
            if let started = drain.startedAt {
                return .drained(started: started, abandonedBefore: drain.abandonedBefore, inFlight: drain.inFlight, returned: returned)
            }
            // The stream finished without a shutdown or an error: the connection closed under us.
            return .lost(connection.closeReason ?? AMQPError.connectionClosedByClient)
        }
    }

    /// Runs a suspect (a redelivered message) under the crash guard, as `plan` says: marks the
    /// run, handles the message (or, for a crash loop, dead-letters it without running it), then
    /// deletes the marker. Beside others on its own task, or alone on the delivery loop's task
    /// with no other handler running.
    private func handleSuspect(
        _ delivery: AMQPDelivery, plan: CrashGuard.Plan, marker: String, guardedBy crashGuard: CrashGuard,
        on connection: AMQPConnection, counts: DrainCounts, tracer: (any Tracer)?
    ) async {
        var logger = self.logger
        logger[metadataKey: "message_id"] = "\(delivery.properties.messageID ?? "")"
        logger[metadataKey: "delivery_tag"] = "\(delivery.deliveryTag)"
        logger[metadataKey: "queue"] = "\(configuration.queue)"
        var crashLoop: CrashLoopDetected?
        switch plan {
        case .crashLoop(let crashesAlone):
            crashLoop = CrashLoopDetected(crashes: crashesAlone, limit: crashGuard.limit)
        case .beside, .alone:
            do {
                try await crashGuard.mark(marker)
            } catch {
                logger.warning("could not record the run: a crash now would not be counted", metadata: [
                    "event": "message.isolated_unguarded", "error": "\(error)",
                ])
                return await handle(delivery, on: connection, counts: counts, tracer: tracer)
            }
            if case .alone(let crashesAlone) = plan {
                metrics.isolated.increment()
                logger.info("message that was running at a crash handled alone", metadata: [
                    "event": "message.isolated", "crashes": "\(crashesAlone)", "crash_limit": "\(crashGuard.limit)",
                ])
            }
        }
        await handle(delivery, on: connection, counts: counts, tracer: tracer, crashLoop: crashLoop)
        do {
            try await crashGuard.release(marker)
        } catch {
            logger.warning("could not clear the crash marker; it counts as one crash until it expires", metadata: [
                "event": "crash_guard.release_failed", "marker": "\(marker)", "error": "\(error)",
            ])
        }
    }

    /// Runs one message through the handler and settles it from the outcome, inside a
    /// `process <queue>` span when a tracer is bootstrapped. On the message's own task.
    /// With `crashLoop`, the handler is not run: the message is dead-lettered with it.
    private func handle(
        _ delivery: AMQPDelivery, on connection: AMQPConnection, counts: DrainCounts, tracer: (any Tracer)?,
        crashLoop: CrashLoopDetected? = nil
    ) async {
        metrics.received.increment()
        // Redelivered: possibly handled before (its handler was running, or its ack was lost,
        // when a connection or node died), so this counts every possible duplicate.
        if delivery.redelivered { metrics.redelivered.increment() }
        metrics.inFlight.increment()
        handlersRunning.add(1, ordering: .relaxed)
        defer {
            metrics.inFlight.decrement()
            handlersRunning.subtract(1, ordering: .relaxed)
        }
        guard let tracer else {
            _ = await handle(delivery, on: connection, counts: counts, span: nil, crashLoop: crashLoop)
            return
        }
        var parent = ServiceContext.topLevel
        if let headers = delivery.properties.headers {
            tracer.extract(headers, into: &parent, using: AMQPHeadersExtractor())
        }
        let span = tracer.startSpan("process \(configuration.queue)", context: parent, ofKind: .consumer)
        span.attributes["messaging.system"] = "rabbitmq"
        span.attributes["messaging.operation.type"] = "process"
        span.attributes["messaging.operation.name"] = "process"
        span.attributes["messaging.destination.name"] = delivery.exchange
        span.attributes["messaging.destination.subscription.name"] = configuration.queue
        if !delivery.routingKey.isEmpty { span.attributes["messaging.rabbitmq.destination.routing_key"] = delivery.routingKey }
        span.attributes["messaging.rabbitmq.message.delivery_tag"] = Int(truncatingIfNeeded: delivery.deliveryTag)
        if let messageID = delivery.properties.messageID { span.attributes["messaging.message.id"] = messageID }
        if let correlationID = delivery.properties.correlationID { span.attributes["messaging.message.conversation_id"] = correlationID }
        span.attributes["messaging.message.body.size"] = delivery.body.count
        let node = self.connection.node(of: connection) ?? BrokerNode(url: self.connection.configuration.url, serverProperties: [:])
        span.attributes["server.address"] = node.host
        span.attributes["server.port"] = node.port
        span.attributes["warren.redelivered"] = delivery.redelivered
        let spanEnded = await ServiceContext.withValue(span.context) {
            await handle(delivery, on: connection, counts: counts, span: span, crashLoop: crashLoop)
        }
        // A failed message's span ends once it is settled (see `settle(failure:…)`).
        if !spanEnded { span.end() }
    }

    /// Runs one message through the handler, settles it from the outcome and records it in the
    /// metrics and on `span` (when tracing). Returns true when the settlement took over `span`
    /// and ends it (a failure, settled once its copy is confirmed).
    private func handle(
        _ delivery: AMQPDelivery, on connection: AMQPConnection, counts: DrainCounts, span: (any Span)?, crashLoop: CrashLoopDetected?
    ) async -> Bool {
        let start = ContinuousClock.now
        if let age = MessageAge.nanoseconds(delivery.properties, nowMilliseconds: WallClock.nowMilliseconds()) {
            metrics.messageAge.recordNanoseconds(age)
        }
        // A retried or republished copy arrives from the default exchange: the handler sees
        // where the message was first published.
        let headers = delivery.properties.headers
        let context = MessageContext(
            queue: configuration.queue, exchange: headers?[DeadLetterHeaders.originalExchange]?.text ?? delivery.exchange,
            routingKey: headers?[DeadLetterHeaders.originalRoutingKey]?.text ?? delivery.routingKey,
            deliveryTag: delivery.deliveryTag, redelivered: delivery.redelivered, properties: delivery.properties,
            logger: logger, deadline: configuration.handlerTimeout.map { start + $0 }, publisher: followUpPublisher,
            publishTimeout: configuration.publishTimeout)
        span?.attributes["warren.attempt"] = context.attempt
        var outcome: HandlerOutcome
        var immediateRetries = 0
        if let crashLoop {
            outcome = .failed(crashLoop)
        } else {
            outcome = await processing(delivery.body, context: context)
            while case .failed(let error) = outcome, connection.isOpen, !Task.isCancelled,
                  case .retryNow(let number) = configuration.retryPolicy.decision(
                    after: error, attempt: context.attempt, immediateRetriesSoFar: immediateRetries)
            {
                immediateRetries = number
                metrics.retriedImmediately.increment()
                context.logger.info("message failed; retrying at once", metadata: [
                    "event": "message.retrying", "immediate_retry": "\(number)",
                    "error_type": "\(DeadLetterHeaders.errorTypeName(error))", "reason": "\(error)",
                ])
                outcome = await processing(delivery.body, context: context)
            }
        }
        let ended = ContinuousClock.now
        metrics.handlerDuration.recordNanoseconds(start.duration(to: ended).nanoseconds)
        // Most messages log nothing here (an ack is logged at debug): build the message's logger
        // only for a line that will be written.
        var logger: Logger { context.logger }
        // Read only by the lines actually logged (an acked message logs at debug).
        var elapsed: Int64 { start.duration(to: ended).milliseconds }
        switch outcome {
        case .succeeded:
            if connection.ack(delivery.deliveryTag) {
                madeProgress.store(true, ordering: .relaxed)
                metrics.acked.increment()
                span?.attributes["warren.outcome"] = "acked"
                if self.logger.logLevel <= .debug {
                    logger.debug("message handled", metadata: ["event": "message.acked", "duration_ms": "\(elapsed)"])
                }
            } else {
                abandoned(counts, span: span)
                logger.warning("message handled after its connection died; the broker will redeliver it", metadata: [
                    "event": "message.abandoned", "duration_ms": "\(elapsed)", "reason": "connection closed before the ack",
                ])
            }
        case .cancelled:
            // Shutdown overran its deadline: leave it unacked; the broker redelivers it.
            abandoned(counts, span: span)
            logger.warning("handler cancelled", metadata: [
                "event": "message.abandoned", "duration_ms": "\(elapsed)", "reason": "cancelled at shutdown",
            ])
        case .failed(let error):
            await settle(
                failure: error, of: delivery, context: context, on: connection, immediateRetries: immediateRetries, counts: counts,
                span: span, elapsedMilliseconds: elapsed)
            return true
        }
        return false
    }

    func abandoned(_ counts: DrainCounts, span: (any Span)?) {
        counts.abandoned()
        metrics.abandoned.increment()
        span?.attributes["warren.outcome"] = "abandoned"
    }

    /// Reduces an error to what the state machine needs: its text and whether retrying can help.
    static func failure(_ error: Error) -> ConnectionStateMachine.Failure {
        if let error = error as? AMQPError {
            return ConnectionStateMachine.Failure("\(error)", isPermanent: error.isPermanent)
        }
        if let error = error as? AMQPClusterConnectError {
            return ConnectionStateMachine.Failure("\(error)", isPermanent: error.isPermanent)
        }
        return ConnectionStateMachine.Failure("\(error)", isPermanent: false)
    }
}

/// When the drain began, shared between the shutdown watcher and the delivery loop.
private final class DrainStart: Sendable {
    private let state = Mutex<(started: ContinuousClock.Instant?, abandonedBefore: Int, inFlight: Int)>((nil, 0, 0))

    func begin(abandonedSoFar: Int, inFlight: Int) {
        state.withLock { if $0.started == nil { $0 = (.now, abandonedSoFar, inFlight) } }
    }
    var startedAt: ContinuousClock.Instant? { state.withLock { $0.started } }
    var started: Bool { startedAt != nil }
    /// Messages abandoned before the drain (on earlier, dead connections).
    var abandonedBefore: Int { state.withLock { $0.abandonedBefore } }
    /// Handlers running when the drain began: the drain waits for them.
    var inFlight: Int { state.withLock { $0.inFlight } }
}

/// Set when the drain deadline passed (as opposed to a second signal cutting the drain short).
private final class DrainDeadline: Sendable {
    private let passed = Atomic<Bool>(false)

    func pass() { passed.store(true, ordering: .relaxed) }
    var hasPassed: Bool { passed.load(ordering: .relaxed) }
}

/// Counts messages left unacked for redelivery; updated from handler tasks.
final class DrainCounts: Sendable {
    private let abandonedTotal = Atomic<Int>(0)

    func abandoned() { abandonedTotal.add(1, ordering: .relaxed) }
    var abandonedCount: Int { abandonedTotal.load(ordering: .relaxed) }
}
