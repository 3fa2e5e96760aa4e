import Logging
import ServiceLifecycle
import Synchronization
import WarrenAMQP

/// A queue consumer as a swift-service-lifecycle `Service`: put it in a `ServiceGroup`.
///
/// `run()` returns at once to the group's scheduling: the broker connection is opened inside it,
/// on the connection's own thread, so nothing else in the process waits on the broker. It then
/// declares the topology, sets prefetch and consumes, running up to `concurrency` handlers at
/// once. A message is acked only after its handler returned; a handler error nacks it without
/// requeue, so the broker dead-letters it to `Q.dead`.
///
/// On graceful shutdown (SIGTERM) it drains: `basic.cancel` so no new deliveries start, lets
/// running handlers finish and acks them, returns prefetched-but-unstarted deliveries with
/// `basic.nack(requeue: true)`, then closes the connection and returns.
///
/// `run()` throws when the connection fails or the broker refuses the topology; this version
/// does not reconnect, so the process supervisor restarts it.
public final class WarrenConsumer: Service {
    private let configuration: WorkerConfiguration
    private let handler: any MessageHandler
    private let logger: Logger
    private let connectionName: String

    public init(configuration: WorkerConfiguration, handler: some MessageHandler, connectionName: String, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.connectionName = connectionName
    }

    public func run() async throws {
        let broker = configuration.broker
        logger.info("connecting", metadata: ["event": "worker.connecting", "url": "\(broker.url.redacted)"])
        let connection: AMQPConnection
        do {
            // A shutdown while the broker is slow or unreachable must not wait for the connect
            // timeout: nothing was consumed yet, so there is nothing to drain.
            connection = try await cancelWhenGracefulShutdown {
                try await AMQPConnection.connect(
                    AMQPConnectionConfiguration(url: broker.url, connectionName: self.connectionName),
                    logger: self.logger)
            }
        } catch is CancellationError {
            logger.info("stopped before connecting", metadata: ["event": "worker.stopped"])
            return
        }
        do {
            logger.info("connected", metadata: [
                "event": "worker.connected",
                "broker_version": "\(connection.serverProperties["version"]?.description ?? "unknown")",
                "heartbeat_s": "\(connection.heartbeatSeconds)",
                "frame_max": "\(connection.frameMax)",
            ])
            try await Topology(queue: broker.queue, queueType: broker.queueType).declare(on: connection)
            try await connection.setPrefetch(configuration.prefetch)
            let consumer = try await connection.consume(queue: broker.queue)
            logger.info("consuming", metadata: [
                "event": "worker.consuming", "queue": "\(broker.queue)", "consumer_tag": "\(consumer.tag)",
                "prefetch": "\(configuration.prefetch)", "concurrency": "\(configuration.concurrency)",
            ])
            try await consume(consumer, on: connection)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
        logger.info("stopped", metadata: ["event": "worker.stopped"])
    }

    private func consume(_ consumer: AMQPConsumer, on connection: AMQPConnection) async throws {
        let counts = DrainCounts()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                // Returns when shutdown begins; throws (and we stop waiting) if the service is
                // cancelled or the consumer ended first.
                try await gracefulShutdown()
                counts.startDraining()
                self.logger.info("draining", metadata: ["event": "worker.draining", "in_flight": "\(counts.running)"])
                // Ends the delivery stream once the broker confirms; errors mean the connection
                // is already gone, which also ends the stream.
                try? await connection.cancel(consumerTag: consumer.tag)
            }
            try await withThrowingTaskGroup(of: Void.self) { handlers in
                var running = 0
                for try await delivery in consumer.deliveries {
                    if running >= configuration.concurrency {
                        try await handlers.next()
                        running -= 1
                    }
                    if counts.isDraining {
                        // Prefetched but not started: give it back to another consumer now.
                        connection.nack(delivery.deliveryTag, requeue: true)
                        counts.returned()
                        continue
                    }
                    running += 1
                    handlers.addTask { await self.handle(delivery, on: connection, counts: counts) }
                }
                try await handlers.waitForAll()
            }
            if counts.isDraining {
                logger.info("drained", metadata: ["event": "worker.drained", "returned": "\(counts.returnedCount)"])
            }
            group.cancelAll()
        }
    }

    private func handle(_ delivery: AMQPDelivery, on connection: AMQPConnection, counts: DrainCounts) async {
        counts.started()
        defer { counts.finished() }
        var logger = self.logger
        logger[metadataKey: "message_id"] = "\(delivery.properties.messageID ?? "")"
        logger[metadataKey: "delivery_tag"] = "\(delivery.deliveryTag)"
        logger[metadataKey: "redelivered"] = "\(delivery.redelivered)"
        let start = ContinuousClock.now
        do {
            try await handler.handle(delivery, logger: logger)
            let sent = connection.ack(delivery.deliveryTag)
            logger.debug("message handled", metadata: [
                "event": sent ? "message.acked" : "message.abandoned",
                "duration_ms": "\(start.duration(to: .now).milliseconds)",
            ])
        } catch {
            if Task.isCancelled {
                // Shutdown overran its deadline: leave it unacked; the broker redelivers it.
                logger.warning("handler cancelled", metadata: [
                    "event": "message.abandoned", "duration_ms": "\(start.duration(to: .now).milliseconds)",
                    "reason": "cancelled at shutdown deadline",
                ])
                return
            }
            let sent = connection.nack(delivery.deliveryTag, requeue: false)
            logger.debug("message failed", metadata: [
                "event": sent ? "message.dead_lettered" : "message.abandoned",
                "duration_ms": "\(start.duration(to: .now).milliseconds)",
                "reason": "\(String(describing: type(of: error))): \(error)",
            ])
        }
    }
}

/// Drain state and counters shared by the delivery loop, the shutdown watcher and handler tasks.
private final class DrainCounts: Sendable {
    private let draining = Atomic<Bool>(false)
    private let inFlight = Atomic<Int>(0)
    private let returnedTotal = Atomic<Int>(0)

    func startDraining() { draining.store(true, ordering: .relaxed) }
    var isDraining: Bool { draining.load(ordering: .relaxed) }
    func started() { inFlight.add(1, ordering: .relaxed) }
    func finished() { inFlight.subtract(1, ordering: .relaxed) }
    func returned() { returnedTotal.add(1, ordering: .relaxed) }
    var running: Int { inFlight.load(ordering: .relaxed) }
    var returnedCount: Int { returnedTotal.load(ordering: .relaxed) }
}

extension Duration {
    /// Whole milliseconds, for log fields.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
