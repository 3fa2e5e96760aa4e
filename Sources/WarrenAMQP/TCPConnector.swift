#if canImport(Glibc)
import Glibc
#endif

/// Why a TCP connect failed, in the OS's words.
package enum TCPConnectFailure: Error, Sendable, Equatable {
    case cannotResolve(reason: String)
    case cannotConnect(reason: String)
    case timedOut
}

/// Opens a non-blocking TCP connection with a deadline and reports the real OS error.
///
/// librabbitmq's own `amqp_socket_open_noblock` reports every failure as "a socket error
/// occurred" (its errno is the stale `EINPROGRESS`), so an operator could not tell a refused
/// connection from a timeout. Warren connects itself and hands the socket to librabbitmq, which
/// expects it non-blocking (it waits with `poll()` internally) with `TCP_NODELAY`. The health
/// probe (`warren healthcheck`) uses the same code.
///
/// Blocking (DNS, connect): call on a dedicated thread only, never on the cooperative pool.
package enum TCPConnector {
    /// Returns a connected, non-blocking, close-on-exec socket with `TCP_NODELAY`.
    package static func connect(host: String, port: Int, deadline: ContinuousClock.Instant) throws(TCPConnectFailure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(host, String(port), &hints, &list)
        guard lookup == 0, let list else {
            throw .cannotResolve(reason: String(cString: gai_strerror(lookup)))
        }
        defer { freeaddrinfo(list) }

        var failure = TCPConnectFailure.cannotConnect(reason: "no address")
        var candidate: UnsafeMutablePointer<addrinfo>? = list
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                failure = .cannotConnect(reason: String(cString: strerror(errno)))
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if let error = finishConnect(fd, address.pointee, deadline: deadline) {
                _ = close(fd)
                if error == .timedOut { throw error }
                failure = error
                continue
            }
            return fd
        }
        throw failure
    }

    /// `nil` on success, else the reason.
    private static func finishConnect(_ fd: Int32, _ address: addrinfo, deadline: ContinuousClock.Instant) -> TCPConnectFailure? {
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) == 0 { return nil }
        guard errno == EINPROGRESS else { return .cannotConnect(reason: String(cString: strerror(errno))) }
        guard waitUntilReady(fd, for: Int16(POLLOUT), until: deadline) else { return .timedOut }
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else {
            return .cannotConnect(reason: String(cString: strerror(errno)))
        }
        return socketError == 0 ? nil : .cannotConnect(reason: String(cString: strerror(socketError)))
    }

    /// Waits with `poll()` until `fd` is ready for `events` (true) or the deadline passes (false).
    package static func waitUntilReady(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return false }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let milliseconds = Int32(clamping: remaining.milliseconds + 1)
            let ready = poll(&pfd, 1, milliseconds)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return true }  // let the caller's next call report the error
        }
    }
}
