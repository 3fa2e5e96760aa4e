import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HTTPResponse {
    /// The body decoded as `T`; nil when it is not that JSON.
    func decoded<T: Decodable>(as type: T.Type) -> T? {
        try? JSONDecoder().decode(type, from: Data(body.utf8))
    }
}

/// An HTTP request failed below HTTP (connect, send, receive, parse).
struct WebAppClientError: Error, CustomStringConvertible {
    let description: String
}

/// A tiny HTTP/1.1 client for the example web app on 127.0.0.1: `GET` and `POST` with a JSON
/// body, one request per connection (`Connection: close`), and a `POST` that can be held open
/// half-sent, to have a request in flight while the app shuts down.
///
/// Hand-written over a blocking socket (like `httpGet` in `HealthProbe.swift`, which only does
/// `GET` and drops the headers): every blocking call runs on a `Thread` of its own, never on
/// Swift's cooperative pool.
struct WebAppClient: Sendable {
    let port: Int

    func get(_ path: String, timeout: Duration = .seconds(5)) async throws -> HTTPResponse {
        try await onThread {
            let connection = try HTTPClientConnection(port: self.port, timeout: timeout)
            defer { connection.disconnect() }
            try connection.sendAll(Self.head("GET", path, port: self.port))
            return try connection.receiveResponse()
        }
    }

    func post(_ path: String, json body: String, timeout: Duration = .seconds(5)) async throws -> HTTPResponse {
        let request = try await startPost(path, json: body, sendingFirst: body.utf8.count, timeout: timeout)
        return try await request.finish()
    }

    /// Sends the head of a `POST` and the first `sendingFirst` bytes of its body, and returns the
    /// open request; `finish()` sends the rest and reads the answer.
    func startPost(
        _ path: String, json body: String, sendingFirst: Int, timeout: Duration = .seconds(5)
    ) async throws -> HeldRequest {
        let bytes = Array(body.utf8)
        let split = min(max(0, sendingFirst), bytes.count)
        let head = Self.head("POST", path, port: port, extra: "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n")
        let connection = try await onThread {
            let connection = try HTTPClientConnection(port: self.port, timeout: timeout)
            do {
                try connection.sendAll(head + bytes[..<split])
            } catch {
                connection.disconnect()
                throw error
            }
            return connection
        }
        return HeldRequest(connection: connection, rest: Array(bytes[split...]))
    }

    /// Whether a TCP connection to the app is accepted right now (it is refused once the server
    /// has begun its graceful shutdown and closed its listening socket).
    func acceptsConnections() async -> Bool {
        (try? await onThread { HTTPClientConnection.canConnect(port: self.port) }) ?? false
    }

    private static func head(_ method: String, _ path: String, port: Int, extra: String = "") -> [UInt8] {
        Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(extra)Connection: close\r\n\r\n".utf8)
    }
}

/// A request whose body is not fully sent yet (see `WebAppClient.startPost`).
final class HeldRequest: Sendable {
    private let connection: HTTPClientConnection
    private let rest: [UInt8]

    fileprivate init(connection: HTTPClientConnection, rest: [UInt8]) {
        self.connection = connection
        self.rest = rest
    }

    /// Sends the rest of the body and waits for the answer; closes the connection.
    func finish() async throws -> HTTPResponse {
        try await onThread {
            defer { self.connection.disconnect() }
            if !self.rest.isEmpty { try self.connection.sendAll(self.rest) }
            return try self.connection.receiveResponse()
        }
    }

    /// Gives up on the request (call it from `defer`; harmless after `finish`).
    func cancel() { connection.disconnect() }
}

/// Runs blocking work on a new thread and returns its result.
private func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.name = "it-webapp-client"
        thread.start()
    }
}

/// A blocking TCP connection to 127.0.0.1, with send and receive timeouts.
private final class HTTPClientConnection: Sendable {
    private let fd: Int32
    private let closed = Mutex(false)
    private let port: Int

    init(port: Int, timeout: Duration) throws {
        self.port = port
        fd = try Self.connectedSocket(port: port, timeout: timeout)
    }

    static func canConnect(port: Int) -> Bool {
        guard let fd = try? connectedSocket(port: port, timeout: .seconds(1)) else { return false }
        close(fd)
        return true
    }

    func disconnect() {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if first { close(fd) }
    }

    func sendAll(_ bytes: [UInt8]) throws {
        do {
            try IntegrationTests.sendAll(fd, bytes)
        } catch {
            throw WebAppClientError(description: "127.0.0.1:\(port): \(error.step): \(error.reason)")
        }
    }

    /// Reads until the response is complete (by `Content-Length`, or the end of the stream).
    func receiveResponse() throws -> HTTPResponse {
        let received: (value: HTTPResponse?, bytes: [UInt8])
        do {
            received = try receive(fd) { parseHTTPResponse($0) }
        } catch {
            throw WebAppClientError(description: "127.0.0.1:\(port): \(error.step): \(error.reason)")
        }
        if let response = received.value ?? parseHTTPResponse(received.bytes, atEnd: true) { return response }
        throw WebAppClientError(
            description: "127.0.0.1:\(port): incomplete response: \(String(decoding: received.bytes, as: UTF8.self).prefix(300))")
    }

    private static func connectedSocket(port: Int, timeout: Duration) throws -> Int32 {
        do {
            return try connectLoopback(port: port, timeout: timeout)
        } catch {
            throw WebAppClientError(description: "127.0.0.1:\(port): \(error.step): \(error.reason)")
        }
    }
}
