import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The body of `/readyz`: `{"ready":true,"state":"consuming","node":"127.0.0.1:5672"}` or
/// `{"ready":false,"state":"reconnecting","reason":"…"}`.
struct Readiness: Sendable, Decodable, CustomStringConvertible {
    let ready: Bool
    let state: String
    let reason: String?
    /// The broker node (`host:port`) the worker is connected to, while it is.
    let node: String?

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

    /// Polls `/metrics` until `condition` holds for its samples, and returns that answer.
    /// A failed scrape throws, unless `retryingFailedScrapes`: then it is one more try (a worker
    /// busy on a loaded machine can outlast the 2 s request timeout without anything being wrong).
    @discardableResult
    func waitForMetrics(
        timeout: Duration = .seconds(10), interval: Duration = .milliseconds(50), _ what: @autoclosure () -> String,
        retryingFailedScrapes: Bool = false,
        until condition: (PrometheusSamples) -> Bool
    ) async throws -> (response: HTTPResponse, samples: PrometheusSamples) {
        var last = "no answer yet"
        return try await pollValue(timeout: timeout, interval: interval, "/metrics on port \(port): \(what())", lastSeen: { last }) {
            () async throws -> (response: HTTPResponse, samples: PrometheusSamples)? in
            let response: HTTPResponse
            do {
                response = try await httpGet(port: port, path: "/metrics")
            } catch where retryingFailedScrapes {
                last = "\(error)"
                return nil
            }
            last = "\(response)"
            let samples = PrometheusSamples(response.body)
            return condition(samples) ? (response, samples) : nil
        }
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
