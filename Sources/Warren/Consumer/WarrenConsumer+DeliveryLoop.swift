import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import WarrenAMQP

/// The delivery loop of one connection: takes each delivery, decides where it runs (beside
/// others, alone under the crash guard, or given back during a drain) and queues it for the
/// workers of the `HandlerPool`, which take a handler slot as they start it. The loop waits for
/// nothing but the next delivery (and a crash suspect's checks and lone run).
extension WarrenConsumer {
    enum ConsumeEnding {
        /// The delivery stream ended after a shutdown began (possibly cut short by cancellation).
        case drained(started: ContinuousClock.Instant, abandonedBefore: Int, inFlight: Int, returned: Int)
        case lost(Error)
        case crashed(Error)
    }

    /// Runs handlers for the consumer's deliveries until its stream ends: drained on shutdown,
    /// or lost with the connection.
    func consume(
        _ consumer: AMQPConsumer, on connection: AMQPConnection, supervised: SupervisedState,
        limit: ConcurrencyLimit, flow: FlowMonitor, counts: DrainCounts, tracer: (any Tracer)?,
        workers: HandlerPool<HandlerJob>
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
            do {
                for try await delivery in consumer.deliveries {
                    // Busy until it waits for the next delivery again (see `FlowMonitor`).
                    flow.deliveryLoopBusy()
                    defer { flow.deliveryLoopIdle() }
                    if drain.started || !connection.isOpen {
                        // Given back with the lost connection: remembered if known unmarked.
                        if !drain.started { _ = crashGuard?.unmarked.admit(delivery, consumerTag: consumer.tag) }
                        if await returnUnstarted(delivery, on: connection) { drain.gaveBack() }
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
                            workers.submit(HandlerJob(
                                delivery: delivery, connection: connection, consumerTag: consumer.tag, suspect: (marker, crashGuard),
                                drain: drain))
                            continue
                        }
                        // Alone: on this task, once every job handed to the workers (queued or
                        // running, of any connection) has finished; nothing else starts meanwhile,
                        // as this loop submits nothing until it is done (see `CrashGuard`).
                        await workers.waitUntilIdle()
                        await limit.waitUntilIdle()
                        await limit.acquire()
                        defer { limit.release() }
                        if drain.started || !connection.isOpen {
                            if await returnUnstarted(delivery, on: connection) { drain.gaveBack() }
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
                    // A worker runs it with a slot, or gives it back if the drain begins (or the
                    // connection closes) while it is queued.
                    workers.submit(HandlerJob(
                        delivery: delivery, connection: connection, consumerTag: consumer.tag, suspect: nil, drain: drain))
                }
            } catch {
                if let started = drain.startedAt, Task.isCancelled {
                    await workers.waitUntilIdle()
                    return .drained(started: started, abandonedBefore: drain.abandonedBefore, inFlight: drain.inFlight, returned: drain.returned)
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
                // The workers give back the jobs still queued; `returned` counts them once every
                // job has been taken and finished (running handlers too: the drain waits for
                // those next anyway).
                await workers.waitUntilIdle()
                return .drained(started: started, abandonedBefore: drain.abandonedBefore, inFlight: drain.inFlight, returned: drain.returned)
            }
            // The stream finished without a shutdown or an error: the connection closed under us.
            return .lost(connection.closeReason ?? AMQPError.connectionClosedByClient)
        }
    }
}
