import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals
import Warren

/// Runs a process's services the way `warren worker` does, so a program embedding Warren needs
/// no wiring of its own:
///
/// - a `HealthServer` (`/healthz`, `/readyz` over every consumer's status, and `/metrics` when
///   a registry is given) when `healthPort` is given, started first and stopped last;
/// - SIGTERM and SIGINT start a graceful shutdown: services stop in reverse order of `services`,
///   so list shared connections first, consumers next and front ends (an HTTP app) last — the
///   front end stops taking requests, the consumers drain, then the connections close;
/// - a second SIGTERM/SIGINT skips the rest of the drain (running handlers are cancelled, their
///   messages stay unacked and go back to the queue);
/// - a consumer that stops for good (`WorkerFailure`) ends the whole group, so the process exits
///   non-zero instead of lingering half alive (`exitCode(for:)` gives the code);
/// - anything still running `consumers' shutdownTimeout + 10 s` after the shutdown began is
///   cancelled, so the process always exits;
/// - under systemd (`Type=notify`, `NOTIFY_SOCKET` set) it reports `READY=1` once consuming,
///   `STOPPING=1` when draining, `STATUS=` lines and watchdog pings (`SystemdNotifyService`).
///
/// ```swift
/// let consumer = WarrenConsumer(configuration: configuration.consumer, connection: …, handler: OrderHandler(), logger: logger)
/// try await WorkerHost(services: [consumer], healthPort: configuration.httpPort, logger: logger).run()
/// ```
///
/// - Important: `run()` returns after the group stopped; call it once, from the program's main
///   task. Signal handling uses swift-service-lifecycle's `UnixSignals` (a dispatch source, off
///   the cooperative pool).
public struct WorkerHost: Sendable {
    private let services: [any Service]
    private let healthPort: Int?
    private let metrics: PrometheusCollectorRegistry?
    private let logger: Logger

    /// - Parameters:
    ///   - services: in start order; they stop in reverse order.
    ///   - healthPort: port for the health server (0 = any free port, logged as
    ///     `http.listening`); `nil` runs none (an app that serves its own probes).
    ///   - metrics: served at `/metrics` by the health server (`WarrenMetrics.bootstrap()` makes
    ///     one and points swift-metrics at it).
    ///   - logger: given to the service group and the health server; logs the second signal.
    public init(services: [any Service], healthPort: Int? = nil, metrics: PrometheusCollectorRegistry? = nil, logger: Logger) {
        self.services = services
        self.healthPort = healthPort
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs every service until the group shuts down; throws the error that ended it.
    public func run() async throws {
        let consumers = services.compactMap { $0 as? WarrenConsumer }
        var entries: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let notifier = SystemdNotifier()
        if notifier.isEnabled {
            // First, so it stops last: it reports the drain and keeps the watchdog fed meanwhile.
            entries.append(.init(service: SystemdNotifyService(notifier: notifier, statuses: consumers.map(\.status))))
        }
        if let healthPort {
            entries.append(.init(service: HealthServer(statuses: consumers.map(\.status), port: healthPort, metrics: metrics, logger: logger)))
        }
        for service in services {
            // A consumer that returns has stopped for good: take the process down with it.
            entries.append(.init(service: service, successTerminationBehavior: service is WarrenConsumer ? .gracefullyShutdownGroup : .cancelGroup))
        }
        var configuration = ServiceGroupConfiguration(services: entries, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Consumers bound their own drains; this bound is the safety net for anything else that
        // hangs on the way out.
        let longestDrain = consumers.map(\.configuration.shutdownTimeout).max() ?? .seconds(25)
        configuration.maximumGracefulShutdownDuration = longestDrain + .seconds(10)
        try await Self.runUntilSecondSignal(ServiceGroup(configuration: configuration), logger: logger)
    }

    /// Runs the group; a second SIGTERM/SIGINT (the first one started the drain) cancels it.
    ///
    /// Kept by hand rather than `ServiceGroupConfiguration.cancellationSignals`: the group
    /// refuses a signal that is both a graceful-shutdown and a cancellation signal (a
    /// precondition in swift-service-lifecycle 2.x), so "the first SIGTERM drains, the second
    /// cancels" cannot be configured there.
    private static func runUntilSecondSignal(_ group: ServiceGroup, logger: Logger) async throws {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                try await group.run()
            }
            tasks.addTask {
                var seen = 0
                for await signal in signals {
                    seen += 1
                    if seen == 2 {
                        logger.warning("second signal: skipping the drain", metadata: ["event": "worker.second_signal", "signal": "\(signal)"])
                        return
                    }
                }
            }
            // Whichever ends first: the group (done) or the second signal (cancel the group).
            _ = try await tasks.next()
            tasks.cancelAll()
            for try await _ in tasks {}
        }
    }

    /// The process exit code for the error `run()` threw: 78 (EX_CONFIG) when the health port
    /// cannot be bound, 69 (EX_UNAVAILABLE) when the broker refused for good, 70 (EX_SOFTWARE)
    /// when a consumer loop crashed, 1 for anything else.
    public static func exitCode(for error: any Error) -> Int32 {
        if error is HealthServerBindError { return 78 }
        if let failure = error as? WorkerFailure {
            switch failure.kind {
            case .refused: return 69
            default: return 70 // .crashed, and any kind added later: a stop nobody planned for
            }
        }
        return 1
    }
}
