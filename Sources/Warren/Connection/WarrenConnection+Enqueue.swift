import Tracing
import WarrenAMQP

extension WarrenConnection {
    /// Hands a publish to the open connection without waiting for its confirm, so one caller
    /// (the consumer's `SettlementPipeline`) can keep many confirms outstanding; the outcome is
    /// awaited later with `PendingPublish.outcome()`, which counts it in
    /// `warren_publish_confirms_total` and ends its producer span exactly as `publish` does.
    ///
    /// Returns at once when a connection is open (the usual case). Otherwise it waits for one to
    /// open, no longer than `timeout`. Publishes handed over from one task reach the broker in
    /// order. Not bounded by the connection's publish window: the caller bounds how many it
    /// leaves unconfirmed.
    ///
    /// - Parameters:
    ///   - timeout: longest wait for the connection and the confirm together, counted from this
    ///     call (then `PublishTimeout`, as `publish(…, timeout:)`).
    ///   - tracer: the tracer of its producer span; `nil`: no span. The caller passes the one it
    ///     resolved: `InstrumentationSystem.tracer` costs a lock and a dynamic cast on every read
    ///     (about 1,650 instructions, on the failure path once per failed message).
    func enqueuePublish(
        _ body: [UInt8], exchange: String, routingKey: String, mandatory: Bool, properties: AMQPProperties, timeout: Duration,
        tracer: (any Tracer)?
    ) async -> PendingPublish {
        let deadline = ContinuousClock.now + timeout
        var span: (any Span)?
        var properties = properties
        if let tracer, !(tracer is NoOpTracer) {
            (span, properties) = Self.startSendSpan(tracer, exchange: exchange, routingKey: routingKey, properties: properties, bodySize: body.count)
        }
        let connection: AMQPConnection
        if let open = openConnection {
            connection = open
        } else {
            do {
                connection = try await waitForConnection(until: deadline, timeout: timeout)
            } catch {
                return PendingPublish(failed: error, publisher: self, span: span)
            }
        }
        let confirmation = connection.enqueuePublish(
            exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties, body: body)
        return PendingPublish(confirmation, deadline: deadline, timeout: timeout, publisher: self, span: span)
    }

    private func waitForConnection(until deadline: ContinuousClock.Instant, timeout: Duration) async throws -> AMQPConnection {
        try await withThrowingTaskGroup(of: AMQPConnection?.self) { group in
            group.addTask { try await self.connection() }
            group.addTask {
                try await Task.sleep(until: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let connection = try await group.next() ?? nil else {
                throw PublishTimeout(timeout: timeout, blockedReason: blockedReason)
            }
            return connection
        }
    }

    /// Starts the producer span `send <exchange, or the routing key on the default exchange>`
    /// as a child of the caller's `ServiceContext.current` and writes its context into the
    /// headers (replacing any there). Returns the span and the properties to publish.
    static func startSendSpan(
        _ tracer: any Tracer, exchange: String, routingKey: String, properties: AMQPProperties, bodySize: Int
    ) -> (any Span, AMQPProperties) {
        let destination = exchange.isEmpty ? routingKey : exchange
        let span = tracer.startSpan("send \(destination)", context: ServiceContext.current ?? .topLevel, ofKind: .producer)
        span.attributes["messaging.system"] = "rabbitmq"
        span.attributes["messaging.operation.type"] = "send"
        span.attributes["messaging.operation.name"] = "send"
        span.attributes["messaging.destination.name"] = exchange
        if !routingKey.isEmpty { span.attributes["messaging.rabbitmq.destination.routing_key"] = routingKey }
        if let messageID = properties.messageID { span.attributes["messaging.message.id"] = messageID }
        span.attributes["messaging.message.body.size"] = bodySize
        var properties = properties
        var headers = properties.headers ?? [:]
        tracer.inject(span.context, into: &headers, using: AMQPHeadersInjector())
        properties.headers = headers
        return (span, properties)
    }

    /// Marks a send span failed with `error`.
    static func recordSendError(_ error: any Error, on span: any Span) {
        span.recordError(error)
        span.attributes["error.type"] = String(describing: type(of: error))
        span.setStatus(SpanStatus(code: .error))
    }
}
