import Logging
import Synchronization

/// A connection to a RabbitMQ broker, safe to use from any task.
///
/// Each connection owns one dedicated OS thread that makes every librabbitmq call; async methods
/// hand their work to it through a command queue and a wake-up fd and suspend until it is done,
/// so no blocking C call ever runs on Swift's cooperative thread pool. The thread also services
/// heartbeats while every caller is busy.
///
/// One channel is used for consuming, acks and publishes; publishes always wait for the broker's
/// confirm. A channel error from the broker (e.g. `404 NOT_FOUND` on a publish to a missing
/// exchange, `406 PRECONDITION_FAILED`) fails the call that caused it and everything that lived
/// on the channel — unconfirmed publishes fail, consumer streams end with the error, delivery
/// tags die — and the channel is opened again on the same connection. A connection error (a
/// lost socket, missed heartbeats, `connection.close` from the broker) ends the connection:
/// pending calls fail and consumer streams end with that error; open a new connection to go on.
///
/// ```swift
/// let connection = try await AMQPConnection.connect(.init(url: try AMQPURL("amqp://localhost/"), connectionName: "me"))
/// try await connection.declareQueue("jobs", durable: true)
/// try await connection.publish(exchange: "", routingKey: "jobs", body: Array("{}".utf8))
/// await connection.close()
/// ```
public final class AMQPConnection: Sendable {
    /// Publishes `publish(…)` may have in flight on one connection before callers wait.
    public static let publishWindowCapacity = 1024

    let mailbox: Mailbox
    private let publishWindow = PublishWindow(capacity: AMQPConnection.publishWindowCapacity)
    /// When the owner thread last went round its loop: a stale stamp means it is wedged.
    public let activity: LoopActivity
    /// Negotiated heartbeat interval in seconds (0 = disabled).
    public let heartbeatSeconds: Int
    /// Negotiated maximum frame size in bytes.
    public let frameMax: Int
    /// What the broker said about itself (`product`, `version`, `cluster_name`, …).
    public let serverProperties: AMQPTable

    private init(mailbox: Mailbox, activity: LoopActivity, transport: any AMQPTransport) {
        self.mailbox = mailbox
        self.activity = activity
        heartbeatSeconds = Int(transport.negotiatedHeartbeat)
        frameMax = Int(transport.negotiatedFrameMax)
        serverProperties = transport.serverProperties
    }

    /// Opens a connection on a new owner thread. Returns once logged in with a channel open.
    ///
    /// Cancelling the calling task returns at once with `CancellationError`; a connection that
    /// the owner thread completes afterwards is closed by it.
    ///
    /// - Parameters:
    ///   - configuration: the broker's URL, credentials, TLS, heartbeat and timeouts.
    ///   - logger: given to the owner thread for its lines.
    ///   - onEvent: told about `connection.blocked`/`unblocked`. Called on the owner
    ///     thread: it must return quickly and never block.
    public static func connect(
        _ configuration: AMQPConnectionConfiguration, logger: Logger = Logger(label: "warren.amqp"),
        onEvent: @escaping @Sendable (AMQPConnectionEvent) -> Void = { _ in }
    ) async throws -> AMQPConnection {
        try await open(logger: logger, onEvent: onEvent) {
            configuration.warnIfUnverified(logger)
            return try RawConnection(
                url: configuration.url, heartbeatSeconds: configuration.effectiveHeartbeatSeconds,
                connectTimeoutSeconds: configuration.effectiveConnectTimeoutSeconds,
                channelMax: configuration.effectiveChannelMax, clientProperties: configuration.clientProperties,
                tls: configuration.effectiveTLS)
        }
    }

