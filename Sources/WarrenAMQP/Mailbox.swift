import CRabbitMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Work that async callers hand to a connection's owner thread.
enum Command: Sendable {
    case ack(UInt64)
    case nack(UInt64, requeue: Bool)
    /// Runs on the owner thread; `fail` is called instead when the connection is already gone.
    case run(@Sendable (ConnectionLoop) -> Void, fail: @Sendable (AMQPError) -> Void)
}

/// The command queue between any thread and a connection's owner thread, plus the eventfd
/// that wakes the owner from `poll()`.
///
/// Thread-safe: `send` may be called from any thread or task; `take`/`close` only by the owner.
final class Mailbox: Sendable {
    private struct State {
        var commands: [Command] = []
        var closedWith: AMQPError?
    }

    private let state = Mutex(State())
    /// Written when the queue goes from empty to non-empty; the owner drains it after `poll()`.
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
        state.withLock { state -> AMQPError? in
            if let error = state.closedWith { return error }
            state.commands.append(command)
            // One wake-up per batch: the owner takes the whole queue at once.
            if state.commands.count == 1 { wake() }
            return nil
        }
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

    /// Refuses further commands and returns those that were still queued (owner thread only).
    func close(with error: AMQPError) -> [Command] {
        state.withLock { state in
            if state.closedWith == nil { state.closedWith = error }
            let commands = state.commands
            state.commands = []
            return commands
        }
    }

    var closedError: AMQPError? {
        state.withLock { $0.closedWith }
    }

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
