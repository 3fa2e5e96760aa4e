import Logging
import ServiceLifecycle
import WarrenAMQP

/// Everything a handler knows about the message it is handling, besides its decoded body.
///
/// A value built by the consumer for each delivery and passed to `MessageHandlerFactory` and
/// `MessageHandler`; safe to copy into child tasks.
public struct MessageContext: Sendable {
    /// The queue it was consumed from.
    public let queue: String
    /// The exchange it was published to (`""` for the default exchange) and its routing key.
    public let exchange: String
    /// The routing key it was published with.
    public let routingKey: String
    /// Its delivery tag on the consumer's channel (for logs; acking is Warren's job).
    public let deliveryTag: UInt64
    /// True when the broker delivered it before without an ack (a worker died or drained
    /// with it prefetched): the handler may have run already, so handling must be idempotent.
    public let redelivered: Bool
    /// Every basic property: `messageID`, `correlationID`, `contentType`, `timestamp`, …
    public let properties: AMQPProperties
    /// Which attempt this is, from 1: the `x-warren-attempt` header when the message carries
    /// one, else 1.
    public let attempt: Int
    /// The W3C trace context the message carries (`traceparent`/`tracestate` headers), if any:
    /// read without any tracer, for `trace_id` in log lines and to carry the trace on to
    /// follow-up messages (`publish`).
    ///
    /// Parsed on each access, like `logger`: most messages are never logged about, and the
    /// drain benchmark measures the path every message takes.
    public var trace: TraceHeaders? { properties.headers.flatMap(TraceHeaders.init) }
    /// A logger whose metadata already carries `message_id`, `correlation_id`, `delivery_tag`,
    /// `redelivered`, `attempt`, `queue` and, when the message carries a trace context,
    /// `trace_id`: every line a handler logs with it can be traced to the message.
    ///
    /// Built on each access (most messages log nothing, and the drain benchmark measures the
    /// path every message takes): keep it in a local when logging several lines.
    public var logger: Logger {
        var logger = baseLogger
        logger.handler.metadata.merge(messageMetadata(reservingCapacity: 0)) { _, message in message }
        return logger
    }

