import Logging
import Tracing
import WarrenAMQP

/// How a failed or returned message leaves the consumer without ever being lost: a copy is
/// published with a publisher confirm on the consumer's own publishing connection (`publisher`,
/// which handlers never publish on), and only then is the original acked. A crash between the
/// two leaves both (a duplicate), never neither: Warren delivers at least once, so handlers must
/// be idempotent.
///
/// A message is dead-lettered only for what its handler did, never because Warren's own
/// connections failed: a copy that cannot be published is published once more (on a fresh
/// connection when the last one failed), then the original is requeued; a copy cut short by
/// cancellation (drain deadline, second signal) leaves the original unacked for redelivery.
///
/// A failed message's copy does not hold its handler slot: it is handed to the publishing
/// connection and its confirm awaited by the connection's `SettlementPipeline`, many at once.
extension WarrenConsumer {
    /// How long a message whose copy could not be published waits (unacked, on a task of the
    /// settler's, holding no handler slot) before it is requeued: the broker redelivers a
    /// requeued message at once, and a copy path that stays broken (a retry queue deleted and not
    /// re-creatable, an alarm) must not spin it.
    static let requeuePause: Duration = .seconds(1)

    /// Settles a message whose handler failed, as `configuration.retryPolicy` decides:
    /// - a delayed retry: a copy with `x-warren-attempt` raised (and the error headers of this
    ///   attempt) goes to `Q.retry.<delay>`, then the original is acked;
    /// - dead-lettering (a `PermanentError`, an undecodable body, a crash loop, or no retry
    ///   left): a copy with the `DeadLetterHeaders` goes to `Q.dlx`, then the original is acked.
    ///
    /// If the copy cannot be published (nacked, unroutable, timed out, connection lost), that is
    /// Warren's failure, not the handler's (see `publishCopyOnceMore`): it is published once more
    /// and, failing that, the original is requeued (`basic.nack(requeue: true)`), logged as
    /// `message.requeued` with `reason: copy_failed` and counted in
    /// `warren_messages_requeued_total{reason="copy_failed"}`; it comes back and is handled
    /// again. If the task is cancelled meanwhile, the original is left unacked
    /// (`message.abandoned`) and the broker redelivers it. Neither case dead-letters it.
    ///
    /// The copy is handed to the publishing connection on the message's task (at once while
    /// that connection is open) and submitted to `connection`'s `SettlementPipeline`; this then
    /// returns, freeing the handler slot, and the pipeline's settler acks the original once the
    /// copy is confirmed (or runs the fallback above on a task of its own). When `connection`'s
    /// pipeline is already closed (the connection ended), all of it runs here instead.
    ///
    /// Logs the one line naming the handler's error, after the ack, and counts it then.
    /// Ends `span` (after setting `warren.outcome`) once the message is settled.
    func settle(
        failure error: any Error, of delivery: AMQPDelivery, context: MessageContext, on connection: AMQPConnection,
        immediateRetries: Int, counts: DrainCounts, span: (any Span)?, elapsedMilliseconds: @autoclosure () -> Int64
    ) async {
        let settlement = FailureSettlement(
            policy: configuration.retryPolicy, error: error, attempt: context.attempt, immediateRetries: immediateRetries)
        let category = settlement.reason
        let errorType = DeadLetterHeaders.errorTypeName(error)
        if let span {
            span.recordError(error)
            span.attributes["error.type"] = errorType
            span.setStatus(SpanStatus(code: .error, message: category.rawValue))
        }
        // Described once, for the log's `reason` and the copy's `x-warren-error-message` (the
        // same text: a `PermanentFailure` describes itself as its wrapped error).
        let errorDescription = ErrorDescription.of(error)
        let log = FailureLog(context: context, errorType: errorType, reason: errorDescription, durationMilliseconds: elapsedMilliseconds())
        var headers = DeadLetterHeaders.entries(
            over: delivery.properties.headers, errorType: errorType, errorDescription: errorDescription,
            attempts: context.attempt, exchange: delivery.exchange, routingKey: delivery.routingKey, failedAt: UTCTimestamp.now())

        let route: CopyRoute
        let outcome: CopyOutcome
        switch settlement.decision {
        case .retryLater(let delay, let nextAttempt):
            // In place: `headers` has room for it (`DeadLetterHeaders.entries`).
            headers.append(HeaderOverride(RetryPolicy.attemptHeader, .int(Int64(nextAttempt))))
            let retryQueue = RetryPolicy.retryQueue(of: configuration.queue, delay: delay)
            route = CopyRoute(headers: headers, exchange: "", routingKey: retryQueue)
            outcome = .retryScheduled(delay: delay, nextAttempt: nextAttempt)
        case .deadLetter, .retryNow:
            route = CopyRoute(headers: headers, exchange: configuration.topology.deadLetterExchange, routingKey: delivery.routingKey)
            outcome = .deadLettered(category)
        }
        let copy = await startCopy(of: delivery, route: route, traced: span != nil)
        let finish: @Sendable ((any Error)?) async -> Void = { firstError in
            // The second copy (if any) nests under the message's span, as the first one does.
            if let span {
                await ServiceContext.withValue(span.context) {
                    await self.finishSettlement(
                        delivery, route: route, firstError: firstError, on: connection, counts: counts, span: span, log: log,
                        outcome: outcome)
                }
                span.end()
            } else {
                await self.finishSettlement(
                    delivery, route: route, firstError: firstError, on: connection, counts: counts, span: nil, log: log,
                    outcome: outcome)
            }
        }
        if let pipeline = settlementPipelines.pipeline(for: connection), pipeline.submit(.init(copy: copy, settle: finish)) { return }
        // Its connection's pipeline is closed (the connection ended): settled here.
        await finish(await copy.outcome())
        connection.sendQueuedAcks()
    }

