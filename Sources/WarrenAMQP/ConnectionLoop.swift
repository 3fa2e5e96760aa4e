import CRabbitMQ
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The owner thread's run loop for one connection: it alone touches the transport.
///
/// Each turn: run queued commands; read what the transport already buffered; otherwise `poll()`
/// the socket and the mailbox's eventfd with a timeout short enough to send heartbeats on time.
/// Commands include the jobs of tasks that prefer the connection's `ConnectionTaskExecutor`
/// (a consumer's delivery loop and handlers): they run here, between reads and writes, and a
/// job refused because the connection ended runs on the global executor instead.
///
/// **Every command completes.** Each command the mailbox accepted ends with a result or an
/// error: run in a turn; refused with the close error when the connection ended earlier in the
/// same batch or before it was taken (`Mailbox.close`); and a command sent after the end is
/// refused by `Mailbox.send` itself. Every publish is confirmed, nacked, returned or failed
/// with the close error; every consumer stream ends.
///
/// **Bounded.** Unsettled deliveries are bounded by the prefetch (`AckCoalescer` keeps memory
/// proportional to them); while the broker has the connection blocked (`connection.blocked`,
/// a memory or disk alarm) publishes are held here instead of written, so the owner thread
/// never blocks on a send buffer the broker stopped reading. Callers bound what they hand over
/// (`AMQPConnection.publish` waits for room in its `PublishWindow`).
///
/// - Important: Confined to the owner thread. Commands receive it as a parameter and must not
///   let it escape.
final class ConnectionLoop {
    let raw: any AMQPTransport
    let mailbox: Mailbox
    let logger: Logger
    /// Called on the owner thread: must return quickly and never block.
    let onEvent: @Sendable (AMQPConnectionEvent) -> Void
    /// Stamped at every turn, for stall detection by other threads.
    let activity: LoopActivity

    private var consumers: [String: ConsumerRegistration] = [:] {
        didSet { lastConsumer = nil }
    }
    /// The consumer of the last delivery: nearly every delivery has the same one, and its tag
    /// is the same `String` (`RepeatedText`), so comparing beats hashing it into `consumers`.
    private var lastConsumer: (tag: String, registration: ConsumerRegistration)?
    /// Consumers with deliveries read but not yet handed over (nearly always one, or none).
    private var withPending: [ConsumerRegistration] = []
    private var confirms = ConfirmTracker()
    /// Behind a pointer of its own (allocated in `init`, freed in `deinit`): as a stored
    /// property, every delivery's `delivered` and every ack's `ack` was a dynamic exclusivity
    /// check (about 130 instructions each with the access set's bookkeeping).
    private let acks: UnsafeMutablePointer<AckCoalescer>
    /// Publishes held while the broker blocks the connection, in call order.
    private var held: [(request: PublishRequest, confirmation: PublishConfirmation)] = []
    private var blocked = false
    /// Why the connection ended; `nil` while it runs.
    private(set) var closeError: AMQPError?
    private var lastInput = ContinuousClock.now
    /// `poll()` saw the socket readable (or it has not been polled yet): `pump()` has input.
    private var socketReadable = true
    private var lastPump = ContinuousClock.now
    private let heartbeat: Duration
    /// Turns since held acks were last released here (see `releaseHeldAcksNow`).
    private var turnsSinceRelease = 0
    /// The socket holds this turn's frames back (see `corkIfNeeded`).
    private var corked = false

    init(
        raw: any AMQPTransport, mailbox: Mailbox, activity: LoopActivity, logger: Logger,
        onEvent: @escaping @Sendable (AMQPConnectionEvent) -> Void
    ) {
        self.raw = raw
        self.mailbox = mailbox
        self.activity = activity
        self.logger = logger
        self.onEvent = onEvent
        heartbeat = .seconds(Int(raw.negotiatedHeartbeat))
        acks = .allocate(capacity: 1)
        acks.initialize(to: AckCoalescer())
    }

    deinit {
        acks.deinitialize(count: 1)
        acks.deallocate()
    }

    var finished: Bool { closeError != nil }

