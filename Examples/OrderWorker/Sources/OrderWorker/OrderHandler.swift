import Warren

/// Records one order in the transaction its factory began for this message.
///
/// Returning acks the message; throwing (an invalid order, a failed write) dead-letters it.
/// It never rolls back itself: `OrderHandlerFactory.tearDown` does that however the handler
/// ends, including a timeout or cancellation at shutdown.
struct OrderHandler: MessageHandler {
    let transaction: OrderLedger.Transaction

    func handle(_ order: OrderPlaced, context: MessageContext) async throws {
        try order.validate()
        try await transaction.stage(order)
        // 0 when the order is already recorded (redelivered, or published twice): it is acked
        // again, but not recorded again.
        let duplicate = try await transaction.commit() == 0
        context.logger.info(duplicate ? "order already recorded" : "order recorded", metadata: [
            "event": duplicate ? "order.duplicate" : "order.recorded",
            "order_id": "\(order.orderID)", "amount_cents": "\(order.amountCents)",
        ])
    }
}
