import Logging
import Warren

/// Gives every message its own ledger transaction: begun before the handler runs, closed
/// after it whatever happened. The same shape fits a database transaction or any other
/// per-message resource.
struct OrderHandlerFactory: MessageHandlerFactory {
    let ledger: OrderLedger

    func makeHandler(context: MessageContext) async throws -> OrderHandler {
        OrderHandler(transaction: await ledger.begin())
    }

    /// Called exactly once per handler, before Warren acks or dead-letters the message: a
    /// commit is on disk before the broker forgets the message, and nothing a failed handler
    /// staged outlives it.
    func tearDown(_ handler: OrderHandler, outcome: HandlerOutcome, context: MessageContext) async {
        let rolledBack = await handler.transaction.rollback()
        context.logger.info("ledger transaction closed", metadata: [
            "event": "order.transaction_closed", "transaction": rolledBack ? "rolled_back" : "committed",
            "outcome": "\(outcome)",
        ])
    }
}
