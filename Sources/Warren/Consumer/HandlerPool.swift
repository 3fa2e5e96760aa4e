import DequeModule
import Synchronization

/// Long-lived worker tasks that run the jobs the delivery loop hands them, instead of a new child
/// task per message.
///
/// A task per message cost a task allocation, its start on the cooperative pool (often waking an
/// idle thread) and its teardown, for every message. A worker that finishes a job takes the next
/// queued one without suspending, so a burst of deliveries runs on the workers already awake.
///
/// The pool does not bound anything itself: the delivery loop takes a `ConcurrencyLimit` slot
/// before it submits, and the job gives it back when it finishes, so the limit keeps its meaning
/// (running handlers, across reconnects) for the drain, metrics and status. With as many workers
/// as slots, a submitted job never waits for a worker: at most `slots` jobs are queued or running.
///
/// Thread-safe: `submit` and `close` may be called from any task; `run` is each worker task's body.
final class HandlerPool<Job: Sendable>: Sendable {
    private struct State {
        var queued: Deque<Job> = []
        /// Workers suspended in `next()`, waiting for a job (or `nil` once closed).
        var idle: [CheckedContinuation<Job?, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    init() {}

    /// How many workers wait for a job (for tests: lets them await workers going idle instead of
    /// guessing with sleeps).
    var idleCount: Int { state.withLock { $0.idle.count } }

    /// Hands `job` to an idle worker, or queues it for the next worker that finishes.
    func submit(_ job: Job) {
        let worker = state.withLock { state -> CheckedContinuation<Job?, Never>? in
            precondition(!state.closed, "job submitted to a closed handler pool")
            guard let worker = state.idle.popLast() else {
                state.queued.append(job)
                return nil
            }
            return worker
        }
        worker?.resume(returning: job)
    }

    /// No more jobs will come: each worker returns from `run` once the queue is empty. Jobs
    /// already queued still run.
    func close() {
        let idle = state.withLock { state -> [CheckedContinuation<Job?, Never>] in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for worker in idle { worker.resume(returning: nil) }
    }

    /// One worker: runs jobs one at a time, in submission order, until the pool is closed and
    /// empty. Runs on the calling task (a child of the consumer's handler group, so it inherits
    /// the group's cancellation and task-locals the way a task per message did).
    func run(_ body: (Job) async -> Void) async {
        while let job = await next() {
            await body(job)
        }
    }

    private enum Taken {
        case job(Job)
        case closed
        case none
    }

    private func next() async -> Job? {
        let taken = state.withLock { state -> Taken in
            if let job = state.queued.popFirst() { return .job(job) }
            return state.closed ? .closed : .none
        }
        switch taken {
        case .job(let job): return job
        case .closed: return nil
        case .none: break
        }
        return await withCheckedContinuation { continuation in
            let taken = state.withLock { state -> Taken in
                // A job (or the close) may have come between the two locks.
                if let job = state.queued.popFirst() { return .job(job) }
                if state.closed { return .closed }
                state.idle.append(continuation)
                return .none
            }
            switch taken {
            case .job(let job): continuation.resume(returning: job)
            case .closed: continuation.resume(returning: nil)
            case .none: break
            }
        }
    }
}
