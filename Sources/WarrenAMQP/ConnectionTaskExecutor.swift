import Synchronization

/// A task executor that runs its tasks' jobs on the owner thread of the connection attached
/// to it, between the thread's reads and writes, and on Swift's global executor while none is
/// attached or once that connection has ended.
///
/// A consumer's delivery loop and handler workers prefer it (`withTaskExecutorPreference`,
/// `addTask(executorPreference:)`): a delivery then goes from the socket to its handler and
/// its ack back to the socket on one thread, as in a single-threaded C consumer, instead of
/// crossing to the cooperative pool and back for every batch (a `futex` wake-up and a park of
/// a pool thread, and an eventfd write to wake the owner; see issue 17's measurements).
///
/// Jobs must not block: a job that blocks its thread holds up that connection's reads,
/// acks, publishes and heartbeats for as long.
///
/// Thread-safe: `enqueue` from any thread; `attach`/`detach` from any task.
public final class ConnectionTaskExecutor: TaskExecutor, Sendable {
    private let target = Mutex<Mailbox?>(nil)

    /// An executor attached to no connection yet: its jobs run on the global executor.
    public init() {}

    /// Runs the jobs enqueued from now on on `connection`'s owner thread, until `detach` or
    /// the connection ends.
    public func attach(_ connection: AMQPConnection) {
        let mailbox = connection.mailbox
        target.withLock { $0 = mailbox }
    }

    /// Runs the jobs enqueued from now on on the global executor.
    public func detach() {
        target.withLock { $0 = nil }
    }

    /// Queues `job` for the attached connection's owner thread (waking it if it sleeps in
    /// `poll()`), or hands it to the global executor when none is attached or the connection has
    /// ended. Never blocks; from any thread.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if let mailbox = target.withLock({ $0 }), mailbox.send(.job(job, self)) == nil { return }
        Self.runElsewhere(job)
    }

    /// Runs `job` on the global executor: its connection is gone, or none is attached.
    static func runElsewhere(_ job: UnownedJob) {
        globalConcurrentExecutor.enqueue(ExecutorJob(job))
    }

    /// Runs `job` here and now (the owner thread).
    func run(_ job: UnownedJob) {
        job.runSynchronously(on: asUnownedTaskExecutor())
    }
}
