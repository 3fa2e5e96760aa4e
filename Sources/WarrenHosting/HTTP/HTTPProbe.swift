#if canImport(Glibc)
import Glibc
#endif
import Warren

/// A tiny HTTP/1.1 `GET` client over a plain TCP socket, for health probes: `warren healthcheck`
/// uses it so that a container image needs no curl (and no FoundationNetworking).
///
/// `http://` only, one request per connection (`Connection: close`), one deadline for the whole
/// exchange, bodies up to 1 MiB (`Content-Length`, chunked, or up to the close).
///
/// ```swift
/// let response = try HTTPProbe.get("http://127.0.0.1:8080/readyz", timeout: .seconds(2))
/// if response.status != 200 { print(response.status, response.body) }
/// ```
///
/// - Important: `get` blocks its thread for up to `timeout`: call it from a plain thread or
///   a synchronous command, never from a task on Swift's cooperative pool. Async code calls
///   `fetch`, which runs `get` on a thread of its own.
public enum HTTPProbe {
    /// The status and body of an answer, whatever the status.
    public struct Response: Sendable, Equatable {
        /// The HTTP status code, e.g. 200 or 503.
        public var status: Int
        /// The body decoded as UTF-8 (invalid bytes become U+FFFD).
        public var body: String

        /// An answer with `status` and `body` (for tests and fakes).
        public init(status: Int, body: String) {
            self.status = status
            self.body = body
        }
    }

    /// The largest response kept; a longer one is an error.
    static let maximumResponseSize = 1 << 20

    /// Sends `GET` and waits for the whole response. Blocks the calling thread: see the type's notes.
    ///
    /// - Throws: `HTTPProbeError` when there is no HTTP response (bad URL, refused, timed out,
    ///   not HTTP). An HTTP error status is returned, not thrown.
    public static func get(_ url: String, timeout: Duration = .seconds(2)) throws(HTTPProbeError) -> Response {
        let target = try HTTPProbeTarget(url: url)
        let deadline = ContinuousClock.now + timeout
        let fd = try connect(target, deadline: deadline, timeout: timeout)
        defer { _ = close(fd) }
        let request = "GET \(target.path) HTTP/1.1\r\nHost: \(target.address)\r\n"
            + "User-Agent: warren-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        try send(Array(request.utf8), on: fd, target: target, deadline: deadline, timeout: timeout)
        return try receive(on: fd, target: target, deadline: deadline, timeout: timeout)
    }

    /// `get` on a dedicated thread, so that waiting never holds a cooperative-pool thread.
    /// Not cancellable: it returns within about `timeout`.
    public static func fetch(_ url: String, timeout: Duration = .seconds(2)) async throws(HTTPProbeError) -> Response {
        let result: Result<Response, HTTPProbeError> = await withCheckedContinuation { continuation in
            ProbeThread.start {
                continuation.resume(returning: Result { () throws(HTTPProbeError) in try get(url, timeout: timeout) })
            }
        }
        return try result.get()
    }

    // MARK: - Socket steps

    private static func connect(_ target: HTTPProbeTarget, deadline: ContinuousClock.Instant, timeout: Duration) throws(HTTPProbeError) -> Int32 {
        do {
            return try TCPConnector.connect(host: target.host, port: target.port, deadline: deadline)
        } catch {
            switch error {
            case .cannotResolve(let reason): throw .cannotResolve(host: target.host, reason: reason)
            case .cannotConnect(let reason): throw .cannotConnect(address: target.address, reason: reason)
            case .timedOut: throw .timedOut(address: target.address, during: "connecting", after: timeout)
            }
        }
    }

