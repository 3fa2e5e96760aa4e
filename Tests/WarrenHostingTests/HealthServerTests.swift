import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing
@testable import WarrenHosting
@testable import Warren
import WarrenAMQP

@Suite struct HealthServerTests {
    // The closures below bind each response with `let` before `#expect`: a closure whose only
    // `try` is inside a macro is inferred non-throwing, and fails to compile.

    @Test func healthzIsAliveWhateverTheWorkerDoes() async throws {
        try await withHealthServer { status, base in
            let starting = try await HTTPProbe.fetch("\(base)/healthz")
            #expect(starting == .init(status: 200, body: #"{"status":"alive"}"#))
            status.update(state: .draining, isReady: false, detail: "draining")
            let draining = try await HTTPProbe.fetch("\(base)/healthz")
            #expect(draining.status == 200)
        }
    }

    @Test func readyzIs503UntilConsumingThen200() async throws {
        try await withHealthServer { status, base in
            let starting = try await HTTPProbe.fetch("\(base)/readyz")
            #expect(starting == .init(status: 503, body: #"{"ready":false,"state":"starting","reason":"starting"}"#))

            status.update(state: .connecting, isReady: false, detail: "connecting")
            let connecting = try await HTTPProbe.fetch("\(base)/readyz")
            #expect(connecting == .init(status: 503, body: #"{"ready":false,"state":"connecting","reason":"connecting"}"#))

            status.update(state: .consuming, isReady: true)
            let consuming = try await HTTPProbe.fetch("\(base)/readyz")
            #expect(consuming == .init(status: 200, body: #"{"ready":true,"state":"consuming"}"#))

            status.update(state: .draining, isReady: false, detail: "draining")
            let draining = try await HTTPProbe.fetch("\(base)/readyz")
            #expect(draining == .init(status: 503, body: #"{"ready":false,"state":"draining","reason":"draining"}"#))
        }
    }

