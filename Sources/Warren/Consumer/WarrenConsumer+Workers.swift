import Tracing
import WarrenAMQP

/// The handler workers: `concurrency` long-lived tasks in the handler group that run the
/// messages the delivery loop hands them (see `HandlerPool`).
extension WarrenConsumer {
    /// Starts one worker per `ConcurrencyLimit` slot as children of `handlers`, the group that
    /// outlives reconnects: a handler of a dead connection keeps its worker (and slot) until it
    /// finishes, while the next connection's deliveries run on the others. The workers end once
    /// `pool` is closed and empty.
    func startWorkers(
        _ pool: HandlerPool<HandlerJob>, limit: ConcurrencyLimit, counts: DrainCounts, tracer: (any Tracer)?,
        in handlers: inout ThrowingDiscardingTaskGroup<Error>
    ) {
        for _ in 0..<configuration.concurrency {
            handlers.addTask {
                await pool.run { job in
                    await self.run(job, limit: limit, counts: counts, tracer: tracer)
                }
            }
        }
    }

    /// Handles one message on a worker task, then gives its slot back.
    private func run(_ job: HandlerJob, limit: ConcurrencyLimit, counts: DrainCounts, tracer: (any Tracer)?) async {
        defer { limit.release() }
        if let (marker, crashGuard) = job.suspect {
            await handleSuspect(
                job.delivery, plan: .beside, marker: marker, guardedBy: crashGuard, on: job.connection, counts: counts, tracer: tracer)
            return
        }
        await handle(job.delivery, on: job.connection, counts: counts, tracer: tracer)
        crashGuard?.unmarked.finished(job.delivery, consumerTag: job.consumerTag, connectionOpen: job.connection.isOpen)
    }
}
