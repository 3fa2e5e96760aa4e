import Dispatch

/// Runs an actor's jobs one at a time on a Dispatch queue of its own.
///
/// Warren's handlers and its health server share Swift's small cooperative thread pool, which
/// blocking calls must never hold (a blocked pool stalls every handler and `/healthz`). The
/// store's file writes block, so `SessionStore` runs on this executor instead. A database
/// client with an async API (postgres-nio, …) needs nothing like it.
final class QueueExecutor: SerialExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
