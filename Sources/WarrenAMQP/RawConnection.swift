import CRabbitMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The librabbitmq connection handle and its single channel.
///
/// - Important: Not thread-safe. librabbitmq has no locking and its heartbeats are only serviced
///   inside its own calls, so every method must be called on the connection's owner thread
///   (see `ConnectionLoop`). Nothing here may run on Swift's cooperative pool: these calls block.
final class RawConnection: AMQPTransport {
    /// Warren uses one channel per connection: consuming, acks and confirmed publishes share it.
    static let channel: amqp_channel_t = 1

    let state: amqp_connection_state_t
    private var isClosed = false
    /// What `nextEvent` keeps from one frame to the next.
    private struct ReadState {
        /// Delivery fields that repeat from one delivery to the next (see `RepeatedText`).
        var texts = DeliveryTextCache()
        /// The delivery whose frames are being read (they may arrive over several turns).
        var delivery = DeliveryAssembly()
    }

    /// Behind a pointer of its own, allocated last in `init` (nothing can throw after it) and
    /// freed in `deinit`: as stored properties, `texts` and `delivery` were mutated five times
    /// per delivery, each a dynamic exclusivity check (`swift_beginAccess`, the access set,
    /// `swift_endAccess`: about 130 instructions) on every consumer's hottest path.
    private let reading: UnsafeMutablePointer<ReadState>
    /// The scratch memory of `publish`, kept and recycled after each: a failed message's copy is
    /// a publish, and a new arena for each took a zeroed 4 kB page from `calloc` and gave it back
    /// (about 5,000 of the failure path's 123,000 instructions per message).
    private let publishArena = CArena()
    /// Set once a socket or protocol error was seen: close handshakes would block or fail.
    private(set) var isBroken = false
    /// False after the broker closed the channel (a channel-level error), until `reopenChannel`.
    private(set) var isChannelOpen = true
    /// When an RPC last got the broker's answer: frames read inside an RPC are invisible to the
    /// loop's `poll()`, yet prove the broker is alive as much as a heartbeat does.
    private(set) var lastReceived = ContinuousClock.now

    /// What the TLS verify callback saw (`amqps://` only). The SSL context points at it, so it
    /// lives until the connection state is destroyed.
    private let tlsHandshake: UnsafeMutablePointer<warren_tls_state>?

    let socketFD: Int32
    let negotiatedHeartbeat: Int32
    let negotiatedFrameMax: Int32
    let serverProperties: AMQPTable

    /// Opens the TCP socket (for `amqps://` URLs a TLS session, with `tls` settings; see
    /// `openTLS`), logs in with `clientProperties`, opens the channel and puts it in confirm
    /// mode. Blocks for at most about `connectTimeoutSeconds` per step (TCP connect and TLS
    /// handshake together are one step).
    init(
        url: AMQPURL, heartbeatSeconds: Int, connectTimeoutSeconds: Int, channelMax: Int, clientProperties: AMQPTable,
        tls: TLSConfiguration = TLSConfiguration()
    ) throws {
        guard let state = amqp_new_connection() else {
            throw AMQPError.library(status: 0, message: "out of memory", context: "amqp_new_connection")
        }
        self.state = state
        let handshake: UnsafeMutablePointer<warren_tls_state>? = url.tls ? .allocate(capacity: 1) : nil
        handshake?.initialize(to: warren_tls_state())
        tlsHandshake = handshake
        var opened = false
        defer {
            if !opened {
                amqp_destroy_connection(state)
                handshake?.deallocate()
            }
        }

        if let handshake {
            try Self.openTLS(state, url: url, tls: tls, timeoutSeconds: connectTimeoutSeconds, handshake: handshake)
        } else {
            try Self.openTCP(state, url: url, connectTimeoutSeconds: connectTimeoutSeconds)
        }
        var timeout = timeval(tv_sec: connectTimeoutSeconds, tv_usec: 0)
        // Bounds every RPC, including close handshakes after the broker stopped answering.
        amqp_set_rpc_timeout(state, &timeout)
        amqp_set_handshake_timeout(state, &timeout)

        let arena = CArena()
        var properties = arena.table(clientProperties)
        let external = url.tls && tls.authMechanism == .external
        let login = external
            // RabbitMQ takes the user from the client certificate and ignores the identity; it
            // must not be empty (librabbitmq 0.11 then fails with "could not allocate memory").
            ? warren_login_external(state, url.vhost, Int32(channelMax), 131_072, Int32(heartbeatSeconds), &properties, url.user)
            : warren_login_plain(
                state, url.vhost, Int32(channelMax), 131_072, Int32(heartbeatSeconds), &properties, url.user, url.password)
        let loginContext = external ? "login to vhost '\(url.vhost)' with the client certificate (EXTERNAL)" : "login to vhost '\(url.vhost)' as '\(url.user)'"
        if let error = AMQPError.from(login, context: loginContext) {
            if url.tls, error.replyCode == nil, let tlsError = Self.tlsLoginFailure(context: loginContext) { throw tlsError }
            throw Self.describeLoginFailure(error)
        }
        guard amqp_channel_open(state, Self.channel) != nil else {
            throw AMQPError.from(amqp_get_rpc_reply(state), context: "channel.open")!
        }
        guard amqp_confirm_select(state, Self.channel) != nil else {
            throw AMQPError.from(amqp_get_rpc_reply(state), context: "confirm.select")!
        }
        socketFD = amqp_get_sockfd(state)
        negotiatedHeartbeat = amqp_get_heartbeat(state)
        negotiatedFrameMax = amqp_get_frame_max(state)
        serverProperties = amqp_get_server_properties(state).map { AMQPTable(cTable: $0.pointee) } ?? [:]
        reading = .allocate(capacity: 1)
        reading.initialize(to: ReadState())
        opened = true
    }

