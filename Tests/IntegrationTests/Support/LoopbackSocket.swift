import Foundation

/// A socket call failed: which step, and `strerror(errno)`.
struct LoopbackSocketFailure: Error {
    let step: String
    let reason: String
}

/// A blocking TCP socket connected to `127.0.0.1:port`, with `timeout` on every send and
/// receive, for the tests' hand-written HTTP clients. The caller closes it.
///
/// Close-on-exec: a child spawned by another thread meanwhile must not inherit the socket.
func connectLoopback(port: Int, timeout: Duration) throws(LoopbackSocketFailure) -> Int32 {
    func failure(_ step: String) -> LoopbackSocketFailure {
        LoopbackSocketFailure(step: step, reason: String(cString: strerror(errno)))
    }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw failure("socket") }
    var limit = timeval(
        tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port)).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        let error = failure("connect")
        close(fd)
        throw error
    }
    return fd
}

/// Sends all of `bytes` on a blocking socket (retrying on EINTR).
func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(LoopbackSocketFailure) {
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw LoopbackSocketFailure(step: "send", reason: String(cString: strerror(errno))) }
        sent += n
    }
}

/// Receives until `parse` makes a value of the bytes so far, or the peer closes. Returns the
/// value (nil at the end of the stream if `parse` never succeeded) and every byte received.
func receive<T>(_ fd: Int32, until parse: ([UInt8]) -> T?) throws(LoopbackSocketFailure) -> (value: T?, bytes: [UInt8]) {
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 {
            throw LoopbackSocketFailure(step: "receive (\(received.count) bytes so far)", reason: String(cString: strerror(errno)))
        }
        if n == 0 { return (nil, received) }
        received.append(contentsOf: buffer[0..<n])
        if let value = parse(received) { return (value, received) }
    }
}
