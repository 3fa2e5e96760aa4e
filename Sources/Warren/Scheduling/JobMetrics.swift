import Metrics

/// One job's metrics: `warren_job_runs_total{job_name,outcome}` (outcome `completed`, `failed`,
/// `skipped`), `warren_job_leader{job_name}` (1 while this replica holds the lease),
/// `warren_job_last_success_timestamp_seconds{job_name}` and `warren_job_lag_seconds{job_name}` (start of
/// the last run minus its tick), and `warren_job_interval_seconds{job_name}` (the schedule's longest
/// gap between ticks, set once: the period the alert rules measure a missing success in). The
/// `# HELP` texts are in `WarrenMetricHelp`. Thread-safe.
struct JobMetrics: Sendable {
    private let completed: Counter
    private let failed: Counter
    private let skipped: Counter
    private let leader: Gauge
    private let lastSuccess: Gauge
    private let lag: Gauge

    /// - Parameter interval: `warren_job_interval_seconds`, see `JobSchedule.longestInterval(after:)`.
    init(job: String, interval: Int64) {
        completed = Counter(label: "warren_job_runs_total", dimensions: [("job_name", job), ("outcome", "completed")])
        failed = Counter(label: "warren_job_runs_total", dimensions: [("job_name", job), ("outcome", "failed")])
        skipped = Counter(label: "warren_job_runs_total", dimensions: [("job_name", job), ("outcome", "skipped")])
        leader = Gauge(label: "warren_job_leader", dimensions: [("job_name", job)])
        lastSuccess = Gauge(label: "warren_job_last_success_timestamp_seconds", dimensions: [("job_name", job)])
        lag = Gauge(label: "warren_job_lag_seconds", dimensions: [("job_name", job)])
        leader.record(0)
        Gauge(label: "warren_job_interval_seconds", dimensions: [("job_name", job)]).record(interval)
    }

    func isLeader(_ value: Bool) { leader.record(value ? 1 : 0) }
    func started(lagMilliseconds: Int64) { lag.record(Double(lagMilliseconds) / 1000) }
    func skipped(_ count: Int) { skipped.increment(by: Int64(count)) }
    func completed(atMilliseconds now: Int64) {
        completed.increment()
        lastSuccess.record(Double(now) / 1000)
    }
    func failedRun() { failed.increment() }
}
