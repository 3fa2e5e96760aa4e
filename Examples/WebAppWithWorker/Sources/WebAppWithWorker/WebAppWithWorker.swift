import Hummingbird
import Logging
import Warren
import WarrenHosting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Hummingbird web app that takes orders over HTTP and processes them with a Warren
/// consumer in the same process and the same `ServiceGroup`.
@main
enum WebAppWithWorker {
    static func main() async {
        // Warren's WARREN_* variables (broker URL, queue, prefetch, log level, HTTP port, …),
        // with this app's own queue name as the default.
        let settings: WorkerConfiguration
        do {
            settings = try WorkerConfiguration.fromEnvironment(defaults: ["queue": "orders.web"])
        } catch {
            var line = "WebAppWithWorker: configuration error: \(error)\n"
            line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            exit(78)  // EX_CONFIG, as `warren worker`
        }
        WarrenLogging.bootstrap(format: settings.logFormat, level: settings.logLevel)
        // Prometheus metrics, served by the app's own router at /metrics: set up once, before
        // the consumer and the publisher exist (they bind their metrics when created).
        let metrics = WarrenMetrics.bootstrap()
        let logger = Logger(label: "webapp")
        let store = OrderStore()

        // Warren: a connection for publishing from request handlers (it opens on first use and
        // reopens after a failure), and the consumer that processes the orders.
        var publishing = settings.connection(named: ConnectionConfiguration.processName("webapp/publish"))
        publishing.connectTimeout = .seconds(3)  // a POST gives up soon when the broker is unreachable
        // It declares the orders queue itself, so a POST works before the consumer has connected.
        let publisher = WarrenConnection(
            publishing, declaring: [Topology(queue: settings.broker.queue, queueType: settings.broker.queueType)], logger: logger)
        let consumer = WarrenConsumer(
            configuration: settings.consumer,
            connection: .dedicated(settings.connection(named: ConnectionConfiguration.processName("webapp/consume"))),
            handlerFactory: OrderProcessing(store: store),
            publisher: publisher,
            logger: logger)

        // The web app as it was, given the publisher and the consumer's status.
        let router = buildRouter(
            store: store, publisher: publisher, queue: settings.broker.queue, consumerStatus: consumer.status, metrics: metrics)
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("0.0.0.0", port: settings.httpPort)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.httpPort
                logger.info("http server listening", metadata: ["event": "http.listening", "port": "\(port)"])
            },
            logger: logger)

        // Services stop in reverse order: on SIGTERM the HTTP server answers its in-flight
        // requests (which may still publish), then the consumer drains (running orders finish
        // and are acked), then the publishing connection closes.
        do {
            try await WorkerHost(services: [publisher, consumer, app], logger: logger).run()
        } catch {
            logger.critical("stopped by an error", metadata: ["event": "webapp.failed", "error": "\(error)"])
            exit(WorkerHost.exitCode(for: error))
        }
        logger.info("exiting", metadata: ["event": "webapp.exit"])
    }
}
