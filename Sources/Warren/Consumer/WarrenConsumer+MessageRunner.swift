import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import WarrenAMQP

/// One message's run: handler, immediate retries, outcome, settlement, metrics and logs.
extension WarrenConsumer {
    /// Runs a suspect (a redelivered message) under the crash guard, as `plan` says: marks the
    /// run, handles the message (or, for a crash loop, dead-letters it without running it), then
    /// deletes the marker. Beside others on a worker task, or alone on the delivery loop's task
    /// with no other handler running.
    func handleSuspect(
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

    /// Runs one message through the handler, settles it from the outcome and records it in the
    /// metrics and on `span` (when tracing). Returns true when the settlement took over `span`
    /// and ends it (a failure, settled once its copy is confirmed).
    ///
    /// `nonisolated(nonsending)`: on the caller's executor (the worker's), without the hop to the
    /// generic executor on entry that a nonisolated async function makes (issue 17).
    nonisolated(nonsending) func handle(
        _ delivery: AMQPDelivery, on connection: AMQPConnection, counts: DrainCounts, span: (any Span)?, crashLoop: CrashLoopDetected?
    ) async -> Bool {
        // `MessageClock` readings, not `ContinuousClock.Instant`s: fixed-size, so kept in this
        // frame across the handler's `await` without a task allocation each.
        let start = MessageClock.now()
        // Read once: each read of a boxed delivery's properties is a retain and a release.
        let properties = delivery.properties
        if let age = MessageAge.nanoseconds(properties, nowMilliseconds: WallClock.nowMilliseconds()) {
            metrics.messageAge.recordNanoseconds(age)
        }
        // A retried or republished copy arrives from the default exchange: the handler sees
        // where the message was first published.
        let headers = properties.headers
        let context = MessageContext(
            queue: configuration.queue, exchange: headers?[DeadLetterHeaders.originalExchange]?.text ?? delivery.exchange,
            routingKey: headers?[DeadLetterHeaders.originalRoutingKey]?.text ?? delivery.routingKey,
            deliveryTag: delivery.deliveryTag, redelivered: delivery.redelivered, properties: properties,
            logger: logger, deadlineReading: configuration.handlerTimeout.map { start + $0 }, publisher: followUpPublisher,
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
        let ended = MessageClock.now()
        metrics.handlerDuration.recordNanoseconds((ended - start).nanoseconds)
        // Most messages log nothing here (an ack is logged at debug): build the message's logger
        // only for a line that will be written.
        var logger: Logger { context.logger }
        // Read only by the lines actually logged (an acked message logs at debug).
        var elapsed: Int64 { (ended - start).milliseconds }
        switch outcome {
        case .succeeded:
            if connection.ack(delivery.deliveryTag) {
                // Read before written: once set, the line stays shared between the workers
                // instead of bouncing between their cores on every ack.
                if !madeProgress.load(ordering: .relaxed) { madeProgress.store(true, ordering: .relaxed) }
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
}
