import Metrics
import Prometheus
import Warren

/// The Prometheus setup `warren worker` uses, for programs embedding Warren.
///
/// ```swift
/// let registry = WarrenMetrics.bootstrap()   // before creating consumers and connections
/// try await WorkerHost(services: [consumer], healthPort: 8080, metrics: registry, logger: logger).run()
/// ```
public enum WarrenMetrics {
    /// The `Content-Type` of the Prometheus text format that `registry.emitToBuffer()` writes,
    /// for programs serving `/metrics` from a router of their own.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Buckets of `warren_handler_duration_seconds`: from 1 ms (a handler that only acks) to
    /// 5 minutes (a long job), roughly ×2.5 apart.
    public static let handlerDurationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(300),
    ]

    /// Buckets of `warren_message_age_seconds` (publish → handler start): from 1 ms (an idle
    /// queue on a quiet broker; the `timestamp_in_ms` header has millisecond resolution) to an
    /// hour (a backlog).
    public static let messageAgeBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(3), .milliseconds(5), .milliseconds(7.5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3600),
    ]

    /// A Prometheus metrics factory on `registry`, with Warren's histogram buckets and the
    /// `# HELP` texts of `WarrenMetricHelp` (add a program's own to `helpTexts`).
    public static func factory(registry: PrometheusCollectorRegistry) -> WarrenMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["warren_handler_duration_seconds"] = handlerDurationBuckets
        factory.durationHistogramBuckets["warren_message_age_seconds"] = messageAgeBuckets
        return WarrenMetricsFactory(prometheus: factory)
    }

    /// Creates a registry and bootstraps swift-metrics with it (`MetricsSystem.bootstrap` may be
    /// called once per process: call this once, at startup, before creating Warren's consumers
    /// and connections, which bind their metrics when created). Returns the registry to serve.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(factory(registry: registry))
        return registry
    }
}
