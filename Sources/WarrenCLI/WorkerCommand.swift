import ArgumentParser
import Logging
import ServiceLifecycle
import Warren
import WarrenHosting

/// `warren worker`: the long-running consumer service.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Consume the queue: ack after the handler succeeds, dead-letter failures, drain on SIGTERM."
    )

    @OptionGroup var options: WorkerOptions

    func run() async throws {
        let (configuration, handlerChoice, settings) = try options.resolved()

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
        var services: [any Service] = [consumer]
        if !configuration.schedules.isEmpty {
            // Its own connection: leases must not share the fate of the consumer's channel, and
            // it declares the consumer's topology so the tick exchange can be bound to the queue
            // before the consumer connects. Listed after the consumer, so it stops first and gives
            // the leases back at the start of the drain.
            var leaseConnection = configuration.connection(named: ConnectionConfiguration.processName("warren") + " scheduler")
            // The broker drops a connection after about two missed heartbeats: half the worker's
            // heartbeat here hands a frozen leader's lease over within one heartbeat or so.
            if configuration.heartbeat > .zero {
                leaseConnection.heartbeat = max(.seconds(1), .seconds(configuration.heartbeat.components.seconds / 2))
            }
            let connection = WarrenConnection(leaseConnection, declaring: [configuration.consumer.topology], logger: logger)
            do {
                let jobs = try configuration.schedules.map { setting throws(JobScheduleError) in
                    try ScheduledJob.publishingTicks(name: setting.name, schedule: setting.schedule, to: configuration.broker.queue,
                                                     missedTicks: configuration.scheduleMissedTicks)
                }
                services += [connection, try JobScheduler(namespace: configuration.broker.queue, jobs: jobs, connection: connection, logger: logger)]
            } catch {
                throw configurationFailure(ConfigurationError(
                    key: (try? settings.raw("schedule"))??.key ?? "WARREN_SCHEDULE", value: "", problem: error.description))
            }
        }
        do {
            try await WorkerHost(services: services, healthPort: configuration.httpPort, metrics: metrics, logger: logger).run()
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