    /// The fields `logger` adds to the consumer's logger, in a dictionary with room for
    /// `extra` more (a line's own, passed with these in one dictionary).
    func messageMetadata(reservingCapacity extra: Int) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        metadata.reserveCapacity(7 + extra)
        metadata["queue"] = .string(queue)
        metadata["message_id"] = .string(properties.messageID ?? "")
        if let correlationID = properties.correlationID { metadata["correlation_id"] = .string(correlationID) }
        metadata["delivery_tag"] = .stringConvertible(deliveryTag)
        metadata["redelivered"] = .stringConvertible(redelivered)
        metadata["attempt"] = .stringConvertible(attempt)
        if let trace { metadata["trace_id"] = .string(trace.traceID) }
        return metadata
    }

    /// The consumer's logger, without the message's fields.
    let baseLogger: Logger
    /// When the per-message timeout cancels the handler, if one is configured.
    public var deadline: ContinuousClock.Instant? { deadlineReading.map(MessageClock.instant) }
    /// `deadline` as a `MessageClock` reading: a `ContinuousClock.Instant` field would give the
    /// context an unknown size, and cost the consumer a task allocation and value-witness copies
    /// for every message (see `MessageClock`).
    let deadlineReading: Duration?

    private let publisher: WarrenConnection?
    /// How long `publish` waits for the connection and the broker's confirm when the call
    /// names no `timeout` (`ConsumerConfiguration.publishTimeout`).
    public let publishTimeout: Duration

    /// `publishTimeout` unless configured: as long as Warren waits for its own retry and
    /// dead-letter copies.
    public static let defaultPublishTimeout: Duration = ConsumerConfiguration.defaultPublishTimeout

    /// The message's headers (empty when it has none).
    public var headers: AMQPTable { properties.headers ?? [:] }

    /// True once the process has begun a graceful shutdown (SIGTERM): the handler may still
    /// finish (the drain waits for it), but a long one may prefer to stop early and throw.
    /// Actual cancellation (`Task.isCancelled`) comes only with the per-message timeout or when
    /// the drain overruns its deadline.
    public var isShuttingDown: Bool { Task.isShuttingDownGracefully }

    /// Publishes a follow-up message and waits for the broker's confirm, on the consumer's
    /// follow-up publishing connection (its own, not the consuming one: a broker that blocks
    /// publishers then cannot stall acks; nor the one Warren sends its retry and dead-letter
    /// copies on: a publish the broker refuses closes the connection it was sent on). Its
    /// `correlationID`, when not set, is this message's correlation id or else its message id,
    /// so a chain of messages can be followed.
    ///
    /// Never waits longer than `timeout` (by default `publishTimeout`, 10 s unless configured):
    /// then it throws `PublishTimeout`, whose `blockedReason` says when the broker was blocking
    /// the connection (a memory or disk alarm). The message may still have been stored: retrying
    /// may duplicate it. Thrown on from the handler, it is a passing error like any other (the
    /// message is retried).
    ///
    /// Throws an `AMQPError` with code `.unroutable` when `mandatory` and no queue took it, and
    /// an `AMQPError` with code `.channelClosed` (`404 NOT_FOUND`) for a missing exchange.
    ///
    /// The trace goes on too: with a tracer bootstrapped, the publish is a span under this
    /// message's `process` span and its context is written into the headers; without one, a
    /// message that carried a `traceparent` passes the same trace id on (a new span id), unless
    /// `properties.headers` already has a `traceparent`.
    ///
    /// A publish that failed only because the channel it shares with the other handlers' publishes
    /// was closed (by another handler's bad publish, a forced close, a broker restart) is tried
    /// again on a fresh channel, after a short pause, for as long as the same timeout lasts, or
    /// three times in all when the connection was lost (see `FollowUpRetry`); a publish the
    /// broker refused for what it asked is not.
    ///
    /// A follow-up confirmed here survives even if this message then fails and is
    /// dead-lettered: publish last, or make the receiving side idempotent.
    public func publish(
        _ body: [UInt8], exchange: String = "", routingKey: String, mandatory: Bool = true,
        properties: AMQPProperties = AMQPProperties(deliveryMode: 2), timeout: Duration? = nil
    ) async throws {
        guard let publisher else { throw AMQPError.connectionClosedByClient }
        var properties = properties
        if properties.correlationID == nil { properties.correlationID = self.properties.correlationID ?? self.properties.messageID }
        if let trace, properties.headers?[TraceHeaders.traceParentKey] == nil {
            var headers = properties.headers ?? [:]
            trace.child().write(into: &headers)
            properties.headers = headers
        }
        // One deadline for every try (see `FollowUpRetry`).
        let total = timeout ?? publishTimeout
        let deadline = ContinuousClock.now + total
        var attempt = 1
        while true {
            do {
                return try await publisher.publish(
                    body, exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties,
                    timeout: max(.zero, ContinuousClock.now.duration(to: deadline)))
            } catch let timedOut as PublishTimeout {
                // Say the caller's timeout, not what was left of it for the last try.
                throw PublishTimeout(timeout: total, blockedReason: timedOut.blockedReason)
            } catch {
                let pause = FollowUpRetry.pause(before: attempt + 1)
                guard ContinuousClock.now + pause < deadline, FollowUpRetry.isSharedFailure(error, exchange: exchange),
                    FollowUpRetry.mayTryAgain(after: attempt, failedWith: error), !Task.isCancelled
                else { throw error }
                attempt += 1
                logger.info("follow-up publish failed on the shared channel; trying again", metadata: [
                    "event": "message.publish_retrying", "attempt": "\(attempt)", "error": "\(error)",
                ])
                try await Task.sleep(for: pause)
            }
        }
    }

    /// Builds a context; the consumer does this for each delivery. Public so that handlers can
    /// be unit-tested without a broker (`publish` then throws unless `publisher` is given).
    public init(
        queue: String, exchange: String = "", routingKey: String = "", deliveryTag: UInt64 = 1, redelivered: Bool = false,
        properties: AMQPProperties = AMQPProperties(), logger: Logger, deadline: ContinuousClock.Instant? = nil,
        publisher: WarrenConnection? = nil, publishTimeout: Duration = MessageContext.defaultPublishTimeout
    ) {
        self.init(
            queue: queue, exchange: exchange, routingKey: routingKey, deliveryTag: deliveryTag, redelivered: redelivered,
            properties: properties, logger: logger, deadlineReading: deadline.map { MessageClock.origin.duration(to: $0) },
            publisher: publisher, publishTimeout: publishTimeout)
    }

    /// The consumer's: `deadline` as a `MessageClock` reading, so that no `ContinuousClock.Instant`
    /// is made per message.
    init(
        queue: String, exchange: String, routingKey: String, deliveryTag: UInt64, redelivered: Bool, properties: AMQPProperties,
        logger: Logger, deadlineReading: Duration?, publisher: WarrenConnection?, publishTimeout: Duration
    ) {
        self.queue = queue
        self.exchange = exchange
        self.routingKey = routingKey
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.properties = properties
        self.attempt = Self.attempt(from: properties.headers)
        self.deadlineReading = deadlineReading
        self.publisher = publisher
        self.publishTimeout = publishTimeout
        self.baseLogger = logger
    }

    static func attempt(from headers: AMQPTable?) -> Int {
        switch headers?["x-warren-attempt"] {
        case .int(let value)?: return max(1, Int(clamping: value))
        case .string(let text)?: return max(1, Int(text) ?? 1)
        default: return 1
        }
    }
}
