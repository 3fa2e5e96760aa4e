import CRabbitMQ
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The owner thread's run loop for one connection: it alone touches the `RawConnection`.
///
/// Each turn: run queued commands; read what librabbitmq already buffered; otherwise `poll()` the
/// socket and the mailbox's eventfd with a timeout short enough to send heartbeats on time.
///
/// - Important: Confined to the owner thread. Commands receive it as a parameter and must not
///   let it escape.
final class ConnectionLoop {
    let raw: RawConnection
    let mailbox: Mailbox
    let logger: Logger
    /// Called on the owner thread: must return quickly and never block.
    let onEvent: @Sendable (AMQPConnectionEvent) -> Void

    private var consumers: [String: AsyncThrowingStream<AMQPDelivery, Error>.Continuation] = [:]
    private var confirms = ConfirmTracker()
    private var acks = AckCoalescer()
    private var finished = false
    private var lastInput = ContinuousClock.now
    private let heartbeat: Duration

    init(raw: RawConnection, mailbox: Mailbox, logger: Logger, onEvent: @escaping @Sendable (AMQPConnectionEvent) -> Void) {
        self.raw = raw
        self.mailbox = mailbox
        self.logger = logger
        self.onEvent = onEvent
        heartbeat = .seconds(Int(raw.negotiatedHeartbeat))
    }

    func run() {
        while !finished {
            for command in mailbox.take() {
                execute(command)
                if finished { return }
            }
            do {
                try flushAcks()
                try pump()
                if !raw.hasBufferedInput {
                    try waitForInput()
                }
            } catch let error as AMQPError {
                fail(error)
            } catch {
                fail(.library(status: 0, message: "\(error)", context: "connection loop"))
            }
        }
    }

    private func execute(_ command: Command) {
        do {
            switch command {
            case .ack(let tag):
                acks.ack(tag)
            case .nack(let tag, let requeue):
                // Acks queued before this nack go first; order on the wire follows the callers'.
                try flushAcks()
                try raw.nack(tag, requeue: requeue)
                acks.nacked(tag)
            case .run(let body, _):
                // Acks queued before a cancel, close or publish must reach the broker first.
                try flushAcks()
                body(self)
            }
        } catch let error as AMQPError {
            fail(error)
        } catch {
            fail(.library(status: 0, message: "\(error)", context: "command"))
        }
    }

    /// Sends the acks taken from the mailbox this turn, coalesced where tags are contiguous.
    private func flushAcks() throws {
        for frame in acks.flush() {
            switch frame {
            case .ack(let tag, let multiple):
                try raw.ack(tag, multiple: multiple)
            }
        }
    }

    /// Dispatches up to a bounded number of buffered events, so queued commands (acks) are not
    /// starved by a busy consumer.
    private func pump() throws {
        for _ in 0..<512 {
            guard let event = try raw.nextEvent() else { return }
            lastInput = .now
            dispatch(event)
            if finished { return }
        }
    }

    private func dispatch(_ event: RawConnection.Event) {
        switch event {
        case .delivery(let delivery):
            acks.delivered(delivery.deliveryTag)
            if let consumer = consumers[delivery.consumerTag] {
                consumer.yield(delivery)
            } else {
                // Its consumer is gone (cancelled): hand it straight back rather than hold it.
                try? raw.nack(delivery.deliveryTag, requeue: true)
                acks.nacked(delivery.deliveryTag)
            }
        case .publishConfirmed(let tag, let multiple):
            confirms.settle(upTo: tag, multiple: multiple, acked: true)
        case .publishNacked(let tag, let multiple):
            confirms.settle(upTo: tag, multiple: multiple, acked: false)
        case .returned(let messageID, let code, let text):
            confirms.markReturned(messageID: messageID, error: .unroutable(replyCode: code, replyText: text))
        case .consumerCancelled(let tag):
            consumers.removeValue(forKey: tag)?.finish(throwing: AMQPError.consumerCancelled(consumerTag: tag))
        case .blocked(let reason):
            onEvent(.blocked(reason: reason))
        case .unblocked:
            onEvent(.unblocked)
        }
    }

    private func waitForInput() throws {
        var fds = [
            pollfd(fd: raw.socketFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: mailbox.wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        // librabbitmq sends heartbeats only when called: wake at least this often to let it.
        let timeoutMs: Int32 = heartbeat > .zero ? Int32(min(1000, raw.negotiatedHeartbeat * 250)) : 1000
        let ready = poll(&fds, 2, timeoutMs)
        if ready < 0 {
            guard errno == EINTR else {
                throw AMQPError.library(status: 0, message: String(cString: strerror(errno)), context: "poll")
            }
            return
        }
        if fds[1].revents != 0 { mailbox.clearWake() }
        if fds[0].revents != 0 {
            lastInput = .now
        } else if heartbeat > .zero, ContinuousClock.now - lastInput > heartbeat * 2 {
            // The broker sends a heartbeat every interval; two silent intervals mean it is gone
            // (a blackholed network gives no error on the socket).
            throw AMQPError.heartbeatTimeout
        }
    }

    // MARK: Operations used by commands (owner thread)

    func registerConsumer(queue: String, consumerTag: String, arguments: AMQPTable,
                          continuation: AsyncThrowingStream<AMQPDelivery, Error>.Continuation) throws -> String {
        let tag = try raw.consume(queue: queue, consumerTag: consumerTag, arguments: arguments)
        consumers[tag] = continuation
        return tag
    }

    /// Cancels a consumer. Deliveries the broker sent before `basic.cancel-ok` are already
    /// buffered by librabbitmq (the channel is ordered), so they are dispatched first; then the
    /// consumer's stream ends.
    func cancelConsumer(_ tag: String) throws {
        guard consumers[tag] != nil else { return }
        try raw.cancel(consumerTag: tag)
        while raw.hasBufferedInput, let event = try raw.nextEvent() {
            dispatch(event)
        }
        consumers.removeValue(forKey: tag)?.finish()
    }

    func publish(_ request: PublishRequest, confirmation: PublishConfirmation) {
        do {
            try raw.publish(exchange: request.exchange, routingKey: request.routingKey, mandatory: request.mandatory,
                            properties: request.properties, body: request.body)
            confirms.add(messageID: request.mandatory ? request.properties.messageID : nil, confirmation: confirmation)
        } catch let error as AMQPError {
            confirmation.complete(.failure(error))
            fail(error)
        } catch {
            let error = AMQPError.library(status: 0, message: "\(error)", context: "basic.publish")
            confirmation.complete(.failure(error))
            fail(error)
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
        finished = true
        for command in mailbox.close(with: error) {
            if case .run(_, let fail) = command { fail(error) }
        }
        let consumers = self.consumers
        self.consumers = [:]
        for (_, consumer) in consumers {
            if let consumersError { consumer.finish(throwing: consumersError) } else { consumer.finish() }
        }
        confirms.failAll(error)
        raw.close()
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
