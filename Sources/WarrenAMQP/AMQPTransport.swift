/// The AMQP operations `ConnectionLoop` drives, with librabbitmq (`RawConnection`) behind them in
/// production and a scripted fake in tests, so the loop, `Mailbox`, `AckCoalescer` and
/// `ConfirmTracker` can be tested without sockets (socket dies mid-batch, a full send buffer,
/// a return before its ack…), the way postgres-nio tests its state machines.
///
/// Every method may block for at most the transport's RPC timeout and throws `AMQPError` on a
/// socket, protocol or broker failure; after a failure `isBroken` is true.
///
/// - Important: Not thread-safe: every call happens on the connection's owner thread.
protocol AMQPTransport: AnyObject {
    /// `poll()`ed with the mailbox's wake-up fd: readable when the broker sent something.
    var socketFD: Int32 { get }
    var negotiatedHeartbeat: Int32 { get }
    var negotiatedFrameMax: Int32 { get }
    var serverProperties: AMQPTable { get }
    /// Set once a socket or protocol error was seen, or the broker closed the connection:
    /// nothing more can be sent.
    var isBroken: Bool { get }
    /// False after the broker closed the channel (`channel.close`, e.g. `404` on a publish to a
    /// missing exchange, `406` for `consumer_timeout`) while the connection stays up.
    var isChannelOpen: Bool { get }
    /// When the broker last answered an RPC: frames read inside RPCs never show in `poll()`, and
    /// a connection busy with RPCs gets no heartbeat frames (any frame counts as one).
    var lastReceived: ContinuousClock.Instant { get }
    /// Input already read from the socket and not yet returned, which `poll()` cannot see.
    var hasBufferedInput: Bool { get }

    /// The next event without waiting, `nil` when none is available. Also sends a heartbeat
    /// when one is due.
    func nextEvent() throws -> TransportEvent?

    func ack(_ deliveryTag: UInt64, multiple: Bool) throws
    func nack(_ deliveryTag: UInt64, requeue: Bool) throws
    func publish(exchange: String, routingKey: String, mandatory: Bool, properties: AMQPProperties, body: [UInt8]) throws

    /// `true`: frames written from now on are held in the kernel (`TCP_CORK`) and leave in full
    /// segments; `false`: whatever is held is sent at once. The loop corks only while it writes
    /// frames that wait for no answer (see `ConnectionLoop.corkIfNeeded`). Never fails: a socket
    /// that refuses the option just sends as before.
    func setCorked(_ corked: Bool)

    // RPCs: each waits for the broker's answer, bounded by the RPC timeout.
    func declareQueue(_ name: String, passive: Bool, durable: Bool, arguments: AMQPTable) throws -> (messages: UInt32, consumers: UInt32)
    func declareExchange(_ name: String, type: String, durable: Bool, arguments: AMQPTable) throws
    /// `arguments`: a headers exchange's match arguments (`x-match` and the headers).
    func bindQueue(_ queue: String, exchange: String, routingKey: String, arguments: AMQPTable) throws
    /// `exchange.declare` passive: fails with `404 NOT_FOUND` (closing the channel) when the
    /// exchange does not exist; succeeds whatever its type when it does.
    func inspectExchange(_ name: String) throws
    func purgeQueue(_ name: String) throws -> UInt32
    func deleteQueue(_ name: String) throws -> UInt32
    func setPrefetch(_ count: UInt16) throws
    func consume(queue: String, consumerTag: String, arguments: AMQPTable) throws -> String
    func cancel(consumerTag: String) throws

    /// Opens the channel again, in confirm mode, after the broker closed it.
    func reopenChannel() throws

    /// Closes the channel and connection (handshakes only while not broken, bounded by the RPC
    /// timeout) and frees everything. Idempotent.
    func close()
}

extension AMQPTransport {
    func declareQueue(_ name: String, durable: Bool, arguments: AMQPTable) throws -> (messages: UInt32, consumers: UInt32) {
        try declareQueue(name, passive: false, durable: durable, arguments: arguments)
    }
}
