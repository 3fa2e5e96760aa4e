import WarrenAMQP

/// One delivery the delivery loop hands to a `HandlerPool` worker, which runs it (holding a
/// `ConcurrencyLimit` slot) or, if the drain began or the connection closed while it was queued,
/// gives it back unstarted.
struct HandlerJob: PoolJob {
    let delivery: AMQPDelivery
    /// The connection it arrived on: it is acked (or given back) there.
    let connection: AMQPConnection
    let consumerTag: String
    /// Set for a crash suspect that runs beside others (`CrashGuard.Plan.beside`): the queue
    /// that marks its run, and the guard that owns it.
    let suspect: (marker: String, crashGuard: CrashGuard)?
    /// The drain of the consumer it arrived on; counts it if it is given back.
    let drain: DrainStart

    /// Read by the worker that takes the job; the drain flag is an atomic load.
    var mayStart: Bool { !drain.started && connection.isOpen }
}