    /// A consumer whose connection thread has not turned (a never-touched activity stamp) with a
    /// zero stall limit: stalled at once, and wedged (twice the limit) at once.
    /// A stall has no event to set a gauge on: `/metrics` measures it before each scrape
    /// (`WorkerStatus.refreshMetrics`), so `warren_stalled_seconds` reads its length, then 0.
    @Test func metricsShowAStallMeasuredAtTheScrape() async throws {
        let registry = PrometheusCollectorRegistry()
        let consumerMetrics = ConsumerMetrics(queue: "orders", factory: WarrenMetrics.factory(registry: registry))
        try await withHealthServer(metrics: registry) { status, base in
            func stalledSeconds() async throws -> Double? {
                let scrape = try await HTTPProbe.fetch("\(base)/metrics")
                let line = scrape.body.split(separator: "\n").first { $0.hasPrefix(#"warren_stalled_seconds{queue="orders"} "#) }
                return line.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            let monitor = FlowMonitor(limit: .zero, handlersRunning: { 0 })
            status.watch(monitor, stallGauge: consumerMetrics.stalledSeconds)
            status.update(state: .consuming, isReady: true)
            let flowing = try await stalledSeconds()
            #expect(flowing == 0)
            monitor.consuming(on: LoopActivity())
            while monitor.stall == nil { await Task.yield() }  // the stamp must be older than the limit
            let stalled = try #require(try await stalledSeconds())
            #expect(stalled > 0)
            monitor.notConsuming()
            let recovered = try await stalledSeconds()
            #expect(recovered == 0)
        }
    }

    @Test func aStalledConsumerIsNotReadyAndAWedgedOneNotAlive() async throws {
        try await withHealthServer { status, base in
            let monitor = FlowMonitor(limit: .zero, handlersRunning: { 0 })
            status.watch(monitor)
            status.update(state: .consuming, isReady: true)
            monitor.consuming(on: LoopActivity())
            while monitor.stall == nil { await Task.yield() }  // the stamp must be older than the limit
            let ready = try await HTTPProbe.fetch("\(base)/readyz")
            #expect(ready.status == 503)
            #expect(ready.body.hasPrefix(#"{"ready":false,"state":"stalled","reason":"the connection's thread has not turned for "#), "\(ready.body)")
            let live = try await HTTPProbe.fetch("\(base)/healthz")
            #expect(live.status == 503)
            #expect(live.body.hasPrefix(#"{"status":"wedged","reason":"wedged: the connection's thread"#), "\(live.body)")
            monitor.notConsuming()
            let recovered = try await HTTPProbe.fetch("\(base)/readyz")
            #expect(recovered.status == 200)
        }
    }

    @Test func readyzCountsDownAPendingReconnect() async throws {
        try await withHealthServer { status, base in
            status.update(state: .reconnecting, isReady: false, detail: "connection refused",
                          retryAt: .now + .milliseconds(3200))
            let response = try await HTTPProbe.fetch("\(base)/readyz")
            #expect(response.status == 503)
            #expect(response.body.hasPrefix(#"{"ready":false,"state":"reconnecting","reason":"reconnecting in "#))
            #expect(response.body.hasSuffix(#"s after: connection refused"}"#))
            #expect(response.body.contains("in 3.") || response.body.contains("in 2."))
        }
    }

    @Test func unknownPathsAre404() async throws {
        try await withHealthServer { _, base in
            for path in ["/", "/ready", "/healthz/extra"] {
                let response = try await HTTPProbe.fetch(base + path)
                #expect(response.status == 404, "\(path)")
            }
        }
    }

    @Test func logsOneListeningLineWithTheBoundPort() async throws {
        let records = LogCapture()
        let logger = Logger(label: "warren") { _ in records.handler(level: .info) }
        try await withHealthServer(logger: logger) { _, base in
            let lines = records.snapshot
            // Hummingbird's own "Server started" line is left out at info: ours replaces it.
            #expect(lines.count == 1)
            #expect(lines.first?.metadata["event"] == "http.listening")
            let port = try #require(lines.first?.metadata["port"]?.description)
            #expect(base == "http://127.0.0.1:\(port)")
        }
    }

    @Test func readinessBodyEscapesTheReason() {
        let readiness = WorkerStatus.Readiness(isReady: false, state: .failed, reason: "queue.declare 'q': \"406\"\nback\\slash")
        #expect(HealthServer.readinessBody(readiness)
            == #"{"ready":false,"state":"failed","reason":"queue.declare 'q': \"406\"\nback\\slash"}"#)
    }

    /// Issue 18: typing the state did not change the `/readyz` body: every state still shows as
    /// its documented word (probes, dashboards and integration tests match on it).
    @Test func readinessBodyCarriesEveryStateAsItsWord() {
        // Its own list (not WorkerStatusTests'): this suite may move with HealthServer to another target.
        let words = ["starting", "connecting", "consuming", "blocked", "stalled", "reconnecting", "draining", "stopped", "failed"]
        #expect(Set(words) == Set(WorkerStatus.State.allCases.map(\.rawValue)))
        for word in words {
            guard let state = WorkerStatus.State(rawValue: word) else { Issue.record("no state \(word)"); continue }
            let ready = state == .consuming
            let body = HealthServer.readinessBody(.init(isReady: ready, state: state))
            #expect(body == (ready ? #"{"ready":true,"state":"\#(word)"}"# : #"{"ready":false,"state":"\#(word)","reason":"\#(word)"}"#))
        }
    }

    /// Issue 15: `/readyz` names the broker node the worker is connected to.
    @Test func readinessBodyNamesTheConnectedNode() {
        let readiness = WorkerStatus.Readiness(isReady: true, state: .consuming, node: "127.0.0.1:5673")
        #expect(HealthServer.readinessBody(readiness) == #"{"ready":true,"state":"consuming","node":"127.0.0.1:5673"}"#)
    }

    @Test func aPortInUseMakesRunThrow() async throws {
        try await withHealthServer { _, base in
            let port = try #require(Int(base.split(separator: ":").last ?? ""))
            let second = HealthServer(status: WorkerStatus(), host: "127.0.0.1", port: port, logger: Logger(label: "test"))
            // Bounded, so that a bind that unexpectedly succeeds fails the test instead of hanging it.
            await #expect(throws: (any Error).self) {
                try await withThrowingTaskGroup { tasks in
                    tasks.addTask { try await second.run() }
                    tasks.addTask { try await Task.sleep(for: .seconds(10)) }
                    try await tasks.next()
                    tasks.cancelAll()
                }
            }
        }
    }
}

/// Runs a `HealthServer` on a port the kernel picks, inside a `ServiceGroup`, for the duration
/// of `body`, then shuts the group down gracefully and waits for the server to return.
private func withHealthServer(
    logger: Logger = Logger(label: "test"),
    metrics: PrometheusCollectorRegistry? = nil,
    _ body: (WorkerStatus, String) async throws -> Void
) async throws {
    let status = WorkerStatus()
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let server = HealthServer(status: status, host: "127.0.0.1", port: 0, metrics: metrics, logger: logger) { port in
        portContinuation.yield(port)
        portContinuation.finish()
    }
    let group = ServiceGroup(services: [server], logger: logger)
    try await withThrowingTaskGroup { tasks in
        tasks.addTask {
            // If the server never starts, end the wait for its port.
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await tasks.waitForAll()
            Issue.record("the server stopped before it listened")
            return
        }
        do {
            try await body(status, "http://127.0.0.1:\(port)")
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// Keeps every log record, for checking what was logged.
private final class LogCapture: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let records = Mutex<[Record]>([])

    func append(_ record: Record) { records.withLock { $0.append(record) } }

    var snapshot: [Record] { records.withLock { $0 } }

    /// A handler writing here. A struct, like real handlers: raising one copy's level (as
    /// `HealthServer` does for Hummingbird's logger) must not change the others.
    func handler(level: Logger.Level) -> some LogHandler { Handler(capture: self, logLevel: level) }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level

        init(capture: LogCapture, logLevel: Logger.Level) {
            self.capture = capture
            self.logLevel = logLevel
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append(Record(level: event.level, message: event.message.description,
                                  metadata: metadata.merging(event.metadata ?? [:]) { _, new in new }))
        }
    }
}