    /// Plain TCP: Warren connects itself (see `TCPConnector`) and hands the socket over.
    private static func openTCP(_ state: amqp_connection_state_t, url: AMQPURL, connectTimeoutSeconds: Int) throws {
        guard let socket = amqp_tcp_socket_new(state) else {
            throw AMQPError.library(status: 0, message: "cannot create socket", context: "connect")
        }
        let fd: Int32
        do {
            fd = try TCPConnector.connect(host: url.host, port: url.port, deadline: .now + .seconds(connectTimeoutSeconds))
        } catch {
            let reason: String
            switch error {
            case .cannotResolve(let why): reason = "cannot resolve host: \(why)"
            case .cannotConnect(let why): reason = why
            case .timedOut: reason = "connect timed out after \(connectTimeoutSeconds) s"
            }
            throw AMQPError.library(status: 0, message: reason, context: "connect to \(url.host):\(url.port)")
        }
        amqp_tcp_socket_set_sockfd(socket, fd)
    }

    deinit {
        assert(isClosed, "RawConnection must be closed on its owner thread before release")
        reading.deinitialize(count: 1)
        reading.deallocate()
    }

    /// librabbitmq reports a refused login as a bare socket/protocol error when the broker simply
    /// drops the socket; say what it most likely means.
    private static func describeLoginFailure(_ error: AMQPError) -> AMQPError {
        if case .library(let status, let message, let context) = error.kind,
           status == AMQP_STATUS_CONNECTION_CLOSED.rawValue || status == AMQP_STATUS_SOCKET_ERROR.rawValue {
            return .library(status: status, message: "\(message) (authentication refused or vhost missing?)", context: context)
        }
        return error
    }

    // MARK: RPCs

    func rpcError(_ context: String) -> AMQPError {
        let error = AMQPError.from(amqp_get_rpc_reply(state), context: context)
            ?? .library(status: 0, message: "no reply", context: context)
        if error.replyCode != nil { answered() }  // the broker itself refused
        markBrokenIfNeeded(error)
        return error
    }

    /// Records that the broker answered an RPC.
    func answered() {
        lastReceived = .now
    }

