import Metrics
import Prometheus
import Warren

/// swift-prometheus' `PrometheusMetricsFactory` plus `# HELP` lines.
///
/// swift-metrics' `MetricsFactory` has no help parameter, so `PrometheusMetricsFactory` registers
/// every metric with an empty help text, and the registry refuses (traps on) a second
/// registration of a name with a different text, so help cannot be added beside it either. This
/// factory registers the names found in `helpTexts` through the registry's own
/// `make…(name:labels:help:)` instead, with the wrapped factory's histogram buckets and name
/// sanitizer, and hands every other name to the wrapped factory unchanged.
///
/// Sendable and stateless beyond its settings: swift-metrics calls it from whichever thread makes
/// a metric.
public struct WarrenMetricsFactory: MetricsFactory, Sendable {
    /// The wrapped factory: its registry, buckets and sanitizer apply to every metric.
    public var prometheus: PrometheusMetricsFactory
    /// Metric name (as the code names it, before the sanitizer) → help text.
    public var helpTexts: [String: String]

    /// Wraps `prometheus`, adding `helpTexts` (Warren's own by default) as `# HELP` lines.
    public init(prometheus: PrometheusMetricsFactory, helpTexts: [String: String] = WarrenMetricHelp.texts) {
        self.prometheus = prometheus
        self.helpTexts = helpTexts
    }

    /// A counter registered with its help text when `helpTexts` has one, else the wrapped factory's.
    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        guard let help = helpTexts[label] else { return prometheus.makeCounter(label: label, dimensions: dimensions) }
        let (name, labels) = prometheus.nameAndLabelSanitizer(label, dimensions)
        return prometheus.registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    /// A floating-point counter, registered with its help text when `helpTexts` has one.
    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        guard let help = helpTexts[label] else { return prometheus.makeFloatingPointCounter(label: label, dimensions: dimensions) }
        let (name, labels) = prometheus.nameAndLabelSanitizer(label, dimensions)
        return prometheus.registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    /// A gauge, registered with its help text when `helpTexts` has one.
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        guard let help = helpTexts[label] else { return prometheus.makeMeter(label: label, dimensions: dimensions) }
        let (name, labels) = prometheus.nameAndLabelSanitizer(label, dimensions)
        return prometheus.registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
    }

    /// A value histogram (with `aggregate: false`, a gauge), registered with its help text when
    /// `helpTexts` has one.
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard let help = helpTexts[label] else {
            return prometheus.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }
        let (name, labels) = prometheus.nameAndLabelSanitizer(label, dimensions)
        guard aggregate else { return prometheus.registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels) }
        let buckets = prometheus.valueHistogramBuckets[label] ?? prometheus.defaultValueHistogramBuckets
        return prometheus.registry.makeValueHistogram(descriptor: Self.descriptor(name, help), labels: labels, buckets: buckets)
    }

    /// A duration histogram (exported in seconds), registered with its help text when `helpTexts`
    /// has one: then a histogram of `Double` seconds, much cheaper to record into than the
    /// wrapped factory's `Duration` one, with the same exposition (see `SecondsHistogramTimer`).
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard let help = helpTexts[label] else { return prometheus.makeTimer(label: label, dimensions: dimensions) }
        let (name, labels) = prometheus.nameAndLabelSanitizer(label, dimensions)
        let buckets = prometheus.durationHistogramBuckets[label] ?? prometheus.defaultDurationHistogramBuckets
        return SecondsHistogramTimer(prometheus.registry.makeValueHistogram(
            descriptor: Self.descriptor(name, help), labels: labels, buckets: SecondsHistogramTimer.seconds(buckets)))
    }

    /// The registry takes help texts through a descriptor (its `help:` variants are deprecated);
    /// the name is whole already.
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    // Destroying works on the handler, whichever path made it.
    /// Unregisters `handler` from the wrapped factory's registry.
    public func destroyCounter(_ handler: any CounterHandler) { prometheus.destroyCounter(handler) }
    /// Unregisters `handler` from the wrapped factory's registry.
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        prometheus.destroyFloatingPointCounter(handler)
    }
    /// Unregisters `handler` from the wrapped factory's registry.
    public func destroyMeter(_ handler: any MeterHandler) { prometheus.destroyMeter(handler) }
    /// Unregisters `handler` from the wrapped factory's registry.
    public func destroyRecorder(_ handler: any RecorderHandler) { prometheus.destroyRecorder(handler) }
    /// Unregisters `handler` from the wrapped factory's registry.
    public func destroyTimer(_ handler: any TimerHandler) {
        guard let timer = handler as? SecondsHistogramTimer else { return prometheus.destroyTimer(handler) }
        prometheus.registry.unregisterValueHistogram(timer.histogram)
    }
}