    /// Starts an owner thread that makes its transport with `makeTransport` (on that thread)
    /// and then runs the connection loop on it. `connect` uses librabbitmq; tests use a fake.
    static func open(
        logger: Logger, onEvent: @escaping @Sendable (AMQPConnectionEvent) -> Void,
        transport makeTransport: @escaping @Sendable () throws -> any AMQPTransport
    ) async throws -> AMQPConnection {
        let handoff = ConnectHandoff()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AMQPConnection, Error>) in
                guard handoff.install(continuation) else { return }
                OwnerThread.start {
                    let transport: any AMQPTransport
                    let mailbox: Mailbox
                    do {
                        mailbox = try Mailbox()
                        transport = try makeTransport()
                    } catch {
                        handoff.resume(with: .failure(error))
                        return
                    }
                    let activity = LoopActivity()
                    let connection = AMQPConnection(mailbox: mailbox, activity: activity, transport: transport)
                    let loop = ConnectionLoop(raw: transport, mailbox: mailbox, activity: activity, logger: logger, onEvent: onEvent)
                    guard handoff.resume(with: .success(connection)) else {
                        loop.close()  // the caller gave up (cancelled) while we connected
                        return
                    }
                    loop.run()
                }
            }
        } onCancel: {
            handoff.resume(with: .failure(CancellationError()))
        }
    }

    /// Runs `body` on the owner thread and returns its result.
    ///
    /// Always completes: with the body's result, or the error the connection ended with (also
    /// when it ends before the body ran), or `CancellationError` at once when the calling task
    /// is cancelled (the body may still run later; its result is then dropped).
    func perform<T: Sendable>(_ body: @escaping @Sendable (ConnectionLoop) throws -> T) async throws -> T {
        let result = OneShot()
        let value = PerformedValue<T>()
        let refused = mailbox.send(.run({ loop in
            do {
                value.set(try body(loop))
                result.complete(.success(()))
            } catch {
                result.complete(.failure(error))
                // A broken connection ends; a channel the broker closed is opened again.
                loop.transportFailed(AMQPError(error, context: "command"))
            }
        }, fail: { result.complete(.failure($0)) }))
        if let refused { throw refused }
        try await result.wait()
        return value.take()
    }

    /// Declares a queue (idempotent when the arguments match; `406 PRECONDITION_FAILED` otherwise).
    @discardableResult
    public func declareQueue(_ name: String, durable: Bool = true, arguments: AMQPTable = [:]) async throws -> (messages: UInt32, consumers: UInt32) {
        try await perform { try $0.raw.declareQueue(name, passive: false, durable: durable, arguments: arguments) }
    }

    /// Declares a queue passively: fails with `404 NOT_FOUND` when it does not exist.
    public func inspectQueue(_ name: String) async throws -> (messages: UInt32, consumers: UInt32) {
        try await perform { try $0.raw.declareQueue(name, passive: true, durable: false, arguments: [:]) }
    }

    /// Declares an exchange of `type` (`direct`, `fanout`, `topic`, `headers`, …): idempotent when
    /// type and arguments match, `406 PRECONDITION_FAILED` otherwise. Runs on the connection's
    /// thread; the caller suspends until the broker answers.
    public func declareExchange(_ name: String, type: String, durable: Bool = true, arguments: AMQPTable = [:]) async throws {
        try await perform { try $0.raw.declareExchange(name, type: type, durable: durable, arguments: arguments) }
    }

    /// Binds a queue to an exchange; `arguments` are a headers exchange's match arguments.
    public func bindQueue(_ queue: String, exchange: String, routingKey: String = "", arguments: AMQPTable = [:]) async throws {
        try await perform { try $0.raw.bindQueue(queue, exchange: exchange, routingKey: routingKey, arguments: arguments) }
    }

    /// Starts consuming with manual acks. Deliveries arrive in order on the returned stream; it
    /// finishes after `cancel(consumerTag:)` or `close()`, and throws when the broker cancels the
    /// consumer or the connection fails. Every delivery must be acked or nacked on this connection.
    ///
    /// The owner thread hands over the deliveries it read in one turn together (`AMQPDeliveries`):
    /// one wake-up of the reading task per turn, not one per delivery.
    ///
    /// The stream holds at most the prefetch: the broker sends no more unacked deliveries. When
    /// its reader goes away (the iterating task is cancelled), the consumer is cancelled on the
    /// broker and deliveries that arrive for it are requeued (`basic.nack`, requeue), never
    /// left unsettled.
    ///
    /// - Parameters:
    ///   - queue: the queue to consume.
    ///   - prefetch: this consumer's `basic.qos` prefetch. It is sent in the same turn of
    ///     the owner thread as `basic.consume`, so on a connection shared by several consumers no
    ///     other consumer's `basic.qos` can come between them and swap their limits.
    ///   - consumerTag: the tag to consume under; empty lets the broker choose one.
    ///   - arguments: `basic.consume` arguments (such as `x-priority`).
    public func consume(queue: String, prefetch: UInt16? = nil, consumerTag: String = "", arguments: AMQPTable = [:]) async throws -> AMQPConsumer {
        let (stream, continuation) = AsyncThrowingStream<[AMQPDelivery], Error>.makeStream()
        let registration = ConsumerRegistration(continuation)
        let mailbox = self.mailbox
        let abandon: @Sendable () -> Void = {
            mailbox.send(.run({ loop in loop.abandonConsumer(registration) }, fail: { _ in }))
        }
        continuation.onTermination = { termination in
            if case .cancelled = termination { abandon() }
        }
        do {
            let tag = try await perform { loop in
                if let prefetch { try loop.raw.setPrefetch(prefetch) }
                return try loop.registerConsumer(queue: queue, consumerTag: consumerTag, arguments: arguments, registration: registration)
            }
            return AMQPConsumer(tag: tag, deliveries: AMQPDeliveries(batches: stream))
        } catch {
            // Cancelled while the owner thread may still register it: have it cancelled there.
            abandon()
            throw error
        }
    }

    /// Cancels a consumer (`basic.cancel`): no new deliveries start; its stream ends after the
    /// deliveries the broker had already sent.
    public func cancel(consumerTag: String) async throws {
        try await perform { try $0.cancelConsumer(consumerTag) }
    }

    /// Acknowledges a delivery. Does not wait: the owner thread sends it on its next turn.
    /// Returns `false` when the connection is already gone, in which case the delivery will be
    /// redelivered by the broker.
    @discardableResult
    public func ack(_ deliveryTag: UInt64) -> Bool {
        mailbox.send(.ack(deliveryTag)) == nil
    }

    /// Acknowledges a delivery as `ack(_:)` does, but holds the ack back from the owner thread
    /// until `sendQueuedAcks()`: for a caller that acks a burst of deliveries (the failure
    /// path's settler, one per confirmed copy) and calls `sendQueuedAcks()` at its end, so the
    /// burst leaves as one coalesced `basic.ack(multiple)`. Handed over one by one, the acks met
    /// an owner thread kept busy by the deliveries each ack frame let in, and left a few per
    /// frame; on a quorum queue each ack frame is also a log entry the broker replicates.
    ///
    /// Bounded without `sendQueuedAcks()` too: the owner thread releases held acks itself every
    /// 256 turns and whenever its `poll()` times out (at most a second of idling). Returns
    /// `false` when the connection is already gone.
    @discardableResult
    public func queueAck(_ deliveryTag: UInt64) -> Bool {
        mailbox.hold(ack: deliveryTag) == nil
    }

    /// Hands the acks `queueAck(_:)` held back to the owner thread, waking it. From any thread
    /// or task; cheap when none are held.
    public func sendQueuedAcks() {
        mailbox.releaseHeld()
    }

    /// Rejects a delivery (`basic.nack`): `requeue: false` dead-letters it (when the queue has a
    /// dead-letter exchange) or drops it; `requeue: true` returns it to the queue.
    /// Does not wait; returns `false` when the connection is already gone.
    @discardableResult
    public func nack(_ deliveryTag: UInt64, requeue: Bool) -> Bool {
        mailbox.send(.nack(deliveryTag, requeue: requeue)) == nil
    }

    /// Publishes and waits for the broker's confirm. Throws an `AMQPError` with code `.publishNacked`, or
    /// an `AMQPError` with code `.unroutable` when `mandatory` and no queue took it.
    ///
    /// At most `publishWindowCapacity` such publishes are in flight on a connection; further
    /// callers wait for room (cancellably). While the broker blocks the connection
    /// (`connection.blocked`), publishes are held by the owner thread, not written, so they wait
    /// for `unblocked`: bound the wait with a timeout around this call.
    public func publish(exchange: String = "", routingKey: String, mandatory: Bool = true,
                        properties: AMQPProperties = AMQPProperties(deliveryMode: 2), body: [UInt8]) async throws {
        try await publishWindow.acquire()
        let window = publishWindow
        let confirmation = PublishConfirmation(onComplete: { window.release() })
        enqueue(PublishRequest(exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties, body: body),
                confirmation: confirmation)
        try await confirmation.wait()
    }

    /// Hands a publish to the owner thread at once, without waiting for its confirm: publishes
    /// reach the broker in the order of these calls, so one task can pipeline many and await
    /// their confirmations afterwards. Not bounded by the publish window: the caller bounds
    /// how many it leaves unconfirmed (as `warren publish` and `warren dlq replay` do).
    public func enqueuePublish(exchange: String = "", routingKey: String, mandatory: Bool = true,
                               properties: AMQPProperties = AMQPProperties(deliveryMode: 2), body: [UInt8]) -> PublishConfirmation {
        let confirmation = PublishConfirmation()
        enqueue(PublishRequest(exchange: exchange, routingKey: routingKey, mandatory: mandatory, properties: properties, body: body),
                confirmation: confirmation)
        return confirmation
    }

    private func enqueue(_ request: PublishRequest, confirmation: PublishConfirmation) {
        if let violation = ShortString.violation(in: request) {
            confirmation.complete(.failure(AMQPError.invalidPublish(violation)))
            return
        }
        let error = mailbox.send(.publish(request, confirmation))
        if let error { confirmation.complete(.failure(error)) }
    }

    /// Commands waiting for the owner thread's next turn (for tests that line up one batch).
    var queuedCommandCount: Int { mailbox.queuedCount }

    /// Whether the connection is still usable; `closeReason` says why not.
    public var isOpen: Bool { !mailbox.isClosed }

    /// Why the connection ended, or `nil` while it is open.
    public var closeReason: AMQPError? { mailbox.closedError }

    /// Closes the channel and connection cleanly (bounded by the RPC timeout) and stops the
    /// owner thread. Unconfirmed publishes fail; consumer streams finish. Idempotent. Returns at
    /// once if the calling task is cancelled (the owner thread still closes).
    public func close() async {
        _ = try? await perform { $0.close() }
    }
}