    /// What an acked original logs and counts, once, after the ack (`settled(_:span:log:)`): a
    /// value rather than a closure, so that a message waiting for its copy's confirm holds no
    /// closure and only one copy of its `FailureLog`.
    enum CopyOutcome: Sendable {
        /// A copy went to the retry queue `route.routingKey`.
        case retryScheduled(delay: Duration, nextAttempt: Int)
        /// A copy went to the dead-letter exchange.
        case deadLettered(DeadLetterReason)
    }

    /// Where a failed message's copy goes, and the headers it sets over the original's.
    struct CopyRoute: Sendable {
        var headers: [HeaderOverride]
        var exchange: String
        var routingKey: String
    }

    /// Settles the original once the first copy's outcome is known (`firstError == nil`:
    /// confirmed): publishes once more if it failed (`publishCopyOnceMore`), then acks the
    /// original and writes its outcome (`settled`: line and metrics), or falls back (`fallBack`).
    ///
    /// The ack is queued without waking the connection's owner thread (`queueAck`): the caller
    /// sends it (`sendQueuedAcks`), with the others of its burst (`SettlementPipeline`).
    private func finishSettlement(
        _ delivery: AMQPDelivery, route: CopyRoute, firstError: (any Error)?, on connection: AMQPConnection, counts: DrainCounts,
        span: (any Span)?, log: FailureLog, outcome: CopyOutcome
    ) async {
        if let firstError,
           let copyError = await publishCopyOnceMore(of: delivery, after: firstError, on: connection, route: route, logger: log.logger)
        {
            return await fallBack(delivery, on: connection, copyError: copyError, counts: counts, span: span, logger: log.logger)
        }
        guard connection.queueAck(delivery.deliveryTag) else {
            return abandonedAfterCopy(counts: counts, span: span, logger: log.logger)
        }
        settled(outcome, route: route, span: span, log: log)
    }

    /// The acked original's one outcome line and its metrics.
    private func settled(_ outcome: CopyOutcome, route: CopyRoute, span: (any Span)?, log: FailureLog) {
        switch outcome {
        case .retryScheduled(let delay, let nextAttempt):
            metrics.retriedLater.increment()
            span?.attributes["warren.outcome"] = "retry_scheduled"
            log.warning("message failed; retry scheduled", fields: [
                LogLineField("delay_ms", String(delay.milliseconds)), LogLineField("event", "message.retry_scheduled"),
                LogLineField("next_attempt", String(nextAttempt)), LogLineField("retry_queue", route.routingKey),
            ])
        case .deadLettered(let category):
            metrics.deadLettered(category)
            span?.attributes["warren.outcome"] = "dead_lettered"
            log.warning("message failed; dead-lettered", fields: [
                LogLineField("attempts", String(log.context.attempt)), LogLineField("dead_letter_reason", category.rawValue),
                LogLineField("event", "message.dead_lettered"),
            ])
        }
    }

    /// Gives back a delivery that was prefetched but not started (a drain, or a suspect that
    /// met the drain) by republishing it to `Q` with a confirm and acking it, so it does not come
    /// back `redelivered` and is not taken for a crash suspect. Falls back to
    /// `basic.nack(requeue: true)`. On a dead connection nothing is needed: the broker requeues
    /// it. Returns whether it was given back on this connection.
    func returnUnstarted(_ delivery: AMQPDelivery, on connection: AMQPConnection) async -> Bool {
        guard connection.isOpen else { return false }
        var properties = delivery.properties
        properties.headers = DeadLetterHeaders.recordingOrigin(
            in: delivery.properties.headers ?? [:], exchange: delivery.exchange, routingKey: delivery.routingKey)
        do {
            try await publisher.publish(
                delivery.body, exchange: "", routingKey: configuration.queue, mandatory: true, properties: properties,
                timeout: configuration.copyTimeout)
            guard connection.ack(delivery.deliveryTag) else { return false }
        } catch {
            logger.warning("could not republish an unstarted message; requeued instead (it comes back redelivered)", metadata: [
                "event": "message.requeued", "reason": "unstarted", "message_id": "\(delivery.properties.messageID ?? "")",
                "error": "\(error)",
            ])
            guard connection.nack(delivery.deliveryTag, requeue: true) else { return false }
        }
        metrics.requeuedUnstarted.increment()
        return true
    }