    func run() {
        while !finished {
            activity.touch()
            releaseHeldAcksNow()
            let commands = mailbox.take()
            for (index, command) in commands.enumerated() {
                if let closeError {
                    Self.refuse(command, with: closeError)  // the connection ended earlier in this batch
                } else {
                    corkIfNeeded(for: command, isLast: index == commands.count - 1)
                    execute(command)
                }
            }
            guard !finished else { break }
            do {
                try flushAcks(holdingGaps: true)
                uncork()  // the turn's frames leave now, before the loop reads or waits
                // Only when there is something to read: a turn woken by a command alone would
                // otherwise cost a `recv` that finds nothing. But librabbitmq sends a due
                // heartbeat only inside its read calls, so a loop woken by commands alone still
                // reads every 250 ms (the clock is read only on such turns).
                if socketReadable || raw.hasBufferedInput || ContinuousClock.now - lastPump > .milliseconds(250) {
                    try pump()
                    lastPump = .now
                }
                socketReadable = false
                if !finished, !raw.hasBufferedInput {
                    try waitForInput()
                }
            } catch {
                failOrRecover(AMQPError(error, context: "connection loop"))
            }
        }
        activity.touch()
    }

    /// Acks held back for a burst (`AMQPConnection.queueAck`) are released by their caller at
    /// the burst's end. So that one never waits on a caller that forgot, the owner releases them
    /// itself every 256 turns and whenever `poll()` times out, within a second either way.
    private func releaseHeldAcksNow() {
        turnsSinceRelease += 1
        guard turnsSinceRelease >= 256 else { return }
        turnsSinceRelease = 0
        mailbox.releaseHeld()
    }

    private static func refuse(_ command: Command, with error: AMQPError) {
        switch command {
        case .run(_, let fail): fail(error)
        case .publish(_, let confirmation): confirmation.complete(.failure(error))
        case .ack, .nack: break
        case .job(let job, _): ConnectionTaskExecutor.runElsewhere(job)
        }
    }

    /// Corks the socket for a burst, and uncorks it before anything that waits.
    ///
    /// librabbitmq writes each publish with `send()`s of its own, the last one pushing a TCP
    /// segment out, so a turn that wrote a batch of dead-letter copies sent about a segment per
    /// copy, each handled by the kernel (and, on loopback, by the broker's side too) on its
    /// own: `sendto` was a fifth of the failure path's CPU. A publish or nack waits for no
    /// answer, so when more commands follow it in the same turn the socket is corked
    /// (`AMQPTransport.setCorked`), and the turn's frames (acks flushed in between included)
    /// leave together when the loop uncorks: after the turn's acks are flushed, and always
    /// before it reads, polls or runs a `run` body (an RPC inside one would otherwise wait for
    /// an answer to a request still held in the kernel). Acks alone do not cork: the turn
    /// coalesces them into a frame or two anyway. A publish alone in its turn is written as
    /// before.
    private func corkIfNeeded(for command: Command, isLast: Bool) {
        switch command {
        case .publish, .nack:
            if !isLast, !corked {
                raw.setCorked(true)
                corked = true
            }
        case .ack, .job:
            break
        case .run:
            uncork()
        }
    }

    /// Sends whatever the kernel holds for this turn (see `corkIfNeeded`); nothing when not corked.
    private func uncork() {
        guard corked else { return }
        raw.setCorked(false)
        corked = false
    }

    private func execute(_ command: Command) {
        switch command {
        case .ack(let tag):
            acks.pointee.ack(tag)
        case .nack(let tag, let requeue):
            guard acks.pointee.canNack(tag) else { return }  // unknown or already settled: a 406 otherwise
            do {
                // Acks queued before this nack go first; order on the wire follows the callers'.
                try flushAcks()
                try raw.nack(tag, requeue: requeue)
                acks.pointee.nacked(tag)
            } catch {
                failOrRecover(AMQPError(error, context: "basic.nack"))
            }
        case .publish(let request, let confirmation):
            if let error = flushAcksFirst() { return confirmation.complete(.failure(error)) }
            publish(request, confirmation: confirmation)
        case .run(let body, let refuse):
            if let error = flushAcksFirst() { return refuse(error) }
            body(self)
        case .job(let job, let executor):
            // Marked, so that a stall it causes names a task rather than a wedged call.
            activity.runningTask(true)
            executor.run(job)
            activity.runningTask(false)
        }
    }

    /// Acks queued before a publish, cancel, close or RPC must reach the broker first. When
    /// they cannot, the connection ends; returns why, for the command to fail with.
    private func flushAcksFirst() -> AMQPError? {
        do {
            try flushAcks()
            return nil
        } catch {
            let error = AMQPError(error, context: "basic.ack")
            fail(error)
            return error
        }
    }

