import Logging
import ServiceLifecycle
import Synchronization
import WarrenAMQP

/// A queue consumer as a swift-service-lifecycle `Service`: put it in a `ServiceGroup`.
///
/// `run()` opens the broker connection itself, on the connection's own thread, so nothing else
/// in the process waits on the broker. It declares the topology, sets prefetch and consumes,
/// running up to `concurrency` handlers at once. A message is acked only after its handler
/// returned; a handler error nacks it without requeue, so the broker dead-letters it to `Q.dead`.
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
/// finish and are acked, prefetched-but-unstarted deliveries go back with
/// `basic.nack(requeue: true)`, then the connection closes and `run()` returns. If the task is
/// cancelled during the drain (the group's shutdown deadline, or a second signal), running
/// handlers are cancelled and their messages left unacked for redelivery.
///
/// `status` reflects every state change for readiness probes.
public final class WarrenConsumer: Service {
    private let configuration: WorkerConfiguration
    private let handler: any MessageHandler
    private let logger: Logger
    private let connectionName: String
    public let status: WorkerStatus

    public init(configuration: WorkerConfiguration, handler: some MessageHandler, connectionName: String,
                status: WorkerStatus = WorkerStatus(), logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.connectionName = connectionName
        self.status = status
    }

    public func run() async throws {
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
            status: status)
        let limit = ConcurrencyLimit(configuration.concurrency)
        let counts = DrainCounts()
        try await withThrowingDiscardingTaskGroup { handlers in
            var action = supervised.apply { $0.start() }
            while true {
                switch action {
                case .connect(let attempt):
                    action = await connectAndConsume(
                        attempt: attempt, supervised: supervised, limit: limit, counts: counts, deadline: deadline, handlers: &handlers)
                case .wait(let delay, let attempt, let cause):
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
                    logger.info("stopped", metadata: ["event": "worker.stopped"])
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
        attempt: Int, supervised: SupervisedState, limit: ConcurrencyLimit, counts: DrainCounts, deadline: DrainDeadline,
        handlers: inout ThrowingDiscardingTaskGroup<Error>
    ) async -> ConnectionStateMachine.Action {
        let broker = configuration.broker
        logger.info("connecting", metadata: ["event": "worker.connecting", "attempt": "\(attempt)", "url": "\(broker.url.redacted)"])
        let connection: AMQPConnection
        let consumer: AMQPConsumer
        do {
            (connection, consumer) = try await cancelWhenGracefulShutdown {
                try await self.open(supervised: supervised)
            }
        } catch {
            if error is CancellationError || Task.isShuttingDownGracefully || Task.isCancelled {
                return supervised.apply { $0.shutdownRequested() }
            }
            logger.warning("connect failed", metadata: ["event": "worker.connect_failed", "attempt": "\(attempt)", "error": "\(error)"])
            return supervised.apply { $0.connectFailed(Self.failure(error), jitter: .random(in: 0..<1)) }
        }
        _ = supervised.apply { $0.connected() }
        logger.info("consuming", metadata: [
            "event": "worker.consuming", "queue": "\(broker.queue)", "consumer_tag": "\(consumer.tag)",
            "prefetch": "\(configuration.prefetch)", "concurrency": "\(configuration.concurrency)",
        ])

        let ending = await consume(consumer, on: connection, supervised: supervised, limit: limit, counts: counts, handlers: &handlers)
        switch ending {
        case .drained(let started, let abandonedBefore, let returned):
            // No new deliveries; wait for the running handlers. If the deadline or a second
            // signal cancels us meanwhile, they are cancelled and left unacked.
            await limit.waitUntilIdle()
            await connection.close()
            let elapsed = started.duration(to: .now).milliseconds
            if Task.isCancelled {
                logger.warning("drain cut short: unfinished messages left unacked for redelivery", metadata: [
                    "event": deadline.hasPassed ? "worker.shutdown_timeout" : "worker.drain_abandoned",
                    "abandoned": "\(counts.abandonedCount - abandonedBefore)", "returned": "\(returned)", "duration_ms": "\(elapsed)",
                ])
                _ = supervised.apply { $0.shutdownRequested() }
            } else {
                logger.info("drained", metadata: ["event": "worker.drained", "returned": "\(returned)", "duration_ms": "\(elapsed)"])
            }
            return supervised.apply { $0.drainFinished() }
        case .lost(let error):
            await connection.close()
            if case AMQPError.consumerCancelled = error {
                logger.warning("consumer cancelled by the broker", metadata: ["event": "worker.consumer_cancelled", "error": "\(error)"])
            } else {
                logger.warning("connection lost", metadata: ["event": "worker.connection_lost", "error": "\(error)", "in_flight": "\(limit.inUse)"])
            }
            return supervised.apply { $0.connectionLost(Self.failure(error), jitter: .random(in: 0..<1)) }
        case .crashed(let error):
            await connection.close()
            return supervised.apply { $0.crashed(reason: "consumer loop: \(error)") }
        }
    }

    private func open(supervised: SupervisedState) async throws -> (AMQPConnection, AMQPConsumer) {
        let broker = configuration.broker
        let logger = self.logger
        let connection = try await AMQPConnection.connect(
            AMQPConnectionConfiguration(
                url: broker.url, connectionName: connectionName,
                heartbeatSeconds: Int(configuration.heartbeat.components.seconds)),
            logger: logger,
            onEvent: { event in
                // On the connection's thread: only quick, non-blocking work here.
                switch event {
                case .blocked(let reason):
                    logger.warning("connection blocked by the broker", metadata: ["event": "connection.blocked", "reason": "\(reason)"])
                    _ = supervised.apply { $0.blocked(reason: reason) }
                case .unblocked:
                    logger.info("connection unblocked by the broker", metadata: ["event": "connection.unblocked"])
                    _ = supervised.apply { $0.unblocked() }
                }
            })
        do {
            logger.info("connected", metadata: [
                "event": "worker.connected",
                "broker_version": "\(connection.serverProperties["version"]?.description ?? "unknown")",
                "heartbeat_s": "\(connection.heartbeatSeconds)",
                "frame_max": "\(connection.frameMax)",
                "connection_name": "\(connectionName)",
            ])
            try await Topology(queue: broker.queue, queueType: broker.queueType).declare(on: connection)
            try await connection.setPrefetch(configuration.prefetch)
            return (connection, try await connection.consume(queue: broker.queue))
        } catch {
            await connection.close()
            throw error
        }
    }

    private enum ConsumeEnding {
        /// The delivery stream ended after a shutdown began (possibly cut short by cancellation).
        case drained(started: ContinuousClock.Instant, abandonedBefore: Int, returned: Int)
        case lost(Error)
        case crashed(Error)
    }

    /// Runs handlers for the consumer's deliveries until its stream ends: drained on shutdown,
    /// or lost with the connection.
    private func consume(
        _ consumer: AMQPConsumer, on connection: AMQPConnection, supervised: SupervisedState,
        limit: ConcurrencyLimit, counts: DrainCounts, handlers: inout ThrowingDiscardingTaskGroup<Error>
    ) async -> ConsumeEnding {
        let drain = DrainStart()
        return await withTaskGroup(of: Void.self) { watcher in
            watcher.addTask {
                // Returns when shutdown begins; throws (and we stop waiting) if the consumer
                // ended first and this watcher is cancelled.
                guard (try? await gracefulShutdown()) != nil else { return }
                guard supervised.apply({ $0.shutdownRequested() }) == .drain else { return }
                drain.begin(abandonedSoFar: counts.abandonedCount)
                self.logger.info("draining", metadata: ["event": "worker.draining", "in_flight": "\(limit.inUse)"])
                // Ends the delivery stream once the broker confirms; an error means the
                // connection is already gone, which ends the stream too.
                try? await connection.cancel(consumerTag: consumer.tag)
            }
            defer { watcher.cancelAll() }
            var returned = 0
            do {
                for try await delivery in consumer.deliveries {
                    await limit.acquire()
                    if drain.started || !connection.isOpen {
                        // Prefetched but not started: back to the queue for another consumer.
                        // (On a dead connection the broker requeues it anyway.)
                        limit.release()
                        if connection.nack(delivery.deliveryTag, requeue: true) { returned += 1 }
                        continue
                    }
                    handlers.addTask {
                        defer { limit.release() }
                        await self.handle(delivery, on: connection, counts: counts)
                    }
                }
            } catch {
                if let started = drain.startedAt, Task.isCancelled {
                    return .drained(started: started, abandonedBefore: drain.abandonedBefore, returned: returned)
                }
                if error is AMQPError { return .lost(error) }
                return .crashed(error)
            }
            if drain.startedAt == nil && Task.isCancelled {
                // Cancelled without a graceful shutdown (the group is going down): a drain cut
                // short from its first moment.
                drain.begin(abandonedSoFar: counts.abandonedCount)
            }
            if let started = drain.startedAt {
                return .drained(started: started, abandonedBefore: drain.abandonedBefore, returned: returned)
            }
            // The stream finished without a shutdown or an error: the connection closed under us.
            return .lost(connection.closeReason ?? AMQPError.connectionClosedByClient)
        }
    }

    private func handle(_ delivery: AMQPDelivery, on connection: AMQPConnection, counts: DrainCounts) async {
        var logger = self.logger
        logger[metadataKey: "message_id"] = "\(delivery.properties.messageID ?? "")"
        logger[metadataKey: "delivery_tag"] = "\(delivery.deliveryTag)"
        logger[metadataKey: "redelivered"] = "\(delivery.redelivered)"
        let start = ContinuousClock.now
        do {
            try await handler.handle(delivery, logger: logger)
            if connection.ack(delivery.deliveryTag) {
                logger.debug("message handled", metadata: ["event": "message.acked", "duration_ms": "\(start.duration(to: .now).milliseconds)"])
            } else {
                counts.abandoned()
                logger.warning("message handled after its connection died; the broker will redeliver it", metadata: [
                    "event": "message.abandoned", "duration_ms": "\(start.duration(to: .now).milliseconds)",
                    "reason": "connection closed before the ack",
                ])
            }
        } catch {
            if Task.isCancelled {
                // Shutdown overran its deadline: leave it unacked; the broker redelivers it.
                counts.abandoned()
                logger.warning("handler cancelled", metadata: [
                    "event": "message.abandoned", "duration_ms": "\(start.duration(to: .now).milliseconds)",
                    "reason": "cancelled at shutdown",
                ])
                return
            }
            let reason = "\(String(describing: type(of: error))): \(error)"
            if connection.nack(delivery.deliveryTag, requeue: false) {
                logger.debug("message failed", metadata: [
                    "event": "message.dead_lettered", "duration_ms": "\(start.duration(to: .now).milliseconds)", "reason": "\(reason)",
                ])
            } else {
                counts.abandoned()
                logger.warning("message failed after its connection died; the broker will redeliver it", metadata: [
                    "event": "message.abandoned", "duration_ms": "\(start.duration(to: .now).milliseconds)", "reason": "\(reason)",
                ])
            }
        }
    }

    /// Reduces an error to what the state machine needs: its text and whether retrying can help.
    static func failure(_ error: Error) -> ConnectionStateMachine.Failure {
        if let error = error as? AMQPError {
            return ConnectionStateMachine.Failure("\(error)", isPermanent: error.isPermanent)
        }
        return ConnectionStateMachine.Failure("\(error)", isPermanent: false)
    }
}

/// When the drain began, shared between the shutdown watcher and the delivery loop.
private final class DrainStart: Sendable {
    private let state = Mutex<(started: ContinuousClock.Instant?, abandonedBefore: Int)>((nil, 0))

    func begin(abandonedSoFar: Int) {
        state.withLock { if $0.started == nil { $0 = (.now, abandonedSoFar) } }
    }
    var startedAt: ContinuousClock.Instant? { state.withLock { $0.started } }
    var started: Bool { startedAt != nil }
    /// Messages abandoned before the drain (on earlier, dead connections).
    var abandonedBefore: Int { state.withLock { $0.abandonedBefore } }
}

/// Set when the drain deadline passed (as opposed to a second signal cutting the drain short).
private final class DrainDeadline: Sendable {
    private let passed = Atomic<Bool>(false)

    func pass() { passed.store(true, ordering: .relaxed) }
    var hasPassed: Bool { passed.load(ordering: .relaxed) }
}

/// Counts messages left unacked for redelivery; updated from handler tasks.
private final class DrainCounts: Sendable {
    private let abandonedTotal = Atomic<Int>(0)

    func abandoned() { abandonedTotal.add(1, ordering: .relaxed) }
    var abandonedCount: Int { abandonedTotal.load(ordering: .relaxed) }
}
