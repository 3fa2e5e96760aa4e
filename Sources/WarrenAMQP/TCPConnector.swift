#if canImport(Glibc)
import Glibc
#endif

/// Opens a non-blocking TCP connection with a deadline and reports the real OS error.
///
/// librabbitmq's own `amqp_socket_open_noblock` reports every failure as "a socket error
/// occurred" (its errno is the stale `EINPROGRESS`), so an operator could not tell a refused
/// connection from a timeout. Warren connects itself and hands the socket to librabbitmq, which
/// expects it non-blocking (it waits with `poll()` internally) with `TCP_NODELAY`.
///
/// Blocking (DNS, connect): call on the connection's owner thread only.
enum TCPConnector {
    static func connect(host: String, port: Int, timeoutSeconds: Int) throws -> Int32 {
        let context = "connect to \(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(host, String(port), &hints, &list)
        guard lookup == 0, let list else {
            throw AMQPError.library(status: 0, message: "cannot resolve host: \(String(cString: gai_strerror(lookup)))", context: context)
        }
        defer { freeaddrinfo(list) }

        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = list
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                lastError = String(cString: strerror(errno))
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if let error = finishConnect(fd, address.pointee, deadline: deadline) {
                lastError = error
                _ = close(fd)
                continue
            }
            return fd
        }
        throw AMQPError.library(status: 0, message: lastError, context: context)
    }

    /// `nil` on success, else the reason.
    private static func finishConnect(_ fd: Int32, _ address: addrinfo, deadline: ContinuousClock.Instant) -> String? {
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) == 0 { return nil }
        guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return "connect timed out" }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let milliseconds = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = poll(&pfd, 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            if ready == 0 { continue }
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else {
                return String(cString: strerror(errno))
            }
            return socketError == 0 ? nil : String(cString: strerror(socketError))
        }
    }
}
