import ArgumentParser
import Logging
import ServiceLifecycle
import Warren

#if canImport(Glibc)
import Glibc
#endif

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

    @Option(help: "Built-in handler: demo (default) or noop (acks everything; for benchmarks) (env WARREN_HANDLER).")
    var handler: String?

    /// How long a drain may take before remaining handlers are cancelled.
    static let shutdownTimeout: Duration = .seconds(25)

    func run() async throws {
        var flags = broker.flags
        flags["prefetch"] = prefetch
        flags["concurrency"] = concurrency
        flags["log-level"] = logLevel
        flags["handler"] = handler
        let settings = SettingsResolver(flags: flags, environment: processEnvironment())
        let configuration: WorkerConfiguration
        let handlerChoice: BuiltInHandler
        do {
            configuration = try WorkerConfiguration(resolving: settings)
            handlerChoice = try settings.choice("handler", default: BuiltInHandler.demo)
        } catch let error as ConfigurationError {
            throw configurationFailure(error)
        }

        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "warren")
        logger.info("starting", metadata: [
            "event": "worker.starting", "version": "\(WarrenCommand.version)",
            "url": "\(configuration.broker.url.redacted)", "queue": "\(configuration.broker.queue)",
            "queue_type": "\(configuration.broker.queueType.rawValue)", "prefetch": "\(configuration.prefetch)",
            "concurrency": "\(configuration.concurrency)", "handler": "\(handlerChoice.rawValue)",
        ])

        let consumer = WarrenConsumer(
            configuration: configuration, handler: handlerChoice.makeHandler(),
            connectionName: defaultConnectionName(), logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: consumer, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Without a bound a stuck drain would hang forever; past it, handlers are cancelled and
        // their messages stay unacked for redelivery.
        groupConfiguration.maximumGracefulShutdownDuration = Self.shutdownTimeout
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            // A thrown top-level error would exit 132 with a backtrace: say why and exit 1.
            logger.critical("worker failed", metadata: ["event": "worker.failed", "error": "\(error)"])
            throw WarrenExit.failure
        }
    }
}

/// The handlers `warren worker` can run without user code.
enum BuiltInHandler: String, CaseIterable, Sendable {
    case demo
    case noop

    func makeHandler() -> any MessageHandler {
        switch self {
        case .demo: return DemoHandler()
        case .noop: return NoopHandler()
        }
    }
}