    /// `delivery` as its copy: body and every property, `headers` set over its headers,
    /// persistent.
    private func copyProperties(of delivery: AMQPDelivery, headers: [HeaderOverride]) -> AMQPProperties {
        var properties = delivery.properties
        properties.overrideHeaders(headers)
        // It must survive a broker restart while it waits in a retry or dead-letter queue.
        properties.deliveryMode = 2
        return properties
    }

    /// Hands the copy to the publishing connection without waiting for its confirm (at once
    /// when that connection is open; else waiting for it, within the configuration's
    /// `copyTimeout`). Its outcome, awaited later, comes within `copyTimeout` of this call.
    ///
    /// `traced`: the message has a span (a tracer is bootstrapped); only then is the tracer looked
    /// up, for the copy's producer span under it.
    private func startCopy(of delivery: AMQPDelivery, route: CopyRoute, traced: Bool) async -> PendingPublish {
        await publisher.enqueuePublish(
            delivery.body, exchange: route.exchange, routingKey: route.routingKey, mandatory: true,
            properties: copyProperties(of: delivery, headers: route.headers), timeout: configuration.copyTimeout,
            tracer: traced ? InstrumentationSystem.tracer : nil)
    }

    /// The first copy failed with `first`: if that is not cancellation, and the consuming
    /// `connection` (where the original must be acked) is still open, publishes it once more
    /// and waits for its confirm. Returns `nil` once one is confirmed, else the last error.
    ///
    /// Every such failure is infrastructure, not the handler's doing: the publishing connection
    /// was closed (forced, broker restart) or refused the publish, or the broker blocked it past
    /// the configuration's `copyTimeout`. `WarrenConnection` opens a fresh connection for the
    /// second try when the first one failed. An unroutable copy (`basic.return`) means the queue's own topology is
    /// gone (a retry queue or `Q.dead` deleted): the topology is declared again first, which
    /// is idempotent and what every connect does anyway.
    private func publishCopyOnceMore(
        of delivery: AMQPDelivery, after first: any Error, on connection: AMQPConnection, route: CopyRoute, logger: Logger
    ) async -> (any Error)? {
        // With the consuming connection gone the original cannot be acked any more: the broker
        // redelivers it, and a second copy would only make a duplicate.
        if Self.isCancellation(first) || !connection.isOpen { return first }
        logger.info("copy could not be published; publishing it once more", metadata: [
            "event": "message.copy_retrying", "copy_error": "\(first)",
        ])
        if (first as? AMQPError)?.code == .unroutable {
            let topology = configuration.topology
            let publisher = self.publisher
            do {
                try await withBrokerTimeout(configuration.copyTimeout, "declaring the topology again") {
                    try await topology.declare(on: try await publisher.connection())
                }
            } catch {
                if Self.isCancellation(error) { return error }
                logger.warning("could not declare the topology again", metadata: ["event": "topology.redeclare_failed", "error": "\(error)"])
            }
        }
        do {
            try await publisher.publish(
                delivery.body, exchange: route.exchange, routingKey: route.routingKey, mandatory: true,
                properties: copyProperties(of: delivery, headers: route.headers), timeout: configuration.copyTimeout)
            return nil
        } catch {
            return error
        }
    }

    /// True for the errors of a task being cancelled (the drain deadline, a second signal),
    /// whatever the publish path wrapped them in.
    static func isCancellation(_ error: any Error) -> Bool {
        error is CancellationError || Task.isCancelled
    }

    /// The copy could not be published (`publishCopyOnceMore`): never dead-letters. Cancelled,
    /// the message stays unacked (the broker redelivers it when the connection closes); else,
    /// after `requeuePause`, it is requeued.
    private func fallBack(
        _ delivery: AMQPDelivery, on connection: AMQPConnection, copyError: any Error, counts: DrainCounts, span: (any Span)?,
        logger: Logger
    ) async {
        if Self.isCancellation(copyError) {
            abandoned(counts, span: span)
            logger.warning("cancelled while its copy was being published; left unacked, the broker redelivers it", metadata: [
                "event": "message.abandoned", "reason": "cancelled while publishing its copy", "copy_error": "\(copyError)",
            ])
            return
        }
        // Cancelled during the pause: the same as above, the message stays unacked.
        let paused = (try? await Task.sleep(for: Self.requeuePause)) != nil
        guard paused, connection.nack(delivery.deliveryTag, requeue: true) else {
            abandoned(counts, span: span)
            logger.warning("its copy could not be published and it could not be requeued; left unacked, the broker redelivers it", metadata: [
                "event": "message.abandoned", "reason": paused ? "connection closed" : "cancelled", "copy_error": "\(copyError)",
            ])
            return
        }
        metrics.requeuedCopyFailed.increment()
        span?.attributes["warren.outcome"] = "requeued"
        logger.warning("message failed and its copy could not be published; requeued, it will be handled again", metadata: [
            "event": "message.requeued", "reason": "copy_failed", "copy_error": "\(copyError)",
        ])
    }

    private func abandonedAfterCopy(counts: DrainCounts, span: (any Span)?, logger: Logger) {
        abandoned(counts, span: span)
        logger.warning("copy published but the connection died before the ack; the broker redelivers the original too (a duplicate)", metadata: [
            "event": "message.abandoned",
        ])
    }
}
