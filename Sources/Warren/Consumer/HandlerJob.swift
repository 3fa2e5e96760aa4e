import WarrenAMQP

/// One delivery the delivery loop hands to a `HandlerPool` worker, holding a `ConcurrencyLimit`
/// slot that the worker gives back once the message is handled.
struct HandlerJob: Sendable {
    let delivery: AMQPDelivery
    /// The connection it arrived on: it is acked (or given back) there.
    let connection: AMQPConnection
    let consumerTag: String
    /// Set for a crash suspect that runs beside others (`CrashGuard.Plan.beside`): the queue
    /// that marks its run, and the guard that owns it.
    let suspect: (marker: String, crashGuard: CrashGuard)?
}
