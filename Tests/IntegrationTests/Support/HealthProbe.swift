import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One HTTP answer from `warren`'s health server.
struct HTTPResponse: Sendable, CustomStringConvertible {
    let status: Int
    let body: String

    var description: String { "\(status) \(body)" }
}

/// The body of `/readyz`: `{"ready":true,"state":"consuming"}` or
/// `{"ready":false,"state":"reconnecting","reason":"…"}`.
struct Readiness: Sendable, Decodable, CustomStringConvertible {
    let ready: Bool
    let state: String
    let reason: String?

    var description: String { "ready \(ready), state \(state)" + (reason.map { ", reason \($0)" } ?? "") }
}

/// The health server of one running `warren worker`, on 127.0.0.1.
struct HealthProbe: Sendable {
    let port: Int

    func healthz(timeout: Duration = .seconds(2)) async throws -> HTTPResponse {
        try await httpGet(port: port, path: "/healthz", timeout: timeout)
    }

    /// `/readyz` with its body decoded (nil `readiness` when the body is not the documented JSON).
    func readyz(timeout: Duration = .seconds(2)) async throws -> (response: HTTPResponse, readiness: Readiness?) {
        let response = try await httpGet(port: port, path: "/readyz", timeout: timeout)
        return (response, try? JSONDecoder().decode(Readiness.self, from: Data(response.body.utf8)))
    }

    /// Polls `/readyz` until it answers 200 with `ready: true`.
    @discardableResult
    func waitUntilReady(timeout: Duration, interval: Duration = .milliseconds(100)) async throws -> Readiness {
        var last = "no answer yet"
        return try await pollValue(
            timeout: timeout, interval: interval, "/readyz on port \(port) to answer 200", lastSeen: { last }
        ) {
            do {
                let (response, readiness) = try await readyz()
                last = "\(response)"
                return response.status == 200 && readiness?.ready == true ? readiness : nil
            } catch {
                last = "\(error)"
                return nil
            }
        }
    }
}

/// An HTTP request failed below HTTP (connect, send, receive, parse).
struct HealthProbeError: Error, CustomStringConvertible {
    let description: String
}

/// `GET http://127.0.0.1:<port><path>` with `Connection: close`, on a dedicated thread.
///
/// A hand-written HTTP/1.1 client over a blocking socket: it costs ~1 ms, so tests that measure
/// how soon the health server answers measure the server and not the client. The blocking calls
/// run on their own `Thread`, never on Swift's cooperative pool.
func httpGet(port: Int, path: String, timeout: Duration = .seconds(2)) async throws -> HTTPResponse {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try blockingHTTPGet(port: port, path: path, timeout: timeout) })
        }
        thread.name = "it-http-probe"
        thread.start()
    }
}

private func blockingHTTPGet(port: Int, path: String, timeout: Duration) throws -> HTTPResponse {
    let target = "127.0.0.1:\(port)\(path)"
    let fd: Int32
    do {
        fd = try connectLoopback(port: port, timeout: timeout)
    } catch {
        throw HealthProbeError(description: "GET \(target): \(error.step): \(error.reason)")
    }
    defer { close(fd) }

    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
    let received: (value: HTTPResponse?, bytes: [UInt8])
    do {
        try sendAll(fd, request)
        received = try receive(fd) { parseHTTPResponse($0) }
    } catch {
        throw HealthProbeError(description: "GET \(target): \(error.step): \(error.reason)")
    }
    if let response = received.value ?? parseHTTPResponse(received.bytes, atEnd: true) { return response }
    throw HealthProbeError(
        description: "GET \(target): incomplete response: \(String(decoding: received.bytes, as: UTF8.self).prefix(300))")
}

/// Parses a complete response; nil while more bytes are needed (or, at end of stream, if malformed).
private func parseHTTPResponse(_ bytes: [UInt8], atEnd: Bool = false) -> HTTPResponse? {
    let separator: [UInt8] = [13, 10, 13, 10]
    guard let headerEnd = bytes.firstRange(of: separator) else { return nil }
    let head = String(decoding: bytes[..<headerEnd.lowerBound], as: UTF8.self)
    let headLines = head.components(separatedBy: "\r\n")
    let statusParts = headLines[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
    var headers: [String: String] = [:]
    for line in headLines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let body = Array(bytes[headerEnd.upperBound...])
    if let length = headers["content-length"].flatMap({ Int($0) }) {
        guard body.count >= length else { return nil }
        return HTTPResponse(status: status, body: String(decoding: body[..<length], as: UTF8.self))
    }
    if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
        return decodeChunked(body).map { HTTPResponse(status: status, body: String(decoding: $0, as: UTF8.self)) }
    }
    // Neither: the body runs to the end of the stream.
    return atEnd ? HTTPResponse(status: status, body: String(decoding: body, as: UTF8.self)) : nil
}

/// The payload of a complete chunked body; nil while incomplete.
private func decodeChunked(_ bytes: [UInt8]) -> [UInt8]? {
    var payload: [UInt8] = []
    var index = 0
    let crlf: [UInt8] = [13, 10]
    while true {
        guard let lineEnd = bytes[index...].firstRange(of: crlf) else { return nil }
        let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
            .split(separator: ";").first.map(String.init) ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
        index = lineEnd.upperBound
        if size == 0 { return payload }
        guard bytes.count >= index + size + 2 else { return nil }
        payload.append(contentsOf: bytes[index..<(index + size)])
        index += size + 2
    }
}
