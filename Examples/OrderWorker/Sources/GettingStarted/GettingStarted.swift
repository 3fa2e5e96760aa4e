import Logging
import ServiceLifecycle
import Warren

struct OrderPlaced: Decodable, Sendable { var orderID: String; var cents: Int }

struct InvalidAmount: PermanentError {}

struct OrderHandler: MessageHandler {
    func handle(_ order: OrderPlaced, context: MessageContext) async throws {
        guard order.cents > 0 else { throw InvalidAmount() }  // dead-lettered at once
        context.logger.info("order placed", metadata: ["order_id": "\(order.orderID)"])
    }  // returning acks the message; any other error is retried
}

@main
enum GettingStarted {
    static func main() async throws {
        let configuration = try WorkerConfiguration.fromEnvironment(defaults: ["queue": "orders"])
        WarrenLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)  // JSON lines
        let logger = Logger(label: "orders")
        let consumer = WarrenConsumer(
            configuration: configuration.consumer,
            connection: .dedicated(configuration.connection(named: ConnectionConfiguration.processName("orders"))),
            handler: OrderHandler(), logger: logger)
        // SIGTERM or Ctrl-C drains: running handlers finish and are acked, then main returns.
        try await ServiceGroup(services: [consumer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
