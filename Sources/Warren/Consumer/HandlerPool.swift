import DequeModule
import Synchronization

/// A job a `HandlerPool` runs, or gives back if it may no longer start.
protocol PoolJob: Sendable {
    /// Whether the job may still start, asked when a worker takes it from the queue (the drain
    /// may have begun, or its connection closed, while it waited there).
    var mayStart: Bool { get }
}

/// Long-lived worker tasks that take the delivery loop's jobs straight from one queue, instead
/// of a new child task per message.
///
/// The delivery loop only queues (`submit`: one lock, and the resume of an idle worker if one
/// waits); it never waits for a handler slot. A worker takes a job together with a
/// `ConcurrencyLimit` slot, which it holds while the job runs. The loop used to take the slot
/// before submitting: with prefetch 200 ≫ concurrency 8 it suspended for 87 % of messages, a
/// continuation, an executor enqueue and a task switch each way per message. Measured with
/// `bench/instructions.sh` (static build, quorum, prefetch 200, concurrency 8): noop 29,004 ->
/// 23,979 instructions per message, demo 30,278 -> 27,075; continuation suspensions 1.2 -> 0.0
/// per message (`swift_continuation_init`, callgrind's serialized threads).
///
/// The limit keeps its meaning (running handlers, across reconnects) for the drain, metrics and
/// status: there are as many workers as slots and only a worker that starts a job takes one, so
/// taking it never waits (the one other holder, a crash suspect running alone on the delivery
/// loop, waits for `waitUntilIdle` first and submits nothing while it runs). A job that may no
/// longer start (`PoolJob.mayStart`) is given back without a slot. The queue holds at most what
/// the broker delivered and did not get settled: the consumer's prefetch per connection.
///
/// Thread-safe: `submit`, `close` and `waitUntilIdle` may be called from any task; `run` is each
/// worker task's body.
final class HandlerPool<Job: PoolJob>: Sendable {
    private struct State {
        var queued: Deque<Job> = []
        /// Workers suspended in `next()`, waiting for a job or the close; resumed with whether
        /// they are the one `waking` worker.
        var idle: [UnsafeContinuation<Bool, Never>] = []
        /// A worker was resumed for queued jobs and has not taken one yet: the next `submit`
        /// only queues, and that worker wakes another if it leaves jobs behind.
        var waking = false
        /// Jobs taken from the queue and not yet finished (started or being given back).
        var taken = 0
        /// `waitUntilIdle` calls waiting for the queue to empty and every taken job to finish.
        var idleWaiters: [UnsafeContinuation<Void, Never>] = []
        var closed = false

        var isIdle: Bool { queued.isEmpty && taken == 0 }
    }

    private let state = Mutex(State())
    private let limit: ConcurrencyLimit

    /// `limit`: the slots the workers take while they run a job; start one worker per slot.
    init(limit: ConcurrencyLimit) {
        self.limit = limit
    }

    /// How many workers wait for a job (for tests: lets them await workers going idle instead of
    /// guessing with sleeps).
    var idleCount: Int { state.withLock { $0.idle.count } }

    /// How many `waitUntilIdle` calls are suspended (for tests, as `idleCount`).
    var idleWaitingCount: Int { state.withLock { $0.idleWaiters.count } }

    /// Queues `job`, and wakes an idle worker unless one is already waking. Never suspends.
    ///
    /// One wake at a time: a burst of deliveries used to resume one idle worker per job (about
    /// one wake-up per message with a fast handler); now the woken worker wakes the next only if
    /// it finds more jobs queued, so a burst runs on the workers already awake, and a slow
    /// handler still has every worker started within a wake-up each.
    func submit(_ job: Job) {
        let worker = state.withLock { state -> UnsafeContinuation<Bool, Never>? in
            precondition(!state.closed, "job submitted to a closed handler pool")
            state.queued.append(job)
            guard !state.waking, let worker = state.idle.popLast() else { return nil }
            state.waking = true
            return worker
        }
        worker?.resume(returning: true)
    }

    /// No more jobs will come: each worker returns from `run` once the queue is empty. Jobs
    /// already queued are still taken (run, or given back).
    func close() {
        let idle = state.withLock { state -> [UnsafeContinuation<Bool, Never>] in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for worker in idle { worker.resume(returning: false) }
    }

    /// Returns once no job is queued and every job taken has finished: every submitted job has
    /// run or been given back. (It may return before a later `submit`.)
    func waitUntilIdle() async {
        let idle = state.withLock { $0.isIdle }
        if idle { return }
        await withUnsafeContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if state.isIdle { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// One worker: takes jobs in submission order until the pool is closed and empty. A job
    /// that `mayStart` runs in `start` holding a slot of the limit; one that may not goes to
    /// `giveBack`, without a slot. Runs on the calling task (a child of the consumer's handler
    /// group, so it inherits the group's cancellation and task-locals the way a task per
    /// message did).
    func run(start: (Job) async -> Void, giveBack: (Job) async -> Void) async {
        var finishing = false
        while let job = await next(finishing: finishing) {
            finishing = true
            guard job.mayStart else {
                await giveBack(job)
                continue
            }
            // Never waits in practice (see the type's comment); acquire stays correct if it must.
            // `acquire()` starts with the same attempt, but calling an async function costs a
            // task frame even when it returns at once: tried first here, once per message.
            if !limit.tryAcquire() { await limit.acquire() }
            await start(job)
            limit.release()
        }
    }

    private enum Step {
        case job(Job)
        case closed
        case wait
    }

    /// The next job, marked taken; `finishing` first marks the worker's previous job finished,
    /// in the same lock. Suspends while the queue is empty and the pool open.
    private func next(finishing: Bool) async -> Job? {
        var finishing = finishing
        var woken = false
        while true {
            let (step, wake, idleWaiters) = state.withLock {
                state -> (Step, UnsafeContinuation<Bool, Never>?, [UnsafeContinuation<Void, Never>]) in
                if finishing { state.taken -= 1 }
                if woken { state.waking = false }
                if let job = state.queued.popFirst() {
                    state.taken += 1
                    // Jobs left behind and nobody on the way for them: wake the next worker.
                    guard !state.queued.isEmpty, !state.waking, let worker = state.idle.popLast() else { return (.job(job), nil, []) }
                    state.waking = true
                    return (.job(job), worker, [])
                }
                var waiters: [UnsafeContinuation<Void, Never>] = []
                if state.taken == 0 { swap(&waiters, &state.idleWaiters) }
                return (state.closed ? .closed : .wait, nil, waiters)
            }
            wake?.resume(returning: true)
            for waiter in idleWaiters { waiter.resume() }
            switch step {
            case .job(let job): return job
            case .closed: return nil
            case .wait: break
            }
            finishing = false
            woken = await withUnsafeContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    // A job (or the close) may have come between the two locks.
                    if !state.queued.isEmpty || state.closed { return true }
                    state.idle.append(continuation)
                    return false
                }
                if ready { continuation.resume(returning: false) }
            }
        }
    }
}
