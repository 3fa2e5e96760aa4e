internal import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Warren

/// The worker's HTTP endpoints for liveness and readiness probes, as a `Service`.
///
/// | request | answer |
/// |---|---|
/// | `GET /healthz` | `200 {"status":"alive"}` while the process runs tasks and no consumer is wedged; `503 {"status":"wedged","reason":"…"}` once a stall lasted twice `stallTimeout` (see `FlowMonitor`) |
/// | `GET /readyz` | `200 {"ready":true,"state":"consuming","node":"host:port"}` while ready, else `503 {"ready":false,"state":"…","reason":"…"}` (with `node` while connected) |
/// | `GET /metrics` | `200`, the Prometheus text format (0.0.4) of `metrics`, when a registry is given (else `404`); each status's stall gauge is measured first (`WorkerStatus.refreshMetrics`) |
/// | anything else | `404` |
///
/// It reads only the `WorkerStatus` it is given, so it answers from process start whether or
/// not a broker is reachable. When it is listening it logs one `info` line with
/// `event: http.listening` and the bound `port` (the one the kernel picked when `port` is `0`).
///
/// ```swift
/// let status = WorkerStatus()
/// let http = HealthServer(status: status, port: 8080, logger: logger)
/// // List it before the consumer: services stop in reverse order, so /readyz keeps
/// // answering (503 "draining") while the consumer drains.
/// let group = ServiceGroup(services: [http, consumer], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
///
/// `run()` returns after a graceful shutdown of its group, once open requests are answered; it
/// throws if the address cannot be bound (port in use, bad host).
///
/// - Important: Hummingbird runs the sockets on SwiftNIO's event-loop threads and each request
///   handler as a task on Swift's cooperative pool. Handlers only take short locks (`WorkerStatus`'s
///   and, to see whether a watched publishing connection is blocked, that `WarrenConnection`'s),
///   so they never block; they do need a free cooperative thread, which is why nothing in Warren
///   may block one (librabbitmq calls run on their connection's own thread).
public struct HealthServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>
    private let listening = ListeningFlag()
    private let host: String
    private let port: Int

    /// - Parameters:
    ///   - status: What the worker is doing; read on every `/readyz` request.
    ///   - host: Address to bind; `0.0.0.0` (every IPv4 interface) so that a container's probes reach it.
    ///   - port: TCP port; `0` lets the kernel pick a free one (logged, and passed to `onListening`).
    ///   - metrics: served at `/metrics`; bootstrap swift-metrics with
    ///     `WarrenMetrics.factory(registry:)` on the same registry (`WarrenMetrics.bootstrap()`
    ///     does both), which adds the `# HELP` lines.
    ///   - logger: Used for the `http.listening` line and given to Hummingbird. At `info`,
    ///     Hummingbird's own start and stop lines are left out (the `http.listening` line replaces
    ///     them); at `debug` and `trace` they are kept.
    ///   - onListening: Called once with the bound port when the server accepts connections, on a
    ///     task of the server's own (tests use it to find a port picked by the kernel).
    public init(
        status: WorkerStatus,
        host: String = "0.0.0.0",
        port: Int = 8080,
        metrics: PrometheusCollectorRegistry? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.init(statuses: [status], host: host, port: port, metrics: metrics, logger: logger, onListening: onListening)
    }

    /// One server for several consumers in one process: `/readyz` is ready only while every
    /// one of them is, and otherwise answers with the first one that is not (see
    /// `WorkerStatus.combinedReadiness`).
    public init(
        statuses: [WorkerStatus],
        host: String = "0.0.0.0",
        port: Int = 8080,
        metrics: PrometheusCollectorRegistry? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        let router = Router()
        router.get("/healthz") { _, _ in
            let liveness = WorkerStatus.combinedLiveness(statuses)
            return liveness.isAlive
                ? Self.response(.ok, body: Self.livenessBody)
                : Self.response(.serviceUnavailable, body: Self.wedgedBody(liveness))
        }
        router.get("/readyz") { _, _ in
            let readiness = WorkerStatus.combinedReadiness(statuses)
            return Self.response(readiness.isReady ? .ok : .serviceUnavailable, body: Self.readinessBody(readiness))
        }
        if let metrics {
            router.get("/metrics") { _, _ in
                // Gauges that are read, not pushed (`warren_stalled_seconds`), first.
                for status in statuses { status.refreshMetrics() }
                // Emitting takes the registry's locks briefly; it never waits on the broker.
                return Response(
                    status: .ok,
                    headers: [.contentType: WarrenMetrics.contentType, .cacheControl: "no-store"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer()))
                )
            }
        }
        self.host = host
        self.port = port
        let listening = self.listening
        var serverLogger = logger
        if serverLogger.logLevel == .info { serverLogger.logLevel = .notice }
        self.application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                listening.set()
                logger.info("http server listening", metadata: [
                    "event": "http.listening", "host": "\(host)", "port": "\(bound)",
                ])
                await onListening(bound)
            },
            logger: serverLogger
        )
    }

    /// Serves until the service group shuts down gracefully (or the task is cancelled).
    /// - Throws: `HealthServerBindError` when it never started listening (port taken, bad host).
    public func run() async throws {
        do {
            try await application.run()
        } catch {
            guard listening.isSet else { throw HealthServerBindError(host: host, port: port, underlying: "\(error)") }
            throw error
        }
    }

    static let livenessBody = #"{"status":"alive"}"#

    /// `{"status":"wedged","reason":"…"}`, the `/healthz` answer once the worker is wedged.
    static func wedgedBody(_ liveness: WorkerStatus.Liveness) -> String {
        var body = #"{"status":"wedged","reason":"#
        JSONText.appendString(liveness.reason ?? "wedged", to: &body)
        return body + "}"
    }

    /// `{"ready":true,"state":"consuming"}`, or `{"ready":false,"state":"…","reason":"…"}`
    /// (the reason falls back to the state's word when the status gives none); `node` while
    /// connected.
    static func readinessBody(_ readiness: WorkerStatus.Readiness) -> String {
        var body = "{\"ready\":\(readiness.isReady),\"state\":"
        JSONText.appendString(readiness.state.rawValue, to: &body)
        if !readiness.isReady {
            body += ",\"reason\":"
            JSONText.appendString(readiness.reason ?? readiness.state.rawValue, to: &body)
        }
        if let node = readiness.node {
            body += ",\"node\":"
            JSONText.appendString(node, to: &body)
        }
        body += "}"
        return body
    }

    private static func response(_ status: HTTPResponse.Status, body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }
}

/// The health server could not start listening: the configured port is taken or the host
/// cannot be bound. The executable treats it as a configuration problem (exit 78).
public struct HealthServerBindError: Error, Sendable, CustomStringConvertible {
    /// The host the server was asked to listen on.
    public var host: String
    /// The port the server was asked to listen on.
    public var port: Int
    /// The bind error as the HTTP library reported it, e.g. `Address already in use`.
    public var underlying: String

    /// `cannot listen on <host>:<port> (…): <underlying>`, naming the setting to change.
    public var description: String {
        "cannot listen on \(host):\(port) (WARREN_HTTP_PORT / --http-port): \(underlying)"
    }
}

/// Set once the server accepts connections; read after `run()` fails to tell a bind failure apart.
private final class ListeningFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
