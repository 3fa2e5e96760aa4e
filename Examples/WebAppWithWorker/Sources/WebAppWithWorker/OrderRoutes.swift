import Hummingbird
import Logging
import Prometheus
import Warren
import WarrenHosting

/// The web app's routes: an ordinary Hummingbird router.
///
/// | request | answer |
/// |---|---|
/// | `GET /healthz` | `200 {"status":"ok","consumer":"consuming"}`, whether or not the broker is reachable |
/// | `POST /orders` | `202 {"id":"…","status":"accepted"}` + `Location`, once the broker confirmed the message; `503` when it cannot be published |
/// | `GET /orders/{id}` | `200 {"id":"…","status":"processed",…}`; `404` for an unknown id |
/// | `GET /metrics` | `200`, Warren's metrics (consumer and publisher) in the Prometheus text format |
func buildRouter(
    store: OrderStore, publisher: WarrenConnection, queue: String, consumerStatus: WorkerStatus,
    metrics: PrometheusCollectorRegistry
) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: LogRequestsMiddleware(.info))

    router.get("/healthz") { _, _ in
        Health(status: "ok", consumer: consumerStatus.readiness.state.rawValue)
    }

    router.get("/metrics") { _, _ in
        Response(
            status: .ok,
            headers: [.contentType: WarrenMetrics.contentType, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
    }

    router.post("/orders") { request, context -> EditedResponse<OrderView> in
        let order = try await request.decode(as: NewOrder.self, context: context)
        try order.validate()
        let message = OrderPlaced(order)
        let id: String
        do {
            // Returns once the broker has the order on disk (publisher confirm); the message id
            // doubles as the order id.
            id = try await publisher.publish(json: message, routingKey: queue, timeout: .seconds(5))
        } catch {
            context.logger.warning("order not published", metadata: ["event": "order.publish_failed", "error": "\(error)"])
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "5"], message: unavailableReason(error, queue: queue))
        }
        await store.accepted(id, message)
        return EditedResponse(
            status: .accepted, headers: [.location: "/orders/\(id)"], response: OrderView(id: id, status: .accepted))
    }

    router.get("/orders/{id}") { _, context -> OrderView in
        let id = try context.parameters.require("id")
        guard let order = await store.view(id) else { throw HTTPError(.notFound, message: "no order \(id)") }
        return order
    }
    return router
}

/// The body of `GET /healthz`.
struct Health: ResponseEncodable {
    var status: String
    /// What the Warren consumer is doing: `connecting`, `consuming`, `reconnecting`, `draining`…
    var consumer: String
}

/// Why an order was not accepted, for the client; the details (broker address, AMQP error)
/// stay in the log.
private func unavailableReason(_ error: any Error, queue: String) -> String {
    if (error as? AMQPError)?.code == .unroutable {
        return "order not accepted: queue \(queue) does not exist (deleted while the app runs?); try again shortly"
    }
    return "order not accepted: the message broker is unavailable; try again later"
}