    /// Sends the acks taken from the mailbox, coalesced where tags are contiguous. With
    /// `holdingGaps`, acks beyond a gap may wait a moment for it to close (`AckCoalescer`);
    /// without, as before a nack or a command that must find them sent, none do.
    private func flushAcks(holdingGaps: Bool = false) throws {
        let frames = holdingGaps ? acks.pointee.flush(holdingGapsAt: .now) : acks.pointee.flush()
        for frame in frames {
            switch frame {
            case .ack(let tag, let multiple):
                try raw.ack(tag, multiple: multiple)
            }
        }
    }

    /// Dispatches up to a bounded number of buffered events, so queued commands (acks) are not
    /// starved by a busy consumer.
    private func pump() throws {
        var read = false
        // Stamped once per batch, not per frame (a clock read per delivery showed in profiles).
        defer { if read { lastInput = .now } }
        // Everything read in this turn, even if it ends with an error, reaches its reader in one
        // batch (one wake-up).
        defer { handOverDeliveries() }
        for _ in 0..<512 {
            guard let event = try raw.nextEvent() else { return }
            read = true
            try dispatch(event)
            if finished { return }
        }
    }

    private func dispatch(_ event: TransportEvent) throws {
        switch event {
        case .delivery(let delivery):
            acks.pointee.delivered(delivery.deliveryTag)
            guard let consumer = consumer(tagged: delivery.consumerTag) else {
                // Nobody will handle it (its consumer was cancelled): hand it straight back
                // rather than hold it unsettled forever.
                try raw.nack(delivery.deliveryTag, requeue: true)
                acks.pointee.nacked(delivery.deliveryTag)
                return
            }
            if consumer.pending.isEmpty {
                withPending.append(consumer)
                // Sized like the last batch: growing it from empty copied every delivery read
                // so far at each doubling (issue 17).
                consumer.pending.reserveCapacity(consumer.lastBatchCount)
            }
            consumer.pending.append(delivery)
        case .publishConfirmed(let tag, let multiple):
            confirms.settle(upTo: tag, multiple: multiple, acked: true)
        case .publishNacked(let tag, let multiple):
            confirms.settle(upTo: tag, multiple: multiple, acked: false)
        case .returned(let code, let text):
            confirms.markReturned(.unroutable(replyCode: code, replyText: text))
        case .consumerCancelled(let tag):
            handOverDeliveries()  // those sent before the cancel are still handled
            consumers.removeValue(forKey: tag)?.continuation.finish(throwing: AMQPError.consumerCancelled(consumerTag: tag))
        case .blocked(let reason):
            blocked = true
            onEvent(.blocked(reason: reason))
        case .unblocked:
            blocked = false
            onEvent(.unblocked)
            releaseHeldPublishes()
        }
    }

    /// Hands each consumer the deliveries read for it since the last hand-over, as one batch.
    /// Called at the end of every `pump()` and before any consumer stream finishes, so a reader
    /// gets every delivery read before its stream's end, in order.
    ///
    /// A consumer whose reader went away gets none: with `nackRefused` they are handed straight
    /// back to the broker (`basic.nack`, requeue) rather than held unsettled forever; without it
    /// (the channel or connection is already gone, and their tags with it) they are dropped.
    private func handOverDeliveries(nackRefused: Bool = true) {
        guard !withPending.isEmpty else { return }
        let consumers = withPending
        withPending = []
        var nacking = nackRefused
        for consumer in consumers {
            let batch = consumer.pending
            consumer.pending = []
            consumer.lastBatchCount = batch.count
            guard case .terminated = consumer.continuation.yield(batch), nacking, !finished else { continue }
            do {
                for delivery in batch {
                    try raw.nack(delivery.deliveryTag, requeue: true)
                    acks.pointee.nacked(delivery.deliveryTag)
                }
            } catch {
                // The channel or connection is gone: so are the other tags.
                nacking = false
                failOrRecover(AMQPError(error, context: "basic.nack"))
            }
        }
    }

    private func consumer(tagged tag: String) -> ConsumerRegistration? {
        if let lastConsumer, lastConsumer.tag == tag { return lastConsumer.registration }
        let found = consumers[tag]
        lastConsumer = found.map { (tag, $0) }
        return found
    }

