import CRabbitMQ
import Glibc
import Logging
import Synchronization
@testable import WarrenAMQP

/// A scripted stand-in for librabbitmq under `ConnectionLoop`: tests push frames in (events or
/// errors), read back what the loop wrote, make writes fail at a chosen point, and hold the owner
/// thread inside an RPC (a "gate") to line commands up in one batch.
///
/// Thread-safe: the owner thread calls the transport methods, the test thread scripts it.
final class FakeTransport: AMQPTransport, Sendable {
    /// What the loop sent, in order.
    enum Written: Equatable, Sendable {
        case ack(UInt64, multiple: Bool)
        case nack(UInt64, requeue: Bool)
        case publish(routingKey: String)
        case qos(UInt16)
        case consume(queue: String)
        case cancel(String)
        case declare(String)
        case channelOpen
    }

    private struct State {
        var incoming: [Result<TransportEvent, AMQPError>] = []
        var written: [Written] = []
        /// Every write (ack, nack, publish) throws this once set, like a dead socket.
        var writeError: AMQPError?
        var broken = false
        var channelOpen = true
        var closed = false
        var consumers = 0
        var gateOpen = true
        /// The owner thread is inside the gate RPC.
        var atGate = false
        /// While true the fake broker counts as sending heartbeats (`lastReceived` is now).
        var heartbeating = false
        var lastReceived = ContinuousClock.now
        /// `setCorked(true)` is in force: written frames would be held in the kernel.
        var corked = false
        /// What was written while corked, in order.
        var writtenCorked: [Written] = []
        /// Calls that wait for the broker (RPCs, reads) made while corked: each would wait for
        /// an answer to a request the kernel still holds. Must stay empty.
        var waitedCorked: [String] = []
    }

    private let state = Mutex(State())
    /// Readable while scripted input waits, so the loop's `poll()` wakes for it.
    private let inputFD: Int32
    let negotiatedHeartbeat: Int32
    let negotiatedFrameMax: Int32 = 131_072
    let serverProperties: AMQPTable = ["product": "fake"]

    /// `heartbeating`: the broker counts as alive until `goSilent()`, so a test can set up its
    /// consumer and publishes first, however long the test runner takes to schedule it.
    init(heartbeat: Int32 = 0, heartbeating: Bool = false) {
        inputFD = warren_eventfd()
        negotiatedHeartbeat = heartbeat
        state.withLock { $0.heartbeating = heartbeating }
    }

    deinit { Glibc.close(inputFD) }

    // MARK: Scripting (test thread)

    /// Queues frames for the loop to read, and wakes it.
    func push(_ events: TransportEvent...) {
        state.withLock { $0.incoming.append(contentsOf: events.map { .success($0) }) }
        wakeLoop()
    }

    /// The next read fails with `error`, as a socket that died.
    func pushFailure(_ error: AMQPError) {
        state.withLock { $0.incoming.append(.failure(error)) }
        wakeLoop()
    }

    /// The broker closes the channel (`channel.close`): the next read throws `error` and the
    /// connection stays up until the loop reopens the channel.
    func pushChannelClose(_ error: AMQPError) {
        state.withLock { $0.incoming.append(.failure(error)) }
        wakeLoop()
    }

    /// Every write from now on fails with `error`.
    func failWrites(with error: AMQPError) {
        state.withLock { $0.writeError = error }
    }

    /// While closed, an RPC on a queue named "gate" holds the owner thread until it opens.
    func closeGate() { state.withLock { $0.gateOpen = false } }
    func openGate() { state.withLock { $0.gateOpen = true } }

    /// The broker stops sending anything from now on (heartbeats included).
    func goSilent() {
        state.withLock { state in
            state.heartbeating = false
            state.lastReceived = .now
        }
    }

    /// The owner thread is held inside the gate RPC: from then on every command sent waits in
    /// the mailbox, to be taken with the others in one batch.
    var isHeldAtGate: Bool { state.withLock { $0.atGate } }

