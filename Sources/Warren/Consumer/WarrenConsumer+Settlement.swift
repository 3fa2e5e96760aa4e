import Logging
import Tracing
import WarrenAMQP

/// How a failed or returned message leaves the consumer without ever being lost: a copy is
/// published with a publisher confirm on the consumer's publishing connection, and only then is
/// the original acked. A crash between the two leaves both (a duplicate), never neither: Warren
/// delivers at least once, so handlers must be idempotent.
extension WarrenConsumer {
    /// Longest wait for a copy's confirm (a broker under a memory alarm blocks publishers); then
    /// the fallback applies.
    static let copyTimeout: Duration = .seconds(10)

    /// Settles a message whose handler failed, as `configuration.retryPolicy` decides:
    /// - a delayed retry: a copy with `x-warren-attempt` raised (and the error headers of this
    ///   attempt) goes to `Q.retry.<delay>`, then the original is acked;
    /// - dead-lettering (a `PermanentError`, an undecodable body, a crash loop, or no retry
    ///   left): a copy with the `DeadLetterHeaders` goes to `Q.dlx`, then the original is acked.
    ///
    /// If the copy cannot be published (no confirm, unroutable, timeout), the original is nacked
    /// without requeue instead: the broker dead-letters it to `Q.dead` itself (with `x-death`,
    /// without Warren's headers), so it is neither lost nor redelivered in a hot loop.
    ///
    /// Logs the one line naming the handler's error. On the message's task.
    func settle(
        failure error: any Error, of delivery: AMQPDelivery, context: MessageContext, on connection: AMQPConnection,
        immediateRetries: Int, counts: DrainCounts, span: (any Span)?, elapsedMilliseconds: @autoclosure () -> Int64
    ) async {
        let policy = configuration.retryPolicy
        var decision = policy.decision(after: error, attempt: context.attempt, immediateRetriesSoFar: immediateRetries)
        if case .retryNow = decision {
            // Immediate retries were cut short (connection gone, shutdown): go on to the next step.
            decision = policy.decision(after: error, attempt: context.attempt, immediateRetriesSoFar: policy.immediateRetries)
        }
        let errorType = DeadLetterHeaders.errorTypeName(error)
        let category: DeadLetterReason
        if case .deadLetter(permanent: false) = decision, policy.immediateRetries > 0 || !policy.delays.isEmpty {
            category = .retriesExhausted
        } else {
            category = DeadLetterReason(error)
        }
        if let span {
            span.recordError(error)
            span.attributes["error.type"] = errorType
            span.setStatus(SpanStatus(code: .error, message: category.rawValue))
        }
        var logger = context.logger
        logger[metadataKey: "error_type"] = "\(errorType)"
        logger[metadataKey: "reason"] = "\(error)"
        logger[metadataKey: "duration_ms"] = "\(elapsedMilliseconds())"
        let headers = DeadLetterHeaders.adding(
            to: delivery.properties.headers ?? [:], error: error, attempts: context.attempt, exchange: delivery.exchange,
            routingKey: delivery.routingKey, failedAt: UTCTimestamp.now())

        switch decision {
        case .retryLater(let delay, let nextAttempt):
            var retryHeaders = headers
            retryHeaders[RetryPolicy.attemptHeader] = .int(Int64(nextAttempt))
            let retryQueue = RetryPolicy.retryQueue(of: configuration.queue, delay: delay)
            do {
                try await publishCopy(of: delivery, headers: retryHeaders, exchange: "", routingKey: retryQueue)
            } catch {
                return fallBack(delivery, on: connection, copyError: error, counts: counts, span: span, logger: logger)
            }
            guard connection.ack(delivery.deliveryTag) else {
                return abandonedAfterCopy(counts: counts, span: span, logger: logger)
            }
            metrics.retriedLater.increment()
            span?.attributes["warren.outcome"] = "retry_scheduled"
            logger.warning("message failed; retry scheduled", metadata: [
                "event": "message.retry_scheduled", "delay_ms": "\(delay.milliseconds)", "next_attempt": "\(nextAttempt)",
                "retry_queue": "\(retryQueue)",
            ])
        case .deadLetter, .retryNow:
            let topology = configuration.topology
            do {
                try await publishCopy(of: delivery, headers: headers, exchange: topology.deadLetterExchange, routingKey: delivery.routingKey)
            } catch {
                return fallBack(delivery, on: connection, copyError: error, counts: counts, span: span, logger: logger)
            }
            guard connection.ack(delivery.deliveryTag) else {
                return abandonedAfterCopy(counts: counts, span: span, logger: logger)
            }
            metrics.deadLettered(category)
            span?.attributes["warren.outcome"] = "dead_lettered"
            logger.warning("message failed; dead-lettered", metadata: [
                "event": "message.dead_lettered", "dead_letter_reason": "\(category.rawValue)", "attempts": "\(context.attempt)",
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
                timeout: Self.copyTimeout)
            guard connection.ack(delivery.deliveryTag) else { return false }
        } catch {
            logger.warning("could not republish an unstarted message; requeued instead (it comes back redelivered)", metadata: [
                "event": "message.requeued", "message_id": "\(delivery.properties.messageID ?? "")", "error": "\(error)",
            ])
            guard connection.nack(delivery.deliveryTag, requeue: true) else { return false }
        }
        metrics.requeued.increment()
        return true
    }

    /// Publishes `delivery` (body and every property, `headers` in place of its headers,
    /// persistent) and waits for the broker's confirm.
    private func publishCopy(of delivery: AMQPDelivery, headers: AMQPTable, exchange: String, routingKey: String) async throws {
        var properties = delivery.properties
        properties.headers = headers
        // It must survive a broker restart while it waits in a retry or dead-letter queue.
        properties.deliveryMode = 2
        try await publisher.publish(
            delivery.body, exchange: exchange, routingKey: routingKey, mandatory: true, properties: properties, timeout: Self.copyTimeout)
    }

    private func fallBack(
        _ delivery: AMQPDelivery, on connection: AMQPConnection, copyError: any Error, counts: DrainCounts, span: (any Span)?,
        logger: Logger
    ) {
        guard connection.nack(delivery.deliveryTag, requeue: false) else {
            abandoned(counts, span: span)
            logger.warning("message failed after its connection died; the broker will redeliver it", metadata: [
                "event": "message.abandoned", "copy_error": "\(copyError)",
            ])
            return
        }
        metrics.deadLettered(.copyFailed)
        span?.attributes["warren.outcome"] = "dead_lettered"
        logger.warning("message failed and its copy could not be published; nacked to the dead-letter queue by the broker", metadata: [
            "event": "message.dead_lettered", "dead_letter_reason": "\(DeadLetterReason.copyFailed.rawValue)", "copy_error": "\(copyError)",
        ])
    }

    private func abandonedAfterCopy(counts: DrainCounts, span: (any Span)?, logger: Logger) {
        abandoned(counts, span: span)
        logger.warning("copy published but the connection died before the ack; the broker redelivers the original too (a duplicate)", metadata: [
            "event": "message.abandoned",
        ])
    }
}