    private func waitForInput() throws {
        // Commands arrived since the top of the turn: run them before sleeping, but look at the
        // socket first (without waiting), or a steady run of jobs would leave it unread.
        guard mailbox.park() else {
            var socket = pollfd(fd: raw.socketFD, events: Int16(POLLIN), revents: 0)
            if poll(&socket, 1, 0) > 0 { socketReadable = true }
            return
        }
        var fds = [
            pollfd(fd: raw.socketFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: mailbox.wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        // librabbitmq sends heartbeats only when called: wake at least this often to let it.
        var timeoutMs: Int32 = heartbeat > .zero ? Int32(min(1000, raw.negotiatedHeartbeat * 250)) : 1000
        if let holdDeadline = acks.pointee.holdDeadline {
            // Acks held back for a gap go out on time even if nothing else wakes the loop.
            let left = ContinuousClock.now.duration(to: holdDeadline)
            timeoutMs = min(timeoutMs, max(0, Int32(clamping: left.milliseconds) + 1))
        }
        let ready = poll(&fds, 2, timeoutMs)
        mailbox.unpark()
        if ready < 0 {
            guard errno == EINTR else {
                throw AMQPError.library(status: 0, message: String(cString: strerror(errno)), context: "poll")
            }
            return
        }
        if fds[1].revents != 0 { mailbox.clearWake() }
        // Nothing came for a while (a quiet second, or a gap's hold ran out): acks still held
        // back for a burst (`AMQPConnection.queueAck`) go out now.
        if ready == 0 { mailbox.releaseHeld() }
        if fds[0].revents != 0 {
            lastInput = .now
            socketReadable = true
        } else if heartbeat > .zero, ContinuousClock.now - max(lastInput, raw.lastReceived) > heartbeat * 2 {
            // The broker sends a heartbeat every interval; two silent intervals mean it is gone
            // (a blackholed network gives no error on the socket).
            throw AMQPError.heartbeatTimeout
        }
    }

    // MARK: Operations used by commands (owner thread)

    func registerConsumer(queue: String, consumerTag: String, arguments: AMQPTable, registration: ConsumerRegistration) throws -> String {
        let tag = try raw.consume(queue: queue, consumerTag: consumerTag, arguments: arguments)
        if registration.abandoned {
            // Its caller gave up before the broker answered: nobody will read the deliveries.
            try raw.cancel(consumerTag: tag)
            registration.continuation.finish()
            return tag
        }
        consumers[tag] = registration
        return tag
    }

    /// Cancels a consumer. Deliveries the broker sent before `basic.cancel-ok` are already
    /// buffered (the channel is ordered), so they are dispatched first; then the consumer's
    /// stream ends.
    func cancelConsumer(_ tag: String) throws {
        guard consumers[tag] != nil else { return }
        try raw.cancel(consumerTag: tag)
        defer { handOverDeliveries() }
        while raw.hasBufferedInput, let event = try raw.nextEvent() {
            try dispatch(event)
        }
        handOverDeliveries()
        consumers.removeValue(forKey: tag)?.continuation.finish()
    }

    /// Its stream's reader went away (the iterating task was cancelled, or `consume` gave up):
    /// cancel it on the broker; deliveries still arriving are requeued by `dispatch`.
    func abandonConsumer(_ registration: ConsumerRegistration) {
        registration.abandoned = true
        guard let tag = consumers.first(where: { $0.value === registration })?.key else { return }
        do {
            try cancelConsumer(tag)
        } catch {
            failOrRecover(AMQPError(error, context: "basic.cancel"))
        }
    }

    private func publish(_ request: PublishRequest, confirmation: PublishConfirmation) {
        if blocked || !held.isEmpty {
            // The broker stopped reading this socket: writing could block the owner thread once
            // the send buffer fills. Keep it (in order) until `connection.unblocked`.
            held.append((request, confirmation))
            return
        }
        write(request, confirmation: confirmation)
    }

    private func write(_ request: PublishRequest, confirmation: PublishConfirmation) {
        do {
            try raw.publish(exchange: request.exchange, routingKey: request.routingKey, mandatory: request.mandatory,
                            properties: request.properties, body: request.body)
            confirms.add(confirmation)
        } catch {
            let error = AMQPError(error, context: "basic.publish")
            confirmation.complete(.failure(error))
            failOrRecover(error)
        }
    }

    private func releaseHeldPublishes() {
        let pending = held
        held = []
        for (index, publish) in pending.enumerated() {
            if let closeError {
                for (_, confirmation) in pending[index...] { confirmation.complete(.failure(closeError)) }
                return
            }
            if blocked {
                held.append(contentsOf: pending[index...])  // blocked again meanwhile
                return
            }
            write(publish.request, confirmation: publish.confirmation)
        }
    }

    /// After a command's call failed: ends the connection if the transport is broken, recovers
    /// the channel if only the channel was closed by the broker, and otherwise does nothing (the
    /// call failed on its own, e.g. a Swift error in a command's body).
    func transportFailed(_ error: AMQPError) {
        if raw.isBroken {
            fail(error)
        } else if !raw.isChannelOpen {
            recoverChannel(after: error)
        }
    }

    /// After an error of the loop itself: recovers the channel when the broker closed only the
    /// channel, else ends the connection.
    private func failOrRecover(_ error: AMQPError) {
        if !raw.isBroken, !raw.isChannelOpen {
            recoverChannel(after: error)
        } else {
            fail(error)
        }
    }

    /// The broker closed the channel (a channel-level error: `404` on a publish to a missing
    /// exchange, `406` for `consumer_timeout`), the connection is fine: what lived on the channel
    /// learns why — consumer streams end with the error, unconfirmed and held publishes fail,
    /// delivery tags die (the broker requeues what was unacked) — and the channel is opened
    /// again, so the connection and the commands queued behind go on. One caller's bad publish
    /// no longer costs a new TCP connection and login. If the channel cannot be reopened, the
    /// connection ends.
    private func recoverChannel(after error: AMQPError) {
        guard !finished else { return }
        uncork()  // `channel.open` waits for its answer
        logger.debug("channel closed by the broker; reopening it", metadata: ["error": "\(error)"])
        handOverDeliveries(nackRefused: false)  // read before the channel closed: handled, then abandoned
        let consumers = self.consumers
        self.consumers = [:]
        for (_, consumer) in consumers { consumer.continuation.finish(throwing: error) }
        confirms.failAll(error)
        confirms = ConfirmTracker()  // the new channel numbers publishes from 1 again
        for (_, confirmation) in held { confirmation.complete(.failure(error)) }
        held = []
        acks.pointee = AckCoalescer()  // its delivery tags died with the channel
        do {
            try raw.reopenChannel()
        } catch {
            fail(AMQPError(error, context: "channel.open"))
        }
    }

    /// Closes cleanly: ends consumer streams normally, fails unconfirmed publishes, closes the
    /// channel and connection, and stops the loop.
    func close() {
        finish(with: .connectionClosedByClient, consumersError: nil)
    }

    /// Ends the connection after an error: everything waiting on it learns why.
    func fail(_ error: AMQPError) {
        guard !finished else { return }
        logger.debug("connection failed", metadata: ["error": "\(error)"])
        finish(with: error, consumersError: error)
    }

    private func finish(with error: AMQPError, consumersError: AMQPError?) {
        guard !finished else { return }
        uncork()  // the close handshakes wait for answers
        closeError = error
        // From here on `send` refuses; what was queued and not yet taken is refused now.
        for command in mailbox.close(with: error) { Self.refuse(command, with: error) }
        handOverDeliveries(nackRefused: false)  // read before the end: handled, then abandoned (tags are dead)
        let consumers = self.consumers
        self.consumers = [:]
        for (_, consumer) in consumers {
            if let consumersError { consumer.continuation.finish(throwing: consumersError) } else { consumer.continuation.finish() }
        }
        confirms.failAll(error)
        for (_, confirmation) in held { confirmation.complete(.failure(error)) }
        held = []
        raw.close()
    }
}

/// A consumer's stream as the owner thread holds it.
///
/// Owner-thread confined except for `continuation`, which is thread-safe; it is created by the
/// calling task and handed over in a command.
final class ConsumerRegistration: @unchecked Sendable {
    // @unchecked: `abandoned`, `pending` and `lastBatchCount` are read and written only on the owner thread;
    // `continuation` is Sendable.
    let continuation: AsyncThrowingStream<[AMQPDelivery], Error>.Continuation
    var abandoned = false
    /// Deliveries read this turn, handed over together at its end (`handOverDeliveries`).
    var pending: [AMQPDelivery] = []
    /// How many the last batch held (at most the prefetch): the next one's starting capacity.
    var lastBatchCount = 0

    init(_ continuation: AsyncThrowingStream<[AMQPDelivery], Error>.Continuation) {
        self.continuation = continuation
    }
}

/// A publish handed to the owner thread.
struct PublishRequest: Sendable {
    var exchange: String
    var routingKey: String
    var mandatory: Bool
    var properties: AMQPProperties
    var body: [UInt8]
}
