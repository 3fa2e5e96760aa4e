import Metrics
import Prometheus

/// A swift-metrics `Timer` backed by a Prometheus histogram of `Double` seconds, for Warren's
/// own duration histograms (`warren_handler_duration_seconds`, `warren_message_age_seconds`).
///
/// Why not swift-prometheus' `DurationHistogram`, which `PrometheusMetricsFactory` makes for a
/// timer: its `record` compares the value with every bucket as a `Duration`, each comparison an
/// out-of-line call, ~800 instructions per message for 16 buckets, the largest single cost of a
/// message's metrics (issue 17). A `Double` histogram's comparisons are inlined: ~100. The
/// exposition is the same: bucket bounds and the sum in seconds, bounds printed alike (`0.0025`,
/// `300.0`); a sum under 10⁻⁴ s prints in exponent form (`5e-05`), which the text format allows.
///
/// Thread-safe: the histogram records under its own lock, from any thread.
final class SecondsHistogramTimer: TimerHandler, Sendable {
    /// The histogram in the registry, whose bounds are the timer's buckets in seconds.
    let histogram: ValueHistogram

    init(_ histogram: ValueHistogram) {
        self.histogram = histogram
    }

    /// The buckets of a `Duration` histogram, in seconds.
    static func seconds(_ buckets: [Duration]) -> [Double] {
        buckets.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
    }

    func recordNanoseconds(_ duration: Int64) {
        histogram.record(Double(duration) / 1e9)
    }
}
