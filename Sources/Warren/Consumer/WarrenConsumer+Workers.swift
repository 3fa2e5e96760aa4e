import Tracing
import WarrenAMQP

/// The handler workers: `concurrency` long-lived tasks in the handler group that run the
/// messages the delivery loop hands them (see `HandlerPool`).
extension WarrenConsumer {
    /// Starts one worker per `ConcurrencyLimit` slot (the pool's limit), preferring `executor`
    /// (the consuming connection's thread; `nil`: the cooperative pool), as children of
    /// `handlers`, the group that outlives reconnects: a handler of a dead connection keeps its
    /// worker (and slot) until it finishes, while the next connection's deliveries run on the
    /// others. The workers end once `pool` is closed and empty.
    func startWorkers(
        _ pool: HandlerPool<HandlerJob>, counts: DrainCounts, tracer: (any Tracer)?, executor: ConnectionTaskExecutor?,
        in handlers: inout ThrowingDiscardingTaskGroup<Error>
    ) {
        for _ in 0..<configuration.concurrency {
            handlers.addTask(executorPreference: executor) {
                await pool.run(
                    start: { job in await self.run(job, counts: counts, tracer: tracer) },
                    giveBack: { job in await self.giveBack(job) })
            }
        }
    }

    /// Handles one message on a worker task, which holds a slot meanwhile.
    private func run(_ job: HandlerJob, counts: DrainCounts, tracer: (any Tracer)?) async {
        if let (marker, crashGuard) = job.suspect {
            await handleSuspect(
                job.delivery, plan: .beside, marker: marker, guardedBy: crashGuard, on: job.connection, counts: counts, tracer: tracer)
            return
        }
        await handle(job.delivery, on: job.connection, counts: counts, tracer: tracer)
        crashGuard?.unmarked.finished(job.delivery, consumerTag: job.consumerTag, connectionOpen: job.connection.isOpen)
    }

    /// Gives back, on a worker task, a job the drain or the connection's loss overtook in the
    /// queue, as the delivery loop gives back the deliveries that come after (`returnUnstarted`).
    private func giveBack(_ job: HandlerJob) async {
        if await returnUnstarted(job.delivery, on: job.connection) { job.drain.gaveBack() }
        // Admitted as unmarked when queued: forgotten if given back on a live connection (the
        // delivery loop's own give-backs are never admitted), kept if the connection is gone (the
        // broker returns it, and the next consumer knows it unmarked).
        if job.suspect == nil {
            crashGuard?.unmarked.finished(job.delivery, consumerTag: job.consumerTag, connectionOpen: job.connection.isOpen)
        }
    }
}
