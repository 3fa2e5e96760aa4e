import Testing
@testable import WarrenHosting
import Warren

#if canImport(Glibc)
import Glibc
#endif

@Suite struct HTTPProbeTests {
    @Test(arguments: [
        ("http://127.0.0.1:8080/readyz", HTTPProbeTarget(host: "127.0.0.1", port: 8080, path: "/readyz")),
        ("http://localhost", HTTPProbeTarget(host: "localhost", port: 80, path: "/")),
        ("HTTP://worker:9000?x=1#top", HTTPProbeTarget(host: "worker", port: 9000, path: "/?x=1")),
        ("http://[::1]:8080/healthz?verbose", HTTPProbeTarget(host: "::1", port: 8080, path: "/healthz?verbose")),
    ])
    func parsesURLs(url: String, expected: HTTPProbeTarget) throws {
        #expect(try HTTPProbeTarget(url: url) == expected)
    }

    @Test(arguments: [
        ("https://127.0.0.1/readyz", "only http:// is supported"),
        ("127.0.0.1:8080/readyz", "expected http://"),
        ("http://:8080/", "no host"),
        ("http://host:0/", "from 1 to 65535"),
        ("http://host:http/", "from 1 to 65535"),
        ("http://user:pw@host/", "user info"),
        ("http://[::1/", "unclosed"),
    ])
    func rejectsURLs(url: String, problem: String) {
        #expect {
            try HTTPProbeTarget(url: url)
        } throws: { error in
            guard let error = error as? HTTPProbeError, error.code == .invalidURL else { return false }
            return error.target == url && error.reason?.contains(problem) == true
        }
    }

    @Test func ipv6AddressesAreBracketed() {
        #expect(HTTPProbeTarget(host: "::1", port: 8080, path: "/").address == "[::1]:8080")
        #expect(HTTPProbeTarget(host: "localhost", port: 80, path: "/").address == "localhost:80")
    }

    @Test func parsesContentLengthChunkedAndCloseDelimitedBodies() throws {
        let target = HTTPProbeTarget(host: "h", port: 1, path: "/")
        func parse(_ text: String, atEnd: Bool = false) throws -> HTTPProbe.Response? {
            try HTTPProbe.parse(Array(text.utf8), atEnd: atEnd, target: target)
        }
        #expect(try parse("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbody") == .init(status: 503, body: "body"))
        #expect(try parse("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbo") == nil)
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Len") == nil)
        #expect(try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")
            == .init(status: 200, body: "abcde"))
        #expect(try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab") == nil)
        #expect(try parse("HTTP/1.0 404 Not Found\r\n\r\nno length") == nil)
        #expect(try parse("HTTP/1.0 404 Not Found\r\n\r\nno length", atEnd: true) == .init(status: 404, body: "no length"))
        #expect(throws: HTTPProbeError.self) { try parse("SSH-2.0-OpenSSH\r\n\r\n") }
    }

    @Test func aClosedPortIsACleanConnectError() throws {
        let port = try unusedPort()
        #expect {
            try HTTPProbe.get("http://127.0.0.1:\(port)/readyz", timeout: .seconds(2))
        } throws: { error in
            guard let error = error as? HTTPProbeError, error.code == .cannotConnect else { return false }
            return error.target == "127.0.0.1:\(port)" && error.reason == "Connection refused"
                && "\(error)" == "cannot connect to 127.0.0.1:\(port): Connection refused"
        }
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        // Listening but never accepting: the kernel completes the handshake and takes the
        // request, and no answer ever comes.
        let (fd, port) = try listeningSocket()
        defer { _ = close(fd) }
        let start = ContinuousClock.now
        await #expect {
            try await HTTPProbe.fetch("http://127.0.0.1:\(port)/readyz", timeout: .milliseconds(300))
        } throws: { error in
            "\(error)" == "127.0.0.1:\(port): timed out after 0.3s waiting for the response"
        }
        // The error text above already shows the 0.3 s timeout fired; this only shows the call
        // did not hang. 10 s, not 2: at a load average of 15 the test's task once waited longer
        // than 2 s for a thread of the cooperative pool after the timeout had fired.
        #expect(start.duration(to: .now) < .seconds(10))
    }
}

/// A socket listening on a port the kernel picked on 127.0.0.1, and that port.
private func listeningSocket() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
            bind(fd, sockaddrPointer, length) == 0 && listen(fd, 8) == 0
                && getsockname(fd, sockaddrPointer, &length) == 0
        }
    }
    try #require(bound)
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A port that nothing listens on (it was free a moment ago).
private func unusedPort() throws -> Int {
    let (fd, port) = try listeningSocket()
    _ = close(fd)
    return port
}
