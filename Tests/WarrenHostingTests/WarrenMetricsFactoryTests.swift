import Metrics
import Prometheus
import Testing

@testable import WarrenHosting
import Warren

/// `WarrenMetricsFactory`: the `# HELP` lines swift-metrics cannot pass to swift-prometheus.
/// Metrics are made with an explicit factory (no `MetricsSystem.bootstrap`, which a test
/// process may call only once).
@Suite struct WarrenMetricsFactoryTests {
    private func exposition(_ make: (WarrenMetricsFactory) -> Void) -> String {
        let registry = PrometheusCollectorRegistry()
        make(WarrenMetrics.factory(registry: registry))
        return registry.emitToString()
    }

    @Test func aKnownNameGetsItsHelpLineWhateverTheKindOfMetric() {
        let text = exposition { factory in
            Counter(label: "warren_messages_acked_total", dimensions: [("queue", "q")], factory: factory).increment()
            Gauge(label: "warren_job_leader", dimensions: [("job_name", "j")], factory: factory).record(1)
            Meter(label: "warren_messages_in_flight", dimensions: [("queue", "q")], factory: factory).set(2)
            Timer(label: "warren_handler_duration_seconds", dimensions: [("queue", "q")], factory: factory)
                .recordNanoseconds(1_000_000)
        }
        for name in ["warren_messages_acked_total", "warren_job_leader", "warren_messages_in_flight", "warren_handler_duration_seconds"] {
            let help = try! #require(WarrenMetricHelp.texts[name])
            #expect(text.contains("# HELP \(name) \(help)\n# TYPE \(name) "), "\(name) in:\n\(text)")
        }
    }

    @Test func timersKeepWarrensBuckets() {
        let text = exposition { factory in
            Timer(label: "warren_handler_duration_seconds", dimensions: [("queue", "q")], factory: factory).recordNanoseconds(1)
            Timer(label: "warren_message_age_seconds", dimensions: [("queue", "q")], factory: factory).recordNanoseconds(1)
        }
        #expect(text.contains(#"warren_handler_duration_seconds_bucket{queue="q",le="300.0"}"#), "\(text)")
        #expect(text.contains(#"warren_message_age_seconds_bucket{queue="q",le="3600.0"}"#), "\(text)")
    }

    /// Warren's timers record into a histogram of `Double` seconds (cheaper than a `Duration`
    /// one): the exposition is still seconds, each bound printed as before, an observation counted
    /// in every bucket from the first bound at or above it, and the sum exact.
    @Test func timersExportSeconds() {
        let text = exposition { factory in
            let timer = Timer(label: "warren_handler_duration_seconds", dimensions: [("queue", "q")], factory: factory)
            timer.recordNanoseconds(2_500_000)
            timer.recordNanoseconds(1_000_000)
            timer.recordNanoseconds(7_000_000_000)
        }
        let name = "warren_handler_duration_seconds"
        for (bound, count) in [("0.001", 1), ("0.0025", 2), ("0.005", 2), ("5.0", 2), ("10.0", 3), ("300.0", 3), ("+Inf", 3)] {
            #expect(text.contains("\(name)_bucket{queue=\"q\",le=\"\(bound)\"} \(count)\n"), "le=\(bound) in:\n\(text)")
        }
        #expect(text.contains("\(name)_sum{queue=\"q\"} 7.0035\n"), "\(text)")
        #expect(text.contains("\(name)_count{queue=\"q\"} 3\n"), "\(text)")
    }

    /// Destroying a timer takes its series out of the registry, whichever histogram backs it.
    @Test func aDestroyedTimerLeavesTheExposition() {
        let registry = PrometheusCollectorRegistry()
        let factory = WarrenMetrics.factory(registry: registry)
        let timer = factory.makeTimer(label: "warren_message_age_seconds", dimensions: [("queue", "q")])
        timer.recordNanoseconds(1)
        #expect(registry.emitToString().contains("warren_message_age_seconds_count"))
        factory.destroyTimer(timer)
        #expect(!registry.emitToString().contains("warren_message_age_seconds_count"))
    }

    /// A name of the program's own: made as `PrometheusMetricsFactory` would, no help line.
    @Test func anUnknownNameIsLeftToPrometheus() {
        let text = exposition { factory in
            Counter(label: "app_orders_total", factory: factory).increment()
        }
        #expect(text.contains("# TYPE app_orders_total counter\napp_orders_total 1"), "\(text)")
        #expect(!text.contains("# HELP app_orders_total"), "\(text)")
    }

    /// Every help text is one line (the exposition format has no continuation) ending in a full
    /// stop, and names the unit where the name has one.
    @Test func helpTextsAreOneSentenceWithTheirUnit() {
        for (name, help) in WarrenMetricHelp.texts {
            #expect(!help.contains("\n") && help.hasSuffix("."), "\(name): \(help)")
            if name.hasSuffix("_seconds") { #expect(help.contains("seconds"), "\(name): \(help)") }
        }
    }
}
