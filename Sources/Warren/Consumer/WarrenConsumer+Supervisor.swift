import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import WarrenAMQP

/// Connection life: the state machine (`ConnectionStateMachine`, through `SupervisedState`) decides
/// when to connect, back off, drain or stop; these methods carry its actions out.
extension WarrenConsumer {
    /// Runs the state machine's actions until it stops (returns) or fails (throws
    /// `WorkerFailure`): connect and consume, back off, drain. Handlers run in one task group
    /// across reconnects, so handlers of a dead connection keep their slots until they finish.
    func supervise(deadline: DrainDeadline) async throws {
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
        status.watch(flow, stallGauge: metrics.stalledSeconds)
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
            let workers = HandlerPool<HandlerJob>(limit: limit)
            // `nil` (`HandlerThread.pool`): the workers and the delivery loop run on the pool.
            let executor = configuration.handlerThread == .connection ? ConnectionTaskExecutor() : nil
            startWorkers(workers, counts: counts, tracer: tracer, executor: executor, in: &handlers)
            // However the loop below ends (returning or throwing), the group then waits for its
            // children: idle workers must end too.
            defer { workers.close() }
            var action = supervised.apply { $0.start() }
            while true {
                switch action {
                case .connect(let attempt):
                    action = await connectAndConsume(
                        attempt: attempt, supervised: supervised, limit: limit, flow: flow, counts: counts, deadline: deadline,
                        tracer: tracer, workers: workers, executor: executor, handlers: &handlers)
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
    func connectAndConsume(
        attempt: Int, supervised: SupervisedState, limit: ConcurrencyLimit, flow: FlowMonitor, counts: DrainCounts,
        deadline: DrainDeadline, tracer: (any Tracer)?, workers: HandlerPool<HandlerJob>, executor: ConnectionTaskExecutor?,
        handlers: inout ThrowingDiscardingTaskGroup<Error>
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
        let settlements = SettlementPipeline(sendQueuedAcks: { connection.sendQueuedAcks() })
        settlementPipelines.register(settlements, for: connection)
        handlers.addTask(executorPreference: executor) { await settlements.run() }
        defer {
            settlementPipelines.remove(for: connection)
            settlements.close()
        }
        logger.info("consuming", metadata: [
            "event": "worker.consuming", "queue": "\(configuration.queue)", "consumer_tag": "\(consumer.tag)",
            "prefetch": "\(configuration.prefetch)", "concurrency": "\(configuration.concurrency)",
        ])

        // From here until the loop ends, the workers' and the loop's jobs run on the connection's
        // thread (see `HandlerThread.connection`); after, and for every job the connection's end
        // overtakes, on the global executor, so a handler of a lost connection still finishes.
        executor?.attach(connection)
        let ending = await withTaskExecutorPreference(executor) {
            await consume(
                consumer, on: connection, supervised: supervised, limit: limit, flow: flow, counts: counts, tracer: tracer,
                workers: workers)
        }
        executor?.detach()
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
            // Cancellation (a second signal, the drain deadline, or the service group going
            // down) is, to the machine, a shutdown request while draining: `.abandonDrain`. Its
            // work is already done: the cancellation reached the running handlers, and their
            // messages stay unacked for redelivery.
            var action = ConnectionStateMachine.Action.none
            if Task.isCancelled {
                action = supervised.apply { $0.shutdownRequested() }
                // Cancelled before any graceful shutdown: the drain began and was cut short at once.
                if action == .drain { action = supervised.apply { $0.shutdownRequested() } }
            }
            if action == .abandonDrain {
                logger.warning("drain cut short: unfinished messages left unacked for redelivery", metadata: [
                    "event": deadline.hasPassed ? "worker.shutdown_timeout" : "worker.drain_abandoned",
                    "abandoned": "\(counts.abandonedCount - abandonedBefore)", "returned": "\(returned)", "duration_ms": "\(elapsed)",
                ])
            } else {
                logger.info("drained", metadata: [
                    "event": "worker.drained", "finished": "\(drainedInFlight)", "returned": "\(returned)", "duration_ms": "\(elapsed)",
                ])
            }
            return supervised.apply { $0.drainFinished() }
        case .lost(let error):
            await release(connection)
            if madeProgress.exchange(false, ordering: .relaxed) { _ = supervised.apply { $0.progressed() } }
            if (error as? AMQPError)?.code == .consumerCancelled {
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
    func open() async throws -> (AMQPConnection, AMQPConsumer) {
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
    func release(_ connection: AMQPConnection) async {
        if ownsConnection { await self.connection.discard(connection) }
    }
}
