import Foundation
import Logging
import Warren
import WarrenHosting

/// Reads the configuration, opens the ledger, then runs the consumer and the health server
/// until SIGTERM or SIGINT, which drains: running handlers finish and are acked first.
@main
enum OrderWorker {
    static func main() async {
        let configuration: WorkerConfiguration
        let ledger: OrderLedger
        do {
            // The same WARREN_* variables as `warren worker`; this program's queue is `orders`.
            configuration = try WorkerConfiguration.fromEnvironment(defaults: ["queue": "orders"])
        } catch {
            exitWithError("configuration error: \(error)")
        }
        let ledgerPath = ProcessInfo.processInfo.environment["ORDER_LEDGER"] ?? "orders.jsonl"
        do {
            ledger = try OrderLedger(path: ledgerPath)
        } catch {
            exitWithError("cannot open the ledger ORDER_LEDGER=\(ledgerPath): \(error)")
        }

        // WARREN_LOG_FORMAT / WARREN_LOG_LEVEL, and Prometheus metrics served at /metrics: set up
        // once, before the consumer exists (it binds its metrics when created).
        WarrenLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let metrics = WarrenMetrics.bootstrap()
        let logger = Logger(label: "order-worker")
        let consumer = WarrenConsumer(
            configuration: configuration.consumer,
            connection: .dedicated(configuration.connection(named: ConnectionConfiguration.processName("order-worker"))),
            handlerFactory: OrderHandlerFactory(ledger: ledger), logger: logger)
        do {
            // Signals, /healthz, /readyz and /metrics, the drain: what `warren worker` runs on.
            try await WorkerHost(services: [consumer], healthPort: configuration.httpPort, metrics: metrics, logger: logger).run()
        } catch {
            logger.critical("order worker failed", metadata: ["event": "worker.failed", "error": "\(error)"])
            exit(WorkerHost.exitCode(for: error))
        }
    }

    /// One line on stderr and exit 78 (EX_CONFIG, as `warren worker` does), before any broker work.
    private static func exitWithError(_ problem: String) -> Never {
        FileHandle.standardError.write(Data("order-worker: \(problem)\n".utf8))
        exit(78)
    }
}
