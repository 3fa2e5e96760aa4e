import Warren

/// The worker's business logic: fulfils one order. Returning acks the message; throwing a
/// `PermanentError` dead-letters it to `<queue>.dead` at once; any other error is retried.
struct FulfilOrder: MessageHandler {
    func handle(_ order: OrderPlaced, context: MessageContext) async throws {
        context.logger.info("processing order", metadata: [
            "event": "order.processing", "item": "\(order.item)", "quantity": "\(order.quantity)",
        ])
        guard order.quantity > 0 else {
            throw OrderRejected(reason: "quantity must be at least 1, got \(order.quantity)")
        }
        if let milliseconds = order.workMilliseconds, milliseconds > 0 {
            // Stands in for real work. A SIGTERM does not interrupt it: the drain waits for it.
            try await Task.sleep(for: .milliseconds(milliseconds))
        }
        context.logger.info("order processed", metadata: ["event": "order.processed"])
    }
}

/// An order the worker can never fulfil: permanent, so it is not retried.
struct OrderRejected: PermanentError, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Wraps every message in the app's bookkeeping: marks the order `processing` before the
/// handler runs and records the outcome after it, before Warren acks or dead-letters the
/// message. `tearDown` sees every outcome, including bodies that never decoded, which the
/// handler itself would never be called for.
struct OrderProcessing: MessageHandlerFactory {
    let store: OrderStore

    func makeHandler(context: MessageContext) async throws -> FulfilOrder {
        if let id = context.properties.messageID { await store.update(id, .processing) }
        return FulfilOrder()
    }

    func tearDown(_ handler: FulfilOrder, outcome: HandlerOutcome, context: MessageContext) async {
        guard let id = context.properties.messageID else { return }
        switch outcome {
        case .succeeded: await store.update(id, .processed)
        case .failed(let error): await store.update(id, .failed, reason: "\(error)")
        // Cut short by a shutdown that overran its deadline: the broker redelivers it.
        case .cancelled: await store.update(id, .accepted)
        }
    }
}
