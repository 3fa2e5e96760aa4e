import Synchronization

/// Settles the failed messages of one consuming connection with many copies unconfirmed at
/// once, so a burst of failures drains at the rate the broker confirms, not one confirm round
/// trip per handler slot.
///
/// A handler's task hands its message's copy to the publishing connection (without waiting:
/// `WarrenConnection.enqueuePublish`), submits it here and returns, freeing its slot. One
/// settler (`run()`, a long-lived child of the consumer's handler group, so a drain can wait for
/// it) awaits the copies' confirms in the order they were submitted and settles each original:
/// confirmed, it is acked and its outcome logged on the settler; otherwise its fallback
/// (publish once more, requeue after a pause, abandon) runs on a task of its own, so one bad
/// copy does not hold up the confirmed ones behind it.
///
/// The settler's acks are queued without waking the consuming connection's owner thread
/// (`AMQPConnection.queueAck`) and sent (`sendQueuedAcks`) when the settler is about to wait:
/// for a copy not yet confirmed, or for the next entries. A confirm from the broker covers
/// dozens of copies at once; acking their originals one wake-up at a time raced the owner thread
/// and sent an ack frame for every few messages, and on a quorum queue every ack frame is a
/// log entry the broker writes and replicates. Now one confirm's worth leaves as one
/// `basic.ack(multiple)`. A fallback task sends its own.
///
/// Memory is bounded by the prefetch: every entry, and every fallback task, is an unacked
/// delivery of this connection, and the broker sends no more than `prefetch` of those.
///
/// - Important: Thread-safe: `submit` is called from handler tasks, `run` by the settler, and
///   `close`/`finish` by the connection's supervisor.
final class SettlementPipeline: Sendable {
    /// A failed message whose copy was handed to the publishing connection.
    struct Entry: Sendable {
        /// The copy, confirmed or not.
        var copy: PendingPublish
        /// Settles the original from the copy's outcome (`nil`: confirmed), logs the outcome and
        /// ends the message's span. Called once, by the settler or a fallback task of it. Its
        /// ack may be queued without being sent (see `init(sendQueuedAcks:)`).
        var settle: @Sendable ((any Error)?) async -> Void
    }

    private struct State {
        var entries: [Entry] = []
        /// The settler, waiting for entries.
        var settler: CheckedContinuation<Void, Never>?
        var closed = false
        var finished = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    /// Sends the acks the entries' `settle` queued (`AMQPConnection.sendQueuedAcks` of the
    /// pipeline's connection).
    private let sendQueuedAcks: @Sendable () -> Void

    /// - Parameter sendQueuedAcks: sends the acks that entries' `settle` closures queued without
    ///   sending (`AMQPConnection.queueAck`); called by the settler before it waits, and by each
    ///   fallback task after its `settle`.
    init(sendQueuedAcks: @escaping @Sendable () -> Void = {}) {
        self.sendQueuedAcks = sendQueuedAcks
    }

    /// Queues `entry` for the settler. Returns false (and keeps nothing) once the pipeline is
    /// closed: the caller then settles the message itself. From any task.
    func submit(_ entry: Entry) -> Bool {
        let (accepted, settler) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.closed else { return (false, nil) }
            state.entries.append(entry)
            defer { state.settler = nil }
            return (true, state.settler)
        }
        settler?.resume()
        return accepted
    }

    /// Accepts nothing more; the settler settles what it holds, then `run()` returns.
    func close() {
        let settler = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.settler = nil }
            return state.settler
        }
        settler?.resume()
    }

    /// Closes the pipeline and waits until every message submitted is settled (confirmed and
    /// acked, or fallen back). Cancelled, the settler (a child of the same cancelled group)
    /// abandons what it holds at once, so this returns promptly.
    func finish() async {
        close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.finished { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The settler: runs until the pipeline is closed and everything submitted is settled.
    /// Cancelled, each copy's wait throws `CancellationError` at once, and each message falls
    /// back to being abandoned (left unacked for redelivery), as on a handler's task.
    func run() async {
        // One timer for every copy's deadline, re-armed per copy (see `DeadlineTimer`): a timer
        // per wait left a cancelled sleep queued in the runtime for 10 s per batch of confirms.
        let deadlines = DeadlineTimer<PendingPublish> { $0.expire() }
        await withDiscardingTaskGroup { fallbacks in
            await withDiscardingTaskGroup { sleepers in
                while var batch = await nextBatch() {
                    // Taken from the batch one at a time, so that a settled message's entry
                    // (its delivery, copy and log fields) is freed at once: while the rest of
                    // the batch waits, the broker already sends the next messages in its place.
                    batch.reverse()
                    while let entry = batch.popLast() {
                        // About to wait: the acks of the messages settled so far go first.
                        if !entry.copy.isAnswered { sendQueuedAcks() }
                        let deadline = entry.copy.deadline
                        if deadlines.arm(deadline, for: entry.copy) {
                            // Not capturing `entry`: the task may outlive its settlement.
                            sleepers.addTask { await deadlines.sleep(until: deadline) }
                        }
                        let failure: (any Error)?
                        do {
                            try await entry.copy.waitForConfirm()
                            failure = nil
                        } catch {
                            failure = error
                        }
                        entry.copy.finish(failure)
                        if let failure {
                            let sendQueuedAcks = self.sendQueuedAcks
                            fallbacks.addTask {
                                await entry.settle(failure)
                                sendQueuedAcks()
                            }
                        } else {
                            await entry.settle(nil)
                        }
                    }
                    // Nothing to watch while waiting for the next batch, and nothing to hold back.
                    deadlines.disarm()
                    sendQueuedAcks()
                }
                sleepers.cancelAll()
            }
        }
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.finishWaiters = [] }
            return state.finishWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Every entry submitted since the last batch, waiting for one; `nil` once closed and empty.
    private func nextBatch() async -> [Entry]? {
        while true {
            let batch = state.withLock { state -> [Entry]?? in
                if !state.entries.isEmpty {
                    defer { state.entries = [] }
                    return .some(state.entries)
                }
                return state.closed ? .some(nil) : nil
            }
            if let batch { return batch }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.closed || !state.entries.isEmpty { return true }
                    state.settler = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}

/// The settlement pipeline of each open consuming connection, so that a failing message's task
/// finds its connection's. A connection not found here (already closed by its supervisor)
/// settles on the message's own task, as before pipelining.
///
/// Thread-safe.
final class SettlementPipelines: Sendable {
    private let pipelines = Mutex<[ObjectIdentifier: SettlementPipeline]>([:])

    init() {}

    func register(_ pipeline: SettlementPipeline, for connection: AnyObject) {
        pipelines.withLock { $0[ObjectIdentifier(connection)] = pipeline }
    }

    func remove(for connection: AnyObject) {
        pipelines.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    func pipeline(for connection: AnyObject) -> SettlementPipeline? {
        pipelines.withLock { $0[ObjectIdentifier(connection)] }
    }
}
