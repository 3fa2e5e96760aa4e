import CRabbitMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Work that async callers hand to a connection's owner thread.
enum Command: Sendable {
    case ack(UInt64)
    case nack(UInt64, requeue: Bool)
    /// A `basic.publish` whose confirm completes `PublishConfirmation`. Its own case, not a
    /// `run` body: like an ack or a nack it waits for no answer, so the owner may hold it in a
    /// corked socket with the rest of its turn (`ConnectionLoop.run`).
    case publish(PublishRequest, PublishConfirmation)
    /// Runs on the owner thread; `fail` is called instead when the connection is already gone.
    case run(@Sendable (ConnectionLoop) -> Void, fail: @Sendable (AMQPError) -> Void)
    /// A job of a task that prefers `ConnectionTaskExecutor`: run on the owner thread, or on
    /// the global executor when the connection is already gone.
    case job(UnownedJob, ConnectionTaskExecutor)
}

/// The command queue between any thread and a connection's owner thread, plus the eventfd
/// that wakes the owner from `poll()`.
///
/// Thread-safe: `send` may be called from any thread or task; `take`/`close` only by the owner.
final class Mailbox: Sendable {
    private struct State {
        var commands: [Command] = []
        var closedWith: AMQPError?
        /// The owner is (about to be) asleep in `poll()` and must be woken by the next command.
        var parked = false
        /// Acks held back by `hold(ack:)`: the owner does not see them until `releaseHeld()`.
        var heldAcks: [UInt64] = []
    }

    private let state = Mutex(State())
    /// Mirrors `closedWith != nil` without the lock: `isClosed` is read for every message by
    /// handler tasks, and taking the lock the owner thread takes every turn made them contend.
    private let closed = Atomic<Bool>(false)
    /// Written by the first command sent while the owner is parked in `poll()`; the owner
    /// drains it after `poll()`. While the owner is busy (reading deliveries, sending acks) it
    /// takes commands at the top of every turn anyway, so `send` does not write it: a handler's
    /// ack then costs a lock, not a `write` here and a `read` plus an extra `poll` there.
    let wakeFD: Int32

    init() throws {
        let fd = warren_eventfd()
        guard fd >= 0 else {
            throw AMQPError.library(status: 0, message: String(cString: strerror(errno)), context: "eventfd")
        }
        wakeFD = fd
    }

    deinit {
        Glibc.close(wakeFD)
    }

    /// Queues a command for the owner thread. Returns the error the connection closed with,
    /// without queueing, when it is gone.
    @discardableResult
    func send(_ command: Command) -> AMQPError? {
        let (refused, wakeOwner) = state.withLock { state -> (AMQPError?, Bool) in
            if let error = state.closedWith { return (error, false) }
            state.commands.append(command)
            return (nil, Self.wakeIfParked(&state))
        }
        if wakeOwner { wake() }
        return refused
    }

    /// Whether the command just queued must wake the owner: only if it is parked in `poll()`,
    /// and once per sleep (it takes the whole queue when it wakes). Clears `parked` when it
    /// returns true; the caller then writes the eventfd, outside the lock.
    private static func wakeIfParked(_ state: inout State) -> Bool {
        guard state.parked else { return false }
        state.parked = false
        return true
    }

    /// Holds an ack back from the owner until `releaseHeld()`, so that a burst of acks reaches
    /// it in one turn (one coalesced `basic.ack`). Sent at once, the acks of a burst met an
    /// owner thread kept busy by the deliveries each ack frame lets in, and left a few per turn.
    /// Returns the error the connection closed with, holding nothing, when it is gone.
    @discardableResult
    func hold(ack deliveryTag: UInt64) -> AMQPError? {
        state.withLock { state in
            if let error = state.closedWith { return error }
            state.heldAcks.append(deliveryTag)
            return nil
        }
    }

    /// Queues the held acks for the owner thread, waking it if it sleeps. From any thread; the
    /// owner itself calls it when `poll()` times out, so a held ack waits a second at most.
    func releaseHeld() {
        let wakeOwner = state.withLock { state -> Bool in
            guard !state.heldAcks.isEmpty, state.closedWith == nil else { return false }
            for tag in state.heldAcks { state.commands.append(.ack(tag)) }
            state.heldAcks.removeAll(keepingCapacity: true)
            return Self.wakeIfParked(&state)
        }
        if wakeOwner { wake() }
    }

    /// Marks the owner as going to sleep in `poll()` (owner thread only). Returns false, not
    /// parking, when commands are already waiting: the owner must run them instead of sleeping.
    func park() -> Bool {
        state.withLock { state in
            guard state.commands.isEmpty, state.closedWith == nil else { return false }
            state.parked = true
            return true
        }
    }

    /// The owner woke from `poll()` (owner thread only): further commands need no wake-up until
    /// it parks again.
    func unpark() {
        state.withLock { $0.parked = false }
    }

    /// Takes every queued command (owner thread only).
    func take() -> [Command] {
        state.withLock { state in
            guard !state.commands.isEmpty else { return [] }
            let commands = state.commands
            state.commands = []
            return commands
        }
    }

    /// How many commands wait for the owner's next turn (for tests that line up one batch).
    var queuedCount: Int {
        state.withLock { $0.commands.count }
    }

    /// Refuses further commands and returns those that were still queued (owner thread only).
    func close(with error: AMQPError) -> [Command] {
        state.withLock { state in
            if state.closedWith == nil {
                state.closedWith = error
                closed.store(true, ordering: .releasing)
            }
            let commands = state.commands
            state.commands = []
            // Their delivery tags died with the connection: the broker requeues the deliveries.
            state.heldAcks = []
            return commands
        }
    }

    var closedError: AMQPError? {
        guard isClosed else { return nil }
        return state.withLock { $0.closedWith }
    }

    /// Whether the connection ended (commands are refused): one atomic load.
    var isClosed: Bool { closed.load(ordering: .acquiring) }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Clears the eventfd after it woke the owner.
    func clearWake() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
    }
}