    private static func send(_ bytes: [UInt8], on fd: Int32, target: HTTPProbeTarget, deadline: ContinuousClock.Instant, timeout: Duration) throws(HTTPProbeError) {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a peer that already closed must not kill the process with SIGPIPE.
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent >= 0 {
                offset += sent
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                guard wait(fd, for: POLLOUT, until: deadline) else {
                    throw .timedOut(address: target.address, during: "sending the request", after: timeout)
                }
            } else if errno != EINTR {
                throw .badResponse(address: target.address, reason: "send failed: \(lastError())")
            }
        }
    }

    private static func receive(on fd: Int32, target: HTTPProbeTarget, deadline: ContinuousClock.Instant, timeout: Duration) throws(HTTPProbeError) -> Response {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += chunk[..<count]
                guard received.count <= maximumResponseSize else {
                    throw .badResponse(address: target.address, reason: "response larger than \(maximumResponseSize) bytes")
                }
                if let response = try parse(received, atEnd: false, target: target) { return response }
            } else if count == 0 {
                if let response = try parse(received, atEnd: true, target: target) { return response }
                let reason = received.isEmpty ? "connection closed without a response" : "connection closed in the middle of the response"
                throw .badResponse(address: target.address, reason: reason)
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                guard wait(fd, for: POLLIN, until: deadline) else {
                    throw .timedOut(address: target.address, during: "waiting for the response", after: timeout)
                }
            } else if errno != EINTR {
                throw .badResponse(address: target.address, reason: "receive failed: \(lastError())")
            }
        }
    }

    /// Waits until `fd` is ready for `events`; false when the deadline passed first.
    private static func wait(_ fd: Int32, for events: Int32, until deadline: ContinuousClock.Instant) -> Bool {
        TCPConnector.waitUntilReady(fd, for: Int16(events), until: deadline)
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }

    // MARK: - Response parsing

    /// The response in `bytes`, or `nil` when more bytes are needed (`atEnd`: the peer closed).
    static func parse(_ bytes: [UInt8], atEnd: Bool, target: HTTPProbeTarget) throws(HTTPProbeError) -> Response? {
        func malformed(_ reason: String) -> HTTPProbeError {
            .badResponse(address: target.address, reason: "not an HTTP response (\(reason))")
        }
        guard let headEnd = bytes.firstRange(of: [13, 10, 13, 10] as [UInt8]) else {
            return nil
        }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
        let statusLine = lines.popFirst() ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            throw malformed("status line '\(statusLine.prefix(80))'")
        }
        var contentLength: Int?
        var chunked = false
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
            if name == "content-length" {
                guard let length = Int(value), length >= 0 else { throw malformed("Content-Length '\(value)'") }
                contentLength = length
            } else if name == "transfer-encoding" {
                chunked = value.lowercased().contains("chunked")
            }
        }

        let rest = bytes[headEnd.upperBound...]
        let body: ArraySlice<UInt8>
        if chunked {
            guard let decoded = try decodeChunks(rest, malformed: malformed) else { return nil }
            body = decoded[...]
        } else if let contentLength {
            guard rest.count >= contentLength else { return nil }
            body = rest.prefix(contentLength)
        } else {
            guard atEnd else { return nil }
            body = rest
        }
        return Response(status: status, body: String(decoding: body, as: UTF8.self))
    }

    /// The decoded body, or `nil` while the last (empty) chunk has not arrived.
    private static func decodeChunks(_ bytes: ArraySlice<UInt8>, malformed: (String) -> HTTPProbeError) throws(HTTPProbeError) -> [UInt8]? {
        var body: [UInt8] = []
        var index = bytes.startIndex
        while true {
            guard let lineEnd = bytes[index...].firstRange(of: [13, 10] as [UInt8]) else { return nil }
            let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
            let digits = sizeText.prefix { $0 != ";" }.trimmingCharacters(in: " \t")
            guard let size = Int(digits, radix: 16), size >= 0 else { throw malformed("chunk size '\(sizeText.prefix(20))'") }
            if size == 0 { return body }
            let start = lineEnd.upperBound
            guard bytes.endIndex - start >= size + 2 else { return nil }
            body += bytes[start..<(start + size)]
            index = start + size + 2
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}

/// Runs a closure on a new detached OS thread, outside Swift's cooperative pool.
private enum ProbeThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, box)
        guard result == 0 else {
            // No thread: run here rather than never resuming the caller.
            Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
            return
        }
        pthread_detach(thread)
    }
}