    var written: [Written] { state.withLock { $0.written } }
    /// The part of `written` that was written while the socket was corked.
    var writtenCorked: [Written] { state.withLock { $0.writtenCorked } }
    /// Calls that wait for an answer made while corked (see `State.waitedCorked`).
    var waitedCorked: [String] { state.withLock { $0.waitedCorked } }
    var isCorked: Bool { state.withLock { $0.corked } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Polls (every ms) until `condition` holds for what was written, or the deadline passes.
    func waitForWritten(within timeout: Duration = .seconds(5), _ condition: ([Written]) -> Bool) async throws -> [Written] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let written = self.written
            if condition(written) { return written }
            guard ContinuousClock.now < deadline else { return written }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    private func wakeLoop() {
        var one: UInt64 = 1
        _ = write(inputFD, &one, 8)
    }

    // MARK: AMQPTransport (owner thread)

    var socketFD: Int32 { inputFD }
    var isBroken: Bool { state.withLock { $0.broken } }
    var isChannelOpen: Bool { state.withLock { $0.channelOpen } }
    var lastReceived: ContinuousClock.Instant { state.withLock { $0.heartbeating ? .now : $0.lastReceived } }
    var hasBufferedInput: Bool { state.withLock { !$0.incoming.isEmpty } }

    func nextEvent() throws -> TransportEvent? {
        noteWait("nextEvent")
        let next = state.withLock { state -> Result<TransportEvent, AMQPError>? in
            guard !state.incoming.isEmpty else { return nil }
            return state.incoming.removeFirst()
        }
        guard let next else {
            var value: UInt64 = 0
            _ = read(inputFD, &value, 8)  // nothing left: let poll() sleep again
            return nil
        }
        switch next {
        case .success(let event): return event
        case .failure(let error):
            state.withLock { state in
                if error.code == .channelClosed { state.channelOpen = false } else { state.broken = true }
            }
            throw error
        }
    }

    private func record(_ written: Written) throws {
        try state.withLock { state in
            if let error = state.writeError {
                state.broken = true
                throw error
            }
            state.written.append(written)
            if state.corked { state.writtenCorked.append(written) }
        }
    }

    /// An RPC or read: it waits for the broker, so the socket must not be corked.
    private func noteWait(_ call: String) {
        state.withLock { state in
            if state.corked { state.waitedCorked.append(call) }
        }
    }

    func setCorked(_ corked: Bool) {
        state.withLock { $0.corked = corked }
    }

    func ack(_ deliveryTag: UInt64, multiple: Bool) throws { try record(.ack(deliveryTag, multiple: multiple)) }
    func nack(_ deliveryTag: UInt64, requeue: Bool) throws { try record(.nack(deliveryTag, requeue: requeue)) }
    func publish(exchange: String, routingKey: String, mandatory: Bool, properties: AMQPProperties, body: [UInt8]) throws {
        try record(.publish(routingKey: routingKey))
    }

    func declareQueue(_ name: String, passive: Bool, durable: Bool, arguments: AMQPTable) throws -> (messages: UInt32, consumers: UInt32) {
        noteWait("queue.declare \(name)")
        if name == "gate" {
            // Not recorded and never failing: it only holds the owner thread.
            state.withLock { $0.atGate = true }
            while !state.withLock({ $0.gateOpen }) { usleep(1000) }
            state.withLock { $0.atGate = false }
            return (0, 0)
        }
        try record(.declare(name))
        state.withLock { $0.lastReceived = .now }  // the broker answered
        return (0, 0)
    }

    func declareExchange(_ name: String, type: String, durable: Bool, arguments: AMQPTable) throws {
        noteWait("exchange.declare \(name)")
        try record(.declare(name))
    }

    func bindQueue(_ queue: String, exchange: String, routingKey: String, arguments: AMQPTable) throws {
        noteWait("queue.bind \(queue)")
    }

    func inspectExchange(_ name: String) throws {
        noteWait("exchange.declare passive \(name)")
    }

    func purgeQueue(_ name: String) throws -> UInt32 {
        noteWait("queue.purge \(name)")
        return 0
    }

    func deleteQueue(_ name: String) throws -> UInt32 {
        noteWait("queue.delete \(name)")
        return 0
    }
    func setPrefetch(_ count: UInt16) throws {
        noteWait("basic.qos")
        try record(.qos(count))
    }

    func consume(queue: String, consumerTag: String, arguments: AMQPTable) throws -> String {
        noteWait("basic.consume")
        try record(.consume(queue: queue))
        return state.withLock { state in
            state.consumers += 1
            return "ctag-\(state.consumers)"
        }
    }

    func cancel(consumerTag: String) throws {
        noteWait("basic.cancel")
        try record(.cancel(consumerTag))
    }

    func reopenChannel() throws {
        noteWait("channel.open")
        try record(.channelOpen)
        state.withLock { $0.channelOpen = true }
    }

    func close() {
        noteWait("close")
        state.withLock { $0.closed = true }
    }
}

extension AMQPConnection {
    /// A connection whose owner thread drives `transport` instead of librabbitmq.
    static func fake(_ transport: FakeTransport, onEvent: @escaping @Sendable (AMQPConnectionEvent) -> Void = { _ in }) async throws -> AMQPConnection {
        try await open(logger: .init(label: "test"), onEvent: onEvent) { transport }
    }
}

extension AMQPDelivery {
    static func fake(tag: UInt64, consumerTag: String = "ctag-1") -> AMQPDelivery {
        AMQPDelivery(deliveryTag: tag, redelivered: false, exchange: "", routingKey: "q", consumerTag: consumerTag,
                     properties: AMQPProperties(), body: [])
    }
}