/// A registered consumer: its tag and its deliveries.
public struct AMQPConsumer: Sendable {
    /// The consumer tag, the broker's if none was asked for; `cancel(consumerTag:)` takes it.
    public let tag: String
    /// The deliveries in order (see `AMQPConnection.consume`); iterate it from one task. Ack or
    /// nack each on the same connection.
    public let deliveries: AMQPDeliveries
}

/// Hands the connect result to the awaiting task exactly once, whether it comes from the owner
/// thread or from cancellation.
private final class ConnectHandoff: Sendable {
    private struct State {
        var continuation: CheckedContinuation<AMQPConnection, Error>?
        var done = false
    }
    private let state = Mutex(State())

    /// False when cancellation already happened (nothing to start).
    func install(_ continuation: CheckedContinuation<AMQPConnection, Error>) -> Bool {
        let alreadyDone = state.withLock { state -> Bool in
            if state.done { return true }
            state.continuation = continuation
            return false
        }
        if alreadyDone { continuation.resume(throwing: CancellationError()) }
        return !alreadyDone
    }

    /// Resumes the waiter; false when it was already resumed.
    @discardableResult
    func resume(with result: Result<AMQPConnection, Error>) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<AMQPConnection, Error>? in
            if state.done { return nil }
            state.done = true
            defer { state.continuation = nil }
            return state.continuation
        }
        guard let continuation else { return false }
        continuation.resume(with: result)
        return true
    }
}