    private func markBrokenIfNeeded(_ error: AMQPError) {
        guard error.code == .channelClosed else {
            isBroken = true  // the connection itself failed
            return
        }
        // The broker closed the channel only: acknowledge it so the channel can be opened
        // again on the same connection (`reopenChannel`).
        isChannelOpen = false
        var ok = amqp_channel_close_ok_t(dummy: 0)
        if amqp_send_method(state, Self.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK.rawValue {
            isBroken = true
        }
    }

    /// Opens the channel again after the broker closed it, in confirm mode: publish sequence
    /// numbers and delivery tags start over.
    func reopenChannel() throws {
        reading.pointee.delivery.reset()  // its tag died with the old channel
        guard amqp_channel_open(state, Self.channel) != nil else { throw rpcError("channel.open") }
        guard amqp_confirm_select(state, Self.channel) != nil else { throw rpcError("confirm.select") }
        answered()
        isChannelOpen = true
    }

    @discardableResult
    func declareQueue(_ name: String, passive: Bool, durable: Bool, arguments: AMQPTable) throws -> (messages: UInt32, consumers: UInt32) {
        let arena = CArena()
        guard let ok = amqp_queue_declare(
            state, Self.channel, arena.bytes(name), passive ? 1 : 0, durable ? 1 : 0, 0, 0, arena.table(arguments))
        else { throw rpcError("queue.declare '\(name)'") }
        answered()
        return (ok.pointee.message_count, ok.pointee.consumer_count)
    }

    func declareExchange(_ name: String, type: String, durable: Bool, arguments: AMQPTable) throws {
        let arena = CArena()
        guard amqp_exchange_declare(
            state, Self.channel, arena.bytes(name), arena.bytes(type), 0, durable ? 1 : 0, 0, 0, arena.table(arguments)) != nil
        else { throw rpcError("exchange.declare '\(name)'") }
        answered()
    }

    func bindQueue(_ queue: String, exchange: String, routingKey: String, arguments: AMQPTable) throws {
        let arena = CArena()
        guard amqp_queue_bind(
            state, Self.channel, arena.bytes(queue), arena.bytes(exchange), arena.bytes(routingKey), arena.table(arguments)) != nil
        else { throw rpcError("queue.bind '\(queue)' to '\(exchange)'") }
        answered()
    }

    func setPrefetch(_ count: UInt16) throws {
        // global = false: per-consumer limit, the only form quorum queues accept.
        guard amqp_basic_qos(state, Self.channel, 0, count, 0) != nil else { throw rpcError("basic.qos") }
        answered()
    }

    func consume(queue: String, consumerTag: String, arguments: AMQPTable) throws -> String {
        let arena = CArena()
        guard let ok = amqp_basic_consume(
            state, Self.channel, arena.bytes(queue), arena.bytes(consumerTag), 0, 0, 0, arena.table(arguments))
        else { throw rpcError("basic.consume '\(queue)'") }
        answered()
        return ok.pointee.consumer_tag.swiftString
    }

    func cancel(consumerTag: String) throws {
        let arena = CArena()
        guard amqp_basic_cancel(state, Self.channel, arena.bytes(consumerTag)) != nil else {
            throw rpcError("basic.cancel '\(consumerTag)'")
        }
        answered()
    }

    // MARK: Asynchronous methods (no reply awaited)

    func ack(_ deliveryTag: UInt64, multiple: Bool) throws {
        try check(amqp_basic_ack(state, Self.channel, deliveryTag, multiple ? 1 : 0), "basic.ack")
    }

    func nack(_ deliveryTag: UInt64, requeue: Bool) throws {
        try check(amqp_basic_nack(state, Self.channel, deliveryTag, 0, requeue ? 1 : 0), "basic.nack")
    }

    func publish(exchange: String, routingKey: String, mandatory: Bool, properties: AMQPProperties, body: [UInt8]) throws {
        let arena = publishArena
        // librabbitmq has encoded everything into its output buffer when the call returns.
        defer { arena.recycle() }
        var cProperties = properties.cProperties(in: arena)
        let status = body.withUnsafeBytes { buffer in
            amqp_basic_publish(
                state, Self.channel, arena.bytes(exchange), arena.bytes(routingKey), mandatory ? 1 : 0, 0, &cProperties,
                amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress)))
        }
        try check(status, "basic.publish")
    }

    func setCorked(_ corked: Bool) {
        #if os(Linux)
        // Under TLS too: this is the TCP socket beneath the session, and its records are held alike.
        var flag: Int32 = corked ? 1 : 0
        _ = setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_CORK, &flag, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    private func check(_ status: Int32, _ context: String) throws {
        guard status == AMQP_STATUS_OK.rawValue else {
            isBroken = true
            throw AMQPError(status: status, context: context)
        }
    }

    // MARK: Input

    /// Whether librabbitmq already holds unread input, which `poll()` on the socket cannot see.
    var hasBufferedInput: Bool {
        amqp_data_in_buffer(state) != 0 || amqp_frames_enqueued(state) != 0
    }

    /// Reads the next event without waiting; `nil` when nothing (complete) is available.
    ///
    /// A delivery is read frame by frame (`DeliveryAssembly`), not with `amqp_consume_message`:
    /// that costs a zeroed 4 KiB pool and four `malloc`ed copies per delivery, and blocks until
    /// the delivery's last frame arrives.
    ///
    /// Also sends a heartbeat when one is due: librabbitmq does that only inside its wait calls.
    func nextEvent() throws -> TransportEvent? {
        amqp_maybe_release_buffers(state)
        while true {
            var frame = amqp_frame_t()
            var zero = timeval(tv_sec: 0, tv_usec: 0)
            let status = amqp_simple_wait_frame_noblock(state, &frame, &zero)
            if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
            try check(status, "receive")
            switch frame.frame_type {
            case UInt8(AMQP_FRAME_METHOD):
                guard frame.payload.method.id == AMQP_BASIC_DELIVER_METHOD else { return try methodEvent(frame) }
                let deliver = frame.payload.method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
                try assemble {
                    try reading.pointee.delivery.begin(
                        deliveryTag: deliver.delivery_tag, redelivered: deliver.redelivered != 0,
                        exchange: reading.pointee.texts.exchange.text(of: deliver.exchange),
                        routingKey: reading.pointee.texts.routingKey.text(of: deliver.routing_key),
                        consumerTag: reading.pointee.texts.consumerTag.text(of: deliver.consumer_tag))
                }
            case UInt8(AMQP_FRAME_HEADER):
                guard frame.payload.properties.class_id == AMQP_BASIC_CLASS else {
                    throw protocolError("content header of class \(frame.payload.properties.class_id), not basic")
                }
                let decoded = frame.payload.properties.decoded.assumingMemoryBound(to: amqp_basic_properties_t.self).pointee
                let properties = AMQPProperties(decoded, contentTypes: &reading.pointee.texts.contentType)
                let bodySize = frame.payload.properties.body_size
                if let done = try assemble({ try reading.pointee.delivery.header(properties, bodySize: bodySize) }) { return .delivery(done) }
            case UInt8(AMQP_FRAME_BODY):
                let fragment = UnsafeRawBufferPointer(start: frame.payload.body_fragment.bytes, count: frame.payload.body_fragment.len)
                if let done = try assemble({ try reading.pointee.delivery.body(fragment) }) { return .delivery(done) }
            default:
                continue  // heartbeats are answered inside librabbitmq; nothing else is expected
            }
        }
    }

    /// Runs a step of the delivery's assembly; a frame out of order breaks the connection.
    private func assemble<T>(_ step: () throws -> T) throws -> T {
        do {
            return try step()
        } catch let error as DeliveryAssembly.OutOfOrder {
            throw protocolError(error.reason)
        }
    }

    /// The broker broke the protocol (or the stream is corrupt): the connection is done for.
    private func protocolError(_ reason: String) -> AMQPError {
        isBroken = true
        return .library(status: AMQP_STATUS_BAD_AMQP_DATA.rawValue, message: reason, context: "receive")
    }

    /// A method frame other than `basic.deliver`: interprets it.
    private func methodEvent(_ frame: amqp_frame_t) throws -> TransportEvent? {
        let method = frame.payload.method
        let closes = method.id == AMQP_CHANNEL_CLOSE_METHOD || method.id == AMQP_CONNECTION_CLOSE_METHOD
        if reading.pointee.delivery.isInProgress, frame.channel == Self.channel || closes {
            // Only a close may come between a delivery's frames on its channel (and ends it).
            guard closes else { throw protocolError("method \(method.id) inside a delivery's content") }
            reading.pointee.delivery.reset()
        }
        switch method.id {
        case AMQP_BASIC_ACK_METHOD:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .publishConfirmed(deliveryTag: ack.delivery_tag, multiple: ack.multiple != 0)
        case AMQP_BASIC_NACK_METHOD:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .publishNacked(deliveryTag: nack.delivery_tag, multiple: nack.multiple != 0)
        case AMQP_BASIC_RETURN_METHOD:
            let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let code = returned.reply_code
            let text = returned.reply_text.swiftString
            var message = amqp_message_t()
            let reply = amqp_read_message(state, frame.channel, &message, 0)
            defer { amqp_destroy_message(&message) }
            if let error = AMQPError.from(reply, context: "read returned message") {
                isBroken = true
                throw error
            }
            return .returned(replyCode: code, replyText: text)
        case AMQP_BASIC_CANCEL_METHOD:
            let cancel = method.decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            return .consumerCancelled(consumerTag: cancel.consumer_tag.swiftString)
        case AMQP_CONNECTION_BLOCKED_METHOD:
            let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            return .blocked(reason: blocked.reason.swiftString)
        case AMQP_CONNECTION_UNBLOCKED_METHOD:
            return .unblocked
        case AMQP_CHANNEL_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let error = AMQPError.channelClosed(replyCode: close.reply_code, replyText: close.reply_text.swiftString, context: "channel")
            markBrokenIfNeeded(error)
            throw error
        case AMQP_CONNECTION_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            var ok = amqp_connection_close_ok_t(dummy: 0)
            _ = amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
            isBroken = true
            throw AMQPError.connectionClosed(replyCode: close.reply_code, replyText: close.reply_text.swiftString, context: "connection")
        default:
            return nil
        }
    }

    // MARK: Close

    /// Closes the channel and connection (handshakes only while the connection is healthy)
    /// and frees the handle. Idempotent.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        if !isBroken {
            if isChannelOpen { _ = amqp_channel_close(state, Self.channel, AMQP_REPLY_SUCCESS) }
            _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
        }
        amqp_destroy_connection(state)
        tlsHandshake?.deallocate()
    }
}
