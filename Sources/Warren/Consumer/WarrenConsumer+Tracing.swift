import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import WarrenAMQP

/// The consumer span around a message's run, when a tracer is bootstrapped.
extension WarrenConsumer {
    /// Runs one message through the handler and settles it from the outcome, inside a
    /// `process <queue>` span when a tracer is bootstrapped. On the worker task running the message.
    /// With `crashLoop`, the handler is not run: the message is dead-lettered with it.
    ///
    /// Inlined into its callers: without a tracer, the worker's frame calls `handle(span:)` itself,
    /// one async frame (a task allocation and an executor check) fewer per message (issue 17).
    @inline(__always)
    func handle(
        _ delivery: AMQPDelivery, on connection: AMQPConnection, counts: DrainCounts, tracer: (any Tracer)?,
        crashLoop: CrashLoopDetected? = nil
    ) async {
        handlerStarts(delivery)
        defer { handlerEnded() }
        if let tracer {
            await handleTraced(delivery, on: connection, counts: counts, tracer: tracer, crashLoop: crashLoop)
        } else {
            _ = await handle(delivery, on: connection, counts: counts, span: nil, crashLoop: crashLoop)
        }
    }

    /// Counts a message whose run begins (received, redelivered, in flight).
    private func handlerStarts(_ delivery: AMQPDelivery) {
        metrics.received.increment()
        // Redelivered: possibly handled before (its handler was running, or its ack was lost,
        // when a connection or node died), so this counts every possible duplicate.
        if delivery.redelivered { metrics.redelivered.increment() }
        metrics.inFlight.increment()
        handlersRunning.add(1, ordering: .relaxed)
    }

    /// Counts a message whose run is over, whatever its outcome.
    private func handlerEnded() {
        metrics.inFlight.decrement()
        handlersRunning.subtract(1, ordering: .relaxed)
    }

    /// `handle(tracer:)` with a tracer: the run inside its `process <queue>` span.
    private func handleTraced(
        _ delivery: AMQPDelivery, on connection: AMQPConnection, counts: DrainCounts, tracer: any Tracer, crashLoop: CrashLoopDetected?
    ) async {
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
}
