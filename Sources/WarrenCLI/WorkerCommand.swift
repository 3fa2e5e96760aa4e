import ArgumentParser
import Logging
import Warren

/// `warren worker`: the long-running consumer service.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Consume the queue: ack after the handler succeeds, dead-letter failures, drain on SIGTERM."
    )

    @OptionGroup var broker: BrokerOptions

    @Option(help: "basic.qos prefetch, 1-65535 (env WARREN_PREFETCH; default 50).")
    var prefetch: String?

    @Option(help: "Handlers running at once, 1-10000 (env WARREN_CONCURRENCY; default 8).")
    var concurrency: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env WARREN_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "json (one object per line) or text (env WARREN_LOG_FORMAT; default json, text when stdout is a terminal).")
    var logFormat: String?

    @Option(help: "Built-in handler: demo (default) or noop (acks everything; for benchmarks) (env WARREN_HANDLER).")
    var handler: String?

    @Option(name: .customLong("http-port"), help: "Port for /healthz and /readyz; 0 picks a free one (env WARREN_HTTP_PORT; default 8080).")
    var httpPort: String?

    @Option(help: "AMQP heartbeat, e.g. 30s; 0 disables (env WARREN_HEARTBEAT; default 30s).")
    var heartbeat: String?

    @Option(name: .customLong("reconnect-initial-delay"), help: "First reconnect backoff cap (env WARREN_RECONNECT_INITIAL_DELAY; default 500ms).")
    var reconnectInitialDelay: String?

    @Option(name: .customLong("reconnect-max-delay"), help: "Largest reconnect backoff cap (env WARREN_RECONNECT_MAX_DELAY; default 30s).")
    var reconnectMaxDelay: String?

    @Option(name: .customLong("shutdown-timeout"), help: "Longest drain on SIGTERM before running handlers are cancelled (env WARREN_SHUTDOWN_TIMEOUT; default 25s).")
    var shutdownTimeout: String?

    @Option(name: .customLong("handler-timeout"), help: "Longest a handler may run before it is cancelled and its message dead-lettered, e.g. 30s; 0 = no limit (env WARREN_HANDLER_TIMEOUT; default 0).")
    var handlerTimeout: String?

    @Option(name: .customLong("max-refused-attempts"), help: "Permanent refusals in a row (403, 404, 406, 530) before exiting 69 (env WARREN_MAX_REFUSED_ATTEMPTS; default 5).")
    var maxRefusedAttempts: String?

    @Option(name: .customLong("immediate-retries"), help: "In-process retries of a failed message before a delayed retry, 0-100 (env WARREN_IMMEDIATE_RETRIES; default 0).")
    var immediateRetries: String?

    @Option(name: .customLong("retry-delays"), help: "Delayed retries through Q.retry.<delay> queues, e.g. 1s,10s,1m; empty for none (env WARREN_RETRY_DELAYS; default 1s,10s,1m).")
    var retryDelays: String?

    @Option(name: .customLong("crash-limit"), help: "Crashes of the worker while a message is handled alone before it is dead-lettered as crash-loop, 0 = off (env WARREN_CRASH_LIMIT; default 3).")
    var crashLimit: String?

    @Option(name: .customLong("delivery-limit"), help: "Quorum queues: the broker's x-delivery-limit, 0 = not declared (env WARREN_DELIVERY_LIMIT; default 20).")
    var deliveryLimit: String?

    func run() async throws {
        var flags = broker.flags
        flags["prefetch"] = prefetch
        flags["concurrency"] = concurrency
        flags["log-level"] = logLevel
        flags["log-format"] = logFormat
        flags["handler"] = handler
        flags["http-port"] = httpPort
        flags["heartbeat"] = heartbeat
        flags["reconnect-initial-delay"] = reconnectInitialDelay
        flags["reconnect-max-delay"] = reconnectMaxDelay
        flags["shutdown-timeout"] = shutdownTimeout
        flags["max-refused-attempts"] = maxRefusedAttempts
        flags["handler-timeout"] = handlerTimeout
        flags["immediate-retries"] = immediateRetries
        flags["retry-delays"] = retryDelays
        flags["crash-limit"] = crashLimit
        flags["delivery-limit"] = deliveryLimit
        let settings = SettingsResolver(flags: flags, environment: SettingsResolver.processEnvironment())
        let configuration: WorkerConfiguration
        let handlerChoice: BuiltInHandler
        do {
            configuration = try WorkerConfiguration(resolving: settings)
            handlerChoice = try settings.choice("handler", default: BuiltInHandler.demo)
        } catch let error as ConfigurationError {
            throw configurationFailure(error)
        }

        WarrenLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let logger = Logger(label: "warren")
        // Before any consumer or connection exists: they bind their metrics when created.
        let metrics = WarrenMetrics.bootstrap()
        let started = ContinuousClock.now
        logger.info("starting", metadata: [
            "event": "worker.starting", "version": "\(WarrenCommand.version)",
            // Every setting, the URL with its password masked (the only form that reaches logs).
            "config": .dictionary(configuration.loggedSettings.merging(["handler": "\(handlerChoice.rawValue)"]) { $1 }),
        ])
        // The same public API a program embedding Warren uses; the handler is one of the built-ins.
        let consumer = handlerChoice.makeConsumer(
            configuration: configuration.consumer, connection: .dedicated(configuration.connection(named: ConnectionConfiguration.processName("warren"))),
            logger: logger)
        do {
            try await WorkerHost(services: [consumer], healthPort: configuration.httpPort, metrics: metrics, logger: logger).run()
        } catch {
            let exitCode = WorkerHost.exitCode(for: error)
            logger.critical("worker failed", metadata: [
                "event": "worker.failed", "error": "\(error)", "exit_code": "\(exitCode)",
                "uptime_ms": "\(started.duration(to: .now).milliseconds)",
            ])
            throw ExitCode(exitCode)
        }
        logger.info("stopped", metadata: [
            "event": "worker.exit", "exit_code": "0", "uptime_ms": "\(started.duration(to: .now).milliseconds)",
        ])
    }
}

/// The handlers `warren worker` can run without user code.
enum BuiltInHandler: String, CaseIterable, Sendable {
    case demo
    case noop

    func makeConsumer(configuration: ConsumerConfiguration, connection: ConsumerConnection, logger: Logger) -> WarrenConsumer {
        switch self {
        case .demo: WarrenConsumer(configuration: configuration, connection: connection, handler: DemoHandler(), logger: logger)
        case .noop: WarrenConsumer(configuration: configuration, connection: connection, handler: NoopHandler(), logger: logger)
        }
    }
}
